/**
 * The amd64 guests (generic and cloud kernels) under QEMU TCG: proves the
 * x86 assets while KVM here (PVM) cannot boot a stock kernel in QEMU.
 * ~6 s per boot under TCG on this host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { findGuest, whyNoGuest, type Flavour } from '../../guest/assets.js';
import { BOOT_MARKER, cmdParam, parseExitStatus } from '../../guest/init-script.js';
import { QEMU_X86_64, qemuX86Args, runQemu } from '../../guest/qemu.js';

const qemuOk = spawnSync(QEMU_X86_64, ['--version']).status === 0;

for (const flavour of ['generic', 'cloud'] as Flavour[]) {
  const assets = findGuest('amd64', flavour);
  const skip = !assets ? whyNoGuest('amd64', flavour) : !qemuOk ? `${QEMU_X86_64} not installed (apt-get install qemu-system-x86)` : undefined;

  test(`amd64 (${flavour}): boots, runs tsvisor.cmd, loads virtio, sees the virtio-blk disk`, { skip }, async (t) => {
    const script = 'cut -d" " -f1 /proc/modules | tr "\\n" " "; echo; test -d /sys/block/vda && echo HAVE-VDA; uname -m';
    const r = await runQemu(QEMU_X86_64, qemuX86Args(assets!, { append: cmdParam(script), disk: assets!.rootfs }), {
      timeoutMs: 120_000,
      signal: t.signal,
    });
    assert.ok(!r.timedOut, `QEMU timed out; output:\n${r.output}`);
    // SeaBIOS leaves terminal escapes on the line before the kernel prints anything.
    assert.match(r.output, new RegExp(`${BOOT_MARKER}\\r?$`, 'm'));
    for (const m of ['virtio_pci', 'virtio_blk', 'virtio_net']) assert.match(r.output, new RegExp(`\\b${m}\\b`), `${m} loaded`);
    assert.match(r.output, /^HAVE-VDA\r?$/m);
    assert.match(r.output, /^x86_64\r?$/m);
    assert.equal(parseExitStatus(r.output), 0);
    assert.match(r.output, /reboot: Power down/);
  });
}
