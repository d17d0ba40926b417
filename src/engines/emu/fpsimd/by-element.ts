/**
 * Advanced SIMD "x indexed element" (vector and scalar): integer MUL/MLA/MLS,
 * long and saturating-doubling forms, and FP FMLA/FMLS/FMUL/FMULX.
 */
import type { FpSimdContext } from '../fpsimd-context.js';
import { type VViews, R, commitR, elemArray, FPSR_QC } from './views.js';
import { getB, setB, Q, satB } from './elem.js';
import { S, fpBegin, fp2, OP_MUL, OP_MULX } from './fpcore.js';
import { putF, rdF, wordF } from './fplane.js';
import { fmla } from './fp-vector.js';

export function byElement(ctx: FpSimdContext, vw: VViews, insn: number, scalar: boolean): boolean {
  const q = scalar ? 0 : (insn >>> 30) & 1, U = (insn >>> 29) & 1, size = (insn >>> 22) & 3;
  const L = (insn >>> 21) & 1, M = (insn >>> 20) & 1, H = (insn >>> 11) & 1, opc = (insn >>> 12) & 15;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  if (opc === 1 || opc === 5 || opc === 9) {
    if (size < 2 || (U && opc !== 9)) return false;
    const single = size === 2;
    if (!single && (L || (!scalar && !q))) return false;
    const index = single ? (H << 1) | L : H, rm = (M << 4) | ((insn >>> 16) & 15);
    const lanes = scalar ? 1 : single ? (q ? 4 : 2) : 2;
    const em = single ? 4 * rm + index : 2 * rm + index;
    fpBegin(ctx.fpcr);
    if (scalar) R.u32.fill(0);
    for (let i = 0; i < lanes; i++) {
      const en = single ? 4 * rn + i : 2 * rn + i;
      if (opc === 9) {
        S.nanNeg = 0;
        putF(vw, single, i, fp2(U ? OP_MULX : OP_MUL, rdF(vw, single, en), rdF(vw, single, em),
          wordF(vw, single, en), wordF(vw, single, em), single), en, em);
      } else fmla(vw, single, i, single ? 4 * rd + i : 2 * rd + i, en, em, opc === 5);
    }
    commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
    ctx.fpsr |= S.flags;
    return true;
  }
  if (size === 0 || size === 3) return false;
  const sat = opc === 3 || opc === 7 || opc === 11 || opc === 12 || opc === 13;
  if (sat ? U === 1 : scalar) return false;
  if ((opc === 0 || opc === 4) && !U) return false;
  if (opc === 8 && U) return false;
  if (opc === 14 || opc === 15 || opc === 1 || opc === 5 || opc === 9) return false;
  const index = size === 1 ? (H << 2) | (L << 1) | M : (H << 1) | L;
  const rm = size === 1 ? (insn >>> 16) & 15 : (M << 4) | ((insn >>> 16) & 15);
  const ebits = 8 << size, signed = U === 0;
  if (opc === 8 || opc === 0 || opc === 4) { // MUL/MLA/MLS by element: low bits only, Math.imul
    const A = elemArray(vw, size, false), O = elemArray(R, size, false), per = 16 >> size;
    const bm = A[rm * per + index], lanes = (q ? 16 : 8) >> size;
    for (let i = 0; i < lanes; i++) {
      const p = Math.imul(A[rn * per + i], bm), d = A[rd * per + i];
      O[i] = opc === 8 ? p : opc === 0 ? d + p : d - p;
    }
    commitR(vw, rd, q ? 16 : 8);
    return true;
  }
  const b = getB(vw, rm, index, size, signed);
  Q.sat = false;
  if (scalar) R.u32.fill(0);
  const long = opc === 2 || opc === 6 || opc === 10 || opc === 3 || opc === 7 || opc === 11;
  if (long) {
    const lanes = scalar ? 1 : 8 >> size, part = q ? lanes : 0;
    for (let i = 0; i < lanes; i++) {
      const a = getB(vw, rn, part + i, size, signed);
      let r: bigint;
      if (opc === 10) r = a * b;
      else if (opc === 2) r = getB(vw, rd, i, size + 1, signed) + a * b;
      else if (opc === 6) r = getB(vw, rd, i, size + 1, signed) - a * b;
      else {
        const p = satB(2n * a * b, 2 * ebits, true);
        if (opc === 11) r = p;
        else {
          const d = getB(vw, rd, i, size + 1, true);
          r = satB(opc === 3 ? d + p : d - p, 2 * ebits, true);
        }
      }
      setB(R, 0, i, size + 1, r);
    }
    commitR(vw, rd, scalar ? 8 : 16);
  } else {
    const lanes = scalar ? 1 : (q ? 16 : 8) >> size;
    for (let i = 0; i < lanes; i++) {
      const a = getB(vw, rn, i, size, signed);
      let r: bigint;
      switch (opc) {
        case 8: r = a * b; break;
        case 0: r = getB(vw, rd, i, size, false) + a * b; break;
        case 4: r = getB(vw, rd, i, size, false) - a * b; break;
        default: { // SQDMULH / SQRDMULH
          const p = 2n * a * b + (opc === 13 ? 1n << BigInt(ebits - 1) : 0n);
          r = satB(p >> BigInt(ebits), ebits, true);
        }
      }
      setB(R, 0, i, size, r);
    }
    commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
  }
  if (Q.sat) ctx.fpsr |= FPSR_QC;
  return true;
}
