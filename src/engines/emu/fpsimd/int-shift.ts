/**
 * Advanced SIMD shift by immediate (vector and scalar), integer forms. The
 * fixed-point conversions of this group (SCVTF/UCVTF/FCVTZS/FCVTZU #fbits) are
 * in fp-vector.ts. The element size is the highest set bit of immh; right
 * shifts are 2*esize - immh:immb, left shifts immh:immb - esize (esize is the
 * narrow size for the narrowing and lengthening forms).
 */
import type { FpSimdContext } from '../fpsimd-context.js';
import { type VViews, R, commitR, elemArray, FPSR_QC } from './views.js';
import { getU, getS, setE, getB, setB, Q, satB, satN } from './elem.js';

export function shiftImmInt(ctx: FpSimdContext, vw: VViews, insn: number, scalar: boolean): boolean {
  const q = scalar ? 0 : (insn >>> 30) & 1, U = (insn >>> 29) & 1;
  const immh = (insn >>> 19) & 15, immhb = (insn >>> 16) & 127, opc = (insn >>> 11) & 31;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  const esz = 31 - Math.clz32(immh), ebits = 8 << esz;
  const narrow = opc >= 16 && opc <= 19, long = opc === 20;
  if (narrow || long) {
    if (esz === 3) return false;
    if (scalar && (long || (U === 0 && opc <= 17))) return false;
  } else {
    if (scalar) {
      if (opc <= 10 ? esz !== 3 : opc !== 12 && opc !== 14) return false;
    } else if (esz === 3 && !q) return false;
    if ((opc === 8 || opc === 12) && U === 0) return false;
    if (opc & 1 || opc > 14) return false;
  }
  const rshift = 2 * ebits - immhb, lshift = immhb - ebits;
  const signed = U === 0;
  Q.sat = false;
  if (scalar) R.u32.fill(0);

  if (narrow) {
    const nl = scalar ? 1 : 8 >> esz, part = scalar ? 0 : q ? nl : 0;
    if (!scalar) { R.u32[0] = vw.u32[4 * rd]; R.u32[1] = vw.u32[4 * rd + 1]; }
    const round = (opc & 1) === 1, sh = BigInt(rshift), rc = round ? 1n << BigInt(rshift - 1) : 0n;
    // opc 16/17 U=0: SHRN/RSHRN (truncate); U=1: SQSHRUN/SQRSHRUN (signed source, unsigned sat);
    // opc 18/19: SQSHRN/UQSHRN and rounding forms.
    const srcSigned = opc <= 17 ? U === 1 : signed;
    if (esz < 2) {
      // Wide lanes of at most 32 bits: exact in doubles.
      const W = elemArray(vw, esz + 1, srcSigned), O = elemArray(R, esz, false), bn = rn * (8 >> esz);
      const div = 2 ** rshift, rcN = round ? 2 ** (rshift - 1) : 0;
      for (let i = 0; i < nl; i++) {
        let r = Math.floor((W[bn + i] + rcN) / div);
        if (opc > 17 || U) r = satN(r, ebits, opc > 17 && signed);
        O[part + i] = r;
      }
    } else for (let i = 0; i < nl; i++) {
      let r = (getB(vw, rn, i, esz + 1, srcSigned) + rc) >> sh;
      if (opc <= 17) { if (U) r = satB(r, ebits, false); }
      else r = satB(r, ebits, signed);
      setB(R, 0, part + i, esz, r);
    }
    commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
    if (Q.sat) ctx.fpsr |= FPSR_QC;
    return true;
  }
  if (long) { // SSHLL/USHLL (SXTL/UXTL when the shift is 0)
    const nl = 8 >> esz, part = q ? nl : 0;
    for (let i = 0; i < nl; i++) {
      const a = signed ? getS(vw, rn, part + i, esz) : getU(vw, rn, part + i, esz);
      if (esz === 2) setB(R, 0, i, 3, BigInt(a) << BigInt(lshift));
      else setE(R, 0, i, esz + 1, a * 2 ** lshift);
    }
    commitR(vw, rd, 16);
    return true;
  }
  const lanes = scalar ? 1 : (q ? 16 : 8) >> esz;
  if (esz < 3) {
    shiftNum(vw, opc, U, esz, lanes, rshift, lshift, rd, rn);
    commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
    if (Q.sat) ctx.fpsr |= FPSR_QC;
    return true;
  }
  const onesB = (1n << BigInt(ebits)) - 1n;
  for (let i = 0; i < lanes; i++) {
    // SRI/SLI work on raw bits; SQSHLU reads a signed source.
    const a = getB(vw, rn, i, esz, opc === 12 || (signed && opc !== 8 && opc !== 10));
    let r: bigint;
    switch (opc) {
      case 0: case 2: case 4: case 6: {
        const rc = opc >= 4 ? 1n << BigInt(rshift - 1) : 0n;
        r = (a + rc) >> BigInt(rshift);
        if (opc === 2 || opc === 6) r += getB(vw, rd, i, esz, false);
        break;
      }
      case 8: { // SRI
        const mask = onesB >> BigInt(rshift);
        r = (getB(vw, rd, i, esz, false) & ~mask) | (a >> BigInt(rshift));
        break;
      }
      case 10:
        if (U) { const mask = (onesB << BigInt(lshift)) & onesB; r = (getB(vw, rd, i, esz, false) & ~mask) | (a << BigInt(lshift)); }
        else r = a << BigInt(lshift);
        break;
      case 12: r = satB(a << BigInt(lshift), ebits, false); break; // SQSHLU: signed in, unsigned out
      default: r = satB(a << BigInt(lshift), ebits, signed); // SQSHL/UQSHL
    }
    setB(R, 0, i, esz, r);
  }
  commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
  if (Q.sat) ctx.fpsr |= FPSR_QC;
  return true;
}

/**
 * Non-narrowing shifts on 8/16/32-bit lanes with numbers: a value times or
 * divided by a power of two is exact in a double, so rounding and saturation
 * need no BigInt.
 */
function shiftNum(vw: VViews, opc: number, U: number, esz: number, lanes: number, rshift: number, lshift: number, rd: number, rn: number): void {
  const ebits = 8 << esz, per = 16 >> esz, bn = rn * per, bd = rd * per;
  // SRI/SLI work on raw bits; SQSHLU reads a signed source.
  const srcSigned = opc === 12 || (U === 0 && opc !== 8 && opc !== 10);
  const A = elemArray(vw, esz, srcSigned), D = elemArray(vw, esz, false), O = elemArray(R, esz, false);
  const div = 2 ** rshift, mul = 2 ** lshift, rc = opc >= 4 && opc <= 6 ? 2 ** (rshift - 1) : 0;
  const ones = ebits === 32 ? 0xffffffff : 2 ** ebits - 1;
  for (let i = 0; i < lanes; i++) {
    const a = A[bn + i];
    let r: number;
    switch (opc) {
      case 0: case 4: r = Math.floor((a + rc) / div); break;
      case 2: case 6: r = D[bd + i] + Math.floor((a + rc) / div); break;
      case 8: { // SRI: keep the top rshift bits of Vd
        const mask = rshift >= 32 ? 0 : ones >>> rshift;
        r = (D[bd + i] & ~mask) | (rshift >= 32 ? 0 : a >>> rshift);
        break;
      }
      case 10:
        r = U ? (D[bd + i] & ~((ones << lshift) & ones)) | (a << lshift) : a * mul;
        break;
      case 12: r = satN(a * mul, ebits, false); break; // SQSHLU
      default: r = satN(a * mul, ebits, U === 0); // SQSHL / UQSHL
    }
    O[i] = r;
  }
}
