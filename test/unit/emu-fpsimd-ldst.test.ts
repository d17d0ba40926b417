/**
 * Advanced SIMD load/store structures against qemu-aarch64: replays
 * test/fixtures/fpsimd/ldst-cases.json.gz (random LD1-4/ST1-4/LDxR words,
 * base X1 in a 512-byte buffer) and compares UNDEF, registers and memory.
 * Plus a few hand-checked cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { execFpSimd } from '../../src/engines/emu/fpsimd/index.js';
import { makeCtx, setV, getV, MEM_BASE } from './emu-fpsimd-ctx.js';
import { STATE, V_OFF, FPCR_OFF, NZCV_OFF, FPSR_OFF } from '../fixtures/fpsimd/fuzz-state.js';
import { ldstState, ldstMemory, MEM_ADDR, MEM_SIZE } from '../fixtures/fpsimd/ldst-state.js';

type Row = [number, number, number, [number, string][], string];
const rows: Row[] = JSON.parse(gunzipSync(readFileSync(new URL('../fixtures/fpsimd/ldst-cases.json.gz', import.meta.url))).toString());

test(`LD/ST structures match qemu on ${rows.length} random encodings`, () => {
  const bad: string[] = [];
  for (const [insn, seed, undef, changes, memHex] of rows) {
    const st = ldstState(seed);
    const ctx = makeCtx(MEM_SIZE, MEM_ADDR);
    ldstMemory(seed).copy(Buffer.from(ctx.mem.buffer));
    for (let r = 0; r < 31; r++) ctx.x[r] = st.readBigUInt64LE(8 * r);
    for (let w = 0; w < 128; w++) ctx.v[w] = st.readUInt32LE(V_OFF + 4 * w);
    ctx.fpcr = Number(st.readBigUInt64LE(FPCR_OFF));
    ctx.nzcv = Number(st.readBigUInt64LE(NZCV_OFF) >> 28n);
    const ok = execFpSimd(ctx, insn);
    if (ok === Boolean(undef)) { bad.push(`${insn.toString(16)}: ours ${ok ? 'executed' : 'UNDEF'}, qemu ${undef ? 'UNDEF' : 'executed'}`); continue; }
    if (!ok) continue;
    const exp = Buffer.from(st);
    exp.writeBigUInt64LE(0n, FPSR_OFF);
    for (const [off, hex] of changes) Buffer.from(hex, 'hex').copy(exp, off);
    const got = Buffer.from(st);
    for (let r = 0; r < 31; r++) got.writeBigUInt64LE(ctx.x[r], 8 * r);
    for (let w = 0; w < 128; w++) got.writeUInt32LE(ctx.v[w], V_OFF + 4 * w);
    got.writeBigUInt64LE(0n, FPSR_OFF);
    for (let off = 0; off < STATE; off += 8) {
      if (off === FPCR_OFF || (off >= 272 && off < V_OFF)) continue;
      if (!got.subarray(off, off + 8).equals(exp.subarray(off, off + 8))) { bad.push(`${insn.toString(16)} @${off}: got ${got.subarray(off, off + 8).toString('hex')} exp ${exp.subarray(off, off + 8).toString('hex')}`); break; }
    }
    const expMem = memHex ? Buffer.from(memHex, 'hex') : ldstMemory(seed);
    if (!Buffer.from(ctx.mem).equals(expMem)) bad.push(`${insn.toString(16)}: memory differs`);
  }
  if (bad.length) console.log(bad.slice(0, 40).join('\n'));
  assert.equal(bad.length, 0, `${bad.length} mismatches`);
});

test('LD1 {v0.16b}, [x1], #16 loads bytes in order and post-increments', () => {
  const ctx = makeCtx();
  for (let i = 0; i < 16; i++) ctx.mem[i] = i + 1;
  ctx.x[1] = MEM_BASE;
  assert.equal(execFpSimd(ctx, 0x4cdf7020), true); // ld1 {v0.16b}, [x1], #16
  assert.deepEqual(getV(ctx, 0), [0x04030201, 0x08070605, 0x0c0b0a09, 0x100f0e0d]);
  assert.equal(ctx.x[1], MEM_BASE + 16n);
});

test('ST2 {v0.4s, v1.4s}, [x1] interleaves; LD2R replicates; LD1 {v2.s}[3] inserts one lane', () => {
  const ctx = makeCtx();
  setV(ctx, 0, [1, 2, 3, 4]); setV(ctx, 1, [5, 6, 7, 8]);
  ctx.x[1] = MEM_BASE;
  assert.equal(execFpSimd(ctx, 0x4c008820), true); // st2 {v0.4s, v1.4s}, [x1]
  const dv = new DataView(ctx.mem.buffer);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => dv.getUint32(4 * i, true)), [1, 5, 2, 6, 3, 7, 4, 8]);
  assert.equal(execFpSimd(ctx, 0x0d60c822), true); // ld2r {v2.2s, v3.2s}, [x1]
  assert.deepEqual(getV(ctx, 2), [1, 1, 0, 0]);
  assert.deepEqual(getV(ctx, 3), [5, 5, 0, 0]);
  setV(ctx, 2, [9, 9, 9, 9]);
  assert.equal(execFpSimd(ctx, 0x4d409022), true); // ld1 {v2.s}[3], [x1]
  assert.deepEqual(getV(ctx, 2), [9, 9, 9, 1]);
});

test('a faulting load throws the context exception and does no writeback', () => {
  const ctx = makeCtx(64);
  ctx.x[1] = MEM_BASE + 56n;
  assert.throws(() => execFpSimd(ctx, 0x4cdf7020), /fault/); // ld1 {v0.16b}, [x1], #16 crosses the end
  assert.equal(ctx.x[1], MEM_BASE + 56n);
});

test('SP as the base register (Rn = 31), register post-index, and register-list wrap-around from V31 to V0', () => {
  const ctx = makeCtx();
  for (let i = 0; i < 64; i++) ctx.mem[i] = i;
  ctx.sp = MEM_BASE;
  assert.equal(execFpSimd(ctx, 0x4cdf73e0), true); // ld1 {v0.16b}, [sp], #16
  assert.equal(ctx.sp, MEM_BASE + 16n);
  assert.deepEqual(getV(ctx, 0), [0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c]);
  setV(ctx, 1, [1, 2, 3, 4]); setV(ctx, 2, [5, 6, 7, 8]);
  ctx.x[3] = 0xfffffffffffffff0n; // -16
  assert.equal(execFpSimd(ctx, 0x4c83afe1), true); // st1 {v1.2d, v2.2d}, [sp], x3
  assert.equal(ctx.sp, MEM_BASE);
  const dv = new DataView(ctx.mem.buffer);
  assert.deepEqual([16, 20, 24, 28, 32, 36, 40, 44].map((o) => dv.getUint32(o, true)), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(execFpSimd(ctx, 0x4d60ebe4), true); // ld4r {v4.4s-v7.4s}, [sp]
  assert.deepEqual(getV(ctx, 5), [0x07060504, 0x07060504, 0x07060504, 0x07060504]);
  ctx.x[1] = MEM_BASE;
  assert.equal(execFpSimd(ctx, 0x0c40403e), true); // ld3 {v30.8b, v31.8b, v0.8b}, [x1]
  // Memory is bytes 0..15 then the stored words 1..8: elements are every third byte.
  assert.deepEqual(getV(ctx, 30), [0x09060300, 0x00000f0c, 0, 0]); // bytes 0 3 6 9 12 15 18 21
  assert.deepEqual(getV(ctx, 0), [0x0b080502, 0x0002000e, 0, 0]); // bytes 2 5 8 11 14 17 20 23
});
