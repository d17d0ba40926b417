import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAVE_AS, runAsm, x } from './emu-asm.js';

const M64 = (1n << 64n) - 1n;
const skip = HAVE_AS ? false : 'aarch64-linux-gnu-as not installed';

test('add/sub immediate and register, 32-bit zero-extension', { skip }, () => {
  const m = runAsm(`
    movz x0, #0xffff, lsl #48
    movk x0, #0xffff, lsl #32
    movk x0, #0xffff, lsl #16
    movk x0, #0xffff
    add x1, x0, #1
    add w2, w0, #2
    mov x3, xzr
    sub x3, x3, #1, lsl #12
    mov x4, #5
    sub x5, x4, x0
    add x6, x0, x0, lsl #1
  `);
  assert.equal(x(m, 0), M64);
  assert.equal(x(m, 1), 0n);
  assert.equal(x(m, 2), 1n);
  assert.equal(x(m, 3), (M64 - 4096n + 1n) & M64);
  assert.equal(x(m, 5), 6n);
  assert.equal(x(m, 6), (M64 * 3n) & M64);
});

test('ADDS/SUBS set NZCV', { skip }, () => {
  const m = runAsm(`
    mov x0, #0x7fffffffffffffff
    adds x1, x0, #1
    mrs x10, nzcv
    mov w2, #0xffffffff
    adds w3, w2, #1
    mrs x11, nzcv
    mov x4, xzr
    subs x4, x4, #1
    mrs x12, nzcv
    cmp x0, x0
    mrs x13, nzcv
    mov w5, #0x80000000
    subs w6, w5, #1
    mrs x14, nzcv
  `);
  assert.equal(x(m, 1), 1n << 63n);
  assert.equal(x(m, 10) >> 28n, 0b1001n); // N, V
  assert.equal(x(m, 3), 0n);
  assert.equal(x(m, 11) >> 28n, 0b0110n); // Z, C
  assert.equal(x(m, 12) >> 28n, 0b1000n); // N, no borrow -> C=0
  assert.equal(x(m, 13) >> 28n, 0b0110n);
  assert.equal(x(m, 6), 0x7fffffffn);
  assert.equal(x(m, 14) >> 28n, 0b0011n); // C, V
});

test('logical immediates, shifts by 0/63, bitfield aliases', { skip }, () => {
  const m = runAsm(`
    mov x0, #0x5555555555555555
    and x1, x0, #0xff00ff00ff00ff00
    orr w2, wzr, #0xf0f0f0f0
    eor x3, x0, #0xfffffffffffffffe
    mov x4, #-1
    lsl x5, x4, #63
    lsr x6, x4, #63
    asr x7, x5, #63
    lsr x8, x4, #0
    ubfx x9, x0, #4, #8
    sbfx x10, x5, #60, #4
    bfi x11, x4, #8, #4
    sxtb x12, w4
    uxth w13, w4
    sxtw x14, w2
    ror x15, x0, #1
    extr x16, x4, xzr, #60
    mov x17, #0x1234
    bfxil x17, x4, #0, #4
    orr w18, w4, #0xc
    eor w19, w4, #0xc
  `);
  assert.equal(x(m, 1), 0x5500550055005500n);
  assert.equal(x(m, 2), 0xf0f0f0f0n);
  assert.equal(x(m, 3), 0xaaaaaaaaaaaaaaabn);
  assert.equal(x(m, 5), 1n << 63n);
  assert.equal(x(m, 6), 1n);
  assert.equal(x(m, 7), M64);
  assert.equal(x(m, 8), M64);
  assert.equal(x(m, 9), 0x55n);
  assert.equal(x(m, 10), M64 - 7n); // 0b1000 sign-extended = -8
  assert.equal(x(m, 11), 0xf00n);
  assert.equal(x(m, 12), M64);
  assert.equal(x(m, 13), 0xffffn);
  assert.equal(x(m, 14), 0xfffffffff0f0f0f0n);
  assert.equal(x(m, 15), 0xaaaaaaaaaaaaaaaan);
  assert.equal(x(m, 16), M64 - 15n);
  assert.equal(x(m, 17), 0x123fn);
  assert.equal(x(m, 18), 0xffffffffn, '32-bit ORR (immediate) clears the upper half');
  assert.equal(x(m, 19), 0xfffffff3n);
});

test('conditional select/compare', { skip }, () => {
  const m = runAsm(`
    mov x0, #3
    mov x1, #5
    cmp x0, x1
    csel x2, x0, x1, lt
    csinc x3, x0, x1, ge
    csinv x4, x0, x1, ge
    csneg x5, x0, x1, ge
    cset w6, lt
    ccmp x0, #3, #0, lt
    cset x7, eq
    ccmp x0, x1, #0b0100, gt
    cset x8, eq
  `);
  assert.equal(x(m, 2), 3n);
  assert.equal(x(m, 3), 6n);
  assert.equal(x(m, 4), M64 - 5n);
  assert.equal(x(m, 5), M64 - 4n);
  assert.equal(x(m, 6), 1n);
  assert.equal(x(m, 7), 1n);
  assert.equal(x(m, 8), 1n);
});

test('multiply, divide, umulh/smulh, clz/cls/rbit/rev, crc32', { skip }, () => {
  const m = runAsm(`
    mov x0, #-1
    mov x1, #-1
    mul x2, x0, x1
    umulh x3, x0, x1
    smulh x4, x0, x1
    mov x5, #100
    udiv x6, x5, xzr
    sdiv x7, x0, x5
    mov x8, #0x8000000000000000
    sdiv x9, x8, x0
    clz x10, xzr
    cls x11, x0
    mov x12, #1
    rbit x13, x12
    ldr x14, =0x0102030405060708
    rev x15, x14
    rev32 x16, x14
    rev16 w17, w14
    mov w18, #0xffffffff
    mov x19, #0x61
    crc32b w20, w18, w19
    madd x21, x5, x5, x12
    msub x22, x5, x5, x12
    umaddl x23, w0, w0, xzr
    smaddl x24, w0, w0, xzr
    b 1f
    .ltorg
1:
  `);
  assert.equal(x(m, 2), 1n);
  assert.equal(x(m, 3), M64 - 1n);
  assert.equal(x(m, 4), 0n);
  assert.equal(x(m, 6), 0n);
  assert.equal(x(m, 7), 0n);
  assert.equal(x(m, 9), 1n << 63n);
  assert.equal(x(m, 10), 64n);
  assert.equal(x(m, 11), 63n);
  assert.equal(x(m, 13), 1n << 63n);
  assert.equal(x(m, 15), 0x0807060504030201n);
  assert.equal(x(m, 16), 0x0403020108070605n);
  assert.equal(x(m, 17), 0x06050807n);
  // crc32 of "a" = 0xe8b7be43 = ~crc32b(0xffffffff, 'a')
  assert.equal(x(m, 20) ^ 0xffffffffn, 0xe8b7be43n);
  assert.equal(x(m, 21), 10001n);
  assert.equal(x(m, 22), (1n - 10000n) & M64);
  assert.equal(x(m, 23), 0xfffffffe00000001n);
  assert.equal(x(m, 24), 1n);
});
