/**
 * Local APIC wiring every PC has ("virtual wire" mode of the MP spec): the boot
 * CPU's LINT0 receives the 8259 PIC output (ExtINT), every CPU's LINT1
 * receives NMI. APs keep LINT0 masked, or KVM would offer PIC interrupts to
 * them too. Linux reprograms these later; until then this is what lets legacy
 * PIC interrupts reach the boot CPU.
 */
import { sys } from '../../sys/native.js';
import * as K from '../../sys/kvm-abi.js';

export const APIC_ID = 0x20;
export const APIC_LVT_LINT0 = 0x350;
export const APIC_LVT_LINT1 = 0x360;
const DELIVERY_MODE_MASK = 0x700;
const DELIVERY_EXTINT = 0x700;
const DELIVERY_NMI = 0x400;
const LVT_MASKED = 1 << 16;

export function getLapic(vcpuFd: number): DataView {
  const b = new Uint8Array(K.kvm_lapic_state.SIZE);
  sys().ioctl(vcpuFd, K.KVM_GET_LAPIC, b);
  return new DataView(b.buffer);
}

export function setupLapic(vcpuFd: number, bootCpu: boolean): void {
  const v = getLapic(vcpuFd);
  const lint0 = v.getUint32(APIC_LVT_LINT0, true);
  const lint0Mask = bootCpu ? 0 : LVT_MASKED;
  v.setUint32(APIC_LVT_LINT0, ((lint0 & ~(DELIVERY_MODE_MASK | LVT_MASKED)) | DELIVERY_EXTINT | lint0Mask) >>> 0, true);
  const lint1 = v.getUint32(APIC_LVT_LINT1, true);
  v.setUint32(APIC_LVT_LINT1, ((lint1 & ~(DELIVERY_MODE_MASK | LVT_MASKED)) | DELIVERY_NMI) >>> 0, true);
  sys().ioctl(vcpuFd, K.KVM_SET_LAPIC, new Uint8Array(v.buffer));
}
