/**
 * Advanced SIMD integer two-register misc (vector and scalar), across-lanes
 * reductions, and scalar pairwise ADDP.
 */
import type { FpSimdContext } from '../fpsimd-context.js';
import { type VViews, R, commitR, elemArray, eqBytes, FPSR_QC } from './views.js';
import { getU, getS, setE, getB, setB, Q, satB, satN } from './elem.js';

function popcount8(x: number): number {
  x = x - ((x >>> 1) & 0x55);
  x = (x & 0x33) + ((x >>> 2) & 0x33);
  return (x + (x >>> 4)) & 0x0f;
}
function rbit8(x: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (x & (1 << i)) r |= 0x80 >> i;
  return r;
}

/** Scalar two-reg-misc integer ops (U*32 + opcode) -> allowed sizes bit set. */
const SCALAR_OK: Record<number, number> = {
  3: 15, 7: 15, 8: 8, 9: 8, 10: 8, 11: 8, 20: 7,
  35: 15, 39: 15, 40: 8, 41: 8, 43: 8, 50: 7, 52: 7,
};

/** Integer opcodes of two-reg misc (FP ones are routed elsewhere by the caller). */
export function isIntMisc(U: number, opc: number): boolean {
  return opc <= 11 || opc === 18 || opc === 20 || (U === 1 && opc === 19);
}

export function twoMiscInt(ctx: FpSimdContext, vw: VViews, insn: number, scalar: boolean): boolean {
  const q = scalar ? 0 : (insn >>> 30) & 1, U = (insn >>> 29) & 1, size = (insn >>> 22) & 3;
  const opc = (insn >>> 12) & 31, op = U * 32 + opc;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  if (scalar && !((SCALAR_OK[op] ?? 0) & (1 << size))) return false;
  const bytes = q ? 16 : 8;
  const lanes = scalar ? 1 : bytes >> size;
  const ebits = 8 << size;
  const u8 = vw.u8, n0 = 16 * rn;
  Q.sat = false;
  if (scalar) R.u32.fill(0);
  switch (op) {
    case 0: case 32: case 1: { // REV64, REV32, REV16
      const cbytes = op === 0 ? 8 : op === 32 ? 4 : 2, eb = 1 << size;
      if (eb >= cbytes) return false;
      for (let j = 0; j < bytes; j++) {
        const p = j % cbytes, k = Math.floor(p / eb);
        R.u8[j - p + (cbytes / eb - 1 - k) * eb + (p % eb)] = u8[n0 + j];
      }
      break;
    }
    case 5: // CNT
      if (size) return false;
      for (let j = 0; j < bytes; j++) R.u8[j] = popcount8(u8[n0 + j]);
      break;
    case 37: // NOT / RBIT
      if (size > 1) return false;
      for (let j = 0; j < bytes; j++) R.u8[j] = size ? rbit8(u8[n0 + j]) : ~u8[n0 + j];
      break;
    case 2: case 34: case 6: case 38: { // SADDLP/UADDLP/SADALP/UADALP
      if (size === 3) return false;
      const signed = U === 0, acc = opc === 6;
      if (size < 2) { // wide lanes of at most 32 bits: numbers
        const A = elemArray(vw, size, signed), D = elemArray(vw, size + 1, false), O = elemArray(R, size + 1, false);
        const bn = rn * (16 >> size), bd = rd * (8 >> size);
        for (let i = 0; i < lanes / 2; i++) O[i] = A[bn + 2 * i] + A[bn + 2 * i + 1] + (acc ? D[bd + i] : 0);
        break;
      }
      for (let i = 0; i < lanes / 2; i++) {
        let r = getB(vw, rn, 2 * i, size, signed) + getB(vw, rn, 2 * i + 1, size, signed);
        if (acc) r += getB(vw, rd, i, size + 1, false);
        setB(R, 0, i, size + 1, r);
      }
      break;
    }
    case 4: case 36: // CLS / CLZ
      if (size === 3) return false;
      for (let i = 0; i < lanes; i++) {
        const r = U ? Math.clz32(getU(vw, rn, i, size)) - (32 - ebits)
          : (() => { const s = getS(vw, rn, i, size); return Math.clz32(s ^ (s >> 31)) - 1 - (32 - ebits); })();
        setE(R, 0, i, size, r);
      }
      break;
    case 18: case 20: case 50: case 52: { // XTN, SQXTN, SQXTUN, UQXTN
      if (size === 3) return false;
      const part = scalar ? 0 : q ? lanes / 2 : 0;
      const nl = scalar ? 1 : 8 >> size;
      if (!scalar) { R.u32[0] = vw.u32[4 * rd]; R.u32[1] = vw.u32[4 * rd + 1]; }
      if (size < 2) { // source lanes of at most 32 bits: numbers
        const W = elemArray(vw, size + 1, op !== 52), O = elemArray(R, size, false), bn = rn * (8 >> size);
        for (let i = 0; i < nl; i++) {
          const x = W[bn + i];
          O[part + i] = op === 18 ? x : satN(x, ebits, op === 20);
        }
        commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
        if (Q.sat) ctx.fpsr |= FPSR_QC;
        return true;
      }
      for (let i = 0; i < nl; i++) {
        const srcSigned = op !== 52;
        let r = getB(vw, rn, i, size + 1, srcSigned);
        if (op !== 18) r = satB(r, ebits, op === 20);
        setB(R, 0, part + i, size, r);
      }
      commitR(vw, rd, scalar ? 8 : q ? 16 : 8);
      if (Q.sat) ctx.fpsr |= FPSR_QC;
      return true;
    }
    case 51: { // SHLL
      if (size === 3) return false;
      const nl = 8 >> size, part = q ? nl : 0;
      for (let i = 0; i < nl; i++) setB(R, 0, i, size + 1, getB(vw, rn, part + i, size, false) << BigInt(ebits));
      commitR(vw, rd, 16);
      return true;
    }
    default: {
      if (!scalar && size === 3 && !q) return false;
      if (size < 3) {
        if (!miscNum(vw, op, size, lanes, rd, rn)) return false;
        break;
      }
      for (let i = 0; i < lanes; i++) {
        const a = getB(vw, rn, i, size, op !== 3); // SUQADD reads Vn unsigned
        let r: bigint;
        switch (op) {
          case 3: r = satB(getB(vw, rd, i, size, true) + a, ebits, true); break; // SUQADD (a unsigned)
          case 35: r = satB(getB(vw, rd, i, size, false) + a, ebits, false); break; // USQADD
          case 7: r = satB(a < 0n ? -a : a, ebits, true); break;
          case 39: r = satB(-a, ebits, true); break;
          case 8: r = a > 0n ? -1n : 0n; break;
          case 9: r = a === 0n ? -1n : 0n; break;
          case 10: r = a < 0n ? -1n : 0n; break;
          case 40: r = a >= 0n ? -1n : 0n; break;
          case 41: r = a <= 0n ? -1n : 0n; break;
          case 11: r = a < 0n ? -a : a; break;
          case 43: r = -a; break;
          default: return false;
        }
        setB(R, 0, i, size, r);
      }
    }
  }
  commitR(vw, rd, scalar ? 8 : bytes);
  if (Q.sat) ctx.fpsr |= FPSR_QC;
  return true;
}

/** The element-wise two-reg-misc ops (SUQADD..NEG) on 8/16/32-bit lanes with numbers. */
function miscNum(vw: VViews, op: number, size: number, lanes: number, rd: number, rn: number): boolean {
  if (op === 9 && size === 0) { // CMEQ #0 on bytes, four at a time
    for (let i = 0; i < lanes >> 2; i++) R.u32[i] = eqBytes(vw.u32[4 * rn + i], 0);
    return true;
  }
  const ebits = 8 << size, per = 16 >> size;
  // SUQADD reads Vn unsigned and Vd signed; USQADD the reverse; the rest read Vn signed.
  const A = elemArray(vw, size, op !== 3), D = elemArray(vw, size, op === 3), O = elemArray(R, size, false);
  const bn = rn * per, bd = rd * per;
  for (let i = 0; i < lanes; i++) {
    const a = A[bn + i];
    let r: number;
    switch (op) {
      case 3: r = satN(D[bd + i] + a, ebits, true); break;
      case 35: r = satN(D[bd + i] + a, ebits, false); break;
      case 7: r = satN(Math.abs(a), ebits, true); break;
      case 39: r = satN(-a, ebits, true); break;
      case 8: r = a > 0 ? -1 : 0; break;
      case 9: r = a === 0 ? -1 : 0; break;
      case 10: r = a < 0 ? -1 : 0; break;
      case 40: r = a >= 0 ? -1 : 0; break;
      case 41: r = a <= 0 ? -1 : 0; break;
      case 11: r = Math.abs(a); break;
      case 43: r = -a; break;
      default: return false;
    }
    O[i] = r;
  }
  return true;
}

/** Across lanes (integer): SADDLV/UADDLV, SMAXV/UMAXV, SMINV/UMINV, ADDV. */
export function acrossInt(vw: VViews, insn: number): boolean {
  const q = (insn >>> 30) & 1, U = (insn >>> 29) & 1, size = (insn >>> 22) & 3;
  const opc = (insn >>> 12) & 31;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  if (size === 3 || (size === 2 && !q)) return false;
  const lanes = (q ? 16 : 8) >> size, signed = U === 0;
  const A = elemArray(vw, size, signed && opc !== 27), b = rn * (16 >> size);
  let r = A[b];
  switch (opc) {
    case 3: case 27:
      if (opc === 27 && U) return false;
      for (let i = 1; i < lanes; i++) r += A[b + i];
      break;
    case 10: for (let i = 1; i < lanes; i++) { const x = A[b + i]; if (x > r) r = x; } break;
    case 26: for (let i = 1; i < lanes; i++) { const x = A[b + i]; if (x < r) r = x; } break;
    default: return false;
  }
  R.u32.fill(0);
  if (opc === 3) {
    // The long sum of 4 x 32-bit lanes can exceed 32 bits: store as 64-bit.
    if (size === 2) setB(R, 0, 0, 3, BigInt(r)); else setE(R, 0, 0, size + 1, r);
  } else setE(R, 0, 0, size, r);
  commitR(vw, rd, 8);
  return true;
}

/** Scalar pairwise integer: only ADDP Dd, Vn.2D. */
export function scalarPairwiseInt(vw: VViews, insn: number): boolean {
  const size = (insn >>> 22) & 3, U = (insn >>> 29) & 1, opc = (insn >>> 12) & 31;
  if (U || opc !== 27 || size !== 3) return false;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  R.u32.fill(0);
  R.b64[0] = BigInt.asUintN(64, vw.b64[2 * rn] + vw.b64[2 * rn + 1]);
  commitR(vw, rd, 8);
  return true;
}
