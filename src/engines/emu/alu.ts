/**
 * Shared arithmetic for the integer instruction handlers: add-with-carry with
 * NZCV, condition evaluation, register extension, multiplication, CRC32.
 */
import type { Cpu } from './cpu.js';
import { R, lsl64 } from './int64.js';

/** AddWithCarry on 64-bit (lo, hi) operands; result in R, flags set when `flags`. */
export function adc64(c: Cpu, al: number, ah: number, bl: number, bh: number, cin: number, flags: boolean): void {
  const l = (al >>> 0) + (bl >>> 0) + cin;
  const h = (ah >>> 0) + (bh >>> 0) + (l > 0xffffffff ? 1 : 0);
  const rl = l | 0;
  const rh = h | 0;
  R.lo = rl;
  R.hi = rh;
  if (flags) {
    c.nf = rh >>> 31;
    c.zf = (rl | rh) === 0 ? 1 : 0;
    c.cf = h > 0xffffffff ? 1 : 0;
    c.vf = (~(ah ^ bh) & (ah ^ rh)) >>> 31;
  }
}

/** AddWithCarry on 32-bit operands; returns the int32 result. */
export function adc32(c: Cpu, a: number, b: number, cin: number, flags: boolean): number {
  const l = (a >>> 0) + (b >>> 0) + cin;
  const r = l | 0;
  if (flags) {
    c.nf = r >>> 31;
    c.zf = r === 0 ? 1 : 0;
    c.cf = l > 0xffffffff ? 1 : 0;
    c.vf = (~(a ^ b) & (a ^ r)) >>> 31;
  }
  return r;
}

/** ConditionHolds(cond). */
export function condHolds(c: Cpu, cond: number): boolean {
  let r: boolean;
  switch (cond >> 1) {
    case 0:
      r = c.zf !== 0;
      break;
    case 1:
      r = c.cf !== 0;
      break;
    case 2:
      r = c.nf !== 0;
      break;
    case 3:
      r = c.vf !== 0;
      break;
    case 4:
      r = c.cf !== 0 && c.zf === 0;
      break;
    case 5:
      r = c.nf === c.vf;
      break;
    case 6:
      r = c.nf === c.vf && c.zf === 0;
      break;
    default:
      return true;
  }
  return (cond & 1) !== 0 ? !r : r;
}

/** ExtendReg: option 0..7 = UXTB, UXTH, UXTW, UXTX, SXTB, SXTH, SXTW, SXTX, then LSL by shift. Result in R. */
export function extendReg(lo: number, hi: number, option: number, shift: number): void {
  switch (option) {
    case 0:
      lo &= 0xff;
      hi = 0;
      break;
    case 1:
      lo &= 0xffff;
      hi = 0;
      break;
    case 2:
      hi = 0;
      break;
    case 3:
      break;
    case 4:
      lo = (lo << 24) >> 24;
      hi = lo >> 31;
      break;
    case 5:
      lo = (lo << 16) >> 16;
      hi = lo >> 31;
      break;
    case 6:
      hi = lo >> 31;
      break;
    default:
      break;
  }
  lsl64(lo, hi, shift);
}

/** Unsigned 32x32 -> 64 multiply into R (exact, no BigInt). */
export function mulu32(a: number, b: number): void {
  a >>>= 0;
  b >>>= 0;
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  R.lo = (p00 & 0xffff) | (mid << 16);
  R.hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** Low 64 bits of a 64x64 product into R. */
export function mul64(al: number, ah: number, bl: number, bh: number): void {
  mulu32(al, bl);
  R.hi = (R.hi + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
}

function makeCrcTable(poly: number): Int32Array {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c;
  }
  return t;
}

const CRC32_TABLE = makeCrcTable(0xedb88320);
const CRC32C_TABLE = makeCrcTable(0x82f63b78);

/** CRC32/CRC32C update of `acc` with `bytes` bytes of (lo, hi), little-endian order (no final inversion, as the instruction). */
export function crc32(acc: number, lo: number, hi: number, bytes: number, castagnoli: boolean): number {
  const t = castagnoli ? CRC32C_TABLE : CRC32_TABLE;
  let crc = acc >>> 0;
  for (let i = 0; i < bytes; i++) {
    const b = i < 4 ? (lo >>> (8 * i)) & 0xff : (hi >>> (8 * (i - 4))) & 0xff;
    crc = (crc >>> 8) ^ t[(crc ^ b) & 0xff]!;
  }
  return crc | 0;
}

/** High 64 bits of the unsigned 128-bit product of two 64-bit values, into R (exact, no BigInt). */
export function umulh64(al: number, ah: number, bl: number, bh: number): void {
  mulu32(al, bl);
  const p0h = R.hi >>> 0;
  mulu32(al, bh);
  const p1l = R.lo >>> 0;
  const p1h = R.hi >>> 0;
  mulu32(ah, bl);
  const p2l = R.lo >>> 0;
  const p2h = R.hi >>> 0;
  mulu32(ah, bh);
  const p3l = R.lo >>> 0;
  const p3h = R.hi >>> 0;
  const mid = p0h + p1l + p2l; // < 2^34: exact
  const lo = p3l + p1h + p2h + Math.floor(mid / 4294967296); // < 2^35: exact
  R.lo = lo | 0;
  R.hi = (p3h + Math.floor(lo / 4294967296)) | 0;
}

/** High 64 bits of the signed 128-bit product, into R. */
export function smulh64(al: number, ah: number, bl: number, bh: number): void {
  umulh64(al, ah, bl, bh);
  let rl = R.lo;
  let rh = R.hi;
  // signed = unsigned - (a < 0 ? b : 0) - (b < 0 ? a : 0), modulo 2^64
  if (ah < 0) {
    const l = (rl >>> 0) - (bl >>> 0);
    rh = (rh - bh - (l < 0 ? 1 : 0)) | 0;
    rl = l | 0;
  }
  if (bh < 0) {
    const l = (rl >>> 0) - (al >>> 0);
    rh = (rh - ah - (l < 0 ? 1 : 0)) | 0;
    rl = l | 0;
  }
  R.lo = rl;
  R.hi = rh;
}
