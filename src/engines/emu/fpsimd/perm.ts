/**
 * Data movement: copy (DUP/INS/UMOV/SMOV, scalar DUP), modified immediate
 * (MOVI/MVNI/ORR/BIC/FMOV vector), permute (UZP/TRN/ZIP), EXT, TBL/TBX.
 */
import type { FpSimdContext } from '../fpsimd-context.js';
import { type VViews, R, commitR } from './views.js';

/** Element size code and index from a copy-group imm5; esz -1 if unallocated. */
function imm5Elem(imm5: number): [number, number] {
  if ((imm5 & 15) === 0) return [-1, 0];
  const esz = 31 - Math.clz32(imm5 & -imm5);
  return [esz, imm5 >>> (esz + 1)];
}

/** Copy esize-byte element: dst/src are byte offsets into u8 arrays. */
function copyBytes(dst: Uint8Array, di: number, src: Uint8Array, si: number, n: number): void {
  for (let k = 0; k < n; k++) dst[di + k] = src[si + k];
}

export function copyGroup(ctx: FpSimdContext, vw: VViews, insn: number): boolean {
  const q = (insn >>> 30) & 1, op = (insn >>> 29) & 1;
  const imm5 = (insn >>> 16) & 31, imm4 = (insn >>> 11) & 15;
  const rd = insn & 31, rn = (insn >>> 5) & 31;
  const [esz, index] = imm5Elem(imm5);
  if (esz < 0) return false;
  const eb = 1 << esz, u8 = vw.u8;
  if (op === 1) { // INS (element)
    if (!q) return false;
    copyBytes(u8, 16 * rd + index * eb, u8, 16 * rn + (imm4 >>> esz) * eb, eb);
    return true;
  }
  switch (imm4) {
    case 0: case 1: { // DUP (element), DUP (general)
      if (esz === 3 && !q) return false;
      const bytes = q ? 16 : 8;
      if (imm4 === 1 && esz < 3) { // DUP Vd.T, Wn: replicate by words, no BigInt
        const w = ctx.getW(rn);
        const word = esz === 0 ? (w & 0xff) * 0x01010101 : esz === 1 ? (w & 0xffff) * 0x10001 : w;
        R.u32[0] = word; R.u32[1] = word; R.u32[2] = word; R.u32[3] = word;
        commitR(vw, rd, bytes);
        return true;
      }
      if (imm4 === 0) copyBytes(R.u8, 0, u8, 16 * rn + index * eb, eb);
      else R.b64[0] = BigInt.asUintN(64, ctx.getX(rn));
      for (let j = eb; j < bytes; j++) R.u8[j] = R.u8[j % eb];
      commitR(vw, rd, bytes);
      return true;
    }
    case 3: { // INS (general)
      if (!q) return false;
      R.b64[0] = BigInt.asUintN(64, ctx.getX(rn));
      copyBytes(u8, 16 * rd + index * eb, R.u8, 0, eb);
      return true;
    }
    case 5: case 7: { // SMOV, UMOV
      const signed = imm4 === 5;
      if (signed ? esz >= 2 + q : q ? esz !== 3 : esz === 3) return false;
      const base = 16 * rn + index * eb;
      let v: bigint;
      switch (esz) {
        case 0: v = BigInt(signed ? vw.i8[base] : u8[base]); break;
        case 1: v = BigInt(signed ? vw.i16[base >> 1] : vw.u16[base >> 1]); break;
        case 2: v = BigInt(signed ? vw.i32[base >> 2] : vw.u32[base >> 2]); break;
        default: v = vw.b64[base >> 3];
      }
      if (q) ctx.setX(rd, BigInt.asUintN(64, v));
      else ctx.setW(rd, Number(BigInt.asUintN(32, v)));
      return true;
    }
  }
  return false;
}

/** Scalar copy: DUP Vd(scalar), Vn.T[index] (the MOV scalar alias). */
export function scalarCopy(vw: VViews, insn: number): boolean {
  const imm5 = (insn >>> 16) & 31, imm4 = (insn >>> 11) & 15, op = (insn >>> 29) & 1;
  if (op || imm4) return false;
  const [esz, index] = imm5Elem(imm5);
  if (esz < 0) return false;
  const rd = insn & 31, rn = (insn >>> 5) & 31, eb = 1 << esz;
  R.u32.fill(0);
  copyBytes(R.u8, 0, vw.u8, 16 * rn + index * eb, eb);
  commitR(vw, rd, 8);
  return true;
}

/** AdvSIMDExpandImm as [lo, hi] 32-bit halves; null if unallocated. */
export function expandImm(op: number, cmode: number, imm8: number): [number, number] | null {
  let w: number;
  switch (cmode >>> 1) {
    case 0: w = imm8; break;
    case 1: w = imm8 << 8; break;
    case 2: w = imm8 << 16; break;
    case 3: w = imm8 << 24; break;
    case 4: w = imm8 | (imm8 << 16); break;
    case 5: w = (imm8 << 8) | (imm8 << 24); break;
    case 6: w = cmode & 1 ? (imm8 << 16) | 0xffff : (imm8 << 8) | 0xff; break;
    default:
      if ((cmode & 1) === 0) {
        if (!op) { w = imm8 * 0x01010101; break; }
        let lo = 0, hi = 0;
        for (let i = 0; i < 4; i++) if (imm8 & (1 << i)) lo |= 0xff << (8 * i);
        for (let i = 0; i < 4; i++) if (imm8 & (16 << i)) hi |= 0xff << (8 * i);
        return [lo >>> 0, hi >>> 0];
      }
      {
        const a = imm8 >>> 7, b = (imm8 >>> 6) & 1, cdefgh = imm8 & 0x3f;
        if (!op) { w = (a << 31) | ((b ^ 1) << 30) | (b ? 0x3e000000 : 0) | (cdefgh << 19); break; }
        return [0, ((a << 31) | ((b ^ 1) << 30) | (b ? 0x3fc00000 : 0) | (cdefgh << 16)) >>> 0];
      }
  }
  return [w >>> 0, w >>> 0];
}

export function modifiedImm(vw: VViews, insn: number): boolean {
  const q = (insn >>> 30) & 1, op = (insn >>> 29) & 1, cmode = (insn >>> 12) & 15;
  if ((insn >>> 11) & 1) return false; // o2 = 1: FP16 FMOV, absent
  if (cmode === 15 && op && !q) return false;
  const imm8 = (((insn >>> 16) & 7) << 5) | ((insn >>> 5) & 31);
  const imm = expandImm(op, cmode, imm8);
  if (!imm) return false;
  const rd = insn & 31, u = vw.u32, b = 4 * rd;
  // ORR/BIC (immediate): cmode 0xx1 and 10x1.
  const isLogic = (cmode & 1) === 1 && cmode < 12;
  const invert = op === 1 && cmode < 14; // MVNI, BIC
  for (let i = 0; i < 4; i++) {
    let x = imm[i & 1];
    if (invert) x = ~x;
    if (isLogic) x = op ? u[b + i] & x : u[b + i] | x;
    R.u32[i] = x;
  }
  commitR(vw, rd, q ? 16 : 8);
  return true;
}

export function permute(vw: VViews, insn: number): boolean {
  const q = (insn >>> 30) & 1, size = (insn >>> 22) & 3, opc = (insn >>> 12) & 7;
  if ((size === 3 && !q) || (opc & 3) === 0) return false;
  const rd = insn & 31, rn = (insn >>> 5) & 31, rm = (insn >>> 16) & 31;
  const eb = 1 << size, bytes = q ? 16 : 8, lanes = bytes / eb, half = lanes >> 1;
  const u8 = vw.u8, n = 16 * rn, m = 16 * rm;
  const part = opc >>> 2; // 0: "1" forms, 1: "2" forms
  for (let i = 0; i < lanes; i++) {
    let src: number;
    switch (opc & 3) {
      case 1: { // UZP: even (or odd) elements of m:n
        const k = 2 * i + part;
        src = k < lanes ? n + k * eb : m + (k - lanes) * eb;
        break;
      }
      case 2: // TRN
        src = (i & 1 ? m : n) + ((i & ~1) + part) * eb;
        break;
      default: // ZIP
        src = (i & 1 ? m : n) + ((i >> 1) + part * half) * eb;
    }
    copyBytes(R.u8, i * eb, u8, src, eb);
  }
  commitR(vw, rd, bytes);
  return true;
}

export function extract(vw: VViews, insn: number): boolean {
  const q = (insn >>> 30) & 1, imm4 = (insn >>> 11) & 15;
  if ((insn >>> 22) & 3 || (!q && imm4 >= 8)) return false;
  const rd = insn & 31, rn = (insn >>> 5) & 31, rm = (insn >>> 16) & 31;
  const bytes = q ? 16 : 8, u8 = vw.u8;
  for (let j = 0; j < bytes; j++) {
    const k = j + imm4;
    R.u8[j] = k < bytes ? u8[16 * rn + k] : u8[16 * rm + k - bytes];
  }
  commitR(vw, rd, bytes);
  return true;
}

export function tableLookup(vw: VViews, insn: number): boolean {
  const q = (insn >>> 30) & 1, len = (insn >>> 13) & 3, tbx = (insn >>> 12) & 1;
  if ((insn >>> 22) & 3) return false;
  const rd = insn & 31, rn = (insn >>> 5) & 31, rm = (insn >>> 16) & 31;
  const bytes = q ? 16 : 8, u8 = vw.u8, limit = 16 * (len + 1);
  for (let j = 0; j < bytes; j++) {
    const idx = u8[16 * rm + j];
    if (idx < limit) R.u8[j] = u8[16 * ((rn + (idx >> 4)) & 31) + (idx & 15)];
    else R.u8[j] = tbx ? u8[16 * rd + j] : 0;
  }
  commitR(vw, rd, bytes);
  return true;
}
