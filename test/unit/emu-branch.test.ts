import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODE, HAVE_AS, runAsm, x } from './emu-asm.js';

const skip = HAVE_AS ? false : 'aarch64-linux-gnu-as not installed';

test('B.cond for every condition against known flags', { skip }, () => {
  // For each NZCV value set x9 bit i when condition i holds.
  const conds = ['eq', 'ne', 'cs', 'cc', 'mi', 'pl', 'vs', 'vc', 'hi', 'ls', 'ge', 'lt', 'gt', 'le', 'al'];
  let src = '';
  for (let f = 0; f < 16; f++) {
    src += `  movz x1, #${f << 12}, lsl #16\n  msr nzcv, x1\n  mov x9, #0\n`;
    conds.forEach((c, i) => {
      src += `  b.${c} 1f\n  b 2f\n1: orr x9, x9, #${1 << i}\n2:\n`;
    });
    src += `  str x9, [sp, #-8]!\n`;
  }
  const m = runAsm(src);
  const holds = (cond: number, nzcv: number): boolean => {
    const n = (nzcv >> 3) & 1, z = (nzcv >> 2) & 1, c = (nzcv >> 1) & 1, v = nzcv & 1;
    const base = [z === 1, c === 1, n === 1, v === 1, c === 1 && z === 0, n === v, n === v && z === 0, true][cond >> 1]!;
    return cond === 14 ? true : cond & 1 ? !base : base;
  };
  for (let f = 0; f < 16; f++) {
    let want = 0;
    for (let i = 0; i < 15; i++) if (holds(i, f)) want |= 1 << i;
    const got = m.memory.readU64(CODE + 0x800000 - 8 * (f + 1));
    assert.equal(got, BigInt(want), `nzcv=${f.toString(2)}`);
  }
});

test('CBZ/CBNZ on W and X, TBZ/TBNZ on bits 0, 31, 32, 63', { skip }, () => {
  const m = runAsm(`
    mov x0, #0x100000000     // W view is zero, X view is not
    mov x9, #0
    cbz w0, 1f
    orr x9, x9, #1
1:  cbnz x0, 2f
    orr x9, x9, #2
2:  mov x1, #0x8000000000000000
    orr x1, x1, #0x80000000
    tbnz x1, #63, 3f
    orr x9, x9, #4
3:  tbz x1, #62, 4f
    orr x9, x9, #8
4:  tbnz w1, #31, 5f
    orr x9, x9, #16
5:  tbnz x1, #32, 6f
    b 7f
6:  orr x9, x9, #32
7:  tbz x1, #0, 8f
    orr x9, x9, #64
8:  nop
  `);
  assert.equal(x(m, 9), 0n, 'every branch taken/not taken as the architecture says');
});

test('BL/BLR link, RET, BR, ADR/ADRP', { skip }, () => {
  const m = runAsm(`
    bl f1
    adr x3, f2
    blr x3
    adr x5, here
here:
    adrp x6, here
    adr x7, .
    b end
f1: mov x1, x30
    ret
f2: mov x2, x30
    br x30
end:
  `);
  assert.equal(x(m, 1), BigInt(CODE + 4));
  assert.equal(x(m, 2), BigInt(CODE + 12));
  assert.equal(x(m, 5), BigInt(CODE + 16));
  assert.equal(x(m, 6), BigInt(CODE + 16) & ~0xfffn);
  assert.equal(x(m, 7), BigInt(CODE + 20));
});
