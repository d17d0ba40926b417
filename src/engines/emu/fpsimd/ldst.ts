/**
 * Advanced SIMD load/store multiple structures (LD1-LD4/ST1-ST4) and single
 * structure (lane forms and LD1R-LD4R), with post-index writeback. Memory goes
 * through ctx.load/ctx.store (which may throw the CPU's fault exception; then
 * no writeback happens).
 */
import type { FpSimdContext } from '../fpsimd-context.js';
import type { VViews } from './views.js';
import { setE, getU } from './elem.js';

/** opcode -> [rpt, selem] for multiple structures. */
const MULTI: Record<number, [number, number]> = {
  0: [1, 4], 2: [4, 1], 4: [1, 3], 6: [3, 1], 7: [1, 1], 8: [1, 2], 10: [2, 1],
};

function loadElem(ctx: FpSimdContext, vw: VViews, reg: number, e: number, esz: number, addr: bigint): void {
  if (esz === 3) vw.b64[2 * reg + e] = BigInt.asUintN(64, ctx.load(addr, 8));
  else setE(vw, reg, e, esz, Number(ctx.load(addr, (1 << esz) as 1 | 2 | 4)));
}
function storeElem(ctx: FpSimdContext, vw: VViews, reg: number, e: number, esz: number, addr: bigint): void {
  if (esz === 3) ctx.store(addr, 8, vw.b64[2 * reg + e]);
  else ctx.store(addr, (1 << esz) as 1 | 2 | 4, BigInt(getU(vw, reg, e, esz)));
}

function writeback(ctx: FpSimdContext, insn: number, rn: number, base: bigint, imm: number): void {
  if (((insn >>> 23) & 1) === 0) return;
  const rm = (insn >>> 16) & 31;
  const off = rm === 31 ? BigInt(imm) : ctx.getX(rm);
  ctx.setXSP(rn, BigInt.asUintN(64, base + off));
}

export function ldstMultiple(ctx: FpSimdContext, vw: VViews, insn: number): boolean {
  const q = (insn >>> 30) & 1, L = (insn >>> 22) & 1, opc = (insn >>> 12) & 15, esz = (insn >>> 10) & 3;
  const rt = insn & 31, rn = (insn >>> 5) & 31;
  if (((insn >>> 23) & 1) === 0 && ((insn >>> 16) & 63) !== 0) return false;
  if (((insn >>> 23) & 1) === 1 && ((insn >>> 21) & 1) !== 0) return false;
  const rs = MULTI[opc];
  if (!rs) return false;
  const [rpt, selem] = rs;
  if (esz === 3 && !q && selem > 1) return false;
  const bytes = q ? 16 : 8, elements = bytes >> esz, eb = 1 << esz;
  const base = ctx.getXSP(rn);
  let addr = base;
  if (selem === 1) {
    // Contiguous registers: move 8 bytes at a time (same bytes as element-wise, little-endian).
    for (let r = 0; r < rpt; r++) {
      const t = (rt + r) & 31;
      for (let h = 0; h < bytes; h += 8) {
        if (L) vw.b64[2 * t + h / 8] = BigInt.asUintN(64, ctx.load(addr, 8));
        else ctx.store(addr, 8, vw.b64[2 * t + h / 8]);
        addr += 8n;
      }
    }
  } else {
    for (let e = 0; e < elements; e++) {
      for (let s = 0; s < selem; s++) {
        const t = (rt + s) & 31;
        if (L) loadElem(ctx, vw, t, e, esz, addr); else storeElem(ctx, vw, t, e, esz, addr);
        addr += BigInt(eb);
      }
    }
  }
  if (L && !q) for (let r = 0; r < rpt * selem; r++) { const t = (rt + r) & 31; vw.u32[4 * t + 2] = 0; vw.u32[4 * t + 3] = 0; }
  writeback(ctx, insn, rn, base, bytes * rpt * selem);
  return true;
}

export function ldstSingle(ctx: FpSimdContext, vw: VViews, insn: number): boolean {
  const q = (insn >>> 30) & 1, L = (insn >>> 22) & 1, R = (insn >>> 21) & 1;
  const opc = (insn >>> 13) & 7, S = (insn >>> 12) & 1, size = (insn >>> 10) & 3;
  const rt = insn & 31, rn = (insn >>> 5) & 31;
  if (((insn >>> 23) & 1) === 0 && ((insn >>> 16) & 31) !== 0) return false;
  const selem = (((opc & 1) << 1) | R) + 1;
  let scale = opc >>> 1, index = 0;
  const replicate = scale === 3;
  switch (scale) {
    case 3:
      if (!L || S) return false;
      scale = size;
      break;
    case 0: index = (q << 3) | (S << 2) | size; break;
    case 1: if (size & 1) return false; index = (q << 2) | (S << 1) | (size >>> 1); break;
    case 2:
      if (size & 2) return false;
      if (size & 1) { if (S) return false; index = q; scale = 3; }
      else index = (q << 1) | S;
  }
  const eb = 1 << scale;
  const base = ctx.getXSP(rn);
  let addr = base;
  for (let s = 0; s < selem; s++) {
    const t = (rt + s) & 31;
    if (replicate) {
      loadElem(ctx, vw, t, 0, scale, addr);
      const u8 = vw.u8, o = 16 * t, bytes = q ? 16 : 8;
      for (let j = eb; j < bytes; j++) u8[o + j] = u8[o + (j % eb)];
      if (!q) { vw.u32[4 * t + 2] = 0; vw.u32[4 * t + 3] = 0; }
    } else if (L) loadElem(ctx, vw, t, index, scale, addr);
    else storeElem(ctx, vw, t, index, scale, addr);
    addr += BigInt(eb);
  }
  writeback(ctx, insn, rn, base, selem * eb);
  return true;
}
