/**
 * Integer element access by element size code esz (0 = 8, 1 = 16, 2 = 32,
 * 3 = 64 bits). Number accessors cover esz 0..2; the BigInt ones cover all
 * sizes and are used for 64-bit lanes and for the rarer, wider-arithmetic ops.
 * Stores rely on typed-array conversion (ToUint8/16/32) to wrap the value.
 */
import type { VViews } from './views.js';

export function getU(w: VViews, reg: number, i: number, esz: number): number {
  return esz === 0 ? w.u8[16 * reg + i] : esz === 1 ? w.u16[8 * reg + i] : w.u32[4 * reg + i];
}
export function getS(w: VViews, reg: number, i: number, esz: number): number {
  return esz === 0 ? w.i8[16 * reg + i] : esz === 1 ? w.i16[8 * reg + i] : w.i32[4 * reg + i];
}
export function setE(w: VViews, reg: number, i: number, esz: number, v: number): void {
  if (esz === 0) w.u8[16 * reg + i] = v;
  else if (esz === 1) w.u16[8 * reg + i] = v;
  else w.u32[4 * reg + i] = v;
}
export function getB(w: VViews, reg: number, i: number, esz: number, signed: boolean): bigint {
  if (esz === 3) return signed ? w.s64[2 * reg + i] : w.b64[2 * reg + i];
  return BigInt(signed ? getS(w, reg, i, esz) : getU(w, reg, i, esz));
}
export function setB(w: VViews, reg: number, i: number, esz: number, v: bigint): void {
  if (esz === 3) w.b64[2 * reg + i] = BigInt.asUintN(64, v);
  else setE(w, reg, i, esz, Number(BigInt.asUintN(32, v)));
}

/** Saturation state for the current instruction (FPSR.QC is set by the caller if it became true). */
export const Q = { sat: false };

/** Saturate a BigInt to esize bits, signed or unsigned, noting saturation in Q.sat. */
export function satB(x: bigint, ebits: number, signed: boolean): bigint {
  const max = signed ? (1n << BigInt(ebits - 1)) - 1n : (1n << BigInt(ebits)) - 1n;
  const min = signed ? -(1n << BigInt(ebits - 1)) : 0n;
  if (x > max) { Q.sat = true; return max; }
  if (x < min) { Q.sat = true; return min; }
  return x;
}
/** Number version for ebits <= 32. */
export function satN(x: number, ebits: number, signed: boolean): number {
  const max = signed ? 2 ** (ebits - 1) - 1 : 2 ** ebits - 1;
  const min = signed ? -(2 ** (ebits - 1)) : 0;
  if (x > max) { Q.sat = true; return max; }
  if (x < min) { Q.sat = true; return min; }
  return x;
}
