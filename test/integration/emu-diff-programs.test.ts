/**
 * Differential tests: static AArch64 C programs (test/fixtures/aarch64/*.c)
 * compiled with aarch64-linux-gnu-gcc -static -O2, run under
 * qemu-aarch64-static and under the emu CPU at EL0 with the user-mode
 * syscall shim; stdout and exit status must match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runUserElf } from '../../src/engines/emu/user-mode.js';

const FIX = new URL('../fixtures/aarch64/', import.meta.url).pathname;
const OUT = join(tmpdir(), 'tsvisor-emu-diff');

function have(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const tools = have('aarch64-linux-gnu-gcc') && have('qemu-aarch64-static');

function build(name: string): string {
  mkdirSync(OUT, { recursive: true });
  const src = join(FIX, name);
  const bin = join(OUT, name.replace(/\.c$/, ''));
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    execFileSync('aarch64-linux-gnu-gcc', ['-static', '-O2', '-march=armv8-a+crc', '-o', bin, src]);
  }
  return bin;
}

for (const name of readdirSync(FIX).filter((f) => f.endsWith('.c')).sort()) {
  test(`emu matches qemu-aarch64-static: ${name}`, { skip: tools ? false : 'aarch64 gcc or qemu-aarch64-static missing' }, () => {
    const bin = build(name);
    let expected: string;
    let expectedCode = 0;
    try {
      expected = execFileSync('qemu-aarch64-static', [bin], { encoding: 'utf8' });
    } catch (e) {
      const err = e as { stdout: string; status: number };
      expected = err.stdout;
      expectedCode = err.status;
    }
    const t0 = performance.now();
    const r = runUserElf(readFileSync(bin), [bin]);
    const ms = performance.now() - t0;
    assert.equal(r.crash, undefined, `emu crashed: ${r.crash}\nstdout so far:\n${r.stdout}`);
    assert.equal(r.stdout, expected);
    assert.equal(r.exitCode, expectedCode);
    console.log(`# ${name}: ${r.instructions} instructions in ${ms.toFixed(0)} ms (${(r.instructions / ms / 1000).toFixed(1)} MIPS)`);
  });
}
