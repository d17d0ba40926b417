/**
 * FP conversions: round to integral (FRINT*), FP -> integer with saturation
 * (FCVT*S/U), integer -> FP (SCVTF/UCVTF), half-precision encode/decode and
 * NaN re-encoding between formats.
 */
import { FPSR_IOC, FPSR_IXC, FPSR_OFC, FPSR_UFC, RN, RP, RM, RZ, RA } from './views.js';
import { S, fin, flushIn } from './fpcore.js';

/** Round finite x to an integral value in the given mode (RN/RP/RM/RZ/RA); keeps the sign of zero. */
export function roundInt(x: number, mode: number): number {
  if (x === 0 || !(Math.abs(x) < 2 ** 52)) return x;
  let r: number;
  switch (mode) {
    case RN: {
      const f = Math.floor(x), diff = x - f;
      r = diff < 0.5 ? f : diff > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
      break;
    }
    case RP: r = Math.ceil(x); break;
    case RM: r = Math.floor(x); break;
    case RZ: r = Math.trunc(x); break;
    default: { // RA: ties away from zero
      const a = Math.abs(x), f = Math.floor(a);
      r = a - f >= 0.5 ? f + 1 : f;
      if (x < 0) r = -r;
    }
  }
  return r === 0 ? x * 0 : r;
}

/**
 * FPToFixed into a 32-bit integer: x scaled by 2^fbits, rounded, saturated.
 * Returns the integer value (caller stores it with >>> 0 / | 0).
 */
export function fpToInt32(x: number, mode: number, unsigned: boolean, single: boolean, fbits = 0): number {
  x = flushIn(x, single);
  if (x !== x) { S.flags |= FPSR_IOC; return 0; }
  if (fbits) x *= 2 ** fbits;
  const r = roundInt(x, mode);
  const max = unsigned ? 4294967295 : 2147483647, min = unsigned ? 0 : -2147483648;
  if (r > max) { S.flags |= FPSR_IOC; return max; }
  if (r < min) { S.flags |= FPSR_IOC; return min; }
  if (r !== x) S.flags |= FPSR_IXC;
  return r + 0;
}

/** FPToFixed into a 64-bit integer (BigInt: two's complement value for signed). */
export function fpToInt64(x: number, mode: number, unsigned: boolean, single: boolean, fbits = 0): bigint {
  x = flushIn(x, single);
  if (x !== x) { S.flags |= FPSR_IOC; return 0n; }
  if (fbits) x *= 2 ** fbits;
  const r = roundInt(x, mode);
  if (unsigned) {
    if (r >= 2 ** 64) { S.flags |= FPSR_IOC; return 0xffffffffffffffffn; }
    if (r < 0) { S.flags |= FPSR_IOC; return 0n; }
  } else {
    if (r >= 2 ** 63) { S.flags |= FPSR_IOC; return 0x7fffffffffffffffn; }
    if (r < -(2 ** 63)) { S.flags |= FPSR_IOC; return -0x8000000000000000n; }
  }
  if (r !== x) S.flags |= FPSR_IXC;
  return BigInt(r);
}

/** Integer (exact JS number, |v| < 2^53) / 2^fbits -> FP in FPCR's rounding mode. */
export function intToFp(v: number, single: boolean, fbits = 0): number {
  const d = fbits ? v * 2 ** -fbits : v;
  return single ? fin(d, 0, true) : d;
}

/** 64-bit integer (BigInt value) / 2^fbits -> FP in FPCR's rounding mode. */
export function bigToFp(v: bigint, single: boolean, fbits = 0): number {
  const d = Number(v);
  const diff = v - BigInt(d);
  const es = diff > 0n ? 1 : diff < 0n ? -1 : 0;
  return fin(fbits ? d * 2 ** -fbits : d, es, single);
}

// ---- half precision ------------------------------------------------------
/** Half bits -> value (exact). Under FPCR.AHP exponent 31 is an ordinary binade. */
export function halfToNumber(h: number): number {
  const e = (h >>> 10) & 31, f = h & 0x3ff;
  let v: number;
  if (e === 0) v = f * 2 ** -24;
  else if (e === 31 && !S.ahp) v = f ? NaN : Infinity;
  else v = (1024 + f) * 2 ** (e - 25);
  return h & 0x8000 ? -v : v;
}

/** Round finite x to an integer magnitude n >= 0 under mode, given the value's sign. */
function roundMag(n: number, mode: number, neg: boolean): number {
  const f = Math.floor(n), diff = n - f;
  if (diff === 0) return f;
  switch (mode) {
    case RN: return diff < 0.5 ? f : diff > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
    case RA: return diff >= 0.5 ? f + 1 : f;
    case RZ: return f;
    case RP: return neg ? f : f + 1;
    default: return neg ? f + 1 : f;
  }
}

/** Finite x -> IEEE half-precision bits, rounding with `mode`, raising flags. */
export function numberToHalf(x: number, mode: number): number {
  const neg = x < 0 || (x === 0 && 1 / x < 0);
  const sign = neg ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  if (a === Infinity) {
    if (!S.ahp) return sign | 0x7c00;
    S.flags |= FPSR_IOC; // alternative half precision has no infinity: saturate
    return sign | 0x7fff;
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const qe = Math.max(e, -14) - 10;
  const n = a * 2 ** -qe;
  const m = roundMag(n, mode, neg);
  const bits = ((qe + 24) << 10) + m;
  if (S.ahp && bits >= 0x8000) { S.flags |= FPSR_IOC; return sign | 0x7fff; } // saturate, not Overflow
  if (!S.ahp && bits >= 0x7c00) {
    S.flags |= FPSR_OFC | FPSR_IXC;
    const toInf = mode === RN || mode === RA || (mode === RP && !neg) || (mode === RM && neg);
    return sign | (toInf ? 0x7c00 : 0x7bff);
  }
  if (m !== n) {
    S.flags |= FPSR_IXC;
    if (e < -14) S.flags |= FPSR_UFC;
  }
  return sign | bits;
}

// ---- NaN re-encoding between formats (input known to be NaN) --------------
export function nanHalfToSingle(h: number): number {
  if ((h & 0x200) === 0) S.flags |= FPSR_IOC;
  if (S.dn) return 0x7fc00000;
  return (((h & 0x8000) << 16) | 0x7fc00000 | ((h & 0x3ff) << 13)) >>> 0;
}
/** Returns the high word; the low word is 0. */
export function nanHalfToDoubleHi(h: number): number {
  if ((h & 0x200) === 0) S.flags |= FPSR_IOC;
  if (S.dn) return 0x7ff80000;
  return (((h & 0x8000) << 16) | 0x7ff80000 | ((h & 0x3ff) << 10)) >>> 0;
}
export function nanSingleToHalf(w: number): number {
  if (S.ahp) { S.flags |= FPSR_IOC; return (w >>> 16) & 0x8000; } // NaN -> signed zero
  if ((w & 0x400000) === 0) S.flags |= FPSR_IOC;
  if (S.dn) return 0x7e00;
  return ((w >>> 16) & 0x8000) | 0x7e00 | ((w >>> 13) & 0x3ff);
}
export function nanDoubleToHalf(hi: number): number {
  if (S.ahp) { S.flags |= FPSR_IOC; return (hi >>> 16) & 0x8000; }
  if ((hi & 0x80000) === 0) S.flags |= FPSR_IOC;
  if (S.dn) return 0x7e00;
  return ((hi >>> 16) & 0x8000) | 0x7e00 | ((hi >>> 10) & 0x3ff);
}
export function nanSingleToDouble(w: number): [number, number] {
  if ((w & 0x400000) === 0) S.flags |= FPSR_IOC;
  if (S.dn) return [0, 0x7ff80000];
  return [(w & 7) << 29 >>> 0, ((w & 0x80000000) | 0x7ff80000 | ((w >>> 3) & 0x7ffff)) >>> 0];
}
export function nanDoubleToSingle(lo: number, hi: number): number {
  if ((hi & 0x80000) === 0) S.flags |= FPSR_IOC;
  if (S.dn) return 0x7fc00000;
  return ((hi & 0x80000000) | 0x7fc00000 | ((hi & 0xfffff) << 3) | (lo >>> 29)) >>> 0;
}

