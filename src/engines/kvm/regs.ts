/**
 * Loading a vCPU's architectural state from the board's X86BootState with
 * KVM_SET_SREGS / KVM_SET_REGS / KVM_SET_FPU, and reading it back (tests,
 * error reports).
 */
import { sys } from '../../sys/native.js';
import * as K from '../../sys/kvm-abi.js';
import type { X86BootState, X86Segment } from '../../boards/x86/boot-state.js';

const SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;

function toKvmSegment(s: X86Segment): K.KvmSegment {
  const b = (x: boolean | undefined): number => (x ? 1 : 0);
  return {
    base: s.base,
    limit: s.limit,
    selector: s.selector,
    type: s.type,
    present: b(s.present),
    dpl: s.dpl,
    db: b(s.db),
    s: b(s.s),
    l: b(s.l),
    g: b(s.g),
    avl: b(s.avl),
    unusable: b(s.unusable),
  };
}

export function applyBootState(vcpuFd: number, st: X86BootState): void {
  const s = sys();
  // Start from KVM's current sregs so apic_base, cr8 and the interrupt bitmap keep their reset values.
  const sb = new Uint8Array(K.kvm_sregs.SIZE);
  s.ioctl(vcpuFd, K.KVM_GET_SREGS, sb);
  const sv = new DataView(sb.buffer);
  for (const name of SEGMENTS) K.writeSegment(sv, K.kvm_sregs[name], toKvmSegment(st.sregs[name]));
  sv.setBigUint64(K.kvm_sregs.gdt + K.kvm_dtable.base, BigInt(st.sregs.gdt.base), true);
  sv.setUint16(K.kvm_sregs.gdt + K.kvm_dtable.limit, st.sregs.gdt.limit, true);
  sv.setBigUint64(K.kvm_sregs.idt + K.kvm_dtable.base, BigInt(st.sregs.idt.base), true);
  sv.setUint16(K.kvm_sregs.idt + K.kvm_dtable.limit, st.sregs.idt.limit, true);
  sv.setBigUint64(K.kvm_sregs.cr0, BigInt(st.sregs.cr0), true);
  sv.setBigUint64(K.kvm_sregs.cr3, BigInt(st.sregs.cr3), true);
  sv.setBigUint64(K.kvm_sregs.cr4, BigInt(st.sregs.cr4), true);
  sv.setBigUint64(K.kvm_sregs.efer, BigInt(st.sregs.efer), true);
  s.ioctl(vcpuFd, K.KVM_SET_SREGS, sb);

  const rb = new Uint8Array(K.kvm_regs.SIZE);
  const rv = new DataView(rb.buffer);
  const r = st.regs;
  for (const name of ['rip', 'rsp', 'rbp', 'rsi', 'rdi', 'rax', 'rbx', 'rflags'] as const) {
    rv.setBigUint64(K.kvm_regs[name], BigInt(r[name]), true);
  }
  s.ioctl(vcpuFd, K.KVM_SET_REGS, rb);

  // x87 control word and MXCSR as after FNINIT / reset: all exceptions masked.
  const fb = new Uint8Array(K.kvm_fpu.SIZE);
  const fv = new DataView(fb.buffer);
  fv.setUint16(K.kvm_fpu.fcw, 0x37f, true);
  fv.setUint32(K.kvm_fpu.mxcsr, 0x1f80, true);
  s.ioctl(vcpuFd, K.KVM_SET_FPU, fb);
}

export type KvmRegs = Record<keyof Omit<typeof K.kvm_regs, 'SIZE'>, bigint>;

export function getRegs(vcpuFd: number): KvmRegs {
  const b = new Uint8Array(K.kvm_regs.SIZE);
  sys().ioctl(vcpuFd, K.KVM_GET_REGS, b);
  const v = new DataView(b.buffer);
  const out: Partial<KvmRegs> = {};
  for (const [name, off] of Object.entries(K.kvm_regs)) {
    if (name !== 'SIZE') out[name as keyof KvmRegs] = v.getBigUint64(off, true);
  }
  return out as KvmRegs;
}

export interface KvmSregsSummary {
  cr0: bigint;
  cr3: bigint;
  cr4: bigint;
  efer: bigint;
  cs: K.KvmSegment;
}

export function getSregs(vcpuFd: number): KvmSregsSummary {
  const b = new Uint8Array(K.kvm_sregs.SIZE);
  sys().ioctl(vcpuFd, K.KVM_GET_SREGS, b);
  const v = new DataView(b.buffer);
  return {
    cr0: v.getBigUint64(K.kvm_sregs.cr0, true),
    cr3: v.getBigUint64(K.kvm_sregs.cr3, true),
    cr4: v.getBigUint64(K.kvm_sregs.cr4, true),
    efer: v.getBigUint64(K.kvm_sregs.efer, true),
    cs: K.readSegment(v, K.kvm_sregs.cs),
  };
}

/** One line for error messages: where the vCPU was. */
export function describeVcpu(vcpuFd: number): string {
  try {
    const r = getRegs(vcpuFd);
    const s = getSregs(vcpuFd);
    const h = (x: bigint | number): string => x.toString(16);
    return `rip=0x${h(r.rip)} rsp=0x${h(r.rsp)} rflags=0x${h(r.rflags)} cs=0x${h(s.cs.selector)} cr0=0x${h(s.cr0)} cr3=0x${h(s.cr3)} cr4=0x${h(s.cr4)} efer=0x${h(s.efer)}`;
  } catch (e) {
    return `(registers unavailable: ${(e as Error).message})`;
  }
}
