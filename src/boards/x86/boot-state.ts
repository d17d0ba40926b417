/**
 * The initial vCPU state the board hands to the kvm engine, which applies it
 * with KVM_SET_SREGS / KVM_SET_REGS on the boot vCPU (APs start in the
 * wait-for-SIPI state and need none of this).
 *
 * Shape contract with src/engines/kvm: all fields are plain numbers (every
 * value here fits in 2^53), `unusable` is optional and defaults to false.
 * If this shape changes it must stay a superset of the one below.
 *
 * Two entry states exist:
 *  - 64-bit Linux boot protocol (Documentation/arch/x86/boot.rst, "64-bit
 *    BOOT PROTOCOL"): long mode, paging on with identity-mapped page tables,
 *    CS = __BOOT_CS (0x10) / DS = __BOOT_DS (0x18) flat, RSI = boot_params.
 *  - Xen PVH: 32-bit protected mode, paging off, flat 32-bit CS/DS,
 *    EBX = hvm_start_info.
 * Both use the same GDT (see gdt.ts) so a guest that reloads a selector
 * finds a descriptor that matches what KVM was told.
 */

export interface X86Segment {
  selector: number;
  base: number;
  limit: number;
  type: number;
  present: boolean;
  dpl: number;
  db: boolean;
  s: boolean;
  l: boolean;
  g: boolean;
  avl: boolean;
  unusable?: boolean;
}

export interface X86BootState {
  regs: { rip: number; rsp: number; rbp: number; rsi: number; rdi: number; rax: number; rbx: number; rflags: number };
  sregs: {
    cr0: number;
    cr3: number;
    cr4: number;
    efer: number;
    gdt: { base: number; limit: number };
    idt: { base: number; limit: number };
    cs: X86Segment;
    ds: X86Segment;
    es: X86Segment;
    fs: X86Segment;
    gs: X86Segment;
    ss: X86Segment;
    tr: X86Segment;
    ldt: X86Segment;
  };
}

// Control register and EFER bits (Intel SDM vol. 3, 2.5 and 2.2.1).
export const CR0_PE = 1 << 0;
export const CR0_ET = 1 << 4;
export const CR0_PG = 0x80000000;
export const CR4_PAE = 1 << 5;
export const EFER_LME = 1 << 8;
export const EFER_LMA = 1 << 10;
/** RFLAGS bit 1 is reserved and always reads 1; IF (bit 9) stays clear: interrupts off. */
export const RFLAGS_RESERVED = 0x2;

// Selectors of the boot GDT (gdt.ts builds the matching descriptors).
/** Flat 32-bit code: the PVH entry CS. */
export const SEL_CODE32 = 0x08;
/** Flat 64-bit code: __BOOT_CS of boot.rst. */
export const SEL_CODE64 = 0x10;
/** Flat data: __BOOT_DS of boot.rst, also the PVH data selector. */
export const SEL_DATA = 0x18;
/** A 32-bit TSS descriptor: KVM (VMX guest-state checks) wants a usable TR. */
export const SEL_TSS = 0x20;

// Segment descriptor types (the 4-bit type field, S=1 for code/data).
const TYPE_CODE_XR_ACCESSED = 0xb;
const TYPE_DATA_RW_ACCESSED = 0x3;
const TYPE_TSS_BUSY = 0xb;
const TYPE_LDT = 0x2;

export function codeSegment64(): X86Segment {
  return { selector: SEL_CODE64, base: 0, limit: 0xffffffff, type: TYPE_CODE_XR_ACCESSED, present: true, dpl: 0, db: false, s: true, l: true, g: true, avl: false };
}

export function codeSegment32(): X86Segment {
  return { selector: SEL_CODE32, base: 0, limit: 0xffffffff, type: TYPE_CODE_XR_ACCESSED, present: true, dpl: 0, db: true, s: true, l: false, g: true, avl: false };
}

export function dataSegment(): X86Segment {
  return { selector: SEL_DATA, base: 0, limit: 0xffffffff, type: TYPE_DATA_RW_ACCESSED, present: true, dpl: 0, db: true, s: true, l: false, g: true, avl: false };
}

export function taskSegment(): X86Segment {
  return { selector: SEL_TSS, base: 0, limit: 0x67, type: TYPE_TSS_BUSY, present: true, dpl: 0, db: false, s: false, l: false, g: false, avl: false };
}

export function unusableLdt(): X86Segment {
  return { selector: 0, base: 0, limit: 0xffff, type: TYPE_LDT, present: false, dpl: 0, db: false, s: false, l: false, g: false, avl: false, unusable: true };
}

export interface TablesLocation {
  gdtBase: number;
  gdtLimit: number;
}

/** The boot GDT, no IDT, `cs`, flat data in every data segment, a busy TSS and no LDT: what both entries share. */
function flatSegments(gdt: TablesLocation, cs: X86Segment): Omit<X86BootState['sregs'], 'cr0' | 'cr3' | 'cr4' | 'efer'> {
  const ds = dataSegment();
  return {
    gdt: { base: gdt.gdtBase, limit: gdt.gdtLimit },
    idt: { base: 0, limit: 0 },
    cs,
    ds,
    es: { ...ds },
    fs: { ...ds },
    gs: { ...ds },
    ss: { ...ds },
    tr: taskSegment(),
    ldt: unusableLdt(),
  };
}

/** State for the 64-bit Linux boot protocol entry. `pml4` is the CR3 value (identity map built by page-tables.ts). */
export function longModeBootState(opts: { entry: number; bootParams: number; pml4: number; stack: number; gdt: TablesLocation }): X86BootState {
  return {
    regs: { rip: opts.entry, rsp: opts.stack, rbp: 0, rsi: opts.bootParams, rdi: 0, rax: 0, rbx: 0, rflags: RFLAGS_RESERVED },
    sregs: {
      // `>>> 0`: a JS bitwise OR with bit 31 set is negative, which would reach KVM as 0xffffffff8000xxxx.
      cr0: (CR0_PE | CR0_ET | CR0_PG) >>> 0,
      cr3: opts.pml4,
      cr4: CR4_PAE,
      efer: EFER_LME | EFER_LMA,
      ...flatSegments(opts.gdt, codeSegment64()),
    },
  };
}

/** State for the Xen PVH entry: 32-bit protected mode, paging off, EBX = hvm_start_info. */
export function pvhBootState(opts: { entry: number; startInfo: number; gdt: TablesLocation }): X86BootState {
  return {
    regs: { rip: opts.entry, rsp: 0, rbp: 0, rsi: 0, rdi: 0, rax: 0, rbx: opts.startInfo, rflags: RFLAGS_RESERVED },
    sregs: {
      cr0: CR0_PE | CR0_ET,
      cr3: 0,
      cr4: 0,
      efer: 0,
      ...flatSegments(opts.gdt, codeSegment32()),
    },
  };
}
