/**
 * Differential test with random data-processing instruction streams: a
 * generated -nostdlib static program loads pseudo-random values into
 * x0..x15, runs the stream, and writes x0..x15 and NZCV to stdout. The bytes
 * from qemu-aarch64-static and from the emu CPU must be identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runUserElf } from '../../src/engines/emu/user-mode.js';

function have(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const tools = have('aarch64-linux-gnu-gcc') && have('qemu-aarch64-static');

/** Small deterministic PRNG (xorshift32). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const CONDS = ['eq', 'ne', 'cs', 'cc', 'mi', 'pl', 'vs', 'vc', 'hi', 'ls', 'ge', 'lt', 'gt', 'le', 'al'];
const SHIFTS = ['lsl', 'lsr', 'asr'];
const EXTS = ['uxtb', 'uxth', 'uxtw', 'uxtx', 'sxtb', 'sxth', 'sxtw', 'sxtx'];

function genInsn(r: () => number): string {
  const pick = <T>(a: T[]): T => a[r() % a.length]!;
  const w = r() % 3 === 0; // 32-bit form
  const R = (): string => (w ? 'w' : 'x') + (r() % 16);
  const Rz = (): string => (r() % 10 === 0 ? (w ? 'wzr' : 'xzr') : R());
  const bits = w ? 32 : 64;
  const sh = (): number => r() % bits;
  if (r() % 4 === 0) return genMem(r);
  switch (r() % 22) {
    case 0:
      return `${pick(['add', 'adds', 'sub', 'subs'])} ${R()}, ${R()}, #${r() % 4096}${r() % 2 ? ', lsl #12' : ''}`;
    case 1:
      return `${pick(['add', 'adds', 'sub', 'subs'])} ${R()}, ${R()}, ${R()}, ${pick(SHIFTS)} #${sh()}`;
    case 2: {
      const ext = pick(EXTS);
      const m = ext.endsWith('x') && !w ? 'x' + (r() % 16) : 'w' + (r() % 16);
      return `${pick(['add', 'adds', 'sub', 'subs'])} ${R()}, ${R()}, ${m}, ${ext} #${r() % 5}`;
    }
    case 3:
      return `${pick(['and', 'orr', 'eor', 'ands', 'bic', 'orn', 'eon', 'bics'])} ${R()}, ${Rz()}, ${R()}, ${pick([...SHIFTS, 'ror'])} #${sh()}`;
    case 4: {
      // logical immediate: a rotated run of ones replicated
      const esize = pick(w ? [2, 4, 8, 16, 32] : [2, 4, 8, 16, 32, 64]);
      const ones = 1 + (r() % (esize - 1));
      let e = (1n << BigInt(ones)) - 1n;
      const rot = r() % esize;
      const m = (1n << BigInt(esize)) - 1n;
      e = ((e >> BigInt(rot)) | (e << BigInt(esize - rot))) & m;
      let v = 0n;
      for (let i = 0; i < bits; i += esize) v |= e << BigInt(i);
      return `${pick(['and', 'orr', 'eor', 'ands'])} ${R()}, ${R()}, #0x${v.toString(16)}`;
    }
    case 5:
      return `${pick(['movz', 'movn', 'movk'])} ${R()}, #${r() % 65536}, lsl #${16 * (r() % (w ? 2 : 4))}`;
    case 6: {
      const lsb = r() % bits;
      const width = 1 + (r() % (bits - lsb));
      return `${pick(['ubfx', 'sbfx', 'bfxil', 'ubfiz', 'sbfiz', 'bfi'])} ${R()}, ${R()}, #${lsb}, #${width}`;
    }
    case 7:
      return `${pick(['lsl', 'lsr', 'asr', 'ror'])} ${R()}, ${R()}, #${sh()}`;
    case 8:
      return `${pick(['lslv', 'lsrv', 'asrv', 'rorv'])} ${R()}, ${R()}, ${R()}`;
    case 9:
      return `extr ${R()}, ${R()}, ${R()}, #${sh()}`;
    case 10:
      return `${pick(['csel', 'csinc', 'csinv', 'csneg'])} ${R()}, ${Rz()}, ${Rz()}, ${pick(CONDS)}`;
    case 11:
      return `${pick(['ccmp', 'ccmn'])} ${R()}, ${r() % 2 ? '#' + (r() % 32) : R()}, #${r() % 16}, ${pick(CONDS)}`;
    case 12:
      return `${pick(['mul', 'mneg'])} ${R()}, ${R()}, ${R()}`;
    case 13:
      return `${pick(['madd', 'msub'])} ${R()}, ${R()}, ${R()}, ${R()}`;
    case 14:
      return w ? `${pick(['udiv', 'sdiv'])} ${R()}, ${R()}, ${R()}` : `${pick(['udiv', 'sdiv', 'umulh', 'smulh'])} ${R()}, ${R()}, ${R()}`;
    case 15: {
      const d = 'x' + (r() % 16);
      return `${pick(['smaddl', 'smsubl', 'umaddl', 'umsubl'])} ${d}, w${r() % 16}, w${r() % 16}, x${r() % 16}`;
    }
    case 16:
      return `${pick(w ? ['clz', 'cls', 'rbit', 'rev', 'rev16'] : ['clz', 'cls', 'rbit', 'rev', 'rev16', 'rev32'])} ${R()}, ${R()}`;
    case 17:
      return `${pick(['adc', 'adcs', 'sbc', 'sbcs'])} ${R()}, ${R()}, ${R()}`;
    case 18: {
      const sz = pick(['b', 'h', 'w', 'x']);
      return `${pick(['crc32', 'crc32c'])}${sz} w${r() % 16}, w${r() % 16}, ${sz === 'x' ? 'x' : 'w'}${r() % 16}`;
    }
    case 19:
      return `${pick(['cmp', 'cmn', 'tst'])} ${R()}, ${R()}`;
    case 20:
      return `${pick(['cset', 'csetm'])} ${R()}, ${pick(CONDS.slice(0, 14))}`;
    default:
      return `${pick(['sxtb', 'sxth', 'uxtb', 'uxth'])} ${w ? R() : 'x' + (r() % 16)}, w${r() % 16}`;
  }
}

/** Loads and stores around x20 (the middle of a 2 KiB buffer) in every addressing mode. */
function genMem(r: () => number): string {
  const pick = <T>(a: T[]): T => a[r() % a.length]!;
  const reg = (): number => r() % 16;
  const sizes: Array<[string, string, number]> = [
    ['ldr', 'x', 8], ['str', 'x', 8], ['ldr', 'w', 4], ['str', 'w', 4], ['ldrb', 'w', 1], ['strb', 'w', 1],
    ['ldrh', 'w', 2], ['strh', 'w', 2], ['ldrsb', 'x', 1], ['ldrsh', 'x', 2], ['ldrsw', 'x', 4], ['ldrsb', 'w', 1], ['ldrsh', 'w', 2],
  ];
  const [op, rk, size] = pick(sizes);
  const t = `${rk}${reg()}`;
  switch (r() % 7) {
    case 0:
      return `${op} ${t}, [x20, #${(r() % 64) * size}]`;
    case 1: {
      const u = op.startsWith('ldr') ? op.replace('ldr', 'ldur') : op.replace('str', 'stur');
      return `${u} ${t}, [x20, #${(r() % 512) - 256}]`;
    }
    case 2:
      return `mov x22, x20\n  ${op} ${t}, [x22, #${(r() % 512) - 256}]!\n  sub x23, x22, x20\n  add x${reg()}, x${reg()}, x23`;
    case 3:
      return `mov x22, x20\n  ${op} ${t}, [x22], #${(r() % 512) - 256}\n  sub x23, x22, x20\n  eor x${reg()}, x${reg()}, x23`;
    case 4: {
      const ext = pick(['lsl', 'uxtw', 'sxtw', 'sxtx']);
      const sh = r() % 2 ? ` #${Math.log2(size)}` : '';
      const idx = ext === 'uxtw' || ext === 'sxtw' ? 'w21' : 'x21';
      return `mov x21, #${ext === 'uxtw' ? r() % 32 : (r() % 64) - 32}\n  ${op} ${t}, [x20, ${idx}, ${ext}${ext === 'lsl' && !sh ? ' #0' : sh}]`;
    }
    case 5: {
      const x = r() % 2 === 0;
      const a = x ? 'x' : 'w';
      const sz = x ? 8 : 4;
      const kind = pick(['ldp', 'stp', ...(x ? [] : ['ldpsw'])]);
      const rk2 = kind === 'ldpsw' ? 'x' : a;
      let t1 = reg();
      let t2 = reg();
      if (kind !== 'stp' && t1 === t2) t2 = (t1 + 1) % 16;
      const off = ((r() % 32) - 16) * sz;
      const mode = r() % 3;
      if (mode === 0) return `${kind} ${rk2}${t1}, ${rk2}${t2}, [x20, #${off}]`;
      return `mov x22, x20\n  ${kind} ${rk2}${t1}, ${rk2}${t2}, [x22, #${off}]${mode === 1 ? '!' : ''}${mode === 2 ? '' : ''}\n  sub x23, x22, x20\n  add x${reg()}, x${reg()}, x23`;
    }
    default:
      return `ldxr x${reg()}, [x20]\n  stxr w24, x${reg()}, [x20]\n  add x${reg()}, x${reg()}, x24`;
  }
}

function genProgram(seed: number, count: number): string {
  const r = rng(seed);
  const init: string[] = [];
  for (let i = 0; i < 16; i++) {
    const kind = r() % 4;
    const v = kind === 0 ? BigInt(r() % 8) : kind === 1 ? (1n << 63n) - BigInt(r() % 3) : (BigInt(r()) << 32n) | BigInt(r());
    init.push(`  .quad 0x${v.toString(16)}`);
  }
  const body: string[] = [];
  for (let i = 0; i < count; i++) body.push('  ' + genInsn(r));
  return `
  .text
  .global _start
_start:
  adr x16, init
  ldp x0, x1, [x16, #0]
  ldp x2, x3, [x16, #16]
  ldp x4, x5, [x16, #32]
  ldp x6, x7, [x16, #48]
  ldp x8, x9, [x16, #64]
  ldp x10, x11, [x16, #80]
  ldp x12, x13, [x16, #96]
  ldp x14, x15, [x16, #112]
  adr x20, buf
  add x20, x20, #1024
  msr nzcv, xzr
${body.join('\n')}
  adr x16, out
  stp x0, x1, [x16, #0]
  stp x2, x3, [x16, #16]
  stp x4, x5, [x16, #32]
  stp x6, x7, [x16, #48]
  stp x8, x9, [x16, #64]
  stp x10, x11, [x16, #80]
  stp x12, x13, [x16, #96]
  stp x14, x15, [x16, #112]
  mrs x17, nzcv
  str x17, [x16, #128]
  mov x0, #1
  mov x1, x16
  mov x2, #136
  mov x8, #64
  svc #0
  mov x0, #1
  adr x1, buf
  mov x2, #2048
  mov x8, #64
  svc #0
  mov x0, #0
  mov x8, #93
  svc #0
  .data
  .balign 16
init:
${init.join('\n')}
out: .skip 136
  .balign 16
buf:
${Array.from({ length: 128 }, (_, i) => `  .quad 0x${(BigInt(i) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn).toString(16)}`).join('\n')}
  .skip 1024
`;
}

// More seeds for a longer soak: TSVISOR_EMU_RANDOM_SEEDS=500.
const SEEDS = Number(process.env.TSVISOR_EMU_RANDOM_SEEDS ?? 40);
const COUNT = 300;

test('random data-processing and load/store streams match qemu-aarch64-static register by register', { skip: tools ? false : 'aarch64 gcc or qemu-aarch64-static missing' }, () => {
  const dir = join(tmpdir(), 'tsvisor-emu-random');
  mkdirSync(dir, { recursive: true });
  for (let seed = 1; seed <= SEEDS; seed++) {
    const src = join(dir, `r${seed}.s`);
    const bin = join(dir, `r${seed}`);
    const prog = genProgram(seed * 7919, COUNT);
    writeFileSync(src, prog);
    execFileSync('aarch64-linux-gnu-gcc', ['-nostdlib', '-static', '-march=armv8-a+crc', '-o', bin, src]);
    const expected = execFileSync('qemu-aarch64-static', [bin]);
    const r = runUserElf(readFileSync(bin), [bin]);
    assert.equal(r.crash, undefined, `seed ${seed}: ${r.crash}`);
    const got = Buffer.from(r.stdoutBytes);
    if (!got.subarray(136).equals(expected.subarray(136))) assert.fail(`seed ${seed} (${src}): memory differs`);
    if (!got.equals(expected)) {
      const e = new BigUint64Array(new Uint8Array(expected.subarray(0, 136)).buffer);
      const g = new BigUint64Array(new Uint8Array(Buffer.concat([got, Buffer.alloc(136)]).subarray(0, 136)).buffer);
      const diffs: string[] = [];
      for (let i = 0; i < 17; i++) if (e[i] !== g[i]) diffs.push(`${i === 16 ? 'nzcv' : 'x' + i}: qemu 0x${e[i]!.toString(16)} emu 0x${g[i]!.toString(16)}`);
      assert.fail(`seed ${seed} (${src}) differs:\n${diffs.join('\n')}`);
    }
  }
});
