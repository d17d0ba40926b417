/**
 * kvm engine + virtio-pci: the freestanding test guest virtio_blk.elf finds a
 * virtio-blk (and a virtio-rng) function through 0xCF8/0xCFC, programs MSI-X,
 * and moves sectors through ioeventfd (notify) and irqfd (MSI). We count what
 * the requests cost the VMM: guest exits (KVM_RUN returns for guest reasons)
 * and kicks (the machine thread being pulled out of KVM_RUN to run the
 * device), as the difference between a long and a short run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kvmSkipReason } from './kvm-guest.js';
import { resolveConfig, type MachineOptions } from '../../src/vmm/config.js';
import { buildMachine } from '../../src/vmm/builder.js';
import { createHostLinkBuffers, HostLinkMain, HostLinkWorker } from '../../src/vmm/host-link.js';
import type { KvmEngine } from '../../src/engines/kvm/index.js';
import { TestNetns } from './virtio-net-guest.js';
import { execFileSync as run } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
let skip = kvmSkipReason();
try {
  execFileSync('gcc', ['--version'], { stdio: 'ignore' });
} catch {
  skip ??= 'gcc not installed (needed to build the test guests)';
}
if (skip) console.log(`# kvm-virtio: skipped: ${skip}`);

interface RunResult {
  status: string;
  output: string;
  exits: number;
  interruptions: number;
}

async function runGuest(elf: string, opts: Partial<MachineOptions>, beforeRun?: () => void): Promise<RunResult> {
  const cfg = resolveConfig({ kernel: elf, accel: 'kvm', memory: '64M', ...opts }, { hardwareKvm: true });
  const buffers = createHostLinkBuffers();
  const host = new HostLinkWorker(buffers);
  const main = new HostLinkMain(buffers);
  const built = await buildMachine(cfg, host);
  const engine = built.engine as KvmEngine;
  let status;
  try {
    beforeRun?.();
    status = engine.run();
  } finally {
    built.dispose?.();
  }
  const output = Buffer.from(main.output.read()).toString('latin1');
  return { status: JSON.stringify(status), output, exits: engine.stats.exits, interruptions: engine.stats.interruptions };
}

test('virtio-blk over virtio-pci under kvm: sectors written and read back through ioeventfd + MSI-X/irqfd', { skip, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsv-kvm-virtio-'));
  try {
    execFileSync(join(root, 'guest/test-guests/build.sh'), [dir], { stdio: 'pipe' });
    const elf = join(dir, 'virtio_blk.elf');
    const img = join(dir, 'disk.img');
    writeFileSync(img, Buffer.alloc(1 << 20));
    const short = await runGuest(elf, { append: 'dev=2 n=4', disks: [{ path: img }] });
    console.log(`# short run: ${short.status} exits=${short.exits} kicks=${short.interruptions}\n# ${short.output.trim().split('\n').join('\n# ')}`);
    assert.equal(short.status, JSON.stringify({ kind: 'debug-exit', code: 1 }), short.output);
    assert.match(short.output, /8 requests ok/);
    const long = await runGuest(elf, { append: 'dev=2 n=36', disks: [{ path: img }] });
    console.log(`# long run: ${long.status} exits=${long.exits} kicks=${long.interruptions}\n# ${long.output.trim().split('\n').join('\n# ')}`);
    assert.equal(long.status, JSON.stringify({ kind: 'debug-exit', code: 1 }), long.output);
    const m = /(\d+) requests ok, (\d+) interrupts/.exec(long.output)!;
    assert.equal(Number(m[1]), 72);
    assert.ok(Number(m[2]) >= 72, 'one MSI per request at least');
    const reqs = 72 - 8;
    const exitsPerReq = (long.exits - short.exits) / reqs;
    const kicksPerReq = (long.interruptions - short.interruptions) / reqs;
    console.log(`# per request: ${exitsPerReq.toFixed(2)} guest exits to userspace, ${kicksPerReq.toFixed(2)} kicks of the machine thread`);
    // The notify write is an ioeventfd and the completion an irqfd: no guest exit per request.
    assert.ok(exitsPerReq < 0.5, `guest exits per request ${exitsPerReq}`);
    // The sectors are really in the image.
    const disk = readFileSync(img);
    for (const i of [0, 35]) for (const j of [0, 1, 511]) assert.equal(disk[i * 512 + j], (i * 31 + j * 7 + 1) & 0xff);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('virtio-rng over virtio-pci under kvm', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsv-kvm-virtio-'));
  try {
    execFileSync(join(root, 'guest/test-guests/build.sh'), [dir], { stdio: 'pipe' });
    const r = await runGuest(join(dir, 'virtio_blk.elf'), { append: 'dev=4 n=4', rng: true });
    assert.equal(r.status, JSON.stringify({ kind: 'debug-exit', code: 1 }), r.output);
    assert.match(r.output, /4 requests ok/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const netSkip = skip ?? (process.getuid?.() !== 0 ? 'needs root (network namespace, tap)' : undefined);
test('virtio-net over virtio-pci under kvm: ARP through a tap in a private netns answered', { skip: netSkip || undefined, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsv-kvm-virtio-'));
  const ns = new TestNetns();
  try {
    execFileSync(join(root, 'guest/test-guests/build.sh'), [dir], { stdio: 'pipe' });
    const r = await runGuest(join(dir, 'virtio_blk.elf'), { append: 'dev=1 n=3', nics: [{ tap: 'tsvk0', netns: ns.name }] }, () => {
      run('ip', ['-n', ns.name, 'addr', 'add', '10.77.0.1/24', 'dev', 'tsvk0']);
      run('ip', ['-n', ns.name, 'link', 'set', 'tsvk0', 'up']);
    });
    console.log(`# net: ${r.status} exits=${r.exits} kicks=${r.interruptions}; ${r.output.trim().split('\n').slice(-1)[0]}`);
    assert.equal(r.status, JSON.stringify({ kind: 'debug-exit', code: 1 }), r.output);
    assert.match(r.output, /3 requests ok/);
  } finally {
    ns.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
