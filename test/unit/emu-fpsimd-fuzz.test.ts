/**
 * Encoding fuzz against qemu-aarch64 (cortex-a57): for random SIMD&FP
 * data-processing words recorded in test/fixtures/fpsimd/fuzz-cases.json.gz,
 * execFpSimd (with the optional crypto instructions enabled) must UNDEF exactly
 * when qemu did and otherwise produce the same X0-X30, V0-V31, NZCV and FPSR.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { execFpSimd, decodeFpSimd, fpsimdFeatures } from '../../src/engines/emu/fpsimd/index.js';
import { makeCtx } from './emu-fpsimd-ctx.js';
import { fuzzState, STATE, V_OFF, FPCR_OFF, NZCV_OFF, FPSR_OFF, isCrypto } from '../fixtures/fpsimd/fuzz-state.js';

type Row = [number, number, number, [number, string][]];
const rows: Row[] = JSON.parse(gunzipSync(readFileSync(new URL('../fixtures/fpsimd/fuzz-cases.json.gz', import.meta.url))).toString());

type Exec = (ctx: ReturnType<typeof makeCtx>, insn: number) => boolean;

function run(insn: number, seed: number, exec: Exec = execFpSimd): { ok: boolean; state: Buffer } {
  const st = fuzzState(seed);
  const ctx = makeCtx();
  for (let r = 0; r < 31; r++) ctx.x[r] = st.readBigUInt64LE(8 * r);
  for (let w = 0; w < 128; w++) ctx.v[w] = st.readUInt32LE(V_OFF + 4 * w);
  ctx.fpcr = Number(st.readBigUInt64LE(FPCR_OFF));
  ctx.nzcv = Number(st.readBigUInt64LE(NZCV_OFF) >> 28n);
  ctx.fpsr = 0;
  const ok = exec(ctx, insn);
  const out = Buffer.from(st);
  for (let r = 0; r < 31; r++) out.writeBigUInt64LE(ctx.x[r], 8 * r);
  for (let w = 0; w < 128; w++) out.writeUInt32LE(ctx.v[w], V_OFF + 4 * w);
  out.writeBigUInt64LE(BigInt((ctx.nzcv << 28) >>> 0), NZCV_OFF);
  out.writeBigUInt64LE(BigInt(ctx.fpsr >>> 0), FPSR_OFF);
  return { ok, state: out };
}

fpsimdFeatures.crypto = true; // qemu's cortex-a57 has the Cryptographic Extension

function check(exec: Exec): void {
  const bad: string[] = [];
  let cryptoSeen = 0;
  for (const [insn, seed, undef, changes] of rows) {
    let r: { ok: boolean; state: Buffer };
    try { r = run(insn, seed, exec); } catch (e) { bad.push(`${insn.toString(16)}: threw ${(e as Error).message}`); continue; }
    if (undef) { if (r.ok) bad.push(`${insn.toString(16)}: executed, qemu UNDEF`); continue; }
    if (!r.ok) { bad.push(`${insn.toString(16)}: UNDEF, qemu executed`); continue; }
    if (isCrypto(insn)) cryptoSeen++;
    const exp = fuzzState(seed);
    exp.writeBigUInt64LE(0n, FPSR_OFF);
    for (const [off, hex] of changes) Buffer.from(hex, 'hex').copy(exp, off);
    for (let off = 0; off < STATE; off += 8) {
      if (off === FPCR_OFF || (off >= 272 && off < V_OFF)) continue;
      if (!r.state.subarray(off, off + 8).equals(exp.subarray(off, off + 8))) {
        bad.push(`${insn.toString(16)} seed ${seed}: @${off} got ${r.state.subarray(off, off + 8).toString('hex')} exp ${exp.subarray(off, off + 8).toString('hex')}`);
        break;
      }
    }
  }
  if (bad.length) console.log(bad.slice(0, 50).join('\n'));
  console.log(`crypto encodings executed: ${cryptoSeen}`);
  assert.equal(bad.length, 0, `${bad.length} mismatches`);
}

test(`random SIMD&FP encodings: UNDEF and results match qemu on ${rows.length} cases`, () => check(execFpSimd));

test('decodeFpSimd: null exactly for UNDEF words, and its executor matches qemu', () => {
  check((ctx, insn) => {
    const h = decodeFpSimd(insn);
    return h !== null && h(ctx);
  });
});
