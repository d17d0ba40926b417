/**
 * Proves the cached arm64 guest assets under QEMU (Debian's qemu-system-arm),
 * independently of tsvisor's own engines: boot marker, the tsvisor.cmd scheme,
 * virtio modules with a virtio-blk disk, root=/dev/vda, reboot, interactive shell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findGuest, initrdWith, whyNoGuest } from '../../guest/assets.js';
import { BOOT_MARKER, cmdParam, parseExitStatus } from '../../guest/init-script.js';
import { QEMU_ARM64, qemuArm64Args, runQemu, type QemuOptions } from '../../guest/qemu.js';

const assets = findGuest('arm64');
const qemuOk = spawnSync(QEMU_ARM64, ['--version']).status === 0;
const skip = !assets ? whyNoGuest('arm64') : !qemuOk ? `${QEMU_ARM64} not installed (apt-get install qemu-system-arm)` : undefined;
// ~2 s per boot here; generous for a loaded 2-core host.
const TIMEOUT = 60_000;

async function boot(t: { signal: AbortSignal }, o: QemuOptions, interact?: Parameters<typeof runQemu>[2]['interact']) {
  const r = await runQemu(QEMU_ARM64, qemuArm64Args(assets!, o), { timeoutMs: TIMEOUT, signal: t.signal, interact });
  assert.ok(!r.timedOut, `QEMU timed out; output:\n${r.output}`);
  return r;
}

test('arm64: boots to TSVISOR-BOOT-OK and runs a tsvisor.cmd script', { skip }, async (t) => {
  const r = await boot(t, { append: cmdParam('echo "answer=$((6*7))"; uname -m; exit 7') });
  assert.match(r.output, new RegExp(`^${BOOT_MARKER}\\r?$`, 'm'));
  assert.match(r.output, /^answer=42\r?$/m);
  assert.match(r.output, /^aarch64\r?$/m);
  assert.equal(parseExitStatus(r.output), 7);
  assert.match(r.output, /reboot: Power down/);
  assert.equal(r.code, 0);
});

test('arm64: virtio modules load and a virtio-blk disk appears as vda', { skip }, async (t) => {
  const script = [
    'cut -d" " -f1 /proc/modules | sort | tr "\\n" " "; echo',
    'test -d /sys/block/vda && echo HAVE-VDA',
    'mkdir -p /mnt/d && mount -t ext4 -o ro /dev/vda /mnt/d && cat /mnt/d/etc/hostname',
  ].join('\n');
  const r = await boot(t, { append: cmdParam(script), disk: assets!.rootfs });
  for (const m of ['virtio_mmio', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_rng', 'ext4', 'jbd2', 'vmw_vsock_virtio_transport']) {
    assert.match(r.output, new RegExp(`\\b${m}\\b`), `${m} loaded`);
  }
  assert.match(r.output, /^HAVE-VDA\r?$/m);
  assert.match(r.output, /^tsvisor\r?$/m, 'ext4 root disk mounts and has /etc/hostname');
  assert.equal(parseExitStatus(r.output), 0);
});

test('arm64: root=/dev/vda switches to the ext4 disk', { skip }, async (t) => {
  const r = await boot(t, {
    append: `root=/dev/vda ${cmdParam('grep " / " /proc/mounts; test -e /etc/tsvisor-initramfs || echo ON-DISK; echo w > /f && cat /f')}`,
    disk: assets!.rootfs,
  });
  assert.match(r.output, /^\/dev\/vda \/ ext4 rw/m);
  assert.match(r.output, /^ON-DISK\r?$/m);
  assert.match(r.output, /^w\r?$/m);
  assert.equal(parseExitStatus(r.output), 0);
});

test('arm64: tsvisor.reboot=1 reboots instead of powering off; tsvisor.nomodules=1 loads none', { skip }, async (t) => {
  const r = await boot(t, { append: `tsvisor.reboot=1 tsvisor.nomodules=1 ${cmdParam('echo "modules=$(wc -l < /proc/modules)"')}` });
  assert.match(r.output, /^modules=0\r?$/m);
  assert.equal(parseExitStatus(r.output), 0);
  assert.match(r.output, /reboot: Restarting system/);
  assert.doesNotMatch(r.output, /Power down/);
});

test('arm64: interactive shell on the console with job control, power-off when it exits', { skip }, async (t) => {
  // Typed after each new prompt, which is "tsvisor:/# " (PS1 from /etc/profile)
  // followed by ash's cursor-position query (ESC [6n).
  const script = ['echo typed-$((20+3)); tty\n', 'sleep 50\n', 'exit\n'];
  let seen = 0;
  const r = await boot(t, {}, (out, write) => {
    const prompts = out.split('tsvisor:/# ').length - 1;
    if (prompts === seen) return;
    seen = prompts;
    const line = script.shift();
    if (line) write(line);
    // Ctrl-C only reaches `sleep` if the shell has a controlling tty (cttyhack).
    if (line?.startsWith('sleep')) setTimeout(() => write('\x03'), 1500);
  });
  assert.equal(script.length, 0, `all lines typed; output:\n${r.output}`);
  assert.match(r.output, /^typed-23\r?$/m);
  assert.match(r.output, /^\/dev\/ttyAMA0\r?$/m, 'cttyhack gave the shell the real console as its tty');
  assert.ok(r.ms < 40_000, `Ctrl-C interrupted sleep 50 (took ${r.ms} ms)`);
  assert.match(r.output, /reboot: Power down/);
});

test('arm64: initrdWith adds and overrides files in the initramfs', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-initrd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const initrd = join(dir, 'initrd.gz');
  writeFileSync(initrd, initrdWith(assets!, [
    { path: '/opt/t/hello.sh', data: '#!/bin/sh\necho "hello from overlay $1"\n' },
    { path: '/etc/hostname', data: 'overlaid\n', mode: 0o644 },
  ]));
  const r = await runQemu(QEMU_ARM64, qemuArm64Args({ ...assets!, initrd }, { append: cmdParam('/opt/t/hello.sh x; hostname') }), {
    timeoutMs: TIMEOUT,
    signal: t.signal,
  });
  assert.match(r.output, /^hello from overlay x\r?$/m);
  assert.match(r.output, /^overlaid\r?$/m);
  assert.equal(parseExitStatus(r.output), 0);
});

test('arm64: virtio-net (udhcpc script), virtio-rng and virtio-console work from the initramfs', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-hvc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const hvcOut = join(dir, 'hvc0.out');
  const script = [
    'timeout 20 udhcpc -i eth0 -n -q -t 5 >/dev/null 2>&1; ip -4 addr show eth0 | grep -o "inet [0-9./]*"',
    'ip route | grep default',
    'echo rng=$(cat /sys/class/misc/hw_random/rng_current)',
    'echo via-hvc > /dev/hvc0',
  ].join('\n');
  const extra = [
    '-netdev', 'user,id=n0', '-device', 'virtio-net-device,netdev=n0',
    '-device', 'virtio-rng-device',
    '-device', 'virtio-serial-device', '-chardev', `file,id=c0,path=${hvcOut}`, '-device', 'virtconsole,chardev=c0',
  ];
  const r = await boot(t, { append: cmdParam(script), extra });
  assert.match(r.output, /^inet 10\.0\.2\.15\/24\r?$/m, 'DHCP from QEMU user networking configured eth0');
  assert.match(r.output, /^default via 10\.0\.2\.2 dev eth0/m);
  assert.match(r.output, /^rng=virtio_rng\.0\r?$/m);
  assert.match(readFileSync(hvcOut, 'utf8'), /^via-hvc\r?\n$/, 'written through /dev/hvc0 (a tty: onlcr adds \\r)');
  assert.equal(parseExitStatus(r.output), 0);
});
