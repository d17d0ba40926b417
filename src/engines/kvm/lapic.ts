/**
 * Local APIC wiring every PC has: LINT0 receives the 8259 PIC output (ExtINT),
 * LINT1 receives NMI. Linux reprograms these later; until then this is what
 * lets legacy PIC interrupts reach the boot CPU.
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

export function setupLapic(vcpuFd: number): void {
  const v = getLapic(vcpuFd);
  const lint0 = v.getUint32(APIC_LVT_LINT0, true);
  v.setUint32(APIC_LVT_LINT0, ((lint0 & ~(DELIVERY_MODE_MASK | LVT_MASKED)) | DELIVERY_EXTINT) >>> 0, true);
  const lint1 = v.getUint32(APIC_LVT_LINT1, true);
  v.setUint32(APIC_LVT_LINT1, ((lint1 & ~(DELIVERY_MODE_MASK | LVT_MASKED)) | DELIVERY_NMI) >>> 0, true);
  sys().ioctl(vcpuFd, K.KVM_SET_LAPIC, new Uint8Array(v.buffer));
}
