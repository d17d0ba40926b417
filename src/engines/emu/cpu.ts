/**
 * One AArch64 vCPU: architectural state, the software TLB and memory access
 * paths, and exception entry/return. Instruction semantics live in the
 * decode-*.ts files as handlers `(c: Cpu) => void` produced once per
 * instruction word.
 *
 * General registers are two Int32Arrays (low and high halves). Index map used
 * by decoded handlers: 0..30 = X0..X30, 31 = the zero register (never
 * written), 32 = the current stack pointer, 33 = a scratch slot that absorbs
 * writes to XZR.
 */
import type { FpSimdContext } from './fpsimd-context.js';
import { bigHi, bigLo, toBig } from './int64.js';
import type { Phys } from './phys.js';
import { walk, type WalkResult } from './mmu.js';
import { S_OFF, S_SLOTS, TLB_FLAGS_OFF, TLB_HI_OFF, TLB_LO_OFF, TLB_RAM_OFF, XH_OFF, XL_OFF } from './arena.js';

export const ZR = 31;
export const SP = 32;
export const SINK = 33;

/** Exception vector offsets within a VBAR quadrant. */
export const VEC_SYNC = 0x000;
export const VEC_IRQ = 0x080;
export const VEC_FIQ = 0x100;
export const VEC_SERROR = 0x180;

/** Exception classes (ESR_ELx.EC). */
export const EC_UNKNOWN = 0x00;
export const EC_WFX = 0x01;
export const EC_FP = 0x07;
export const EC_ILLEGAL = 0x0e;
export const EC_SVC = 0x15;
export const EC_HVC = 0x16;
export const EC_SMC = 0x17;
export const EC_SYS = 0x18;
export const EC_IABT_LOW = 0x20;
export const EC_IABT_CUR = 0x21;
export const EC_PC_ALIGN = 0x22;
export const EC_DABT_LOW = 0x24;
export const EC_DABT_CUR = 0x25;
export const EC_SP_ALIGN = 0x26;
export const EC_BRK = 0x3c;

/** Fault status codes (DFSC/IFSC), the level is added for the first four. */
export const FSC_ADDR_SIZE = 0x00;
export const FSC_TRANSLATION = 0x04;
export const FSC_ACCESS = 0x08;
export const FSC_PERMISSION = 0x0c;
export const FSC_EXTERNAL = 0x10;
export const FSC_WALK_EXTERNAL = 0x14;
export const FSC_ALIGNMENT = 0x21;

/** TLB permission bits (per entry). */
export const P_R1 = 1;
export const P_W1 = 2;
export const P_X1 = 4;
export const P_R0 = 8;
export const P_W0 = 16;
export const P_X0 = 32;

export const ACC_READ = 0;
export const ACC_WRITE = 1;
export const ACC_EXEC = 2;

const BLOCK_REGIONS = 32;
const TLB_BITS = 12;
const TLB_SIZE = 1 << TLB_BITS;
const TLB_MASK = TLB_SIZE - 1;

/** A synchronous exception raised while executing an instruction (thrown, caught by the run loop). */
export class GuestFault {
  constructor(
    readonly ec: number,
    readonly iss: number,
    readonly far?: bigint,
  ) {}
}

export class Cpu implements FpSimdContext {
  /** Views into the vCPU's state area when the memory is WebAssembly-backed (arena.ts), else heap arrays. */
  readonly xl: Int32Array;
  readonly xh: Int32Array;
  pcLo = 0;
  pcHi = 0;
  /** PSTATE.NZCV flags as 0/1 each. */
  nf = 0;
  zf = 0;
  cf = 0;
  vf = 0;
  /** Current exception level (0 or 1) and PSTATE.SP. */
  el = 1;
  spsel = 1;
  /** PSTATE.{D,A,I,F} in SPSR bit positions (bits 9..6). */
  daif = 0x3c0;
  /** Banked SPs not currently in xl/xh[SP], as int32 halves: [SP_EL0 lo, hi, SP_EL1 lo, hi]. */
  readonly spBank = new Int32Array(4);

  readonly v = new Uint32Array(128);
  fpcr = 0;
  fpsr = 0;

  // System registers (EL1/EL0) that the core interprets.
  sctlr = 0x30d00800n;
  tcr = 0n;
  /** Numeric copies of SCTLR_EL1 and TCR_EL1 (low/high words) for the table walker. */
  sctlrN = 0x30d00800;
  tcrLo = 0;
  tcrHi = 0;
  ttbr0 = 0n;
  ttbr1 = 0n;
  mair = 0n;
  vbar = 0n;
  elr = 0n;
  spsr = 0n;
  esr = 0n;
  far = 0n;
  par = 0n;
  cpacr = 0n;
  tpidr0 = 0n;
  /** TPIDR_EL1 (the kernel's per-CPU offset, read very often) as int32 halves. */
  tpidr1l = 0;
  tpidr1h = 0;
  tpidrro0 = 0n;
  contextidr = 0n;
  cntkctl = 0n;
  cntvCtl = 0;
  cntvCval = 0n;
  cntpCtl = 0;
  cntpCval = 0n;
  /** Counter value (ticks) at which an enabled, unmasked, not yet firing timer fires; Infinity when none. */
  timerDeadline = Infinity;
  /** Registers only stored (debug, AMAIR, ...), by sysreg key. */
  readonly misc = new Map<number, bigint>();

  /** Interrupt inputs (levels) from the GIC. */
  irqLine = false;
  fiqLine = false;
  /** Powered on (PSCI) and not halted in WFI. */
  on = false;
  halted = false;
  /** Local exclusive monitor: physical address and size, or -1. */
  monAddr = -1;
  monSize = 0;

  /** Derived state recomputed on EL/CPACR changes. */
  fpTrap = true;
  rMask = P_R1;
  wMask = P_W1;
  xMask = P_X1;

  /** Software TLB, direct-mapped by VA page number. */
  readonly tlbLo: Int32Array;
  readonly tlbHi: Int32Array;
  readonly tlbFlags: Int32Array;
  /** RAM page index of the entry, or -1 when the page is not fast RAM. */
  readonly tlbRam: Int32Array;
  /** Byte offset of this vCPU's state area in phys.wasm (-1 without one). */
  readonly arena: number;
  /** Slots shared with translated code (arena.ts S_*): pc and NZCV at block boundaries. */
  readonly jitS: Int32Array;
  readonly tlbPa = new Float64Array(TLB_SIZE);
  /** Per entry: bit 0 = not global (nG), bits 2..1 = leaf level (1, 2 or 3). */
  readonly tlbMeta = new Uint8Array(TLB_SIZE);
  /** Entries filled from level-1/2 blocks since the last full flush (TLBI by VA must find them). */
  tlbBlocks = 0;
  /**
   * The distinct block regions those entries came from (VA hi word, lo word
   * masked to the block, level), so a TLBI by VA outside every block skips
   * the scan. More than BLOCK_REGIONS regions: always scan.
   */
  readonly blkHi = new Int32Array(BLOCK_REGIONS);
  readonly blkLo = new Int32Array(BLOCK_REGIONS);
  readonly blkLevel = new Int32Array(BLOCK_REGIONS);
  blkCount = 0;
  /** An entry was filled for an address whose top byte differs from bit 55 (TBI tag): VA-based invalidation cannot find it. */
  tlbTagged = false;
  /** Bumped on every TLB flush and on EL changes, so the run loop re-translates its cached PC page. */
  tlbGen = 0;

  /** Results of 64-bit loads. */
  ml = 0;
  mh = 0;
  /** The run loop stops its slice when sliceEnd drops to or below the count (a handler sets it to 0). */
  sliceEnd = 0;
  count = 0;
  /** Total instructions retired (approximate, updated per slice). */
  retired = 0;
  /** Slow-path statistics (for tuning; cheap counters on slow paths only). */
  readonly stats = { walks: 0, flushes: 0, tlbiVa: 0, exceptions: 0, irqs: 0 };

  readonly dv: DataView;
  readonly u8: Uint8Array;

  /** Hooks the engine installs. */
  onHypercall: (c: Cpu, imm: number, isSmc: boolean) => boolean = () => false;
  onTimerWrite: (c: Cpu) => void = () => {};
  counter: () => bigint = () => 0n;
  /** The same counter as a number (exact below 2^53), for the MRS fast path. */
  counterTicks: () => number = () => 0;

  constructor(
    readonly index: number,
    readonly phys: Phys,
  ) {
    this.dv = phys.dv;
    this.u8 = phys.u8;
    const a = phys.cpuArea(index);
    this.arena = a;
    if (a >= 0) {
      const b = phys.wasm!.buffer;
      this.jitS = new Int32Array(b, a + S_OFF, S_SLOTS);
      this.xl = new Int32Array(b, a + XL_OFF, 34);
      this.xh = new Int32Array(b, a + XH_OFF, 34);
      this.tlbLo = new Int32Array(b, a + TLB_LO_OFF, TLB_SIZE);
      this.tlbHi = new Int32Array(b, a + TLB_HI_OFF, TLB_SIZE);
      this.tlbFlags = new Int32Array(b, a + TLB_FLAGS_OFF, TLB_SIZE);
      this.tlbRam = new Int32Array(b, a + TLB_RAM_OFF, TLB_SIZE);
    } else {
      this.jitS = new Int32Array(S_SLOTS);
      this.xl = new Int32Array(34);
      this.xh = new Int32Array(34);
      this.tlbLo = new Int32Array(TLB_SIZE);
      this.tlbHi = new Int32Array(TLB_SIZE);
      this.tlbFlags = new Int32Array(TLB_SIZE);
      this.tlbRam = new Int32Array(TLB_SIZE);
    }
    phys.cpus.push(this);
    this.tlbRam.fill(-1);
    this.updateMode();
  }

  // ---------------------------------------------------------------- registers

  getX(n: number): bigint {
    return n >= 31 ? 0n : toBig(this.xl[n]!, this.xh[n]!);
  }
  setX(n: number, value: bigint): void {
    if (n >= 31) return;
    this.xl[n] = bigLo(value);
    this.xh[n] = bigHi(value);
  }
  getW(n: number): number {
    return n >= 31 ? 0 : this.xl[n]! >>> 0;
  }
  setW(n: number, value: number): void {
    if (n >= 31) return;
    this.xl[n] = value;
    this.xh[n] = 0;
  }
  getXSP(n: number): bigint {
    return n === 31 ? toBig(this.xl[SP]!, this.xh[SP]!) : this.getX(n);
  }
  setXSP(n: number, value: bigint): void {
    if (n === 31) {
      this.xl[SP] = bigLo(value);
      this.xh[SP] = bigHi(value);
    } else this.setX(n, value);
  }
  get pc(): bigint {
    return toBig(this.pcLo, this.pcHi);
  }
  set pc(v: bigint) {
    this.pcLo = bigLo(v);
    this.pcHi = bigHi(v);
  }
  get nzcv(): number {
    return (this.nf << 3) | (this.zf << 2) | (this.cf << 1) | this.vf;
  }
  set nzcv(v: number) {
    this.nf = (v >> 3) & 1;
    this.zf = (v >> 2) & 1;
    this.cf = (v >> 1) & 1;
    this.vf = v & 1;
  }
  get sp(): bigint {
    return toBig(this.xl[SP]!, this.xh[SP]!);
  }
  set sp(v: bigint) {
    this.xl[SP] = bigLo(v);
    this.xh[SP] = bigHi(v);
  }

  get sp0(): bigint {
    return toBig(this.spBank[0]!, this.spBank[1]!);
  }
  set sp0(v: bigint) {
    this.spBank[0] = bigLo(v);
    this.spBank[1] = bigHi(v);
  }
  get sp1(): bigint {
    return toBig(this.spBank[2]!, this.spBank[3]!);
  }
  set sp1(v: bigint) {
    this.spBank[2] = bigLo(v);
    this.spBank[3] = bigHi(v);
  }
  get tpidr1(): bigint {
    return toBig(this.tpidr1l, this.tpidr1h);
  }
  set tpidr1(v: bigint) {
    this.tpidr1l = bigLo(v);
    this.tpidr1h = bigHi(v);
  }

  /** True when the live SP (xl/xh[SP]) is SP_EL0. */
  spIsEl0(): boolean {
    return this.el === 0 || this.spsel === 0;
  }

  /** SP_EL0 as a system register (it may be the live SP). */
  getSpEl0(): bigint {
    return this.spIsEl0() ? this.sp : this.sp0;
  }
  setSpEl0(v: bigint): void {
    if (this.spIsEl0()) this.sp = v;
    else this.sp0 = v;
  }

  /** Switch EL and SPSel, banking the live SP. */
  setMode(el: number, spsel: number): void {
    const b = this.spBank;
    const cur = this.el !== 0 && this.spsel !== 0 ? 2 : 0;
    b[cur] = this.xl[SP]!;
    b[cur + 1] = this.xh[SP]!;
    this.el = el;
    this.spsel = spsel;
    const nxt = el !== 0 && spsel !== 0 ? 2 : 0;
    this.xl[SP] = b[nxt]!;
    this.xh[SP] = b[nxt + 1]!;
    this.updateMode();
  }

  /** Recompute derived permission masks and the FP trap flag. */
  updateMode(): void {
    const el0 = this.el === 0;
    this.rMask = el0 ? P_R0 : P_R1;
    this.wMask = el0 ? P_W0 : P_W1;
    this.xMask = el0 ? P_X0 : P_X1;
    const fpen = Number((this.cpacr >> 20n) & 3n);
    this.fpTrap = fpen === 3 ? false : fpen === 1 ? el0 : true;
    this.translationChanged();
  }

  pstateBits(): number {
    return ((this.nzcv << 28) | this.daif | (this.el << 2) | (this.el !== 0 ? this.spsel : 0)) >>> 0;
  }

  // ------------------------------------------------------------- exceptions

  /** Take an exception to EL1: `ret` is the preferred return address (lo/hi). */
  takeException(vecType: number, esr: number, retLo: number, retHi: number, far?: bigint): void {
    const fromEl = this.el;
    this.stats.exceptions++;
    const spsr = this.pstateBits();
    this.spsr = BigInt(spsr);
    this.elr = toBig(retLo, retHi);
    if (vecType === VEC_SYNC) {
      this.esr = BigInt(esr >>> 0);
      if (far !== undefined) this.far = far;
    }
    const base = fromEl === 0 ? 0x400 : this.spsel !== 0 ? 0x200 : 0;
    this.daif = 0x3c0;
    this.setMode(1, 1);
    this.pc = (this.vbar & ~0x7ffn) + BigInt(base + vecType);
    this.monAddr = -1;
    this.halted = false;
    this.sliceEnd = 0;
  }

  /** Synchronous exception for the instruction at pc-4 (the run loop has already advanced pc). */
  fault(f: GuestFault, instrLo: number, instrHi: number): void {
    const ec = f.ec;
    this.takeException(VEC_SYNC, (ec << 26) | (1 << 25) | (f.iss & 0x1ffffff), instrLo, instrHi, f.far);
  }

  /** Raise UNDEFINED for the current instruction (thrown; the run loop takes the exception). */
  undef(): never {
    throw new GuestFault(EC_UNKNOWN, 0);
  }

  /** SVC/HVC/SMC/BRK-type exceptions whose preferred return is the next instruction (already in pc). */
  exceptionNext(ec: number, iss: number): void {
    this.takeException(VEC_SYNC, (ec << 26) | (1 << 25) | iss, this.pcLo, this.pcHi);
  }

  eret(): void {
    const spsr = Number(this.spsr & 0xffffffffn);
    let m = spsr & 0xf;
    // Returning to EL2/EL3 or AArch32 is an illegal return; we only model EL0t/EL1t/EL1h.
    if (m !== 0 && m !== 4 && m !== 5) m = 5;
    this.nzcv = spsr >>> 28;
    this.daif = spsr & 0x3c0;
    this.setMode(m >> 2, m & 1);
    this.pc = this.elr;
    this.monAddr = -1;
    this.sliceEnd = 0;
  }

  /** True when an unmasked interrupt is pending. */
  interruptPending(): boolean {
    return (this.irqLine && (this.daif & 0x80) === 0) || (this.fiqLine && (this.daif & 0x40) === 0);
  }

  /** Take a pending unmasked interrupt, if any, before the next instruction. */
  checkInterrupts(): boolean {
    if (this.irqLine && (this.daif & 0x80) === 0) {
      this.stats.irqs++;
      this.takeException(VEC_IRQ, 0, this.pcLo, this.pcHi);
      return true;
    }
    if (this.fiqLine && (this.daif & 0x40) === 0) {
      this.takeException(VEC_FIQ, 0, this.pcLo, this.pcHi);
      return true;
    }
    return false;
  }

  // -------------------------------------------------------------------- TLB

  flushTlb(): void {
    this.stats.flushes++;
    this.tlbFlags.fill(0);
    this.tlbBlocks = 0;
    this.blkCount = 0;
    this.tlbTagged = false;
    this.translationChanged();
  }

  private noteBlock(lo: number, hi: number, level: number): void {
    const mask = level === 2 ? 0xffe00000 | 0 : 0xc0000000 | 0;
    const blo = lo & mask;
    const n = this.blkCount;
    for (let k = 0; k < n && k < BLOCK_REGIONS; k++) {
      if (this.blkLo[k] === blo && this.blkHi[k] === hi && this.blkLevel[k] === level) return;
    }
    if (n < BLOCK_REGIONS) {
      this.blkLo[n] = blo;
      this.blkHi[n] = hi;
      this.blkLevel[n] = level;
    }
    this.blkCount = n + 1;
  }

  /** True when (lo, hi) may lie in a block region that has TLB entries. */
  private inBlockRegion(lo: number, hi: number): boolean {
    const n = this.blkCount;
    if (n > BLOCK_REGIONS) return true;
    for (let k = 0; k < n; k++) {
      const mask = this.blkLevel[k] === 2 ? 0xffe00000 | 0 : 0xc0000000 | 0;
      if (this.blkHi[k] === hi && this.blkLo[k] === (lo & mask)) return true;
    }
    return false;
  }

  /** Drop non-global entries (TTBR0 change, TLBI ASIDE1): kernel mappings survive context switches. */
  flushTlbNonGlobal(): void {
    this.stats.flushes++;
    const f = this.tlbFlags;
    const meta = this.tlbMeta;
    for (let i = 0; i < TLB_SIZE; i++) if ((meta[i]! & 1) !== 0) f[i] = 0;
    this.translationChanged();
  }

  /**
   * TLBI by VA (any ASID): drop the entry for the page and any entry derived
   * from a block containing it. `lo`/`hi` is the page address.
   */
  flushTlbVa(lo: number, hi: number): void {
    this.stats.tlbiVa++;
    if (this.tlbTagged) {
      this.flushTlb();
      return;
    }
    const i = ((lo >>> 12) ^ hi) & TLB_MASK;
    if (this.tlbLo[i] === (lo & ~0xfff) && this.tlbHi[i] === hi) this.tlbFlags[i] = 0;
    if (this.tlbBlocks > 0 && this.inBlockRegion(lo, hi)) {
      const meta = this.tlbMeta;
      const f = this.tlbFlags;
      const tl = this.tlbLo;
      const th = this.tlbHi;
      for (let k = 0; k < TLB_SIZE; k++) {
        const lvl = meta[k]! >> 1;
        if (lvl === 3 || f[k] === 0 || th[k] !== hi) continue;
        // Level 2 blocks cover 2 MiB (same lo bits 31:21), level 1 blocks 1 GiB (bits 31:30).
        const mask = lvl === 2 ? 0xffe00000 | 0 : 0xc0000000 | 0;
        if ((tl[k]! & mask) === (lo & mask)) f[k] = 0;
      }
    }
    this.translationChanged();
  }

  /** Translate a VA for an access, filling the TLB; throws GuestFault on a fault. Returns the TLB index. */
  translate(lo: number, hi: number, acc: number, mask: number): number {
    const i = ((lo >>> 12) ^ hi) & TLB_MASK;
    const pageLo = lo & ~0xfff;
    if (this.tlbLo[i] === pageLo && this.tlbHi[i] === hi) {
      const f = this.tlbFlags[i]!;
      if (((f | (f >> 8)) & mask) !== 0) return i;
    }
    this.stats.walks++;
    const r: WalkResult = walk(this, lo, hi, acc, mask);
    const page = this.phys.ramPage(r.pa);
    this.tlbLo[i] = pageLo;
    this.tlbHi[i] = hi;
    this.tlbPa[i] = r.pa;
    this.tlbRam[i] = page;
    // Non-RAM pages keep their permissions in bits 8+ so the inline fast paths miss.
    this.tlbFlags[i] = page >= 0 ? r.perms : r.perms << 8;
    this.tlbMeta[i] = (r.ng ? 1 : 0) | (r.level << 1);
    if (r.level < 3) {
      this.tlbBlocks++;
      this.noteBlock(lo, hi, r.level);
    }
    if (hi >> 24 !== (hi << 8) >> 31) this.tlbTagged = true;
    return i;
  }

  dataFault(lo: number, hi: number, write: boolean, fsc: number, cm = false): GuestFault {
    const ec = this.el === 0 ? EC_DABT_LOW : EC_DABT_CUR;
    return new GuestFault(ec, fsc | (write ? 1 << 6 : 0) | (cm ? 1 << 8 : 0), toBig(lo, hi));
  }

  // ------------------------------------------------------- memory: fast paths

  ld8(lo: number, hi: number): number {
    const i = ((lo >>> 12) ^ hi) & TLB_MASK;
    if (this.tlbLo[i] === (lo & ~0xfff) && this.tlbHi[i] === hi && (this.tlbFlags[i]! & this.rMask) !== 0) {
      return this.u8[this.tlbRam[i]! * 4096 + (lo & 0xfff)]!;
    }
    return this.slowLoad(lo, hi, 1);
  }
  ld16(lo: number, hi: number): number {
    const i = ((lo >>> 12) ^ hi) & TLB_MASK;
    if (
      this.tlbLo[i] === (lo & ~0xfff) &&
      this.tlbHi[i] === hi &&
      (this.tlbFlags[i]! & this.rMask) !== 0 &&
      (lo & 0xfff) <= 4094
    ) {
      return this.dv.getUint16(this.tlbRam[i]! * 4096 + (lo & 0xfff), true);
    }
    return this.slowLoad(lo, hi, 2);
  }
  /** 32-bit load, returned as int32. */
  ld32(lo: number, hi: number): number {
    const i = ((lo >>> 12) ^ hi) & TLB_MASK;
    if (
      this.tlbLo[i] === (lo & ~0xfff) &&
      this.tlbHi[i] === hi &&
      (this.tlbFlags[i]! & this.rMask) !== 0 &&
      (lo & 0xfff) <= 4092
    ) {
      return this.dv.getInt32(this.tlbRam[i]! * 4096 + (lo & 0xfff), true);
    }
    return this.slowLoad(lo, hi, 4) | 0;
  }
  /** 64-bit load into ml/mh. */
  ld64(lo: number, hi: number): void {
    const i = ((lo >>> 12) ^ hi) & TLB_MASK;
    if (
      this.tlbLo[i] === (lo & ~0xfff) &&
      this.tlbHi[i] === hi &&
      (this.tlbFlags[i]! & this.rMask) !== 0 &&
      (lo & 0xfff) <= 4088
    ) {
      const o = this.tlbRam[i]! * 4096 + (lo & 0xfff);
      this.ml = this.dv.getInt32(o, true);
      this.mh = this.dv.getInt32(o + 4, true);
      return;
    }
    this.slowLoad(lo, hi, 8);
  }

  st8(lo: number, hi: number, v: number): void {
    const i = ((lo >>> 12) ^ hi) & TLB_MASK;
    if (this.tlbLo[i] === (lo & ~0xfff) && this.tlbHi[i] === hi && (this.tlbFlags[i]! & this.wMask) !== 0) {
      const p = this.tlbRam[i]!;
      if (this.phys.codePages[p] !== 0) this.codeWritten(p);
      this.u8[p * 4096 + (lo & 0xfff)] = v;
      return;
    }
    this.slowStore(lo, hi, 1, v, 0);
  }
  st16(lo: number, hi: number, v: number): void {
    const i = ((lo >>> 12) ^ hi) & TLB_MASK;
    if (
      this.tlbLo[i] === (lo & ~0xfff) &&
      this.tlbHi[i] === hi &&
      (this.tlbFlags[i]! & this.wMask) !== 0 &&
      (lo & 0xfff) <= 4094
    ) {
      const p = this.tlbRam[i]!;
      if (this.phys.codePages[p] !== 0) this.codeWritten(p);
      this.dv.setUint16(p * 4096 + (lo & 0xfff), v, true);
      return;
    }
    this.slowStore(lo, hi, 2, v, 0);
  }
  st32(lo: number, hi: number, v: number): void {
    const i = ((lo >>> 12) ^ hi) & TLB_MASK;
    if (
      this.tlbLo[i] === (lo & ~0xfff) &&
      this.tlbHi[i] === hi &&
      (this.tlbFlags[i]! & this.wMask) !== 0 &&
      (lo & 0xfff) <= 4092
    ) {
      const p = this.tlbRam[i]!;
      if (this.phys.codePages[p] !== 0) this.codeWritten(p);
      this.dv.setInt32(p * 4096 + (lo & 0xfff), v, true);
      return;
    }
    this.slowStore(lo, hi, 4, v, 0);
  }
  st64(lo: number, hi: number, vl: number, vh: number): void {
    const i = ((lo >>> 12) ^ hi) & TLB_MASK;
    if (
      this.tlbLo[i] === (lo & ~0xfff) &&
      this.tlbHi[i] === hi &&
      (this.tlbFlags[i]! & this.wMask) !== 0 &&
      (lo & 0xfff) <= 4088
    ) {
      const p = this.tlbRam[i]!;
      if (this.phys.codePages[p] !== 0) this.codeWritten(p);
      const o = p * 4096 + (lo & 0xfff);
      this.dv.setInt32(o, vl, true);
      this.dv.setInt32(o + 4, vh, true);
      return;
    }
    this.slowStore(lo, hi, 8, vl, vh);
  }

  // ------------------------------------------------------- memory: slow paths

  /** Physical address of a data access (translating, with faults). */
  dataPa(lo: number, hi: number, write: boolean): number {
    const i = this.translate(lo, hi, write ? ACC_WRITE : ACC_READ, write ? this.wMask : this.rMask);
    return this.tlbPa[i]! + (lo & 0xfff);
  }

  /** Load of `size` bytes; returns the value for size <= 4 (unsigned), sets ml/mh for 8. */
  slowLoad(lo: number, hi: number, size: 1 | 2 | 4 | 8): number {
    if ((lo & 0xfff) + size > 4096) {
      // Page-crossing access: byte by byte, each byte translated.
      let vlo = 0;
      let vhi = 0;
      for (let k = 0; k < size; k++) {
        const a = (lo + k) | 0;
        const ah = (a >>> 0) < (lo >>> 0) ? (hi + 1) | 0 : hi;
        const b = this.slowLoad(a, ah, 1);
        if (k < 4) vlo |= b << (8 * k);
        else vhi |= b << (8 * (k - 4));
      }
      this.ml = vlo;
      this.mh = vhi;
      return vlo >>> 0;
    }
    const i = this.translate(lo, hi, ACC_READ, this.rMask);
    const ram = this.tlbRam[i]!;
    if (ram >= 0) {
      const o = ram * 4096 + (lo & 0xfff);
      switch (size) {
        case 1:
          return this.u8[o]!;
        case 2:
          return this.dv.getUint16(o, true);
        case 4:
          return this.dv.getUint32(o, true);
        default:
          this.ml = this.dv.getInt32(o, true);
          this.mh = this.dv.getInt32(o + 4, true);
          return this.ml >>> 0;
      }
    }
    const pa = this.tlbPa[i]! + (lo & 0xfff);
    let v: number | bigint | undefined;
    try {
      v = this.phys.read(pa, size);
    } catch (e) {
      if (e instanceof GuestFault) throw e;
      v = undefined;
    }
    if (v === undefined) throw this.dataFault(lo, hi, false, FSC_EXTERNAL);
    if (size === 8) {
      const b = BigInt(v);
      this.ml = bigLo(b);
      this.mh = bigHi(b);
      return this.ml >>> 0;
    }
    return Number(v) >>> 0;
  }

  slowStore(lo: number, hi: number, size: 1 | 2 | 4 | 8, vl: number, vh: number): void {
    if ((lo & 0xfff) + size > 4096) {
      // Check both pages first so a fault leaves memory untouched.
      const endLo = (lo + size - 1) | 0;
      const endHi = (endLo >>> 0) < (lo >>> 0) ? (hi + 1) | 0 : hi;
      this.dataPa(lo, hi, true);
      this.dataPa(endLo, endHi, true);
      for (let k = 0; k < size; k++) {
        const a = (lo + k) | 0;
        const ah = (a >>> 0) < (lo >>> 0) ? (hi + 1) | 0 : hi;
        const b = k < 4 ? (vl >>> (8 * k)) & 0xff : (vh >>> (8 * (k - 4))) & 0xff;
        this.slowStore(a, ah, 1, b, 0);
      }
      return;
    }
    const i = this.translate(lo, hi, ACC_WRITE, this.wMask);
    const ram = this.tlbRam[i]!;
    if (ram >= 0) {
      if (this.phys.codePages[ram] !== 0) this.codeWritten(ram);
      const o = ram * 4096 + (lo & 0xfff);
      switch (size) {
        case 1:
          this.u8[o] = vl;
          return;
        case 2:
          this.dv.setUint16(o, vl & 0xffff, true);
          return;
        case 4:
          this.dv.setInt32(o, vl, true);
          return;
        default:
          this.dv.setInt32(o, vl, true);
          this.dv.setInt32(o + 4, vh, true);
          return;
      }
    }
    const pa = this.tlbPa[i]! + (lo & 0xfff);
    let ok: boolean;
    try {
      ok = this.phys.write(pa, size, size === 8 ? toBig(vl, vh) : size === 4 ? vl >>> 0 : vl & (size === 1 ? 0xff : 0xffff));
    } catch (e) {
      if (e instanceof GuestFault) throw e;
      ok = false;
    }
    if (!ok) throw this.dataFault(lo, hi, true, FSC_EXTERNAL);
  }

  // ------------------------------------------------ FpSimdContext memory API

  load(va: bigint, size: 1 | 2 | 4 | 8): bigint {
    const lo = bigLo(va);
    const hi = bigHi(va);
    switch (size) {
      case 1:
        return BigInt(this.ld8(lo, hi));
      case 2:
        return BigInt(this.ld16(lo, hi));
      case 4:
        return BigInt(this.ld32(lo, hi) >>> 0);
      default:
        this.ld64(lo, hi);
        return toBig(this.ml, this.mh);
    }
  }
  store(va: bigint, size: 1 | 2 | 4 | 8, value: bigint): void {
    const lo = bigLo(va);
    const hi = bigHi(va);
    switch (size) {
      case 1:
        this.st8(lo, hi, Number(value & 0xffn));
        return;
      case 2:
        this.st16(lo, hi, Number(value & 0xffffn));
        return;
      case 4:
        this.st32(lo, hi, bigLo(value));
        return;
      default:
        this.st64(lo, hi, bigLo(value), bigHi(value));
    }
  }

  /** Physical address for an instruction fetch at (lo, hi); throws an instruction abort. Returns TLB index. */
  fetchTranslate(lo: number, hi: number): number {
    if ((lo & 3) !== 0) throw new GuestFault(EC_PC_ALIGN, 0, toBig(lo, hi));
    return this.translate(lo, hi, ACC_EXEC, this.xMask);
  }

  /** A store hit a page with decoded instructions: drop them and end the slice so the run loop refetches. */
  codeWritten(page: number): void {
    this.phys.invalidateCode(page);
    this.sliceEnd = 0;
  }

  /**
   * The run loop caches the translation of the current code page for the
   * whole slice; anything that can change it (TLB maintenance, EL change,
   * code invalidation) ends the slice.
   */
  translationChanged(): void {
    this.tlbGen++;
    this.sliceEnd = 0;
  }

  /** Invalidate the exclusive monitor (CLREX, exception entry/return, vCPU switch). */
  clearMonitor(): void {
    this.monAddr = -1;
  }
}
