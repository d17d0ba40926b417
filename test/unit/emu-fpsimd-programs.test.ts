/**
 * FP/SIMD in context: C programs under test/fixtures/fpsimd/programs/ (glibc's
 * NEON string functions, libm and printf under every rounding mode, NEON
 * intrinsics, auto-vectorised loops) compiled -O3 static, run on the emu CPU
 * with the user-mode runner and under qemu-aarch64-static; stdout and exit
 * status must match. Skipped (with the reason) when the cross tools are missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runUserElf } from '../../src/engines/emu/user-mode.js';

const SRC = new URL('../fixtures/fpsimd/programs/', import.meta.url).pathname;
const OUT = join(tmpdir(), 'tsvisor-fpsimd-programs');

function have(cmd: string): boolean {
  try { execFileSync(cmd, ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
}
const tools = have('aarch64-linux-gnu-gcc') && have('qemu-aarch64-static');

for (const name of readdirSync(SRC).filter((f) => f.endsWith('.c')).sort()) {
  test(`emu FP/SIMD program matches qemu: ${name}`, (t) => {
    if (!tools) { t.skip('aarch64-linux-gnu-gcc or qemu-aarch64-static missing'); return; }
    mkdirSync(OUT, { recursive: true });
    const src = join(SRC, name), bin = join(OUT, name.replace(/\.c$/, ''));
    if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
      execFileSync('aarch64-linux-gnu-gcc', ['-static', '-O3', '-march=armv8-a', '-o', bin, src, '-lm']);
    }
    const expected = execFileSync('qemu-aarch64-static', ['-cpu', 'cortex-a57', bin], { encoding: 'utf8' });
    const t0 = performance.now();
    const r = runUserElf(readFileSync(bin), [bin]);
    const ms = performance.now() - t0;
    assert.equal(r.crash, undefined, `emu crashed: ${r.crash}\nstdout so far:\n${r.stdout}`);
    const got = r.stdout.split('\n'), exp = expected.split('\n');
    for (let i = 0; i < Math.max(got.length, exp.length); i++) assert.equal(got[i], exp[i], `line ${i + 1} differs`);
    assert.equal(r.exitCode, 0);
    console.log(`# ${name}: ${r.instructions} instructions in ${ms.toFixed(0)} ms`);
  });
}
