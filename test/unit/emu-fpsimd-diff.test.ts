/**
 * Differential test: replays every case of test/fixtures/fpsimd/diff-cases.json.gz
 * (expected values recorded from qemu-aarch64-static by gen-diff.ts) through
 * execFpSimd and compares V0..V4, X0, FPSR and NZCV bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { execFpSimd, fpsimdFeatures } from '../../src/engines/emu/fpsimd/index.js';
import { makeCtx } from './emu-fpsimd-ctx.js';

interface Row { asm: string; insn: number; in: string; out: string }
const rows: Row[] = JSON.parse(gunzipSync(readFileSync(new URL('../fixtures/fpsimd/diff-cases.json.gz', import.meta.url))).toString());

function hex(b: Buffer): string { return b.toString('hex'); }

/** Run one case; returns a description of the first mismatch or null. */
function runCase(r: Row): string | null {
  const inp = Buffer.from(r.in, 'hex'), exp = Buffer.from(r.out, 'hex');
  const ctx = makeCtx();
  for (let i = 0; i < 20; i++) ctx.v[i] = inp.readUInt32LE(4 * i);
  for (let i = 0; i < 3; i++) ctx.x[i] = inp.readBigUInt64LE(80 + 8 * i);
  ctx.fpcr = Number(inp.readBigUInt64LE(104));
  ctx.nzcv = Number(inp.readBigUInt64LE(112) >> 28n);
  ctx.fpsr = 0;
  let ok: boolean;
  try { ok = execFpSimd(ctx, r.insn); } catch (e) { return `threw ${(e as Error).message}`; }
  if (!ok) return 'returned false (UNDEF)';
  const got = Buffer.alloc(96);
  for (let i = 0; i < 20; i++) got.writeUInt32LE(ctx.v[i], 4 * i);
  got.writeBigUInt64LE(ctx.x[0], 80);
  got.writeUInt32LE(ctx.fpsr >>> 0, 88);
  got.writeUInt32LE((ctx.nzcv << 28) >>> 0, 92);
  if (got.equals(exp.subarray(0, 96))) return null;
  const parts: string[] = [];
  for (let r2 = 0; r2 < 5; r2++) {
    const g = got.subarray(16 * r2, 16 * r2 + 16), e = exp.subarray(16 * r2, 16 * r2 + 16);
    if (!g.equals(e)) parts.push(`v${r2} got ${hex(g)} exp ${hex(e)}`);
  }
  if (!got.subarray(80, 88).equals(exp.subarray(80, 88))) parts.push(`x0 got ${hex(got.subarray(80, 88))} exp ${hex(exp.subarray(80, 88))}`);
  if (got.readUInt32LE(88) !== exp.readUInt32LE(88)) parts.push(`fpsr got ${got.readUInt32LE(88).toString(16)} exp ${exp.readUInt32LE(88).toString(16)}`);
  if (got.readUInt32LE(92) !== exp.readUInt32LE(92)) parts.push(`nzcv got ${got.readUInt32LE(92).toString(16)} exp ${exp.readUInt32LE(92).toString(16)}`);
  return parts.join('; ');
}

fpsimdFeatures.crypto = true; // qemu's cortex-a57 has the Cryptographic Extension

test(`FP/SIMD matches qemu-aarch64 on ${rows.length} recorded cases`, () => {
  const failures: string[] = [];
  const failedTemplates = new Set<string>();
  for (const r of rows) {
    const why = runCase(r);
    if (why !== null) {
      failedTemplates.add(r.asm);
      if (failures.length < 40) {
        const inp = r.in;
        failures.push(`${r.asm} [${r.insn.toString(16)}] fpcr=${Number(Buffer.from(inp, 'hex').readBigUInt64LE(104)).toString(16)}: ${why}\n   in v1=${inp.slice(32, 64)} v2=${inp.slice(64, 96)}`);
      }
    }
  }
  if (failures.length) console.log(failures.join('\n'));
  assert.equal(failedTemplates.size, 0, `${failedTemplates.size} instruction templates mismatch: ${[...failedTemplates].slice(0, 60).join(' | ')}`);
});
