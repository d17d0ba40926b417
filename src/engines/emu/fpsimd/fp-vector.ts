/**
 * Advanced SIMD floating point (single and double lanes; FP16 absent): three
 * same, two-register misc, across lanes, scalar pairwise, fixed-point shifts,
 * in vector and scalar forms.
 */
import type { FpSimdContext } from '../fpsimd-context.js';
import { type VViews, R, commitR, RN, RP, RM, RZ, RA, FPSR_IXC } from './views.js';
import {
  S, fpBegin, fp2, fcmpOp, fmuladd, fsqrt, flushIn, fin, nan1, nan3, isSNaNWord,
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_MAXNM, OP_MINNM, OP_MULX, OP_RECPS, OP_RSQRTS, OP_ABD,
} from './fpcore.js';
import { fpToInt32, fpToInt64, intToFp, bigToFp, halfToNumber, numberToHalf,
  nanHalfToSingle, nanSingleToHalf, nanSingleToDouble, nanDoubleToSingle } from './fpconv.js';
import { putF, rdF, wordF } from './fplane.js';
import { frecpe, frsqrte, frecpx, urecpe, ursqrte } from './fpest.js';
import { frint } from './scalar-fp.js';

/** Element index of lane i of register r. */
function ei(single: boolean, r: number, i: number): number { return single ? 4 * r + i : 2 * r + i; }

/** All-ones / zero mask into result lane k. */
function putMask(single: boolean, k: number, t: boolean): void {
  const m = t ? 0xffffffff : 0;
  if (single) R.u32[k] = m; else { R.u32[2 * k] = m; R.u32[2 * k + 1] = m; }
}

// (U << 1 | a) * 8 + (opcode - 24) -> operation. Arithmetic ops are OP_*; 100+ are compares; 200 FMLA, 201 FMLS.
const THREE_SAME: Record<number, number> = {
  0: OP_MAXNM, 1: 200, 2: OP_ADD, 3: OP_MULX, 4: 100, 6: OP_MAX, 7: OP_RECPS,
  8: OP_MINNM, 9: 201, 10: OP_SUB, 14: OP_MIN, 15: OP_RSQRTS,
  16: 300 + OP_MAXNM, 18: 300 + OP_ADD, 19: OP_MUL, 20: 101, 21: 103, 22: 300 + OP_MAX, 23: OP_DIV,
  24: 300 + OP_MINNM, 26: OP_ABD, 28: 102, 29: 104, 30: 300 + OP_MIN,
};
const SCALAR_THREE_OK = new Set([3, 4, 7, 15, 20, 21, 26, 28, 29]);

export function threeSameFp(ctx: FpSimdContext, vw: VViews, insn: number, scalar: boolean): boolean {
  const q = scalar ? 0 : (insn >>> 30) & 1, U = (insn >>> 29) & 1, a = (insn >>> 23) & 1, sz = (insn >>> 22) & 1;
  const key = ((U << 1) | a) * 8 + ((insn >>> 11) & 31) - 24;
  const op = THREE_SAME[key];
  if (op === undefined || (scalar && !SCALAR_THREE_OK.has(key)) || (!scalar && sz && !q)) return false;
  const single = sz === 0;
  const rd = insn & 31, rn = (insn >>> 5) & 31, rm = (insn >>> 16) & 31;
  const lanes = scalar ? 1 : single ? (q ? 4 : 2) : 2;
  const pairwise = op >= 300;
  const half = lanes >> 1;
  fpBegin(ctx.fpcr);
  if (scalar) R.u32.fill(0);
  for (let i = 0; i < lanes; i++) {
    let en = ei(single, rn, i), em = ei(single, rm, i);
    if (pairwise) {
      const reg = i < half ? rn : rm, k = i < half ? 2 * i : 2 * i - lanes;
      en = ei(single, reg, k); em = en + 1;
    }
    const x = rdF(vw, single, en), y = rdF(vw, single, em);
    const xw = wordF(vw, single, en), yw = wordF(vw, single, em);
    if (op >= 100 && op < 200) { putMask(single, i, fcmpOp(op - 100, x, y, xw, yw, single)); continue; }
    if (op >= 200 && op < 300) {
      const ed = ei(single, rd, i);
      fmla(vw, single, i, ed, en, em, op === 201);
      continue;
    }
    S.nanNeg = op === OP_RECPS || op === OP_RSQRTS ? 2 : op === OP_ABD ? 0x100 : 0;
    putF(vw, single, i, fp2(pairwise ? op - 300 : op, x, y, xw, yw, single), en, em);
  }
  commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
  ctx.fpsr |= S.flags;
  return true;
}

/** One lane of FMLA/FMLS: R lane k = d + (-)n*m, with Arm NaN rules. */
export function fmla(vw: VViews, single: boolean, k: number, ed: number, en: number, em: number, neg: boolean): void {
  S.nanNeg = neg ? 4 : 0;
  const d = flushIn(rdF(vw, single, ed), single);
  let n = flushIn(rdF(vw, single, en), single);
  const m = flushIn(rdF(vw, single, em), single);
  if (neg) n = -n;
  let r: number;
  if (d !== d || n !== n || m !== m) {
    r = nan3(d, n, m, wordF(vw, single, ed), wordF(vw, single, en), wordF(vw, single, em), single);
    if (S.nanSel === 1 && !isSNaNWord(wordF(vw, single, ed), single) && n === n && m === m &&
      ((n === 0 && m - m !== 0) || (m === 0 && n - n !== 0))) { S.flags |= 1; S.nanSel = 0; }
  } else r = fmuladd(d, n, m, single);
  putF(vw, single, k, r, ed, en, em);
}

/** FP opcodes of two-reg misc (the caller sends integer ones elsewhere). */
export function isFpMisc(opc: number, a: number): boolean {
  return (opc >= 12 && opc <= 15 && a === 1) || opc >= 22;
}

export function twoMiscFp(ctx: FpSimdContext, vw: VViews, insn: number, scalar: boolean): boolean {
  const q = scalar ? 0 : (insn >>> 30) & 1, U = (insn >>> 29) & 1, a = (insn >>> 23) & 1, sz = (insn >>> 22) & 1;
  const opc = (insn >>> 12) & 31;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  if (opc === 22 || opc === 23) return scalar && !(opc === 22 && U === 1) ? false : fcvtNarrowLong(ctx, vw, insn, scalar);
  if (!scalar && sz && !q) return false;
  const single = sz === 0;
  const lanes = scalar ? 1 : single ? (q ? 4 : 2) : 2;
  // Decode to a lane operation.
  let kind: number, mode = 0, unsigned = false;
  if (opc >= 12 && opc <= 14) {
    if (!a || (U && opc === 14)) return false;
    kind = 1; // compare with zero
  } else if (opc === 15) {
    if (!a || scalar) return false;
    kind = U ? 3 : 2; // FNEG : FABS
  } else if (opc === 24 || opc === 25) {
    if (scalar || (U && opc === 24 && a)) return false;
    kind = 4; // FRINT
    mode = U ? (opc === 24 ? 4 : a ? 7 : 6) : (opc === 24 ? (a ? 1 : 0) : (a ? 3 : 2));
  } else if (opc === 28 && a) {
    if (scalar || sz) return false;
    kind = U ? 9 : 8; // URSQRTE : URECPE
  } else if (opc >= 26 && opc <= 28) {
    kind = 5; unsigned = U === 1;
    mode = opc === 28 ? RA : opc === 26 ? (a ? RP : RN) : (a ? RZ : RM);
  } else if (opc === 29) {
    kind = a ? (U ? 11 : 10) : 6; unsigned = U === 1; // FRSQRTE, FRECPE, or S/UCVTF
  } else if (opc === 31 && a && (U ? !scalar : scalar)) {
    kind = U ? 7 : 12; // FSQRT (vector) : FRECPX (scalar)
  } else return false;
  fpBegin(ctx.fpcr);
  S.nanNeg = 0;
  if (scalar) R.u32.fill(0);
  for (let i = 0; i < lanes; i++) {
    const en = ei(single, rn, i);
    const x = rdF(vw, single, en);
    switch (kind) {
      case 1: {
        const w = wordF(vw, single, en);
        let t: boolean;
        if (opc === 13 && !U) t = fcmpOp(0, x, 0, w, 0, single); // FCMEQ #0
        else if (opc === 12) t = fcmpOp(U ? 1 : 2, x, 0, w, 0, single); // FCMGE / FCMGT #0
        else t = fcmpOp(opc === 14 ? 2 : 1, 0, x, 0, w, single); // FCMLT / FCMLE #0 as 0 > x / 0 >= x
        putMask(single, i, t);
        break;
      }
      case 2: case 3: {
        const u = vw.u32, base = single ? en : 2 * en;
        if (!single) R.u32[2 * i] = u[base];
        const hiIdx = single ? i : 2 * i + 1, hw = u[single ? base : base + 1];
        R.u32[hiIdx] = kind === 2 ? hw & 0x7fffffff : (hw ^ 0x80000000) >>> 0;
        break;
      }
      case 4: {
        const y = flushIn(x, single);
        putF(vw, single, i, y !== y ? nan1(wordF(vw, single, en), single) : frint(y, mode, S.rm), en);
        break;
      }
      case 5:
        if (single) R.u32[i] = fpToInt32(x, mode, unsigned, true) >>> 0;
        else R.b64[i] = BigInt.asUintN(64, fpToInt64(x, mode, unsigned, false));
        break;
      case 6:
        if (single) putF(vw, true, i, intToFp(unsigned ? vw.u32[en] : vw.i32[en], true), en);
        else putF(vw, false, i, bigToFp(unsigned ? vw.b64[en] : vw.s64[en], false), en);
        break;
      case 7: {
        const y = flushIn(x, single);
        putF(vw, single, i, y !== y ? nan1(wordF(vw, single, en), single) : fsqrt(y, single), en);
        break;
      }
      case 8: R.u32[i] = urecpe(vw.u32[en]); break;
      case 9: R.u32[i] = ursqrte(vw.u32[en]); break;
      default: { // FRECPE, FRSQRTE, FRECPX on raw bits
        const fn = kind === 10 ? frecpe : kind === 11 ? frsqrte : frecpx;
        if (single) R.u32[i] = Number(fn(BigInt(vw.u32[en]), true));
        else R.b64[i] = fn(vw.b64[en], false);
      }
    }
  }
  commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
  ctx.fpsr |= S.flags;
  return true;
}

/** FCVTN/FCVTN2, FCVTXN/FCVTXN2 (narrow into the low or high half), FCVTL/FCVTL2 (widen). */
function fcvtNarrowLong(ctx: FpSimdContext, vw: VViews, insn: number, scalar: boolean): boolean {
  const q = scalar ? 0 : (insn >>> 30) & 1, U = (insn >>> 29) & 1, sz = (insn >>> 22) & 1, opc = (insn >>> 12) & 31;
  if ((insn >>> 23) & 1) return false;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  const u = vw.u32;
  fpBegin(ctx.fpcr);
  if (opc === 23) { // FCVTL: half->single (sz 0) or single->double (sz 1)
    if (U) return false;
    const lanes = sz ? 2 : 4;
    for (let i = 0; i < lanes; i++) {
      const k = (q ? lanes : 0) + i;
      if (sz) {
        const w = u[4 * rn + k], x = vw.f32[4 * rn + k];
        if (x !== x) { const [lo, hi] = nanSingleToDouble(w); R.u32[2 * i] = lo; R.u32[2 * i + 1] = hi; }
        else R.f64[i] = flushIn(x, true);
      } else {
        const h = vw.u16[8 * rn + k], x = halfToNumber(h);
        if (x !== x) R.u32[i] = nanHalfToSingle(h); else R.f32[i] = x;
      }
    }
    commitR(vw, rd, 16);
    ctx.fpsr |= S.flags;
    return true;
  }
  // Narrowing: FCVTN (U=0; sz 0: single->half, sz 1: double->single) or FCVTXN (U=1, sz 1, round to odd).
  if (U && !sz) return false;
  const lanes = scalar ? 1 : sz ? 2 : 4, part = q ? lanes : 0;
  if (scalar) R.u32.fill(0);
  else { R.u32[0] = u[4 * rd]; R.u32[1] = u[4 * rd + 1]; }
  for (let i = 0; i < lanes; i++) {
    if (sz) {
      const x = vw.f64[2 * rn + i];
      let w: number;
      if (x !== x) w = nanDoubleToSingle(u[4 * rn + 2 * i], u[4 * rn + 2 * i + 1]);
      else {
        const y = flushIn(x, false);
        if (U) { // round to odd: truncate, then set the lsb if inexact
          const saved = S.rm, flags = S.flags;
          S.rm = RZ; S.flags = 0;
          R.f32[3] = fin(y, 0, true);
          const inexact = (S.flags & FPSR_IXC) !== 0; // a flushed (FZ) result is exact zero
          S.rm = saved; S.flags |= flags;
          w = R.u32[3];
          if (inexact) w = (w | 1) >>> 0;
        } else { R.f32[3] = fin(y, 0, true); w = R.u32[3]; }
      }
      R.u32[part + i] = w;
    } else {
      const x = vw.f32[4 * rn + i];
      const h = x !== x ? nanSingleToHalf(u[4 * rn + i]) : numberToHalf(flushIn(x, true), S.rm);
      R.u16[part + i] = h;
    }
  }
  commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
  ctx.fpsr |= S.flags;
  return true;
}

/** Reduce lanes of Vn (single, 4 lanes) pairwise-recursively, as Arm's Reduce() does. */
export function acrossFp(ctx: FpSimdContext, vw: VViews, insn: number): boolean {
  const q = (insn >>> 30) & 1, U = (insn >>> 29) & 1, a = (insn >>> 23) & 1, sz = (insn >>> 22) & 1;
  const opc = (insn >>> 12) & 31;
  if (!U || !q || sz || (opc !== 12 && opc !== 15)) return false;
  const op = opc === 12 ? (a ? OP_MINNM : OP_MAXNM) : (a ? OP_MIN : OP_MAX);
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  fpBegin(ctx.fpcr);
  S.nanNeg = 0;
  // Copy Vn into R so that intermediate results (including NaN payloads) live in one place.
  for (let i = 0; i < 4; i++) R.u32[i] = vw.u32[4 * rn + i];
  reducePair(op, 0, 0, 1);
  reducePair(op, 1, 2, 3);
  reducePair(op, 0, 0, 1);
  const res = R.u32[0];
  R.u32.fill(0); R.u32[0] = res;
  commitR(vw, rd, 8);
  ctx.fpsr |= S.flags;
  return true;
}

/** R.f32[k] = op(R[i], R[j]) using R itself as the NaN payload source. */
function reducePair(op: number, k: number, i: number, j: number): void {
  const x = R.f32[i], y = R.f32[j], xw = R.u32[i], yw = R.u32[j];
  const r = fp2(op, x, y, xw, yw, true);
  if (r === r) R.f32[k] = r;
  else if (S.dn || S.nanSel === 0) R.u32[k] = 0x7fc00000;
  else R.u32[k] = ((S.nanSel === 1 ? xw : yw) | 0x400000) >>> 0;
}

/** Scalar pairwise FP (U=1): FMAXNMP, FADDP, FMAXP, FMINNMP, FMINP on two lanes of Vn. */
export function scalarPairwiseFp(ctx: FpSimdContext, vw: VViews, insn: number): boolean {
  const U = (insn >>> 29) & 1, a = (insn >>> 23) & 1, sz = (insn >>> 22) & 1, opc = (insn >>> 12) & 31;
  if (!U) return false;
  let op: number;
  if (opc === 12) op = a ? OP_MINNM : OP_MAXNM;
  else if (opc === 13 && !a) op = OP_ADD;
  else if (opc === 15) op = a ? OP_MIN : OP_MAX;
  else return false;
  const single = sz === 0, rd = insn & 31, rn = (insn >>> 5) & 31;
  const en = ei(single, rn, 0);
  fpBegin(ctx.fpcr);
  S.nanNeg = 0;
  R.u32.fill(0);
  const r = fp2(op, rdF(vw, single, en), rdF(vw, single, en + 1), wordF(vw, single, en), wordF(vw, single, en + 1), single);
  putF(vw, single, 0, r, en, en + 1);
  commitR(vw, rd, 8);
  ctx.fpsr |= S.flags;
  return true;
}

/** Shift-by-immediate fixed-point conversions: SCVTF/UCVTF (opc 28), FCVTZS/FCVTZU (opc 31). */
export function shiftImmFp(ctx: FpSimdContext, vw: VViews, insn: number, scalar: boolean): boolean {
  const q = scalar ? 0 : (insn >>> 30) & 1, U = (insn >>> 29) & 1;
  const immh = (insn >>> 19) & 15, immhb = (insn >>> 16) & 127, opc = (insn >>> 11) & 31;
  if (immh < 4 || (!scalar && immh >= 8 && !q)) return false; // FP16 forms absent
  const single = immh < 8, ebits = single ? 32 : 64, fbits = 2 * ebits - immhb;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  const lanes = scalar ? 1 : single ? (q ? 4 : 2) : 2;
  fpBegin(ctx.fpcr);
  S.nanNeg = 0;
  if (scalar) R.u32.fill(0);
  for (let i = 0; i < lanes; i++) {
    const e = ei(single, rn, i);
    if (opc === 28) {
      if (single) R.f32[i] = intToFp(U ? vw.u32[e] : vw.i32[e], true, fbits);
      else R.f64[i] = bigToFp(U ? vw.b64[e] : vw.s64[e], false, fbits);
    } else if (single) R.u32[i] = fpToInt32(vw.f32[e], RZ, U === 1, true, fbits) >>> 0;
    else R.b64[i] = BigInt.asUintN(64, fpToInt64(vw.f64[e], RZ, U === 1, false, fbits));
  }
  commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
  ctx.fpsr |= S.flags;
  return true;
}

