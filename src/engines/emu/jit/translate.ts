/**
 * Block translator: a run of guest instructions on one physical page becomes
 * one WebAssembly function `(cpuArea: i32, budget: i32) -> i32` (instructions
 * retired). Many blocks are compiled together in one module (run.ts).
 *
 * Inside a block:
 * - the X registers it uses live in i64 locals: loaded from the vCPU's state
 *   area (Cpu.xl/xh, arena.ts) on entry, stored back at every exit and
 *   before every call out; reloaded after a call;
 * - NZCV are i32 locals, and a flag-setting instruction only records its
 *   operands and kind ("lazy flags"): a following B.cond/CSEL on a compare
 *   becomes one wasm comparison; the four flags are computed only where an
 *   exit, a call or a non-fusable condition needs them;
 * - loads and stores go through the software TLB inline (the same arrays
 *   the interpreter fills) straight into guest RAM at wasm offset 0; a miss,
 *   MMIO, a page-crossing access, a store to a page with translated code or
 *   a fault calls the interpreter's handler for the instruction instead;
 * - every other instruction calls the interpreter's handler through the
 *   imported `h(handler, retired)`: registers, pc (= the instruction's
 *   address + 4, the interpreter's convention) and NZCV are in memory
 *   before the call, so a GuestFault thrown there is precise, and the
 *   handler's effects are reloaded after it. `h` returns 1 when the block
 *   must stop (the slice ended: exception, interrupt unmask, TLB or code
 *   change, WFI).
 * - a conditional branch is a side exit; a branch back to the block's start
 *   loops inside the function while the budget lasts.
 *
 * On exit the block leaves pc in S_PCLO/S_PCHI and NZCV in S_NZCV
 * (arena.ts). Guest data never becomes code: only decoded fields and
 * constants are encoded, and every memory access is either inside the state
 * area at a constant offset or in RAM at an offset checked against the TLB.
 */
import { decodeBitMasks } from '../bitmasks.js';
import { P_R0, P_R1, P_W0, P_W1, SINK, SP } from '../cpu.js';
import { S_NZCV, S_OFF, S_PCHI, S_PCLO, TLB_FLAGS_OFF, TLB_HI_OFF, TLB_LO_OFF, TLB_RAM_OFF, XH_OFF, XL_OFF } from '../arena.js';
import { bigHi, bigLo } from '../int64.js';
import { Fn, I32, I64, Op } from './wasm.js';

/** Result bit of a block function: interpret the instruction at pc before looking up blocks again. */
export const INTERP_NEXT = 0x40000000;
/** Result bit of a block function: a handler ended the slice (return to the run loop). */
export const STOP = 0x20000000;
/** Mask of the instruction count in a block function's result. */
export const COUNT_MASK = 0x1fffffff;

/** Longest block, in instructions (bounds interrupt latency beyond the slice budget). */
export const MAX_BLOCK = 128;

/** True for words in the branch / exception / system group. */
export function isTerminator(w: number): boolean {
  return ((w >>> 25) & 0xe) === 0xa;
}

/** System-group words that may run mid-block through their handler (they end the slice when they must). */
function isMidBlockSys(w: number): boolean {
  if ((w & 0xfff00000) >>> 0 === 0xd5300000) return true; // MRS
  if ((w & 0xfffff01f) >>> 0 === 0xd503201f) {
    const op = (w >>> 5) & 0x7f;
    return op !== 1 && op !== 2 && op !== 3; // hints other than YIELD/WFE/WFI
  }
  if ((w & 0xfffff09f) >>> 0 === 0xd503309f) return true; // DSB/DMB
  return false;
}

/** A hint that is a NOP here (NOP, PAC*SP, BTI, ...): emitted as nothing. */
function isNopHint(w: number): boolean {
  if ((w & 0xfffff01f) >>> 0 !== 0xd503201f) return false;
  const op = (w >>> 5) & 0x7f;
  return op !== 1 && op !== 2 && op !== 3;
}

export interface TranslateInput {
  /** Words of the physical page. */
  dv: DataView;
  ramOff: number;
  /** First instruction's index in the page, the page's virtual address, the EL. */
  idx: number;
  vaLo: number;
  vaHi: number;
  el: number;
  /** Index at which the block must stop (a stop address of the raw runner), or -1. */
  stopIdx: number;
  /** Handler index (run.ts table) for the word at page index i. */
  handler: (i: number) => number;
}

export interface Translated {
  fn: Fn;
  len: number;
  /** Instructions executed through handler calls (not inline). */
  calls: number;
}

// Flag states at translation time.
const F_LOCALS = 0; // nf..vf locals hold NZCV
const K_SUB64 = 1;
const K_SUB32 = 2;
const K_ADD64 = 3;
const K_ADD32 = 4;
const K_LOG64 = 5;
const K_LOG32 = 6;

const M32 = 0xffffffff | 0;

class Emitter {
  readonly f = new Fn(2);
  readonly P_CPU = 0;
  readonly P_BUDGET = 1;
  readonly n: number;
  /** Register locals (index 0..32 -> local), allocated for every register the block touches. */
  readonly x = new Int32Array(34).fill(-1);
  nf = -1;
  zf = -1;
  cf = -1;
  vf = -1;
  fa = -1;
  fb = -1;
  fr = -1;
  t64a: number;
  t64b: number;
  /** Exit pc (i64) and result (i32) for the epilogue. */
  epc: number;
  cnt: number;
  t32a: number;
  t32b: number;
  t32c: number;
  /** Flag state: F_LOCALS or a lazy kind. */
  fstate = F_LOCALS;
  /** Flags differ from S_NZCV (must be written at exits). */
  fdirty = false;
  /** Registers written so far (must be stored at exits). */
  readonly dirty = new Uint8Array(34);
  /** Registers used anywhere in the block (pass 1 result). */
  readonly used: Uint8Array;
  readonly usesFlags: boolean;
  /** Current instruction count before this instruction, and its address. */
  k = 0;
  pcLo = 0;
  pcHi = 0;
  calls = 0;
  /** wasm control depth relative to the function body (for the loop label). */
  depth = 0;
  loopDepth = -1;
  startLo = 0;
  startHi = 0;
  readonly rMask: number;
  readonly wMask: number;
  /** Pass 1 records registers and flag use here. */
  readonly rec: Uint8Array | undefined;
  recFlags = false;
  /** Pass 1: registers written, and whether a branch goes back to the block start. */
  readonly recW = new Uint8Array(34);
  loopHit = false;
  hasLoop = false;
  /** Wasm offset of Phys.codePages. */
  codePagesOff = 0;

  constructor(
    used: Uint8Array | undefined,
    usesFlags: boolean,
    el: number,
    loop: boolean,
    readonly written: Uint8Array = new Uint8Array(34),
  ) {
    const f = this.f;
    this.rec = used === undefined ? new Uint8Array(34) : undefined;
    this.used = used ?? new Uint8Array(34);
    this.usesFlags = usesFlags;
    this.hasLoop = loop;
    this.rMask = el === 0 ? P_R0 : P_R1;
    this.wMask = el === 0 ? P_W0 : P_W1;
    this.n = f.local(I32);
    this.t32a = f.local(I32);
    this.t32b = f.local(I32);
    this.t32c = f.local(I32);
    this.t64a = f.local(I64);
    this.t64b = f.local(I64);
    this.epc = f.local(I64);
    this.cnt = f.local(I32);
    for (let r = 0; r <= SP; r++) if (this.used[r] !== 0) this.x[r] = f.local(I64);
    if (usesFlags) {
      this.nf = f.local(I32);
      this.zf = f.local(I32);
      this.cf = f.local(I32);
      this.vf = f.local(I32);
      this.fa = f.local(I64);
      this.fb = f.local(I64);
      this.fr = f.local(I64);
    }
  }

  // ------------------------------------------------------------ registers

  private xloc(r: number): number {
    if (this.rec !== undefined) {
      this.rec[r] = 1;
      return 0;
    }
    return this.x[r]!;
  }

  /** Push X[r] (31 = zero register, 32 = SP). */
  rx(r: number): void {
    if (r === 31) {
      this.f.i64(0, 0);
      return;
    }
    this.f.get(this.xloc(r));
  }
  /** Push W[r] zero-extended to i64. */
  rw(r: number): void {
    this.rx(r);
    this.zext32();
  }
  /** Push W[r] as i32. */
  rw32(r: number): void {
    this.rx(r);
    this.f.op(Op.i32_wrap_i64);
  }
  zext32(): void {
    this.f.i64(M32, 0).op(Op.i64_and);
  }
  /** Pop into X[r] (31/SINK: discarded). */
  wx(r: number): void {
    if (r === 31 || r === SINK) {
      this.f.op(Op.drop);
      return;
    }
    this.f.set(this.xloc(r));
    this.dirty[r] = 1;
    this.recW[r] = 1;
  }

  /** Load every used register from the state area. */
  loadRegs(): void {
    const f = this.f;
    for (let r = 0; r <= SP; r++) {
      if (this.used[r] === 0) continue;
      f.get(this.P_CPU).mem(Op.i64_load32_u, 2, XL_OFF + 4 * r);
      f.get(this.P_CPU).mem(Op.i64_load32_u, 2, XH_OFF + 4 * r);
      f.i64(32, 0).op(Op.i64_shl).op(Op.i64_or).set(this.x[r]!);
    }
  }
  /** Store registers written so far (all written-anywhere registers in a looping block). */
  storeRegs(): void {
    const f = this.f;
    for (let r = 0; r <= SP; r++) {
      if (this.dirty[r] === 0 || this.used[r] === 0) continue;
      f.get(this.P_CPU).get(this.x[r]!).mem(Op.i64_store32, 2, XL_OFF + 4 * r);
      f.get(this.P_CPU).get(this.x[r]!).i64(32, 0).op(Op.i64_shr_u).mem(Op.i64_store32, 2, XH_OFF + 4 * r);
    }
  }

  // ---------------------------------------------------------------- flags

  /** Record a flag-setting result lazily: a, b, r are pushed by the callers into fa, fb, fr already. */
  setLazy(kind: number): void {
    this.recFlags = true;
    this.fstate = kind;
    this.fdirty = true;
  }

  /** Compute the lazy flags into nf..vf. */
  materialize(): void {
    const k = this.fstate;
    if (k === F_LOCALS || !this.usesFlags) return;
    const f = this.f;
    const is32 = k === K_SUB32 || k === K_ADD32 || k === K_LOG32;
    // N, Z
    if (is32) {
      f.get(this.fr).i64(31, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64).i32(1).op(Op.i32_and).set(this.nf);
      f.get(this.fr).op(Op.i32_wrap_i64).op(Op.i32_eqz).set(this.zf);
    } else {
      f.get(this.fr).i64(63, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64).set(this.nf);
      f.get(this.fr).op(Op.i64_eqz).set(this.zf);
    }
    if (k === K_LOG32 || k === K_LOG64) {
      f.i32(0).set(this.cf).i32(0).set(this.vf);
    } else if (k === K_SUB64 || k === K_SUB32) {
      // C = a >= b (unsigned), V = ((a ^ b) & (a ^ r)) sign
      f.get(this.fa).get(this.fb).op(Op.i64_ge_u).set(this.cf);
      f.get(this.fa).get(this.fb).op(Op.i64_xor).get(this.fa).get(this.fr).op(Op.i64_xor).op(Op.i64_and);
      f.i64(is32 ? 31 : 63, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64).i32(1).op(Op.i32_and).set(this.vf);
    } else {
      // ADD: C = r < a (unsigned, 32-bit values zero-extended), V = ((a ^ r) & (b ^ r)) sign
      f.get(this.fr).get(this.fa).op(Op.i64_lt_u).set(this.cf);
      f.get(this.fa).get(this.fr).op(Op.i64_xor).get(this.fb).get(this.fr).op(Op.i64_xor).op(Op.i64_and);
      f.i64(is32 ? 31 : 63, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64).i32(1).op(Op.i32_and).set(this.vf);
    }
    this.fstate = F_LOCALS;
  }

  /** Write NZCV to S when it differs from memory. */
  storeFlags(): void {
    if (!this.usesFlags) return;
    if (this.fstate !== F_LOCALS) this.materialize();
    if (!this.fdirty) return;
    const f = this.f;
    f.get(this.P_CPU);
    f.get(this.nf).i32(3).op(Op.i32_shl);
    f.get(this.zf).i32(2).op(Op.i32_shl).op(Op.i32_or);
    f.get(this.cf).i32(1).op(Op.i32_shl).op(Op.i32_or);
    f.get(this.vf).op(Op.i32_or);
    f.mem(Op.i32_store, 2, S_OFF + 4 * S_NZCV);
  }

  loadFlags(): void {
    if (!this.usesFlags) return;
    const f = this.f;
    const S = S_OFF + 4 * S_NZCV;
    f.get(this.P_CPU).mem(Op.i32_load, 2, S).i32(3).op(Op.i32_shr_u).i32(1).op(Op.i32_and).set(this.nf);
    f.get(this.P_CPU).mem(Op.i32_load, 2, S).i32(2).op(Op.i32_shr_u).i32(1).op(Op.i32_and).set(this.zf);
    f.get(this.P_CPU).mem(Op.i32_load, 2, S).i32(1).op(Op.i32_shr_u).i32(1).op(Op.i32_and).set(this.cf);
    f.get(this.P_CPU).mem(Op.i32_load, 2, S).i32(1).op(Op.i32_and).set(this.vf);
    this.fstate = F_LOCALS;
    this.fdirty = this.hasLoop;
  }

  /** Push the i32 truth value of condition `cond` (0..15). */
  cond(cond: number): void {
    this.recFlags = true;
    const f = this.f;
    const base = cond >> 1;
    const inv = (cond & 1) !== 0 && base !== 7;
    if (base === 7) {
      f.i32(1);
      return;
    }
    if (!this.usesFlags) {
      f.i32(0); // pass 1 only
      return;
    }
    const k = this.fstate;
    if (k === K_SUB64 || k === K_SUB32) {
      const is32 = k === K_SUB32;
      const ab = (): void => {
        if (is32) f.get(this.fa).op(Op.i32_wrap_i64).get(this.fb).op(Op.i32_wrap_i64);
        else f.get(this.fa).get(this.fb);
      };
      const o = is32 ? 0 : Op.i64_eq - Op.i32_eq;
      let done = true;
      switch (base) {
        case 0:
          ab();
          f.op(Op.i32_eq + o);
          break;
        case 1:
          ab();
          f.op(Op.i32_ge_u + o);
          break;
        case 4:
          ab();
          f.op(Op.i32_gt_u + o);
          break;
        case 5:
          ab();
          f.op(Op.i32_ge_s + o);
          break;
        case 6:
          ab();
          f.op(Op.i32_gt_s + o);
          break;
        default:
          done = false;
      }
      if (done) {
        if (inv) f.op(Op.i32_eqz);
        return;
      }
    } else if (k !== F_LOCALS && (base === 0 || base === 2)) {
      const is32 = k === K_SUB32 || k === K_ADD32 || k === K_LOG32;
      f.get(this.fr);
      if (is32) f.op(Op.i32_wrap_i64).i32(0).op(base === 0 ? Op.i32_eq : Op.i32_lt_s);
      else f.i64(0, 0).op(base === 0 ? Op.i64_eq : Op.i64_lt_s);
      if (inv) f.op(Op.i32_eqz);
      return;
    }
    this.materialize();
    switch (base) {
      case 0:
        f.get(this.zf);
        break;
      case 1:
        f.get(this.cf);
        break;
      case 2:
        f.get(this.nf);
        break;
      case 3:
        f.get(this.vf);
        break;
      case 4:
        f.get(this.cf).get(this.zf).op(Op.i32_eqz).op(Op.i32_and);
        break;
      case 5:
        f.get(this.nf).get(this.vf).op(Op.i32_eq);
        break;
      default:
        f.get(this.nf).get(this.vf).op(Op.i32_eq).get(this.zf).op(Op.i32_eqz).op(Op.i32_and);
    }
    if (inv) f.op(Op.i32_eqz);
  }

  // ---------------------------------------------------------------- exits

  /** Store pc (constant) into S. */
  setPc(lo: number, hi: number): void {
    this.f.get(this.P_CPU).i32(lo).mem(Op.i32_store, 2, S_OFF + 4 * S_PCLO);
    this.f.get(this.P_CPU).i32(hi).mem(Op.i32_store, 2, S_OFF + 4 * S_PCHI);
  }

  /**
   * Leave the block through the common epilogue (stores the written
   * registers and NZCV): pc is pushed by `pushPc` (i64), the result is
   * n + retired, or-ed with `flag`. The translation-time flag state is kept.
   */
  exitVia(pushPc: () => void, retired: number, flag = 0): void {
    const f = this.f;
    const saved = this.fstate;
    this.materialize();
    this.fstate = saved;
    pushPc();
    f.set(this.epc);
    f.get(this.n).i32(retired).op(Op.i32_add);
    if (flag !== 0) f.i32(flag).op(Op.i32_or);
    f.set(this.cnt);
    f.br(Op.br, this.depth - 1);
  }

  /** Leave the block with pc = (lo, hi) after `retired` instructions of this pass. */
  exitConst(lo: number, hi: number, retired: number): void {
    this.exitVia(() => this.f.i64(lo, hi), retired);
  }

  /** The epilogue after the exit block: written registers, NZCV and pc to memory; returns cnt. */
  epilogue(): void {
    const f = this.f;
    for (let r = 0; r <= SP; r++) {
      if (this.written[r] === 0 || this.used[r] === 0) continue;
      f.get(this.P_CPU).get(this.x[r]!).mem(Op.i64_store32, 2, XL_OFF + 4 * r);
      f.get(this.P_CPU).get(this.x[r]!).i64(32, 0).op(Op.i64_shr_u).mem(Op.i64_store32, 2, XH_OFF + 4 * r);
    }
    if (this.usesFlags) {
      this.fstate = F_LOCALS;
      this.fdirty = true;
      this.storeFlags();
    }
    f.get(this.P_CPU).get(this.epc).mem(Op.i64_store32, 2, S_OFF + 4 * S_PCLO);
    f.get(this.P_CPU).get(this.epc).i64(32, 0).op(Op.i64_shr_u).mem(Op.i64_store32, 2, S_OFF + 4 * S_PCHI);
    f.get(this.cnt);
  }

  /** Branch to (lo, hi): loops when it is the block start and the block may loop, else exits. */
  branchTo(lo: number, hi: number, retired: number): void {
    if (lo === this.startLo && hi === this.startHi) this.loopHit = true;
    if (this.hasLoop && this.loopDepth >= 0 && lo === this.startLo && hi === this.startHi) {
      const f = this.f;
      f.get(this.n).i32(retired).op(Op.i32_add).set(this.n);
      if (this.usesFlags) this.materialize();
      // Flags now in locals (F_LOCALS) as at the loop head.
      f.get(this.n).get(this.P_BUDGET).op(Op.i32_lt_s).br(Op.br_if, this.depth - 1 - this.loopDepth);
      this.exitConst(lo, hi, 0);
      return;
    }
    this.exitConst(lo, hi, retired);
  }

  /** Call the interpreter's handler `h` for the current instruction. Returns after emitting the reload. */
  callHandler(h: number, memSlow: boolean, terminal = false): void {
    const f = this.f;
    this.calls++;
    this.storeRegs();
    const saved = this.fstate;
    this.storeFlags();
    const nx = addr(this.pcLo, this.pcHi, 4);
    this.setPc(nx[0], nx[1]);
    f.i32(h).get(this.n).i32(this.k).op(Op.i32_add).call(0);
    if (terminal) {
      // The handler set pc (a branch, exception, ERET...): memory holds everything.
      f.set(this.t32a);
      f.get(this.n).i32(this.k + 1).op(Op.i32_add);
      f.i32(STOP).i32(0).get(this.t32a).op(Op.select).op(Op.i32_or).op(Op.return);
      return;
    }
    // Nonzero: the slice ended; memory holds the state, pc is in S.
    f.ctl(Op.if);
    f.get(this.n).i32(this.k + 1).op(Op.i32_add).i32(STOP).op(Op.i32_or).op(Op.return);
    f.op(Op.end);
    this.loadRegs();
    if (memSlow) {
      // A load/store handler leaves NZCV alone: keep the translation-time state (the fast path's).
      this.fstate = saved;
    } else this.loadFlags();
  }
}

function addr(lo: number, hi: number, off: number): [number, number] {
  const l = (lo >>> 0) + off;
  return [l | 0, (hi + Math.floor(l / 4294967296)) | 0];
}

const wr = (d: number): number => (d === 31 ? SINK : d);
const rsp = (n: number): number => (n === 31 ? SP : n);

/** Push the shifted-register operand (64-bit, or 32-bit zero-extended). Undefined type 3 for arithmetic. */
function shifted(e: Emitter, m: number, type: number, amt: number, sf: boolean): void {
  const f = e.f;
  if (sf) {
    e.rx(m);
    if (amt !== 0) {
      f.i64(amt, 0);
      f.op(type === 0 ? Op.i64_shl : type === 1 ? Op.i64_shr_u : type === 2 ? Op.i64_shr_s : Op.i64_rotr);
    }
    return;
  }
  e.rw32(m);
  if (amt !== 0) {
    f.i32(amt);
    f.op(type === 0 ? Op.i32_shl : type === 1 ? Op.i32_shr_u : type === 2 ? Op.i32_shr_s : 0x78 /* i32.rotr */);
  }
  f.op(Op.i64_extend_i32_u);
}

/** Push the extended-register operand (ADD/SUB extended). */
function extended(e: Emitter, m: number, option: number, amt: number, sf: boolean): void {
  const f = e.f;
  e.rx(m);
  switch (option) {
    case 0:
      f.i64(0xff, 0).op(Op.i64_and);
      break;
    case 1:
      f.i64(0xffff, 0).op(Op.i64_and);
      break;
    case 2:
      f.i64(M32, 0).op(Op.i64_and);
      break;
    case 4:
      f.op(0xc2); // i64.extend8_s
      break;
    case 5:
      f.op(0xc3); // i64.extend16_s
      break;
    case 6:
      f.op(0xc4); // i64.extend32_s
      break;
    default:
      break;
  }
  if (amt !== 0) f.i64(amt, 0).op(Op.i64_shl);
  if (!sf) e.zext32();
}

/**
 * Emit a + b (or a - b) with the result to rd; a and b are pushed by the
 * callbacks as i64 (32-bit values zero-extended).
 */
function addSub(e: Emitter, sf: boolean, sub: boolean, setf: boolean, d: number, a: () => void, b: () => void): void {
  const f = e.f;
  if (!setf) {
    a();
    b();
    f.op(sub ? Op.i64_sub : Op.i64_add);
    if (!sf) e.zext32();
    e.wx(d);
    return;
  }
  if (!e.usesFlags) {
    // pass 1: record register use only
    a();
    b();
    f.op(Op.i64_add);
    e.wx(d);
    e.setLazy(K_SUB64);
    return;
  }
  a();
  f.set(e.fa);
  b();
  f.set(e.fb);
  f.get(e.fa).get(e.fb).op(sub ? Op.i64_sub : Op.i64_add);
  if (!sf) e.zext32();
  f.tee(e.fr);
  e.wx(d);
  e.setLazy(sub ? (sf ? K_SUB64 : K_SUB32) : sf ? K_ADD64 : K_ADD32);
}

/** Logical result (already pushed) to rd, flags for ANDS/BICS. */
function logicalResult(e: Emitter, sf: boolean, setf: boolean, d: number): void {
  const f = e.f;
  if (setf && e.usesFlags) {
    f.tee(e.fr);
    e.wx(d);
    e.setLazy(sf ? K_LOG64 : K_LOG32);
    return;
  }
  e.wx(d);
  if (setf) e.setLazy(K_LOG64);
}

/** Inline a data-processing instruction. False: not handled here. */
function emitDp(e: Emitter, w: number): boolean {
  const f = e.f;
  const sf = w >>> 31 !== 0;
  const rd = w & 31;
  const rn = (w >>> 5) & 31;
  // ADD/SUB (immediate)
  if ((w & 0x1f800000) === 0x11000000) {
    const sub = ((w >>> 30) & 1) !== 0;
    const setf = ((w >>> 29) & 1) !== 0;
    const imm = ((w >>> 10) & 0xfff) << (((w >>> 22) & 1) !== 0 ? 12 : 0);
    const n = rsp(rn);
    const d = setf ? wr(rd) : rsp(rd);
    addSub(e, sf, sub, setf, d, () => (sf ? e.rx(n) : e.rw(n)), () => f.i64(imm, 0));
    return true;
  }
  // Logical (immediate)
  if ((w & 0x1f800000) === 0x12000000) {
    const opc = (w >>> 29) & 3;
    const nbit = (w >>> 22) & 1;
    if (!sf && nbit) return false;
    const m = decodeBitMasks(nbit, (w >>> 10) & 63, (w >>> 16) & 63, true, sf ? 64 : 32);
    if (m === undefined) return false;
    const d = opc === 3 ? wr(rd) : rsp(rd);
    e.rx(rn);
    f.i64(bigLo(m.wmask), sf ? bigHi(m.wmask) : 0);
    f.op(opc === 1 ? Op.i64_or : opc === 2 ? Op.i64_xor : Op.i64_and);
    if (!sf && opc !== 0 && opc !== 3) e.zext32();
    logicalResult(e, sf, opc === 3, d);
    return true;
  }
  // Move wide
  if ((w & 0x1f800000) === 0x12800000) {
    const opc = (w >>> 29) & 3;
    const hw = (w >>> 21) & 3;
    if (opc === 1 || (!sf && hw > 1)) return false;
    const imm = (w >>> 5) & 0xffff;
    const lo = hw === 0 ? imm : hw === 1 ? imm << 16 : 0;
    const hi = hw === 2 ? imm : hw === 3 ? imm << 16 : 0;
    const d = wr(rd);
    if (opc === 0) f.i64(~lo, sf ? ~hi : 0);
    else if (opc === 2) f.i64(lo, hi);
    else {
      const mlo = hw === 0 ? 0xffff : hw === 1 ? 0xffff0000 | 0 : 0;
      const mhi = hw === 2 ? 0xffff : hw === 3 ? 0xffff0000 | 0 : 0;
      e.rx(d === SINK ? 31 : d);
      f.i64(~mlo, ~mhi).op(Op.i64_and).i64(lo, hi).op(Op.i64_or);
      if (!sf) e.zext32();
    }
    e.wx(d);
    return true;
  }
  // ADR / ADRP
  if ((w & 0x1f000000) === 0x10000000) {
    const imm = (((w << 8) >> 13) << 2) | ((w >>> 29) & 3);
    let lo: number;
    let hi: number;
    if (w >>> 31 !== 0) {
      const base = addr(e.pcLo & ~0xfff, e.pcHi, 0);
      const off = imm * 4096;
      const t = BigInt.asIntN(64, (BigInt(base[1]) << 32n) + BigInt(base[0] >>> 0) + BigInt(off));
      lo = bigLo(t);
      hi = bigHi(t);
    } else {
      const t = BigInt.asIntN(64, (BigInt(e.pcHi) << 32n) + BigInt(e.pcLo >>> 0) + BigInt(imm));
      lo = bigLo(t);
      hi = bigHi(t);
    }
    f.i64(lo, hi);
    e.wx(wr(rd));
    return true;
  }
  // Logical (shifted register)
  if ((w & 0x1f000000) === 0x0a000000) {
    const opc = (w >>> 29) & 3;
    const type = (w >>> 22) & 3;
    const invert = ((w >>> 21) & 1) !== 0;
    const amt = (w >>> 10) & 63;
    if (!sf && amt > 31) return false;
    const m = (w >>> 16) & 31;
    // MOV (ORR Xd, XZR, Xm)
    if (opc === 1 && rn === 31 && !invert && amt === 0) {
      if (sf) e.rx(m);
      else e.rw(m);
      e.wx(wr(rd));
      return true;
    }
    e.rx(rn);
    shifted(e, m, type, amt, sf);
    if (invert) f.i64(-1, sf ? -1 : 0).op(Op.i64_xor);
    f.op(opc === 1 ? Op.i64_or : opc === 2 ? Op.i64_xor : Op.i64_and);
    if (!sf) e.zext32();
    logicalResult(e, sf, opc === 3, wr(rd));
    return true;
  }
  // ADD/SUB (shifted register)
  if ((w & 0x1f200000) === 0x0b000000) {
    const sub = ((w >>> 30) & 1) !== 0;
    const setf = ((w >>> 29) & 1) !== 0;
    const type = (w >>> 22) & 3;
    const amt = (w >>> 10) & 63;
    if (type === 3 || (!sf && amt > 31)) return false;
    const m = (w >>> 16) & 31;
    addSub(e, sf, sub, setf, wr(rd), () => (sf ? e.rx(rn) : e.rw(rn)), () => shifted(e, m, type, amt, sf));
    return true;
  }
  // ADD/SUB (extended register)
  if ((w & 0x1fe00000) === 0x0b200000) {
    const sub = ((w >>> 30) & 1) !== 0;
    const setf = ((w >>> 29) & 1) !== 0;
    const option = (w >>> 13) & 7;
    const amt = (w >>> 10) & 7;
    if (amt > 4) return false;
    const m = (w >>> 16) & 31;
    const n = rsp(rn);
    const d = setf ? wr(rd) : rsp(rd);
    addSub(e, sf, sub, setf, d, () => (sf ? e.rx(n) : e.rw(n)), () => extended(e, m, option, amt, sf));
    return true;
  }
  // Bitfield: SBFM / UBFM (BFM goes to the handler)
  if ((w & 0x1f800000) === 0x13000000) {
    const opc = (w >>> 29) & 3;
    const nbit = (w >>> 22) & 1;
    const immr = (w >>> 16) & 63;
    const imms = (w >>> 10) & 63;
    const ds = sf ? 64 : 32;
    if (opc === 3 || opc === 1 || (sf ? nbit !== 1 : nbit !== 0 || immr > 31 || imms > 31)) return false;
    if (sf) e.rx(rn);
    else e.rw(rn);
    if (opc === 2) {
      // UBFM
      if (imms >= immr) {
        const wd = imms - immr + 1;
        if (immr !== 0) f.i64(immr, 0).op(Op.i64_shr_u);
        if (wd < 64) f.i64(...mask64(wd)).op(Op.i64_and);
      } else {
        const wd = imms + 1;
        f.i64(...mask64(wd)).op(Op.i64_and);
        f.i64(ds - immr, 0).op(Op.i64_shl);
        if (!sf) e.zext32();
      }
    } else {
      // SBFM: sign-extend bits [imms:0] (after the rotate) via the 64-bit value
      if (imms >= immr) {
        const wd = imms - immr + 1;
        f.i64(64 - immr - wd, 0).op(Op.i64_shl).i64(64 - wd, 0).op(Op.i64_shr_s);
      } else {
        f.i64(63 - imms, 0).op(Op.i64_shl).i64(63 - imms, 0).op(Op.i64_shr_s);
        f.i64(ds - immr, 0).op(Op.i64_shl);
      }
      if (!sf) e.zext32();
    }
    e.wx(wr(rd));
    return true;
  }
  // EXTR
  if ((w & 0x7fa00000) === 0x13800000) {
    const nbit = (w >>> 22) & 1;
    const lsb = (w >>> 10) & 63;
    const m = (w >>> 16) & 31;
    if ((sf ? 1 : 0) !== nbit || (!sf && lsb > 31)) return false;
    if (sf) {
      if (lsb === 0) e.rx(m);
      else {
        e.rx(m);
        f.i64(lsb, 0).op(Op.i64_shr_u);
        e.rx(rn);
        f.i64(64 - lsb, 0).op(Op.i64_shl).op(Op.i64_or);
      }
    } else {
      e.rx(rn);
      f.i64(32, 0).op(Op.i64_shl);
      e.rw(m);
      f.op(Op.i64_or).i64(lsb, 0).op(Op.i64_shr_u);
      e.zext32();
    }
    e.wx(wr(rd));
    return true;
  }
  // Conditional select: CSEL / CSINC / CSINV / CSNEG
  if ((w & 0x1fe00800) === 0x1a800000 && ((w >>> 29) & 1) === 0) {
    const op = (w >>> 30) & 1;
    const op2 = (w >>> 10) & 1;
    const m = (w >>> 16) & 31;
    const cond = (w >>> 12) & 15;
    e.rx(rn);
    e.rx(m);
    if (op === 0 && op2 === 1) f.i64(1, 0).op(Op.i64_add);
    else if (op === 1 && op2 === 0) f.i64(-1, -1).op(Op.i64_xor);
    else if (op === 1 && op2 === 1) {
      f.set(e.t64a).i64(0, 0).get(e.t64a).op(Op.i64_sub);
    }
    e.cond(cond);
    f.op(Op.select);
    if (!sf) e.zext32();
    e.wx(wr(rd));
    return true;
  }
  // CCMP / CCMN (immediate and register)
  if ((w & 0x3fe00410) === 0x3a400000) {
    const sub = ((w >>> 30) & 1) !== 0;
    const imm = ((w >>> 11) & 1) !== 0;
    const m = (w >>> 16) & 31;
    const cond = (w >>> 12) & 15;
    const nzcv = w & 15;
    e.cond(cond);
    f.set(e.t32a);
    addSub(e, sf, sub, true, SINK, () => (sf ? e.rx(rn) : e.rw(rn)), () => (imm ? f.i64(m, 0) : sf ? e.rx(m) : e.rw(m)));
    e.materialize();
    if (e.usesFlags) {
      const sel = (loc: number, bit: number): void => {
        f.get(loc).i32((nzcv >> bit) & 1).get(e.t32a).op(Op.select).set(loc);
      };
      sel(e.nf, 3);
      sel(e.zf, 2);
      sel(e.cf, 1);
      sel(e.vf, 0);
    }
    e.fdirty = true;
    return true;
  }
  // Variable shifts: LSLV / LSRV / ASRV / RORV
  if ((w & 0x7fe0f000) === 0x1ac02000) {
    const op2 = (w >>> 10) & 3;
    const m = (w >>> 16) & 31;
    if (sf) {
      e.rx(rn);
      e.rx(m);
      f.op(op2 === 0 ? Op.i64_shl : op2 === 1 ? Op.i64_shr_u : op2 === 2 ? Op.i64_shr_s : Op.i64_rotr);
    } else {
      e.rw32(rn);
      e.rw32(m);
      f.op(op2 === 0 ? Op.i32_shl : op2 === 1 ? Op.i32_shr_u : op2 === 2 ? Op.i32_shr_s : 0x78);
      f.op(Op.i64_extend_i32_u);
    }
    e.wx(wr(rd));
    return true;
  }
  // MADD / MSUB
  if ((w & 0x7fe00000) === 0x1b000000) {
    const o0 = (w >>> 15) & 1;
    const m = (w >>> 16) & 31;
    const ra = (w >>> 10) & 31;
    e.rx(ra);
    e.rx(rn);
    e.rx(m);
    f.op(Op.i64_mul);
    f.op(o0 !== 0 ? Op.i64_sub : Op.i64_add);
    if (!sf) e.zext32();
    e.wx(wr(rd));
    return true;
  }
  // CLZ
  if ((w & 0x7ffffc00) === 0x5ac01000) {
    if (sf) {
      e.rx(rn);
      f.op(Op.i64_clz);
    } else {
      e.rw32(rn);
      f.op(0x67); // i32.clz
      f.op(Op.i64_extend_i32_u);
    }
    e.wx(wr(rd));
    return true;
  }
  return false;
}

function mask64(wd: number): [number, number] {
  if (wd >= 64) return [-1, -1];
  if (wd >= 32) return [-1, wd === 32 ? 0 : (2 ** (wd - 32) - 1) | 0];
  return [(2 ** wd - 1) | 0, 0];
}

/**
 * Inline access through the TLB. The address (i64) is in e.t64a. `size` in
 * bytes; `body` emits the access given the RAM offset in e.t32c (i32).
 */
function tlbAccess(e: Emitter, size: number, store: boolean, h: number, body: () => void): void {
  const f = e.f;
  const C = e.P_CPU;
  // lo in t32a, (TLB index * 4) in t32b
  f.ctl(Op.block); // $done
  e.depth++;
  f.ctl(Op.block); // $slow
  e.depth++;
  f.get(e.t64a).op(Op.i32_wrap_i64).tee(e.t32a).i32(12).op(Op.i32_shr_u);
  f.get(e.t64a).i64(32, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64).op(Op.i32_xor);
  f.i32(4095).op(Op.i32_and).i32(2).op(Op.i32_shl).get(C).op(Op.i32_add).set(e.t32b);
  // tlbLo[i] == lo & ~0xfff
  f.get(e.t32b).mem(Op.i32_load, 2, TLB_LO_OFF);
  f.get(e.t32a).i32(-4096).op(Op.i32_and).op(Op.i32_ne).br(Op.br_if, 0);
  // tlbHi[i] == hi
  f.get(e.t32b).mem(Op.i32_load, 2, TLB_HI_OFF);
  f.get(e.t64a).i64(32, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64).op(Op.i32_ne).br(Op.br_if, 0);
  // permission
  f.get(e.t32b).mem(Op.i32_load, 2, TLB_FLAGS_OFF).i32(store ? e.wMask : e.rMask).op(Op.i32_and).op(Op.i32_eqz).br(Op.br_if, 0);
  // within the page
  if (size > 1) f.get(e.t32a).i32(4095).op(Op.i32_and).i32(4096 - size).op(Op.i32_gt_u).br(Op.br_if, 0);
  // RAM offset: page * 4096 + (lo & 0xfff)
  f.get(e.t32b).mem(Op.i32_load, 2, TLB_RAM_OFF).set(e.t32b);
  if (store) {
    // codePages[page] != 0: the handler's store invalidates the translated code.
    f.get(e.t32b).mem(Op.i32_load8_u, 0, e.codePagesOff).br(Op.br_if, 0);
  }
  f.get(e.t32b).i32(12).op(Op.i32_shl).get(e.t32a).i32(4095).op(Op.i32_and).op(Op.i32_or).set(e.t32c);
  body();
  f.br(Op.br, 1);
  f.op(Op.end);
  e.depth--;
  // Slow path (TLB miss, MMIO, page crossing, code page, fault): leave the block
  // before this instruction; the run loop interprets it.
  e.exitVia(() => f.i64(e.pcLo, e.pcHi), e.k, INTERP_NEXT);
  f.op(Op.end);
  e.depth--;
}


/** Inline an integer load/store. False: not handled here. */
function emitMem(e: Emitter, w: number, h: number): boolean {
  const f = e.f;
  // Load/store register (unsigned offset, unscaled, pre/post-index, register offset), integer
  if ((w & 0x3f000000) === 0x39000000 || (w & 0x3f200000) === 0x38000000 || (w & 0x3f200c00) === 0x38200800) {
    const size = w >>> 30;
    const opc = (w >>> 22) & 3;
    const t = w & 31;
    const n = rsp((w >>> 5) & 31);
    let wb = false;
    let post = false;
    let off = 0;
    let regOff = false;
    if ((w & 0x3f000000) === 0x39000000) off = ((w >>> 10) & 0xfff) << size;
    else if ((w & 0x3f200c00) === 0x38200800) regOff = true;
    else {
      const type = (w >>> 10) & 3;
      off = (w << 11) >> 23;
      if (type === 2) return false; // LDTR/STTR (unprivileged)
      if (type === 1) {
        wb = true;
        post = true;
      } else if (type === 3) wb = true;
    }
    const load = opc !== 0;
    // PRFM / PRFUM: no effect.
    if (size === 3 && opc === 2) return !wb;
    if (size === 2 && opc === 3) return false;
    if (size === 3 && opc === 3) return false;
    if (wb && load && n === t) return false;
    // effective address -> t64a, new base (writeback) -> t64b
    e.rx(n);
    if (regOff) {
      const m = (w >>> 16) & 31;
      const option = (w >>> 13) & 7;
      const s = ((w >>> 12) & 1) !== 0 ? size : 0;
      if ((option & 2) === 0) return false;
      extended(e, m, option, s, true);
      f.op(Op.i64_add);
    } else if (!post && off !== 0) f.i64(off, off >> 31).op(Op.i64_add);
    f.set(e.t64a);
    if (wb) {
      if (post) {
        e.rx(n);
        f.i64(off, off >> 31).op(Op.i64_add).set(e.t64b);
      } else f.get(e.t64a).set(e.t64b);
    }
    const bytes = 1 << size;
    tlbAccess(e, bytes, !load, h, () => {
      if (load) {
        f.get(e.t32c);
        const signed = opc >= 2;
        switch (size) {
          case 0:
            f.mem(signed ? Op.i64_load8_s : Op.i64_load8_u, 0, 0);
            break;
          case 1:
            f.mem(signed ? Op.i64_load16_s : Op.i64_load16_u, 0, 0);
            break;
          case 2:
            f.mem(signed ? Op.i64_load32_s : Op.i64_load32_u, 0, 0);
            break;
          default:
            f.mem(Op.i64_load, 0, 0);
        }
        if (opc === 3) e.zext32();
        e.wx(wr(t));
      } else {
        f.get(e.t32c);
        e.rx(t);
        f.mem(size === 0 ? Op.i64_store8 : size === 1 ? Op.i64_store16 : size === 2 ? Op.i64_store32 : Op.i64_store, 0, 0);
      }
      if (wb) {
        f.get(e.t64b);
        e.wx(n);
      }
    });
    return true;
  }
  // Load/store pair (integer, 32/64-bit): no-allocate, post-index, offset, pre-index
  if ((w & 0x3e000000) === 0x28000000) {
    const opc = w >>> 30;
    if (opc !== 0 && opc !== 2) return false;
    const sf = opc === 2;
    const type = (w >>> 23) & 3;
    const load = ((w >>> 22) & 1) !== 0;
    const t = w & 31;
    const t2 = (w >>> 10) & 31;
    const n = rsp((w >>> 5) & 31);
    const scale = sf ? 3 : 2;
    const off = ((w << 10) >> 25) << scale;
    const wb = type === 1 || type === 3;
    const post = type === 1;
    if (load && t === t2) return false;
    if (wb && (n === t || n === t2)) return false;
    e.rx(n);
    if (!post && off !== 0) f.i64(off, off >> 31).op(Op.i64_add);
    f.set(e.t64a);
    if (wb) {
      if (post) {
        e.rx(n);
        f.i64(off, off >> 31).op(Op.i64_add).set(e.t64b);
      } else f.get(e.t64a).set(e.t64b);
    }
    const bytes = sf ? 16 : 8;
    tlbAccess(e, bytes, !load, h, () => {
      const sz = sf ? 8 : 4;
      if (load) {
        f.get(e.t32c).mem(sf ? Op.i64_load : Op.i64_load32_u, 0, 0);
        e.wx(wr(t));
        f.get(e.t32c).mem(sf ? Op.i64_load : Op.i64_load32_u, 0, sz);
        e.wx(wr(t2));
      } else {
        f.get(e.t32c);
        e.rx(t);
        f.mem(sf ? Op.i64_store : Op.i64_store32, 0, 0);
        f.get(e.t32c);
        e.rx(t2);
        f.mem(sf ? Op.i64_store : Op.i64_store32, 0, sz);
      }
      if (wb) {
        f.get(e.t64b);
        e.wx(n);
      }
    });
    return true;
  }
  // LDAR / STLR (and LDAPR-free forms): ordinary loads/stores on this single-threaded machine
  if ((w & 0x3ffffc00) === 0x08dffc00 || (w & 0x3ffffc00) === 0x089ffc00) {
    const size = w >>> 30;
    const load = ((w >>> 22) & 1) !== 0;
    const t = w & 31;
    e.rx(rsp((w >>> 5) & 31));
    f.set(e.t64a);
    tlbAccess(e, 1 << size, !load, h, () => {
      f.get(e.t32c);
      if (load) {
        f.mem(size === 0 ? Op.i64_load8_u : size === 1 ? Op.i64_load16_u : size === 2 ? Op.i64_load32_u : Op.i64_load, 0, 0);
        e.wx(wr(t));
      } else {
        e.rx(t);
        f.mem(size === 0 ? Op.i64_store8 : size === 1 ? Op.i64_store16 : size === 2 ? Op.i64_store32 : Op.i64_store, 0, 0);
      }
    });
    return true;
  }
  return false;
}

/** Emit a branch that ends the block (or a conditional side exit). False: not a branch handled here. */
function emitBranch(e: Emitter, w: number, sideExit: boolean): boolean {
  const f = e.f;
  const a = e.pcLo;
  const hi = e.pcHi;
  const k1 = e.k + 1;
  const next = addr(a, hi, 4);
  const target = (off: number): [number, number] => {
    const t = BigInt.asIntN(64, (BigInt(hi) << 32n) + BigInt(a >>> 0) + BigInt(off));
    return [bigLo(t), bigHi(t)];
  };
  const condJump = (t: [number, number]): void => {
    // The condition is on the stack.
    f.ctl(Op.if);
    e.depth++;
    const saveF = e.fstate;
    const saveD = e.fdirty;
    const dirty = e.dirty.slice();
    e.branchTo(t[0], t[1], k1);
    e.fstate = saveF;
    e.fdirty = saveD;
    e.dirty.set(dirty);
    e.depth--;
    f.op(Op.end);
    if (!sideExit) e.exitConst(next[0], next[1], k1);
  };
  // B / BL
  if ((w & 0x7c000000) === 0x14000000) {
    const t = target(((w << 6) >> 6) * 4);
    if (w >>> 31 !== 0) {
      f.i64(next[0], next[1]);
      e.wx(30);
      e.exitConst(t[0], t[1], k1);
    } else e.branchTo(t[0], t[1], k1);
    return true;
  }
  // CBZ / CBNZ
  if ((w & 0x7e000000) === 0x34000000) {
    const sf = w >>> 31 !== 0;
    const nz = ((w >>> 24) & 1) !== 0;
    const t = target(((w << 8) >> 13) * 4);
    if (sf) e.rx(w & 31);
    else e.rw(w & 31);
    f.op(Op.i64_eqz);
    if (nz) f.op(Op.i32_eqz);
    condJump(t);
    return true;
  }
  // TBZ / TBNZ
  if ((w & 0x7e000000) === 0x36000000) {
    const bit = ((w >>> 26) & 32) | ((w >>> 19) & 31);
    const nz = ((w >>> 24) & 1) !== 0;
    const t = target(((w << 13) >> 18) * 4);
    e.rx(w & 31);
    f.i64(bit, 0).op(Op.i64_shr_u).i64(1, 0).op(Op.i64_and);
    f.op(Op.i32_wrap_i64);
    if (!nz) f.op(Op.i32_eqz);
    condJump(t);
    return true;
  }
  // B.cond
  if ((w & 0xff000010) === 0x54000000) {
    const t = target(((w << 8) >> 13) * 4);
    e.cond(w & 15);
    condJump(t);
    return true;
  }
  // BR / RET / BLR
  const op = (w & 0xfffffc1f) >>> 0;
  if (op === 0xd61f0000 || op === 0xd65f0000 || op === 0xd63f0000) {
    const n = (w >>> 5) & 31;
    e.rx(n);
    f.set(e.t64b);
    if (op === 0xd63f0000) {
      f.i64(next[0], next[1]);
      e.wx(30);
    }
    e.exitVia(() => f.get(e.t64b), k1);
    return true;
  }
  return false;
}

function isCondBranch(w: number): boolean {
  return (w & 0xff000010) === 0x54000000 || (w & 0x7e000000) === 0x34000000 || (w & 0x7e000000) === 0x36000000;
}

/** One emission pass over the block. */
function pass(inp: TranslateInput, e: Emitter, codePagesOff: number): number {
  const { dv, ramOff, idx, vaLo, vaHi, stopIdx } = inp;
  const f = e.f;
  const pageVa = (vaLo & ~0xfff) >>> 0;
  e.codePagesOff = codePagesOff;
  e.startLo = (pageVa + idx * 4) | 0;
  e.startHi = vaHi;
  f.i32(0).set(e.n);
  e.loadRegs();
  e.loadFlags();
  f.ctl(Op.block); // the exit block: every exit branches to its end (the epilogue)
  e.depth = 1;
  if (e.hasLoop) {
    f.ctl(Op.loop);
    e.loopDepth = 1;
    e.depth = 2;
    e.dirty.set(e.written);
    e.fdirty = e.usesFlags;
  }
  let k = 0;
  let i = idx;
  let ended = false;
  for (; i < 1024 && k < MAX_BLOCK; i++, k++) {
    if (i === stopIdx && k > 0) break;
    const w = dv.getUint32(ramOff + i * 4, true);
    e.k = k;
    e.pcLo = (pageVa + i * 4) | 0;
    e.pcHi = vaHi;
    if (isCondBranch(w) && k + 1 < MAX_BLOCK && i + 1 < 1024 && i + 1 !== stopIdx) {
      emitBranch(e, w, true);
      continue;
    }
    if (isTerminator(w)) {
      if (isNopHint(w)) continue;
      if (isMidBlockSys(w)) {
        e.callHandler(inp.handler(i), false);
        continue;
      }
      if (!emitBranch(e, w, false)) e.callHandler(inp.handler(i), false, true);
      ended = true;
      k++;
      break;
    }
    if (emitDp(e, w)) continue;
    if (emitMem(e, w, inp.handler(i))) continue;
    e.callHandler(inp.handler(i), false);
  }
  if (!ended) {
    const nx = addr(pageVa + i * 4, vaHi, 0);
    e.exitConst(nx[0], nx[1], k);
  }
  if (e.hasLoop) f.op(Op.end);
  f.op(Op.end);
  e.depth = 0;
  e.epilogue();
  return k;
}


/** Translate the block at inp.idx into a wasm function body. `codePagesOff` is the wasm offset of Phys.codePages. */
export function translate(inp: TranslateInput, codePagesOff: number): Translated {
  // Pass 1: which registers and flags the block touches, and whether it loops.
  const p1 = new Emitter(undefined, false, inp.el, false);
  pass(inp, p1, codePagesOff);
  const e = new Emitter(p1.rec!, p1.recFlags, inp.el, p1.loopHit, p1.recW);
  const len = pass(inp, e, codePagesOff);
  return { fn: e.f, len, calls: e.calls };
}
