/**
 * 64-bit integer helpers on (lo, hi) pairs of int32 values.
 *
 * The CPU keeps every 64-bit register as two int32 halves so that the common
 * paths (add, logic, shifts, loads) stay in V8's small-integer arithmetic and
 * never allocate a BigInt. Functions that produce a 64-bit result write it to
 * the module-level `R` (R.lo, R.hi) to avoid allocating a pair.
 */

export const R = { lo: 0, hi: 0 };

/** Logical shift left by s (0..63). */
export function lsl64(lo: number, hi: number, s: number): void {
  if (s === 0) {
    R.lo = lo | 0;
    R.hi = hi | 0;
  } else if (s < 32) {
    R.hi = (hi << s) | (lo >>> (32 - s));
    R.lo = lo << s;
  } else {
    R.hi = lo << (s - 32);
    R.lo = 0;
  }
}

/** Logical shift right by s (0..63). */
export function lsr64(lo: number, hi: number, s: number): void {
  if (s === 0) {
    R.lo = lo | 0;
    R.hi = hi | 0;
  } else if (s < 32) {
    R.lo = (lo >>> s) | (hi << (32 - s));
    R.hi = hi >>> s;
  } else {
    R.lo = hi >>> (s - 32);
    R.hi = 0;
  }
  R.lo |= 0;
  R.hi |= 0;
}

/** Arithmetic shift right by s (0..63). */
export function asr64(lo: number, hi: number, s: number): void {
  if (s === 0) {
    R.lo = lo | 0;
    R.hi = hi | 0;
  } else if (s < 32) {
    R.lo = (lo >>> s) | (hi << (32 - s));
    R.hi = hi >> s;
  } else {
    R.lo = hi >> (s - 32);
    R.hi = hi >> 31;
  }
}

/** Rotate right by s (0..63). */
export function ror64(lo: number, hi: number, s: number): void {
  if (s === 0) {
    R.lo = lo | 0;
    R.hi = hi | 0;
    return;
  }
  if (s >= 32) {
    const t = lo;
    lo = hi;
    hi = t;
    s -= 32;
    if (s === 0) {
      R.lo = lo | 0;
      R.hi = hi | 0;
      return;
    }
  }
  R.lo = (lo >>> s) | (hi << (32 - s));
  R.hi = (hi >>> s) | (lo << (32 - s));
}

/** Shift by type (0 LSL, 1 LSR, 2 ASR, 3 ROR), 64-bit. */
export function shift64(lo: number, hi: number, type: number, s: number): void {
  switch (type) {
    case 0:
      lsl64(lo, hi, s);
      break;
    case 1:
      lsr64(lo, hi, s);
      break;
    case 2:
      asr64(lo, hi, s);
      break;
    default:
      ror64(lo, hi, s);
  }
}

/** Shift by type, 32-bit; returns int32. */
export function shift32(v: number, type: number, s: number): number {
  if (s === 0) return v | 0;
  switch (type) {
    case 0:
      return v << s;
    case 1:
      return (v >>> s) | 0;
    case 2:
      return v >> s;
    default:
      return (v >>> s) | (v << (32 - s));
  }
}

/** A 64-bit mask of the low n bits (n 0..64) as (lo, hi) in R. */
export function ones64(n: number): void {
  if (n >= 64) {
    R.lo = -1;
    R.hi = -1;
  } else if (n >= 32) {
    R.lo = -1;
    R.hi = n === 32 ? 0 : -1 >>> (64 - n) | 0;
  } else {
    R.lo = n === 0 ? 0 : (-1 >>> (32 - n)) | 0;
    R.hi = 0;
  }
}

export function toBig(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export function bigLo(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

export function bigHi(v: bigint): number {
  return Number(BigInt.asIntN(32, v >> 32n));
}

/** Unsigned 64-bit compare: a < b. */
export function ult64(alo: number, ahi: number, blo: number, bhi: number): boolean {
  const ah = ahi >>> 0;
  const bh = bhi >>> 0;
  return ah < bh || (ah === bh && alo >>> 0 < blo >>> 0);
}

/** Count leading zeros of a 64-bit value. */
export function clz64(lo: number, hi: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

/** 32-bit bit reversal. */
export function rbit32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return (v >>> 16) | (v << 16);
}

/** Byte swap of a 32-bit value. */
export function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** Byte swap within each 16-bit half. */
export function bswap16x2(v: number): number {
  return ((v & 0x00ff00ff) << 8) | ((v >>> 8) & 0x00ff00ff);
}
