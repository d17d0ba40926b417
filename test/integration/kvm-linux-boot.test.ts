/**
 * Full boot of Debian's amd64 kernel with the busybox initramfs to a shell
 * under the kvm engine, with 1 and 2 vCPUs. This needs hardware KVM: under
 * PVM (software nested virtualization) a stock kernel runs at about 1 MIPS
 * and does not boot in useful time, so the tests skip there with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findGuest, whyNoGuest, cmdParam, parseExitStatus, BOOT_MARKER } from '../../guest/assets.js';
import { hardwareKvm, probeKvm } from '../../src/engines/kvm/index.js';
import { startGuest } from '../lib/guest-console.js';

function why(): string | undefined {
  const p = probeKvm();
  if (!p.ok) return `no usable /dev/kvm: ${p.reason}`;
  if (!hardwareKvm()) return 'host KVM is not hardware-assisted (no kvm_intel/kvm_amd; this host has PVM, ~1 MIPS for a stock kernel)';
  if (!findGuest('amd64')) return `amd64 guest not set up (${whyNoGuest('amd64') ?? 'npm run setup'})`;
  return undefined;
}

for (const cpus of [1, 2]) {
  test(`kvm: Debian amd64 kernel boots to the busybox shell with ${cpus} vCPU(s)`, { skip: why() }, async () => {
    const g = findGuest('amd64')!;
    const script = 'echo "nproc=$(nproc) arch=$(uname -m)"';
    const con = await startGuest({
      kernel: g.kernel,
      initrd: g.initrd,
      append: `${g.cmdlineDefaults} ${cmdParam(script)}`,
      accel: 'kvm',
      memory: '512M',
      cpus,
    });
    await con.waitFor(new RegExp(BOOT_MARKER), 120_000);
    const status = await con.machine.wait();
    const out = con.text();
    assert.deepEqual(status, { kind: 'poweroff' }, out.slice(-2000));
    assert.equal(parseExitStatus(out), 0);
    assert.match(out, new RegExp(`nproc=${cpus} arch=x86_64`));
  });
}

test('kvm: interactive shell on ttyS0 answers a typed command', { skip: why() }, async () => {
  const g = findGuest('amd64')!;
  const con = await startGuest({ kernel: g.kernel, initrd: g.initrd, append: g.cmdlineDefaults, accel: 'kvm', memory: '512M' });
  await con.waitFor(/# /, 120_000);
  const at = con.mark();
  con.type('echo answer=$((6 * 7))\n');
  await con.waitFor(/answer=42/, 30_000, at);
  con.type('poweroff -f\n');
  assert.deepEqual(await con.machine.wait(), { kind: 'poweroff' });
});
