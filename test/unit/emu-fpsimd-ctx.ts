/**
 * A fake FpSimdContext for the FP/SIMD unit tests: a register file, 31 general
 * registers + SP, and a flat little-endian memory at address MEM_BASE.
 */
import type { FpSimdContext } from '../../src/engines/emu/fpsimd-context.js';

export const MEM_BASE = 0x10000n;

export interface FakeCtx extends FpSimdContext {
  x: bigint[];
  sp: bigint;
  mem: Uint8Array;
}

export function makeCtx(memSize = 4096, memBase = MEM_BASE): FakeCtx {
  const mem = new Uint8Array(memSize);
  const dv = new DataView(mem.buffer);
  const addr = (va: bigint, size: number): number => {
    const o = Number(va - memBase);
    if (o < 0 || o + size > memSize) throw new Error(`fault at 0x${va.toString(16)}`);
    return o;
  };
  const ctx: FakeCtx = {
    v: new Uint32Array(128),
    fpcr: 0, fpsr: 0, nzcv: 0,
    x: new Array<bigint>(31).fill(0n), sp: 0n, mem,
    getX(n) { return n === 31 ? 0n : ctx.x[n]; },
    setX(n, value) { if (n !== 31) ctx.x[n] = BigInt.asUintN(64, value); },
    getW(n) { return n === 31 ? 0 : Number(ctx.x[n] & 0xffffffffn); },
    setW(n, value) { if (n !== 31) ctx.x[n] = BigInt(value >>> 0); },
    getXSP(n) { return n === 31 ? ctx.sp : ctx.x[n]; },
    setXSP(n, value) { if (n === 31) ctx.sp = BigInt.asUintN(64, value); else ctx.x[n] = BigInt.asUintN(64, value); },
    load(va, size) {
      const o = addr(va, size);
      switch (size) {
        case 1: return BigInt(dv.getUint8(o));
        case 2: return BigInt(dv.getUint16(o, true));
        case 4: return BigInt(dv.getUint32(o, true));
        default: return dv.getBigUint64(o, true);
      }
    },
    store(va, size, value) {
      const o = addr(va, size);
      switch (size) {
        case 1: dv.setUint8(o, Number(value & 0xffn)); break;
        case 2: dv.setUint16(o, Number(value & 0xffffn), true); break;
        case 4: dv.setUint32(o, Number(value & 0xffffffffn), true); break;
        default: dv.setBigUint64(o, BigInt.asUintN(64, value), true);
      }
    },
  };
  return ctx;
}

/** Set Vn from four 32-bit words, least significant first. */
export function setV(ctx: FpSimdContext, n: number, words: number[]): void {
  for (let i = 0; i < 4; i++) ctx.v[4 * n + i] = (words[i] ?? 0) >>> 0;
}
export function getV(ctx: FpSimdContext, n: number): number[] {
  return [ctx.v[4 * n], ctx.v[4 * n + 1], ctx.v[4 * n + 2], ctx.v[4 * n + 3]];
}
