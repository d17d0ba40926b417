/**
 * A64 "floating-point data processing" (scalar, bit 30 = 0): FP <-> integer and
 * fixed-point conversions, 1/2/3-source arithmetic, compares, FCCMP, FCSEL and
 * FMOV immediate. ftype: 00 single, 01 double, 11 half (only FCVT here: FP16
 * arithmetic is not implemented), 10 only for FMOV to/from Vn.D[1].
 */
import type { FpSimdContext } from '../fpsimd-context.js';
import { type VViews, RN, RP, RM, RZ, RA, clearHigh } from './views.js';
import {
  S, fpBegin, fp2, isSNaNWord, fcmp, fmuladd, fsqrt, flushIn, fin, nan1, nan3,
  OP_MUL, OP_DIV, OP_ADD, OP_SUB, OP_MAX, OP_MIN, OP_MAXNM, OP_MINNM, OP_NMUL,
} from './fpcore.js';
import {
  roundInt, fpToInt32, fpToInt64, intToFp, bigToFp, halfToNumber, numberToHalf,
  nanHalfToSingle, nanHalfToDoubleHi, nanSingleToHalf, nanDoubleToHalf, nanSingleToDouble, nanDoubleToSingle,
} from './fpconv.js';
import { putF, commit, commitHalf, rdF, wordF } from './fplane.js';

const TWO_SRC_OPS = [OP_MUL, OP_DIV, OP_ADD, OP_SUB, OP_MAX, OP_MIN, OP_MAXNM, OP_MINNM, OP_NMUL];
/** FCVT<x>S/U rounding per rmode field (N, P, M, Z). */
const RMODE_OF = [RN, RP, RM, RZ];

/** ConditionHolds for a 4-bit cond on NZCV. */
export function condHolds(cond: number, nzcv: number): boolean {
  const n = (nzcv >> 3) & 1, z = (nzcv >> 2) & 1, c = (nzcv >> 1) & 1, v = nzcv & 1;
  let r: boolean;
  switch (cond >> 1) {
    case 0: r = z === 1; break;
    case 1: r = c === 1; break;
    case 2: r = n === 1; break;
    case 3: r = v === 1; break;
    case 4: r = c === 1 && z === 0; break;
    case 5: r = n === v; break;
    case 6: r = n === v && z === 0; break;
    default: r = true;
  }
  return (cond & 1) === 1 && cond !== 15 ? !r : r;
}

/** VFPExpandImm: the high 32 bits of the double (or the single) for imm8. */
function expandImm(imm8: number, single: boolean): number {
  const a = imm8 >>> 7, b = (imm8 >>> 6) & 1, cdefgh = imm8 & 0x3f;
  if (single) return ((a << 31) | ((b ^ 1) << 30) | (b ? 0x3e000000 : 0) | (cdefgh << 19)) >>> 0;
  return ((a << 31) | ((b ^ 1) << 30) | (b ? 0x3fc00000 : 0) | (cdefgh << 16)) >>> 0;
}

export function execScalarFp(ctx: FpSimdContext, vw: VViews, insn: number): boolean {
  const ftype = (insn >>> 22) & 3;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  if (insn & (1 << 29)) return false;
  if (insn & (1 << 24)) return threeSource(ctx, vw, insn, ftype);
  if ((insn & (1 << 21)) === 0) return fixedConv(ctx, vw, insn, ftype);
  const op3 = (insn >>> 10) & 63;
  if (op3 === 0) return intConv(ctx, vw, insn, ftype);
  if (insn >>> 31) return false;
  const single = ftype === 0;
  if ((op3 & 31) === 16) return oneSource(ctx, vw, insn, ftype);
  if (ftype > 1) return false;
  const rm = (insn >>> 16) & 31;
  const en = single ? 4 * rn : 2 * rn, em = single ? 4 * rm : 2 * rm;
  if ((op3 & 15) === 8) { // FCMP / FCMPE
    if ((insn & 7) !== 0 || (op3 & 0x30) !== 0) return false;
    fpBegin(ctx.fpcr);
    const zero = (insn & 8) !== 0;
    const b = zero ? 0 : rdF(vw, single, em), bw = zero ? 0 : wordF(vw, single, em);
    ctx.nzcv = fcmp(rdF(vw, single, en), b, wordF(vw, single, en), bw, single, (insn & 16) !== 0);
    ctx.fpsr |= S.flags;
    return true;
  }
  if ((op3 & 7) === 4) { // FMOV (scalar, immediate)
    if ((insn >>> 5) & 31) return false;
    const imm8 = (insn >>> 13) & 0xff, u = vw.u32, b = 4 * rd;
    if (single) { u[b] = expandImm(imm8, true); u[b + 1] = 0; }
    else { u[b] = 0; u[b + 1] = expandImm(imm8, false); }
    clearHigh(u, rd);
    return true;
  }
  const kind = op3 & 3;
  if (kind === 1) { // FCCMP / FCCMPE
    const cond = (insn >>> 12) & 15;
    if (condHolds(cond, ctx.nzcv)) {
      fpBegin(ctx.fpcr);
      ctx.nzcv = fcmp(rdF(vw, single, en), rdF(vw, single, em), wordF(vw, single, en), wordF(vw, single, em), single, (insn & 16) !== 0);
      ctx.fpsr |= S.flags;
    } else ctx.nzcv = insn & 15;
    return true;
  }
  if (kind === 3) { // FCSEL
    const src = condHolds((insn >>> 12) & 15, ctx.nzcv) ? rn : rm;
    const u = vw.u32;
    u[4 * rd] = u[4 * src];
    u[4 * rd + 1] = single ? 0 : u[4 * src + 1];
    clearHigh(u, rd);
    return true;
  }
  if (kind === 0) return false;
  // kind 2: two-source arithmetic
  const opc = (insn >>> 12) & 15;
  if (opc > 8) return false;
  fpBegin(ctx.fpcr);
  const op = TWO_SRC_OPS[opc];
  S.nanNeg = op === OP_NMUL ? 1 : 0;
  const r = fp2(op, rdF(vw, single, en), rdF(vw, single, em), wordF(vw, single, en), wordF(vw, single, em), single);
  putF(vw, single, 0, r, en, em);
  commit(vw, rd, single ? 4 : 8);
  ctx.fpsr |= S.flags;
  return true;
}

function threeSource(ctx: FpSimdContext, vw: VViews, insn: number, ftype: number): boolean {
  if (insn >>> 31 || ftype > 1) return false;
  const single = ftype === 0;
  const rd = insn & 31, rn = (insn >>> 5) & 31, ra = (insn >>> 10) & 31, rm = (insn >>> 16) & 31;
  const o1 = (insn >>> 21) & 1, o0 = (insn >>> 15) & 1;
  const en = single ? 4 * rn : 2 * rn, em = single ? 4 * rm : 2 * rm, ea = single ? 4 * ra : 2 * ra;
  fpBegin(ctx.fpcr);
  // FMADD: a + n*m; FMSUB: a - n*m; FNMADD: -a - n*m; FNMSUB: -a + n*m (negations are on the inputs).
  const negA = o1 === 1, negN = o0 !== o1;
  S.nanNeg = (negA ? 2 : 0) | (negN ? 4 : 0);
  let a = flushIn(rdF(vw, single, ea), single), n = flushIn(rdF(vw, single, en), single);
  const m = flushIn(rdF(vw, single, em), single);
  if (negA) a = -a;
  if (negN) n = -n;
  let r: number;
  if (a !== a || n !== n || m !== m) {
    r = nan3(a, n, m, wordF(vw, single, ea), wordF(vw, single, en), wordF(vw, single, em), single);
    // Arm: a quiet-NaN addend with inf*0 is still an Invalid Operation.
    if (S.nanSel === 1 && !isSNaNWord(wordF(vw, single, ea), single) && n === n && m === m && ((n === 0 && m - m !== 0) || (m === 0 && n - n !== 0))) {
      S.flags |= 1; S.nanSel = 0;
    }
  } else r = fmuladd(a, n, m, single);
  putF(vw, single, 0, r, ea, en, em);
  commit(vw, rd, single ? 4 : 8);
  ctx.fpsr |= S.flags;
  return true;
}

function oneSource(ctx: FpSimdContext, vw: VViews, insn: number, ftype: number): boolean {
  const opc = (insn >>> 15) & 63;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  const u = vw.u32;
  if (opc >= 4 && opc <= 7) return fcvt(ctx, vw, ftype, opc & 3, rd, rn);
  if (ftype > 1) return false;
  const single = ftype === 0;
  if (opc <= 2) { // FMOV, FABS, FNEG: bit operations, no NaN processing
    const hi = single ? u[4 * rn] : u[4 * rn + 1];
    const nhi = opc === 0 ? hi : opc === 1 ? hi & 0x7fffffff : (hi ^ 0x80000000) >>> 0;
    if (single) { u[4 * rd] = nhi; u[4 * rd + 1] = 0; }
    else { u[4 * rd] = u[4 * rn]; u[4 * rd + 1] = nhi; }
    clearHigh(u, rd);
    return true;
  }
  const en = single ? 4 * rn : 2 * rn;
  fpBegin(ctx.fpcr);
  S.nanNeg = 0;
  const x = flushIn(rdF(vw, single, en), single);
  let r: number;
  if (opc === 3) r = x !== x ? nan1(wordF(vw, single, en), single) : fsqrt(x, single);
  else if (opc >= 8 && opc <= 15 && opc !== 13) {
    r = x !== x ? nan1(wordF(vw, single, en), single) : frint(x, opc & 7, S.rm);
  } else return false;
  putF(vw, single, 0, r, en);
  commit(vw, rd, single ? 4 : 8);
  ctx.fpsr |= S.flags;
  return true;
}

/** FRINT<N,P,M,Z,A,-,X,I> by opcode low 3 bits; FRINTX raises Inexact. */
export function frint(x: number, k: number, fpcrMode: number): number {
  const mode = k === 4 ? RA : k >= 6 ? fpcrMode : k; // N=0, P=1, M=2, Z=3 match RN..RZ
  const r = roundInt(x, mode);
  if (k === 6 && r !== x) S.flags |= 16;
  return r;
}

/** FCVT between precisions: from ftype to opc (0 single, 1 double, 3 half). */
function fcvt(ctx: FpSimdContext, vw: VViews, ftype: number, to: number, rd: number, rn: number): boolean {
  if (to === 2 || ftype === 2 || to === ftype) return false;
  const u = vw.u32;
  fpBegin(ctx.fpcr);
  // Read the source as a number (NaNs handled on bits below).
  let x: number, isNaN = false;
  const w0 = u[4 * rn], w1 = u[4 * rn + 1];
  if (ftype === 3) { x = halfToNumber(w0 & 0xffff); isNaN = x !== x; }
  else { x = ftype === 0 ? vw.f32[4 * rn] : vw.f64[2 * rn]; isNaN = x !== x; if (!isNaN) x = flushIn(x, ftype === 0); }
  if (to === 3) {
    let h: number;
    if (isNaN) h = ftype === 0 ? nanSingleToHalf(w0) : nanDoubleToHalf(w1);
    else h = numberToHalf(x, S.rm);
    commitHalf(vw, rd, h);
  } else if (to === 0) {
    let w: number;
    if (isNaN) w = ftype === 3 ? nanHalfToSingle(w0 & 0xffff) : nanDoubleToSingle(w0, w1);
    else { vw.f32[4 * rd] = fin(x, 0, true); w = u[4 * rd]; }
    u[4 * rd] = w; u[4 * rd + 1] = 0; clearHigh(u, rd);
  } else {
    if (isNaN) {
      if (ftype === 3) { u[4 * rd] = 0; u[4 * rd + 1] = nanHalfToDoubleHi(w0 & 0xffff); }
      else { const [lo, hi] = nanSingleToDouble(w0); u[4 * rd] = lo; u[4 * rd + 1] = hi; }
    } else vw.f64[2 * rd] = x;
    clearHigh(u, rd);
  }
  ctx.fpsr |= S.flags;
  return true;
}

/** Conversions between FP and integer registers, and FMOV general <-> FP. */
function intConv(ctx: FpSimdContext, vw: VViews, insn: number, ftype: number): boolean {
  const sf = insn >>> 31, rmode = (insn >>> 19) & 3, opc = (insn >>> 16) & 7;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  const u = vw.u32;
  if (opc >= 6) { // FMOV
    // 64-bit moves go through the BigUint64Array view: one BigInt, no shifting.
    if (rmode === 1 && sf === 1 && ftype === 2) { // FMOV Xd, Vn.D[1] / FMOV Vd.D[1], Xn
      if (opc === 6) ctx.setX(rd, vw.b64[2 * rn + 1]);
      else vw.b64[2 * rd + 1] = BigInt.asUintN(64, ctx.getX(rn));
      return true;
    }
    if (rmode !== 0 || sf !== ftype) return false; // W<->S or X<->D (FP16 forms absent)
    if (opc === 6) {
      if (sf) ctx.setX(rd, vw.b64[2 * rn]);
      else ctx.setW(rd, u[4 * rn]);
    } else {
      if (sf) vw.b64[2 * rd] = BigInt.asUintN(64, ctx.getX(rn));
      else { u[4 * rd] = ctx.getW(rn); u[4 * rd + 1] = 0; }
      clearHigh(u, rd);
    }
    return true;
  }
  if (ftype > 1) return false;
  const single = ftype === 0;
  if (opc === 2 || opc === 3) { // SCVTF / UCVTF
    if (rmode !== 0) return false;
    return intToFpReg(ctx, vw, sf, opc === 3, single, rd, rn, 0);
  }
  let mode: number;
  if (opc <= 1) mode = RMODE_OF[rmode];
  else if (rmode === 0) mode = RA; // FCVTAS / FCVTAU (opc 4, 5)
  else return false;
  return fpToIntReg(ctx, vw, sf, (opc & 1) === 1, single, mode, rd, rn, 0);
}

function fixedConv(ctx: FpSimdContext, vw: VViews, insn: number, ftype: number): boolean {
  const sf = insn >>> 31, rmode = (insn >>> 19) & 3, opc = (insn >>> 16) & 7, scale = (insn >>> 10) & 63;
  if (ftype > 1 || (sf === 0 && scale < 32)) return false;
  const fbits = 64 - scale, single = ftype === 0;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  if (rmode === 0 && (opc === 2 || opc === 3)) return intToFpReg(ctx, vw, sf, opc === 3, single, rd, rn, fbits);
  if (rmode === 3 && opc <= 1) return fpToIntReg(ctx, vw, sf, opc === 1, single, RZ, rd, rn, fbits);
  return false;
}

function intToFpReg(ctx: FpSimdContext, vw: VViews, sf: number, unsigned: boolean, single: boolean, rd: number, rn: number, fbits: number): boolean {
  fpBegin(ctx.fpcr);
  let r: number;
  if (sf) {
    const raw = ctx.getX(rn);
    const x = unsigned ? BigInt.asUintN(64, raw) : BigInt.asIntN(64, raw);
    r = bigToFp(x, single, fbits);
  } else {
    const w = ctx.getW(rn);
    r = intToFp(unsigned ? w : w | 0, single, fbits);
  }
  if (single) vw.f32[4 * rd] = r, vw.u32[4 * rd + 1] = 0;
  else vw.f64[2 * rd] = r;
  clearHigh(vw.u32, rd);
  ctx.fpsr |= S.flags;
  return true;
}

function fpToIntReg(ctx: FpSimdContext, vw: VViews, sf: number, unsigned: boolean, single: boolean, mode: number, rd: number, rn: number, fbits: number): boolean {
  fpBegin(ctx.fpcr);
  const x = single ? vw.f32[4 * rn] : vw.f64[2 * rn];
  if (sf) ctx.setX(rd, BigInt.asUintN(64, fpToInt64(x, mode, unsigned, single, fbits)));
  else ctx.setW(rd, fpToInt32(x, mode, unsigned, single, fbits) >>> 0);
  ctx.fpsr |= S.flags;
  return true;
}
