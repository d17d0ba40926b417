/**
 * Crash consistency: data the guest has fsync'ed is in the image even when
 * the VMM process is killed with SIGKILL right after the guest reports it.
 * The VM runs in a child process (Machine from the sources, emu engine); the
 * guest writes a pattern to /dev/vda with dd conv=fsync (a FLUSH request, an
 * fdatasync on the host), prints a marker, then keeps writing unsynced data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { noAssets } from './virtio-blk-guest.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const MARK = 'CRASH-FSYNCED';

test('emu: fsync-ed data survives SIGKILL of the VMM', { skip: noAssets, timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-crash-'));
  const img = join(dir, 'disk.img');
  closeSync(openSync(img, 'w'));
  truncateSync(img, 4 << 20);
  const script = [
    'i=0; while [ $i -lt 64 ]; do echo "tsvisor-crash-line-$i"; i=$((i+1)); done > /tmp/p',
    'dd if=/tmp/p of=/dev/vda bs=4096 seek=10 conv=fsync 2>/dev/null',
    `echo ${MARK}-$?`,
    'while true; do dd if=/dev/urandom of=/dev/vda bs=4096 seek=100 count=16 2>/dev/null; done',
  ].join('\n');
  const code = `
    const { bootEmu } = await import(${JSON.stringify(new URL('./virtio-blk-guest.ts', import.meta.url).href)});
    await bootEmu({ script: ${JSON.stringify(script)}, disks: [{ path: ${JSON.stringify(img)} }], timeoutMs: 500000,
      onOutput: (all) => { if (all.includes(${JSON.stringify(MARK)})) process.stdout.write(all.slice(-200)); } });
    process.stdout.write('VM-ENDED\\n');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let sawMark = false;
  const killed = new Promise<NodeJS.Signals | null>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sawMark && out.includes(`${MARK}-0`)) {
        sawMark = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (_code, sig) => resolve(sig));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 550_000);
  const sig = await killed;
  clearTimeout(timer);
  try {
    if (!sawMark) {
      if (out.includes('VM-ENDED') || !out.includes(MARK)) return t.skip(`the guest never reported the fsync (emu engine cannot boot it?); output: ${out.slice(-300)}`);
    }
    assert.equal(sig, 'SIGKILL');
    const fd = openSync(img, 'r');
    const buf = Buffer.alloc(4096 * 2);
    readSync(fd, buf, 0, buf.length, 10 * 4096);
    closeSync(fd);
    const text = buf.toString('latin1');
    for (let i = 0; i < 64; i++) assert.ok(text.includes(`tsvisor-crash-line-${i}\n`), `line ${i} is in the image`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
