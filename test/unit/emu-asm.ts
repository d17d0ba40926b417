/**
 * Test helper: assemble AArch64 source with binutils (aarch64-linux-gnu-as)
 * into instruction words, and run snippets on a bare emu CPU.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRawMachine, loadWords, runUntil, type RawMachine } from '../../src/engines/emu/raw-runner.js';

export const HAVE_AS = (() => {
  try {
    execFileSync('aarch64-linux-gnu-as', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const cacheDir = join(tmpdir(), 'tsvisor-emu-asm');

/** Assemble `src` (no relocations to external symbols) and return the .text words. */
export function assemble(src: string): Uint32Array {
  const h = createHash('sha1').update(src).digest('hex').slice(0, 16);
  mkdirSync(cacheDir, { recursive: true });
  const bin = join(cacheDir, `${h}.bin`);
  if (!existsSync(bin)) {
    const s = join(cacheDir, `${h}.s`);
    const o = join(cacheDir, `${h}.o`);
    writeFileSync(s, `.text\n${src}\n`);
    execFileSync('aarch64-linux-gnu-as', ['-march=armv8-a+crc', '-o', o, s]);
    execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', '-j', '.text', o, bin]);
  }
  const b = readFileSync(bin);
  return new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

export const CODE = 0x40000000;

/** Assemble and run a snippet at EL1 (MMU off) from CODE until it falls off the end. */
export function runAsm(src: string, setup?: (m: RawMachine) => void, maxInsns = 100000): RawMachine {
  const m = createRawMachine();
  const words = assemble(src);
  loadWords(m.memory, CODE, words);
  m.cpu.sp = BigInt(CODE + 0x800000);
  setup?.(m);
  runUntil(m.cpu, BigInt(CODE + words.length * 4), maxInsns);
  return m;
}

export const x = (m: RawMachine, n: number): bigint => m.cpu.getX(n);
export const hex = (v: bigint): string => '0x' + v.toString(16);
