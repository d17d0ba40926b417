/**
 * Advanced SIMD integer "three same" and "three different" (vector and scalar).
 * Three-same ops on 8/16/32-bit lanes run on numbers; 64-bit lanes and the
 * shift-by-register / doubling-multiply ops run on BigInt.
 */
import type { FpSimdContext } from '../fpsimd-context.js';
import { type VViews, R, commitR, elemArray, eqBytes, FPSR_QC } from './views.js';
import { getB, setB, Q, satN, satB } from './elem.js';

/** Polynomial (carry-less) multiply of two bytes, low 8 bits kept by the caller's store. */
export function pmul8(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r ^= a << i;
  return r;
}

/** Opcodes (U*32 + opcode) that scalar three-same allows, with the sizes they allow as a bit set. */
const SCALAR_OK: Record<number, number> = {
  1: 15, 33: 15, 5: 15, 37: 15, 9: 15, 41: 15, 11: 15, 43: 15,
  6: 8, 38: 8, 7: 8, 39: 8, 8: 8, 40: 8, 10: 8, 42: 8, 16: 8, 48: 8, 17: 8, 49: 8,
  22: 6, 54: 6,
};

function opNum(op: number, a: number, b: number, d: number, ebits: number, signed: boolean): number {
  switch (op & 31) {
    case 8: case 9: case 10: case 11: { // shifts by the signed low byte of b; exact in doubles
      const sh = (b << 24) >> 24;
      const r = sh >= 0 ? a * 2 ** sh : Math.floor((a + ((op & 31) >= 10 ? 2 ** (-sh - 1) : 0)) / 2 ** -sh);
      return op & 1 ? satN(r, ebits, signed) : r;
    }
    case 0: return Math.floor((a + b) / 2);
    case 1: return satN(a + b, ebits, signed);
    case 2: return Math.floor((a + b + 1) / 2);
    case 4: return Math.floor((a - b) / 2);
    case 5: return satN(a - b, ebits, signed);
    case 6: return a > b ? -1 : 0;
    case 7: return a >= b ? -1 : 0;
    case 12: case 20: return a > b ? a : b;
    case 13: case 21: return a < b ? a : b;
    case 14: return Math.abs(a - b);
    case 15: return d + Math.abs(a - b);
    case 16: return op & 32 ? a - b : a + b;
    case 17: return op & 32 ? (a === b ? -1 : 0) : (a & b) !== 0 ? -1 : 0;
    case 18: return op & 32 ? d - Math.imul(a, b) : d + Math.imul(a, b);
    case 19: return op & 32 ? pmul8(a, b) : Math.imul(a, b);
    case 23: return a + b;
    case 22: { // SQDMULH / SQRDMULH on 16-bit lanes (2*a*b < 2^32)
      const p = 2 * a * b + (op & 32 ? 2 ** (ebits - 1) : 0);
      return satN(Math.floor(p / 2 ** ebits), ebits, true);
    }
  }
  throw new Error('unreachable');
}

function opBig(op: number, a: bigint, b: bigint, d: bigint, ebits: number, signed: boolean): bigint {
  switch (op & 31) {
    case 8: case 9: case 10: case 11: {
      const sh = Number(BigInt.asIntN(8, b));
      const round = (op & 31) >= 10, sat = (op & 1) === 1;
      let r: bigint;
      if (sh >= 0) r = a << BigInt(sh);
      else r = (a + (round ? 1n << BigInt(-sh - 1) : 0n)) >> BigInt(-sh);
      return sat ? satB(r, ebits, signed) : r;
    }
    case 22: {
      const p = 2n * a * b + (op & 32 ? 1n << BigInt(ebits - 1) : 0n);
      return satB(p >> BigInt(ebits), ebits, true);
    }
    case 0: return (a + b) >> 1n;
    case 1: return satB(a + b, ebits, signed);
    case 2: return (a + b + 1n) >> 1n;
    case 4: return (a - b) >> 1n;
    case 5: return satB(a - b, ebits, signed);
    case 6: return a > b ? -1n : 0n;
    case 7: return a >= b ? -1n : 0n;
    case 12: case 20: return a > b ? a : b;
    case 13: case 21: return a < b ? a : b;
    case 14: return a > b ? a - b : b - a;
    case 15: return d + (a > b ? a - b : b - a);
    case 16: return op & 32 ? a - b : a + b;
    case 17: return op & 32 ? (a === b ? -1n : 0n) : (a & b) !== 0n ? -1n : 0n;
    case 18: return op & 32 ? d - a * b : d + a * b;
    case 19: return op & 32 ? BigInt(pmul8(Number(a), Number(b))) : a * b;
    case 23: return a + b;
  }
  throw new Error('unreachable');
}

/**
 * Three-same on 8/16/32-bit lanes with numbers: element arrays hoisted, and
 * the ops glibc's string functions lean on (CMEQ, ADD/SUB, UMAXP/UMINP/ADDP)
 * as dedicated loops.
 */
function sameNum(vw: VViews, op: number, size: number, lanes: number, signed: boolean, ebits: number, rd: number, rn: number, rm: number): void {
  const A = elemArray(vw, size, signed), O = elemArray(R, size, false);
  const per = 16 >> size, bn = rn * per, bm = rm * per, bd = rd * per;
  const half = lanes >> 1;
  switch (op) {
    case 49: // CMEQ (bytes four at a time: the strlen/memchr idiom)
      if (size === 0) {
        const u = vw.u32, o = R.u32;
        for (let i = 0; i < lanes >> 2; i++) o[i] = eqBytes(u[4 * rn + i], u[4 * rm + i]);
        return;
      }
      for (let i = 0; i < lanes; i++) O[i] = A[bn + i] === A[bm + i] ? -1 : 0;
      return;
    case 16: for (let i = 0; i < lanes; i++) O[i] = A[bn + i] + A[bm + i]; return; // ADD
    case 48: for (let i = 0; i < lanes; i++) O[i] = A[bn + i] - A[bm + i]; return; // SUB
    case 52: case 20: // UMAXP / SMAXP
      for (let i = 0; i < half; i++) {
        const a = A[bn + 2 * i], b = A[bn + 2 * i + 1], c = A[bm + 2 * i], d = A[bm + 2 * i + 1];
        O[i] = a > b ? a : b; O[half + i] = c > d ? c : d;
      }
      return;
    case 53: case 21: // UMINP / SMINP
      for (let i = 0; i < half; i++) {
        const a = A[bn + 2 * i], b = A[bn + 2 * i + 1], c = A[bm + 2 * i], d = A[bm + 2 * i + 1];
        O[i] = a < b ? a : b; O[half + i] = c < d ? c : d;
      }
      return;
    case 23: // ADDP
      for (let i = 0; i < half; i++) { O[i] = A[bn + 2 * i] + A[bn + 2 * i + 1]; O[half + i] = A[bm + 2 * i] + A[bm + 2 * i + 1]; }
      return;
  }
  const D = elemArray(vw, size, false);
  for (let i = 0; i < lanes; i++) O[i] = opNum(op, A[bn + i], A[bm + i], D[bd + i], ebits, signed);
}

/** Logical ops (opcode 00011): AND BIC ORR ORN / EOR BSL BIT BIF, selected by U:size. */
function logical(vw: VViews, q: number, sel: number, rd: number, rn: number, rm: number): void {
  const u = vw.u32, words = q ? 4 : 2;
  for (let i = 0; i < words; i++) {
    const n = u[4 * rn + i], m = u[4 * rm + i], d = u[4 * rd + i];
    let r: number;
    switch (sel) {
      case 0: r = n & m; break;
      case 1: r = n & ~m; break;
      case 2: r = n | m; break;
      case 3: r = n | ~m; break;
      case 4: r = n ^ m; break;
      case 5: r = (d & n) | (~d & m); break; // BSL
      case 6: r = (m & n) | (~m & d); break; // BIT
      default: r = (~m & n) | (m & d); // BIF
    }
    R.u32[i] = r;
  }
  commitR(vw, rd, q ? 16 : 8);
}

export function threeSameInt(ctx: FpSimdContext, vw: VViews, insn: number, scalar: boolean): boolean {
  const q = scalar ? 0 : (insn >>> 30) & 1, U = (insn >>> 29) & 1, size = (insn >>> 22) & 3;
  const opc = (insn >>> 11) & 31, op = U * 32 + opc;
  const rd = insn & 31, rn = (insn >>> 5) & 31, rm = (insn >>> 16) & 31;
  if (opc === 3) {
    if (scalar) return false;
    logical(vw, q, U * 4 + size, rd, rn, rm);
    return true;
  }
  if (scalar) {
    if (!((SCALAR_OK[op] ?? 0) & (1 << size))) return false;
  } else {
    if (size === 3 && !q) return false;
    switch (opc) {
      case 0: case 2: case 4: case 12: case 13: case 14: case 15: case 18: case 20: case 21:
        if (size === 3) return false; break;
      case 19: if (U ? size !== 0 : size === 3) return false; break;
      case 22: if (size === 0 || size === 3) return false; break;
      case 23: if (U) return false; break;
    }
  }
  const lanes = scalar ? 1 : (q ? 16 : 8) >> size;
  const ebits = 8 << size, signed = U === 0 || opc === 22; // SQRDMULH (U=1) is signed too
  const pairwise = opc === 20 || opc === 21 || opc === 23;
  const half = lanes >> 1;
  Q.sat = false;
  if (scalar) R.u32.fill(0);
  // 64-bit lanes and 32-bit doubling multiplies need more than 53 bits: BigInt.
  if (size !== 3 && !(opc === 22 && size === 2)) {
    sameNum(vw, op, size, lanes, signed, ebits, rd, rn, rm);
    commitR(vw, rd, q ? 16 : 8);
    if (Q.sat) ctx.fpsr |= FPSR_QC;
    return true;
  }
  for (let i = 0; i < lanes; i++) { // BigInt path
    let srcA = rn, ia = i, srcB = rm, ib = i;
    if (pairwise) {
      const k = 2 * i, reg = i < half ? rn : rm, base = i < half ? k : k - lanes;
      srcA = reg; ia = base; srcB = reg; ib = base + 1;
    }
    const a = getB(vw, srcA, ia, size, signed);
    const b = getB(vw, srcB, ib, size, signed && opc !== 8 && opc !== 9 && opc !== 10 && opc !== 11);
    const d = opc === 15 || opc === 18 ? getB(vw, rd, i, size, signed) : 0n;
    setB(R, 0, i, size, opBig(op, a, b, d, ebits, signed));
  }
  commitR(vw, rd, q ? 16 : 8);
  if (Q.sat) ctx.fpsr |= FPSR_QC;
  return true;
}

/** Three different: long (L), wide (W) and narrowing-high-half (HN) forms; scalar SQDMLAL/SQDMLSL/SQDMULL. */
export function threeDiff(ctx: FpSimdContext, vw: VViews, insn: number, scalar: boolean): boolean {
  const q = scalar ? 0 : (insn >>> 30) & 1, U = (insn >>> 29) & 1, size = (insn >>> 22) & 3;
  const opc = (insn >>> 12) & 15;
  const rd = insn & 31, rn = (insn >>> 5) & 31, rm = (insn >>> 16) & 31;
  if (size === 3 || opc === 15) return false;
  const dbl = opc === 9 || opc === 11 || opc === 13;
  if (dbl && (U || size === 0)) return false;
  if (scalar && !dbl) return false;
  if (opc === 14 && (U || size !== 0)) return false;
  const lanes = scalar ? 1 : 8 >> size, part = q ? lanes : 0;
  const ebits = 8 << size, wsz = size + 1, signed = U === 0 && opc !== 14; // PMULL is unsigned
  Q.sat = false;
  if (size < 2) return diffNum(ctx, vw, opc, U, q, scalar, size, rd, rn, rm);
  if (opc === 4 || opc === 6) { // ADDHN/RADDHN/SUBHN/RSUBHN
    R.u32[0] = vw.u32[4 * rd]; R.u32[1] = vw.u32[4 * rd + 1];
    const rnd = U ? 1n << BigInt(ebits - 1) : 0n;
    for (let i = 0; i < lanes; i++) {
      const a = getB(vw, rn, i, wsz, false), b = getB(vw, rm, i, wsz, false);
      setB(R, 0, part + i, size, ((opc === 4 ? a + b : a - b) + rnd) >> BigInt(ebits));
    }
    commitR(vw, rd, q ? 16 : 8);
    return true;
  }
  if (scalar) R.u32.fill(0);
  const wide = opc === 1 || opc === 3;
  for (let i = 0; i < lanes; i++) {
    const a = wide ? getB(vw, rn, i, wsz, signed) : getB(vw, rn, part + i, size, signed);
    const b = getB(vw, rm, part + i, size, signed);
    let r: bigint;
    switch (opc) {
      case 0: case 1: r = a + b; break;
      case 2: case 3: r = a - b; break;
      case 5: r = getB(vw, rd, i, wsz, signed) + (a > b ? a - b : b - a); break;
      case 7: r = a > b ? a - b : b - a; break;
      case 8: r = getB(vw, rd, i, wsz, signed) + a * b; break;
      case 10: r = getB(vw, rd, i, wsz, signed) - a * b; break;
      case 12: r = a * b; break;
      case 14: r = BigInt(pmul16(Number(a), Number(b))); break;
      default: { // SQDMULL / SQDMLAL / SQDMLSL
        const p = satB(2n * a * b, 2 * ebits, true);
        if (opc === 13) r = p;
        else {
          const d = getB(vw, rd, i, wsz, true);
          r = satB(opc === 9 ? d + p : d - p, 2 * ebits, true);
        }
      }
    }
    setB(R, 0, i, wsz, r);
  }
  commitR(vw, rd, scalar ? 8 : 16);
  if (Q.sat) ctx.fpsr |= FPSR_QC;
  return true;
}

/** Three different with 8/16-bit narrow lanes (wide lanes of at most 32 bits): exact with numbers. */
function diffNum(ctx: FpSimdContext, vw: VViews, opc: number, U: number, q: number, scalar: boolean, size: number,
  rd: number, rn: number, rm: number): boolean {
  const lanes = scalar ? 1 : 8 >> size, part = q ? lanes : 0, ebits = 8 << size, wsz = size + 1;
  const signed = U === 0 && opc !== 14;
  const nper = 16 >> size, wper = 16 >> wsz;
  if (opc === 4 || opc === 6) { // ADDHN/RADDHN/SUBHN/RSUBHN: high half of the wide sum/difference
    R.u32[0] = vw.u32[4 * rd]; R.u32[1] = vw.u32[4 * rd + 1];
    const W = elemArray(vw, wsz, false), O = elemArray(R, size, false);
    const rnd = U ? 2 ** (ebits - 1) : 0, div = 2 ** ebits;
    for (let i = 0; i < lanes; i++) {
      const a = W[rn * wper + i], b = W[rm * wper + i];
      O[part + i] = Math.floor(((opc === 4 ? a + b : a - b) + rnd) / div);
    }
    commitR(vw, rd, q ? 16 : 8);
    return true;
  }
  if (scalar) R.u32.fill(0);
  const N = elemArray(vw, size, signed), Wn = elemArray(vw, wsz, signed), D = elemArray(vw, wsz, signed);
  const O = elemArray(R, wsz, false);
  const wide = opc === 1 || opc === 3;
  Q.sat = false;
  for (let i = 0; i < lanes; i++) {
    const a = wide ? Wn[rn * wper + i] : N[rn * nper + part + i];
    const b = N[rm * nper + part + i];
    let r: number;
    switch (opc) {
      case 0: case 1: r = a + b; break;
      case 2: case 3: r = a - b; break;
      case 5: r = D[rd * wper + i] + Math.abs(a - b); break;
      case 7: r = Math.abs(a - b); break;
      case 8: r = D[rd * wper + i] + a * b; break;
      case 10: r = D[rd * wper + i] - a * b; break;
      case 12: r = a * b; break;
      case 14: r = pmul16(a, b); break;
      default: { // SQDMULL / SQDMLAL / SQDMLSL (16-bit only here)
        const p = satN(2 * a * b, 2 * ebits, true);
        r = opc === 13 ? p : satN(opc === 9 ? D[rd * wper + i] + p : D[rd * wper + i] - p, 2 * ebits, true);
      }
    }
    O[i] = r;
  }
  commitR(vw, rd, scalar ? 8 : 16);
  if (Q.sat) ctx.fpsr |= FPSR_QC;
  return true;
}

/** PMULL on bytes: 8x8 -> 16-bit carry-less product. */
function pmul16(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r ^= a << i;
  return r;
}
