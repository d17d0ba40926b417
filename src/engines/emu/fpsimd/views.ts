/**
 * Typed-array views over the V register file (ctx.v), created once per
 * underlying buffer. All lane loops index these views directly: element i of
 * size E bytes in Vn lives at byte 16n + i*E (the host is little-endian, as is
 * the guest's register layout).
 */
import type { FpSimdContext } from '../fpsimd-context.js';

export interface VViews {
  u8: Uint8Array;
  i8: Int8Array;
  u16: Uint16Array;
  i16: Int16Array;
  u32: Uint32Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
  /** 64-bit lanes as BigInt: only for the rarer 64-bit-lane integer ops. */
  b64: BigUint64Array;
  s64: BigInt64Array;
}

const cache = new WeakMap<Uint32Array, VViews>();

function makeViews(b: ArrayBufferLike, o: number, bytes: number): VViews {
  return {
    u8: new Uint8Array(b, o, bytes), i8: new Int8Array(b, o, bytes),
    u16: new Uint16Array(b, o, bytes / 2), i16: new Int16Array(b, o, bytes / 2),
    u32: new Uint32Array(b, o, bytes / 4), i32: new Int32Array(b, o, bytes / 4),
    f32: new Float32Array(b, o, bytes / 4), f64: new Float64Array(b, o, bytes / 8),
    b64: new BigUint64Array(b, o, bytes / 8), s64: new BigInt64Array(b, o, bytes / 8),
  };
}

let lastV: Uint32Array | undefined, lastW: VViews | undefined;

export function views(ctx: FpSimdContext): VViews {
  const v = ctx.v;
  if (v === lastV) return lastW!;
  let w = cache.get(v);
  if (w === undefined) {
    w = makeViews(v.buffer, v.byteOffset, 512);
    cache.set(v, w);
  }
  lastV = v; lastW = w;
  return w;
}

/**
 * Byte-wise equality of two 32-bit words as a mask (0xff where bytes are
 * equal), without a per-byte loop: a byte of x = a ^ b is nonzero exactly
 * when ((x & 0x7f) + 0x7f) | x has its top bit set.
 */
export function eqBytes(a: number, b: number): number {
  const x = a ^ b;
  const nz = (((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x) & 0x80808080;
  return ((~nz & 0x80808080) >>> 7) * 0xff;
}

/** The typed array for elements of size code esz (0..2), signed or unsigned. */
export function elemArray(w: VViews, esz: number, signed: boolean): Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array {
  if (esz === 0) return signed ? w.i8 : w.u8;
  if (esz === 1) return signed ? w.i16 : w.u16;
  return signed ? w.i32 : w.u32;
}

/**
 * The result register: vector results are built here (as "register 0") and
 * then committed to Vd, so sources that overlap Vd are read before any write.
 */
export const R: VViews = makeViews(new ArrayBuffer(16), 0, 16);

/** Copy R into Vd: 8 bytes (upper half zeroed) or 16. */
export function commitR(w: VViews, d: number, bytes: number): void {
  const u = w.u32, r = R.u32, b = 4 * d;
  u[b] = r[0]; u[b + 1] = r[1];
  if (bytes > 8) { u[b + 2] = r[2]; u[b + 3] = r[3]; } else { u[b + 2] = 0; u[b + 3] = 0; }
}

/** Zero bits 127:64 of Vd (every 64-bit vector write and scalar write does this). */
export function clearHigh(u32: Uint32Array, d: number): void {
  u32[4 * d + 2] = 0;
  u32[4 * d + 3] = 0;
}

/** Zero the whole of Vd. */
export function clearReg(u32: Uint32Array, d: number): void {
  const i = 4 * d;
  u32[i] = 0; u32[i + 1] = 0; u32[i + 2] = 0; u32[i + 3] = 0;
}


/** FPSR bits. */
export const FPSR_IOC = 1, FPSR_DZC = 2, FPSR_OFC = 4, FPSR_UFC = 8, FPSR_IXC = 16, FPSR_IDC = 128, FPSR_QC = 1 << 27;
/** FPCR bits. */
export const FPCR_AHP = 1 << 26, FPCR_DN = 1 << 25, FPCR_FZ = 1 << 24;
/** FPCR.RMode values (RA = ties-away, used by FCVTA and FRINTA). */
export const RN = 0, RP = 1, RM = 2, RZ = 3, RA = 4;
export function fpcrRMode(fpcr: number): number { return (fpcr >>> 22) & 3; }
