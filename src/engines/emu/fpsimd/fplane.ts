/**
 * FP element plumbing between the register file and fpcore: reading lanes,
 * writing results (including NaNs, whose bits are copied from the operand that
 * fpcore selected), and committing a result vector to Vd.
 *
 * Element index `ei`: for single it indexes u32/f32 (Vn lane i = 4n + i), for
 * double it indexes f64 (Vn lane i = 2n + i; high word at u32[2ei + 1]).
 * Results are first built in a scratch register so that sources overlapping Vd
 * (by-element forms, pairwise forms) are read before being overwritten.
 */
import { S } from './fpcore.js';
import { type VViews, R } from './views.js';

export const resU32 = R.u32, resF32 = R.f32, resF64 = R.f64;

/** Value of element ei. */
export function rdF(vw: VViews, single: boolean, ei: number): number {
  return single ? vw.f32[ei] : vw.f64[ei];
}
/** The word holding the quiet bit (and sign) of element ei. */
export function wordF(vw: VViews, single: boolean, ei: number): number {
  return single ? vw.u32[ei] : vw.u32[2 * ei + 1];
}

/**
 * Store result r into scratch lane k. e1..e3: element indices of the operands,
 * used when r is a NaN to copy the selected operand's payload.
 */
export function putF(vw: VViews, single: boolean, k: number, r: number, e1 = 0, e2 = 0, e3 = 0): void {
  if (r === r) {
    if (single) resF32[k] = r; else resF64[k] = r;
    return;
  }
  const sel = S.nanSel;
  const neg = (S.nanNeg & 1) !== 0 !== (sel !== 0 && !S.dn && (S.nanNeg & (1 << sel)) !== 0);
  const flip = neg ? 0x80000000 : 0;
  if (S.dn || sel === 0) {
    if (single) resU32[k] = (0x7fc00000 | flip) >>> 0;
    else { resU32[2 * k] = 0; resU32[2 * k + 1] = (0x7ff80000 | flip) >>> 0; }
    return;
  }
  const src = sel === 1 ? e1 : sel === 2 ? e2 : e3;
  const u = vw.u32;
  // nanNeg bit 8: the op ends in FPAbs (FABD), which clears the NaN's sign too.
  const keep = S.nanNeg & 0x100 ? 0x7fffffff : 0xffffffff;
  if (single) resU32[k] = (((u[src] | 0x400000) ^ flip) & keep) >>> 0;
  else { resU32[2 * k] = u[2 * src]; resU32[2 * k + 1] = (((u[2 * src + 1] | 0x80000) ^ flip) & keep) >>> 0; }
}

/** Copy the first `bytes` (4, 8 or 16) of the scratch result into Vd, zeroing the rest of Vd. */
export function commit(vw: VViews, d: number, bytes: number): void {
  const u = vw.u32, b = 4 * d;
  u[b] = resU32[0];
  u[b + 1] = bytes > 4 ? resU32[1] : 0;
  u[b + 2] = bytes > 8 ? resU32[2] : 0;
  u[b + 3] = bytes > 8 ? resU32[3] : 0;
}

/** Write a raw 16-bit value to lane 0 of Vd, zeroing the rest (half-precision scalar results). */
export function commitHalf(vw: VViews, d: number, h: number): void {
  const u = vw.u32, b = 4 * d;
  u[b] = h & 0xffff; u[b + 1] = 0; u[b + 2] = 0; u[b + 3] = 0;
}
