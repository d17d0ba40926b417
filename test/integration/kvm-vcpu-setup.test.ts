/** Per-vCPU set-up on the real /dev/kvm: MSRs (tolerating refusals), LAPIC LINT0/1, guest-visible CPUID. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import { KvmEngine, KvmVm, createMmapMemory } from '../../src/engines/kvm/index.js';
import { BOOT_MSRS, getMsr, setMsrs, MSR_IA32_MISC_ENABLE, MSR_MTRR_DEF_TYPE, MSR_LSTAR } from '../../src/engines/kvm/msrs.js';
import { getLapic, APIC_LVT_LINT0, APIC_LVT_LINT1 } from '../../src/engines/kvm/lapic.js';
import { sys } from '../../src/sys/native.js';
import { runGuarded, assemble, kvmSkipReason, realModeState, Recorder, testHost } from './kvm-guest.js';

const skip = kvmSkipReason();
const MSR_IA32_ARCH_CAPABILITIES = 0x10a;

test('setMsrs skips MSRs the host refuses and still sets the others', (t) => {
  if (skip) return t.skip(skip);
  const vm = new KvmVm();
  const fd = vm.createVcpu(0);
  try {
    // A bogus index is refused by every KVM; ARCH_CAPABILITIES is refused by PVM. Put them first and in the middle.
    const boot = BOOT_MSRS.map((m) => (m.index === MSR_LSTAR ? { ...m, value: 0xffff_ffff_8100_0000n } : m));
    const msrs = [{ index: 0xdead_beef, value: 1n }, ...boot.slice(0, 5), { index: MSR_IA32_ARCH_CAPABILITIES, value: 0n }, ...boot.slice(5)];
    const failed = setMsrs(fd, msrs);
    assert.ok(failed.includes(0xdead_beef));
    assert.ok(failed.every((i) => i === 0xdead_beef || i === MSR_IA32_ARCH_CAPABILITIES), `failed: ${failed.map((i) => i.toString(16))}`);
    assert.equal(getMsr(fd, MSR_IA32_MISC_ENABLE)! & 1n, 1n, 'fast strings enabled');
    assert.equal(getMsr(fd, MSR_MTRR_DEF_TYPE), 0x806n, 'MTRRs enabled, default write-back');
    assert.equal(getMsr(fd, MSR_LSTAR), 0xffff_ffff_8100_0000n);
    t.diagnostic(`refused: ${failed.map((i) => '0x' + i.toString(16)).join(', ')}`);
  } finally {
    sys().close(fd);
    vm.close();
  }
});

test('engine set-up: BSP LINT0 ExtINT, APs LINT0 masked, LINT1 NMI everywhere; the guest sees the KVM signature', (t) => {
  if (skip) return t.skip(skip);
  const code = assemble(
    `.code16
    mov $0x40000000, %eax
    cpuid
    mov %ebx, %eax
    out %eax, $0x10
    mov %ecx, %eax
    out %eax, $0x10
    mov %edx, %eax
    out %eax, $0x10
    mov $1, %eax
    cpuid
    mov %ecx, %eax
    out %eax, $0x10
    out %al, $0x11
1:  jmp 1b`,
    0x1000,
  );
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, code);
  const pio = new Bus('pio');
  let engine: KvmEngine | undefined;
  const rec = new Recorder('cpuid', (off) => {
    if (off === 1) engine!.requestStop({ kind: 'debug-exit', code: 0 });
  });
  pio.register(0x10, 2, rec);
  const host = testHost();
  engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus: 2, bootState: realModeState(0x1000), host });
  try {
    const lapic = getLapic(engine.vcpuFds[0]!);
    assert.equal(lapic.getUint32(APIC_LVT_LINT0, true) & 0x1_0700, 0x700);
    assert.equal(lapic.getUint32(APIC_LVT_LINT1, true) & 0x1_0700, 0x400);
    const ap = getLapic(engine.vcpuFds[1]!);
    assert.equal(ap.getUint32(APIC_LVT_LINT0, true) & 0x1_0700, 0x1_0700, 'AP LINT0 masked');
    assert.equal(ap.getUint32(APIC_LVT_LINT1, true) & 0x1_0700, 0x400);
    assert.deepEqual(runGuarded(engine, host), { kind: 'debug-exit', code: 0 });
    const v = rec.writes.filter((w) => w.offset === 0).map((w) => w.value >>> 0);
    const sig = Buffer.alloc(12);
    v.slice(0, 3).forEach((x, i) => sig.writeUInt32LE(x, i * 4));
    assert.equal(sig.toString('latin1'), 'KVMKVMKVM\0\0\0');
    assert.equal(v[3]! >>> 31, 1, 'hypervisor bit');
    t.diagnostic(`MSRs refused by this host: ${engine.stats.failedMsrs.map((i) => '0x' + i.toString(16)).join(', ') || 'none'}`);
  } finally {
    engine.close();
  }
});
