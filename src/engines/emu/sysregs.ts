/**
 * System registers (MRS/MSR) of the emulated Cortex-A57-like ARMv8.0 CPU.
 *
 * Keys are the instruction's o0:op1:CRn:CRm:op2 fields packed as
 * (op0 << 14) | (op1 << 11) | (CRn << 7) | (CRm << 3) | op2, which is bits
 * 20:5 of the MRS/MSR encoding.
 */
import { type Cpu, EC_SYS, GuestFault } from './cpu.js';

export function sysKey(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

export const MIDR_EL1 = sysKey(3, 0, 0, 0, 0);
export const MPIDR_EL1 = sysKey(3, 0, 0, 0, 5);
export const REVIDR_EL1 = sysKey(3, 0, 0, 0, 6);
export const ID_AA64PFR0_EL1 = sysKey(3, 0, 0, 4, 0);
export const ID_AA64DFR0_EL1 = sysKey(3, 0, 0, 5, 0);
export const ID_AA64ISAR0_EL1 = sysKey(3, 0, 0, 6, 0);
export const ID_AA64MMFR0_EL1 = sysKey(3, 0, 0, 7, 0);
export const CCSIDR_EL1 = sysKey(3, 1, 0, 0, 0);
export const CLIDR_EL1 = sysKey(3, 1, 0, 0, 1);
export const CSSELR_EL1 = sysKey(3, 2, 0, 0, 0);
export const CTR_EL0 = sysKey(3, 3, 0, 0, 1);
export const DCZID_EL0 = sysKey(3, 3, 0, 0, 7);
export const SCTLR_EL1 = sysKey(3, 0, 1, 0, 0);
export const ACTLR_EL1 = sysKey(3, 0, 1, 0, 1);
export const CPACR_EL1 = sysKey(3, 0, 1, 0, 2);
export const TTBR0_EL1 = sysKey(3, 0, 2, 0, 0);
export const TTBR1_EL1 = sysKey(3, 0, 2, 0, 1);
export const TCR_EL1 = sysKey(3, 0, 2, 0, 2);
export const SPSR_EL1 = sysKey(3, 0, 4, 0, 0);
export const ELR_EL1 = sysKey(3, 0, 4, 0, 1);
export const SP_EL0 = sysKey(3, 0, 4, 1, 0);
export const SPSEL = sysKey(3, 0, 4, 2, 0);
export const CURRENTEL = sysKey(3, 0, 4, 2, 2);
export const NZCV = sysKey(3, 3, 4, 2, 0);
export const DAIF = sysKey(3, 3, 4, 2, 1);
export const FPCR = sysKey(3, 3, 4, 4, 0);
export const FPSR = sysKey(3, 3, 4, 4, 1);
export const ESR_EL1 = sysKey(3, 0, 5, 2, 0);
export const FAR_EL1 = sysKey(3, 0, 6, 0, 0);
export const PAR_EL1 = sysKey(3, 0, 7, 4, 0);
export const MAIR_EL1 = sysKey(3, 0, 10, 2, 0);
export const VBAR_EL1 = sysKey(3, 0, 12, 0, 0);
export const ISR_EL1 = sysKey(3, 0, 12, 1, 0);
export const CONTEXTIDR_EL1 = sysKey(3, 0, 13, 0, 1);
export const TPIDR_EL1 = sysKey(3, 0, 13, 0, 4);
export const TPIDR_EL0 = sysKey(3, 3, 13, 0, 2);
export const TPIDRRO_EL0 = sysKey(3, 3, 13, 0, 3);
export const CNTKCTL_EL1 = sysKey(3, 0, 14, 1, 0);
export const CNTFRQ_EL0 = sysKey(3, 3, 14, 0, 0);
export const CNTPCT_EL0 = sysKey(3, 3, 14, 0, 1);
export const CNTVCT_EL0 = sysKey(3, 3, 14, 0, 2);
export const CNTP_TVAL_EL0 = sysKey(3, 3, 14, 2, 0);
export const CNTP_CTL_EL0 = sysKey(3, 3, 14, 2, 1);
export const CNTP_CVAL_EL0 = sysKey(3, 3, 14, 2, 2);
export const CNTV_TVAL_EL0 = sysKey(3, 3, 14, 3, 0);
export const CNTV_CTL_EL0 = sysKey(3, 3, 14, 3, 1);
export const CNTV_CVAL_EL0 = sysKey(3, 3, 14, 3, 2);
export const OSLSR_EL1 = sysKey(2, 0, 1, 1, 4);

export const CNTFRQ = 62_500_000;

/** ID register values: Cortex-A57 r1p0 identity, ARMv8.0 features only. */
const ID_VALUES = new Map<number, bigint>([
  [MIDR_EL1, 0x411fd070n],
  [REVIDR_EL1, 0n],
  // EL0/EL1 AArch64 only, EL2/EL3 absent, FP and AdvSIMD implemented (0), no GIC system registers.
  [ID_AA64PFR0_EL1, 0x11n],
  // DebugVer v8, 2 breakpoints, 2 watchpoints, no PMU.
  [ID_AA64DFR0_EL1, 0x00101006n],
  // CRC32 only.
  [ID_AA64ISAR0_EL1, 0x10000n],
  // PARange 48 bits, 16-bit ASIDs, SNSMem, 4K granule only (TGran64 = 0xf, TGran16 = 0).
  [ID_AA64MMFR0_EL1, 0x0f001025n],
  // L1 I + D, LoUU = 1, LoC = 1 (no L2 described).
  [CLIDR_EL1, 0x09000003n],
  [CTR_EL0, 0x8444c004n],
  // DC ZVA allowed, 64-byte blocks (2^4 words).
  [DCZID_EL0, 4n],

]);

/** Registers EL0 may access (with their extra conditions checked in checkEl0). */
function el0Allowed(c: Cpu, key: number, read: boolean): boolean {
  const sctlr = c.sctlr;
  switch (key) {
    case NZCV:
    case FPCR:
    case FPSR:
    case TPIDR_EL0:
      return true;
    case TPIDRRO_EL0:
      return read;
    case DAIF:
      return (sctlr & (1n << 9n)) !== 0n; // UMA
    case CTR_EL0:
      return read && (sctlr & (1n << 15n)) !== 0n; // UCT
    case DCZID_EL0:
      return read;
    case CNTFRQ_EL0:
      return read && (c.cntkctl & 3n) !== 0n;
    case CNTVCT_EL0:
      return read && (c.cntkctl & 2n) !== 0n;
    case CNTPCT_EL0:
      return read && (c.cntkctl & 1n) !== 0n;
    case CNTV_CTL_EL0:
    case CNTV_CVAL_EL0:
    case CNTV_TVAL_EL0:
      return (c.cntkctl & (1n << 8n)) !== 0n;
    case CNTP_CTL_EL0:
    case CNTP_CVAL_EL0:
    case CNTP_TVAL_EL0:
      return (c.cntkctl & (1n << 9n)) !== 0n;
    default:
      return false;
  }
}

/** ISS of a trapped MSR/MRS (EC 0x18). */
export function sysTrapIss(key: number, rt: number, read: boolean): number {
  const op0 = key >> 14;
  const op1 = (key >> 11) & 7;
  const crn = (key >> 7) & 15;
  const crm = (key >> 3) & 15;
  const op2 = key & 7;
  return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | (read ? 1 : 0);
}

/** Trap an EL0 access that is not allowed. */
export function checkEl0(c: Cpu, key: number, rt: number, read: boolean): void {
  if (c.el === 0 && !el0Allowed(c, key, read)) {
    // EL1-only registers are UNDEFINED at EL0; ID registers and the EL0 registers
    // disabled by SCTLR/CNTKCTL trap with EC 0x18 so the kernel can emulate them.
    const op1 = (key >> 11) & 7;
    const isId = key >> 14 === 3 && op1 === 0 && ((key >> 7) & 15) === 0;
    if (op1 === 3 || isId) throw new GuestFault(EC_SYS, sysTrapIss(key, rt, read));
    throw new GuestFault(0, 0);
  }
}

function timerCtl(c: Cpu, virt: boolean): bigint {
  const ctl = virt ? c.cntvCtl : c.cntpCtl;
  const cval = virt ? c.cntvCval : c.cntpCval;
  const now = c.counter();
  const ist = (ctl & 1) !== 0 && now >= cval ? 4 : 0;
  return BigInt((ctl & 3) | ist);
}

export function readSysreg(c: Cpu, key: number): bigint {
  switch (key) {
    case MPIDR_EL1:
      return 0x80000000n | BigInt(c.index);
    case SCTLR_EL1:
      return c.sctlr;
    case CPACR_EL1:
      return c.cpacr;
    case TTBR0_EL1:
      return c.ttbr0;
    case TTBR1_EL1:
      return c.ttbr1;
    case TCR_EL1:
      return c.tcr;
    case SPSR_EL1:
      return c.spsr;
    case ELR_EL1:
      return c.elr;
    case SP_EL0:
      return c.getSpEl0();
    case SPSEL:
      return BigInt(c.spsel);
    case CURRENTEL:
      return BigInt(c.el << 2);
    case NZCV:
      return BigInt(c.nzcv) << 28n;
    case DAIF:
      return BigInt(c.daif);
    case FPCR:
      return BigInt(c.fpcr >>> 0);
    case FPSR:
      return BigInt(c.fpsr >>> 0);
    case ESR_EL1:
      return c.esr;
    case FAR_EL1:
      return c.far;
    case PAR_EL1:
      return c.par;
    case MAIR_EL1:
      return c.mair;
    case VBAR_EL1:
      return c.vbar;
    case ISR_EL1:
      return (c.irqLine ? 0x80n : 0n) | (c.fiqLine ? 0x40n : 0n);
    case CONTEXTIDR_EL1:
      return c.contextidr;
    case TPIDR_EL1:
      return c.tpidr1;
    case TPIDR_EL0:
      return c.tpidr0;
    case TPIDRRO_EL0:
      return c.tpidrro0;
    case CNTKCTL_EL1:
      return c.cntkctl;
    case CNTFRQ_EL0:
      return BigInt(CNTFRQ);
    case CNTPCT_EL0:
    case CNTVCT_EL0:
      return c.counter();
    case CNTV_CTL_EL0:
      return timerCtl(c, true);
    case CNTP_CTL_EL0:
      return timerCtl(c, false);
    case CNTV_CVAL_EL0:
      return c.cntvCval;
    case CNTP_CVAL_EL0:
      return c.cntpCval;
    case CNTV_TVAL_EL0:
      return BigInt.asUintN(64, BigInt.asIntN(32, c.cntvCval - c.counter()));
    case CNTP_TVAL_EL0:
      return BigInt.asUintN(64, BigInt.asIntN(32, c.cntpCval - c.counter()));
    case CCSIDR_EL1:
      // 32 KiB, 2-way, 64-byte lines for L1D; 48 KiB 3-way for L1I (CSSELR.InD selects).
      return (c.misc.get(CSSELR_EL1) ?? 0n) & 1n ? 0x201fe012n : 0x701fe00an;
    case OSLSR_EL1:
      return 8n; // OSLM[1] = 1: OS lock implemented, unlocked
    case DCZID_EL0:
      // DZP reads as 1 at EL0 when SCTLR_EL1.DZE prohibits DC ZVA there.
      return c.el === 0 && (c.sctlr & (1n << 14n)) === 0n ? 0x14n : 4n;
  }
  const id = ID_VALUES.get(key);
  if (id !== undefined) return id;
  // Everything else (the remaining ID space, debug, AMAIR, PMU...) reads as last written, or zero.
  return c.misc.get(key) ?? 0n;
}

export function writeSysreg(c: Cpu, key: number, v: bigint): void {
  switch (key) {
    case SCTLR_EL1:
      c.sctlr = v & 0xffffffffn;
      c.sctlrN = Number(c.sctlr) | 0;
      c.flushTlb();
      return;
    case CPACR_EL1:
      c.cpacr = v & 0x00300000n;
      c.updateMode();
      return;
    case TTBR0_EL1:
      // Only non-global entries depend on TTBR0 (the kernel's are global and come from TTBR1).
      c.ttbr0 = v;
      c.flushTlbNonGlobal();
      return;
    case TTBR1_EL1: {
      // Linux sets TCR_EL1.A1: context switches change only TTBR1's ASID field. Global
      // (kernel) entries stay valid then; a new table base invalidates everything.
      const baseChanged = ((c.ttbr1 ^ v) & 0x0000ffffffffffffn) !== 0n;
      c.ttbr1 = v;
      if (baseChanged) c.flushTlb();
      else c.flushTlbNonGlobal();
      return;
    }
    case TCR_EL1:
      c.tcr = v;
      c.tcrLo = Number(v & 0xffffffffn) | 0;
      c.tcrHi = Number((v >> 32n) & 0xffffffffn) | 0;
      c.flushTlb();
      return;
    case SPSR_EL1:
      c.spsr = v & 0xffffffffn;
      return;
    case ELR_EL1:
      c.elr = v;
      return;
    case SP_EL0:
      c.setSpEl0(v);
      return;
    case SPSEL:
      c.setMode(c.el, Number(v & 1n));
      return;
    case NZCV:
      c.nzcv = Number((v >> 28n) & 0xfn);
      return;
    case DAIF:
      c.daif = Number(v & 0x3c0n);
      if (c.interruptPending()) c.sliceEnd = 0; // take it before the next instruction
      return;
    case FPCR:
      c.fpcr = Number(v & 0x07ff9f00n);
      return;
    case FPSR:
      c.fpsr = Number(v & 0xf800009fn);
      return;
    case ESR_EL1:
      c.esr = v & 0xffffffffn;
      return;
    case FAR_EL1:
      c.far = v;
      return;
    case PAR_EL1:
      c.par = v;
      return;
    case MAIR_EL1:
      c.mair = v;
      return;
    case VBAR_EL1:
      c.vbar = v & ~0x7ffn;
      return;
    case CONTEXTIDR_EL1:
      c.contextidr = v & 0xffffffffn;
      return;
    case TPIDR_EL1:
      c.tpidr1 = v;
      return;
    case TPIDR_EL0:
      c.tpidr0 = v;
      return;
    case TPIDRRO_EL0:
      c.tpidrro0 = v;
      return;
    case CNTKCTL_EL1:
      c.cntkctl = v & 0x3ffn;
      return;
    case CNTV_CTL_EL0:
      c.cntvCtl = Number(v & 3n);
      c.onTimerWrite(c);
      return;
    case CNTP_CTL_EL0:
      c.cntpCtl = Number(v & 3n);
      c.onTimerWrite(c);
      return;
    case CNTV_CVAL_EL0:
      c.cntvCval = v;
      c.onTimerWrite(c);
      return;
    case CNTP_CVAL_EL0:
      c.cntpCval = v;
      c.onTimerWrite(c);
      return;
    case CNTV_TVAL_EL0:
      c.cntvCval = BigInt.asUintN(64, c.counter() + BigInt.asIntN(32, v));
      c.onTimerWrite(c);
      return;
    case CNTP_TVAL_EL0:
      c.cntpCval = BigInt.asUintN(64, c.counter() + BigInt.asIntN(32, v));
      c.onTimerWrite(c);
      return;
  }
  // Read-only identification registers ignore writes; everything else is stored.
  if (ID_VALUES.has(key) || key === MPIDR_EL1 || key === CURRENTEL) return;
  c.misc.set(key, v);
}
