/**
 * Model-specific registers set on every vCPU before it first runs: the values
 * a freshly reset CPU (or firmware) would leave that Linux relies on.
 */
import { sys } from '../../sys/native.js';
import * as K from '../../sys/kvm-abi.js';

export const MSR_IA32_TSC = 0x10;
export const MSR_IA32_SYSENTER_CS = 0x174;
export const MSR_IA32_SYSENTER_ESP = 0x175;
export const MSR_IA32_SYSENTER_EIP = 0x176;
export const MSR_IA32_MISC_ENABLE = 0x1a0;
export const MSR_MTRR_DEF_TYPE = 0x2ff;
export const MSR_STAR = 0xc000_0081;
export const MSR_LSTAR = 0xc000_0082;
export const MSR_CSTAR = 0xc000_0083;
export const MSR_SYSCALL_MASK = 0xc000_0084;
export const MSR_KERNEL_GS_BASE = 0xc000_0102;

const MISC_ENABLE_FAST_STRING = 1n;
/** MTRRdefType: E (bit 11) set, default type 6 = write-back. */
const MTRR_DEF_TYPE_WB_ENABLED = (1n << 11n) | 6n;

export interface MsrValue {
  index: number;
  value: bigint;
}

export const BOOT_MSRS: readonly MsrValue[] = [
  { index: MSR_IA32_SYSENTER_CS, value: 0n },
  { index: MSR_IA32_SYSENTER_ESP, value: 0n },
  { index: MSR_IA32_SYSENTER_EIP, value: 0n },
  { index: MSR_STAR, value: 0n },
  { index: MSR_CSTAR, value: 0n },
  { index: MSR_KERNEL_GS_BASE, value: 0n },
  { index: MSR_SYSCALL_MASK, value: 0n },
  { index: MSR_LSTAR, value: 0n },
  { index: MSR_IA32_TSC, value: 0n },
  { index: MSR_IA32_MISC_ENABLE, value: MISC_ENABLE_FAST_STRING },
  { index: MSR_MTRR_DEF_TYPE, value: MTRR_DEF_TYPE_WB_ENABLED },
];

function encode(msrs: readonly MsrValue[]): Uint8Array {
  const E = K.kvm_msr_entry;
  const b = new Uint8Array(K.kvm_msrs.SIZE + msrs.length * E.SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(K.kvm_msrs.nmsrs, msrs.length, true);
  msrs.forEach((m, i) => {
    const o = K.kvm_msrs.entries + i * E.SIZE;
    v.setUint32(o + E.index, m.index >>> 0, true);
    v.setBigUint64(o + E.data, BigInt.asUintN(64, m.value), true);
  });
  return b;
}

/**
 * KVM_SET_MSRS sets entries in order and returns how many it set; the entry at
 * that count is the one the host refused. Skip it and carry on, so one MSR
 * the host cannot emulate (PVM refuses some) never blocks the rest.
 * Returns the indices that failed.
 */
export function setMsrs(vcpuFd: number, msrs: readonly MsrValue[]): number[] {
  const failed: number[] = [];
  let rest = msrs.slice();
  while (rest.length > 0) {
    let n: number;
    try {
      n = sys().ioctl(vcpuFd, K.KVM_SET_MSRS, encode(rest));
    } catch {
      n = 0; // the whole call failed: treat the first entry as the culprit
    }
    if (n >= rest.length) break;
    failed.push(rest[n]!.index);
    rest = rest.slice(n + 1);
  }
  return failed;
}

export function getMsr(vcpuFd: number, index: number): bigint | undefined {
  const b = encode([{ index, value: 0n }]);
  const n = sys().ioctl(vcpuFd, K.KVM_GET_MSRS, b);
  if (n !== 1) return undefined;
  return new DataView(b.buffer).getBigUint64(K.kvm_msrs.entries + K.kvm_msr_entry.data, true);
}
