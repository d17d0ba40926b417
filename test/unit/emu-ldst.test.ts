import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODE, HAVE_AS, runAsm, x } from './emu-asm.js';

const skip = HAVE_AS ? false : 'aarch64-linux-gnu-as not installed';
const DATA = CODE + 0x10000;
const M64 = (1n << 64n) - 1n;

function withData(bytes: number[]) {
  return (m: import('../../src/engines/emu/raw-runner.js').RawMachine) => {
    m.memory.writeBytes(DATA, Uint8Array.from(bytes));
    m.cpu.setX(0, BigInt(DATA));
  };
}

test('loads: sizes, sign extension, unscaled, register offset with extend', { skip }, () => {
  const m = runAsm(
    `
    ldrb w1, [x0]
    ldrsb x2, [x0, #1]
    ldrsb w3, [x0, #1]
    ldrh w4, [x0, #2]
    ldrsh x5, [x0, #2]
    ldr w6, [x0, #4]
    ldrsw x7, [x0, #4]
    ldr x8, [x0, #8]
    ldur x9, [x0, #1]
    mov w10, #-8
    add x11, x0, #16
    ldr x12, [x11, w10, sxtw]
    mov x13, #1
    ldr x14, [x0, x13, lsl #3]
    ldr w15, [x0, w13, uxtw #2]
  `,
    withData([0x81, 0xfe, 0x34, 0x92, 0x00, 0x00, 0x00, 0x80, 1, 2, 3, 4, 5, 6, 7, 8]),
  );
  assert.equal(x(m, 1), 0x81n);
  assert.equal(x(m, 2), M64 - 1n);
  assert.equal(x(m, 3), 0xfffffffen);
  assert.equal(x(m, 4), 0x9234n);
  assert.equal(x(m, 5), 0xffffffffffff9234n);
  assert.equal(x(m, 6), 0x80000000n);
  assert.equal(x(m, 7), 0xffffffff80000000n);
  assert.equal(x(m, 8), 0x0807060504030201n);
  assert.equal(x(m, 9), 0x01800000009234fen);
  assert.equal(x(m, 12), 0x0807060504030201n);
  assert.equal(x(m, 14), 0x0807060504030201n);
  assert.equal(x(m, 15), 0x80000000n);
});

test('stores, pre/post-index writeback, pairs, LDPSW', { skip }, () => {
  const m = runAsm(
    `
    ldr x1, =0x1122334455667788
    str x1, [x0], #8
    strb w1, [x0, #1]!
    strh w1, [x0, #2]
    mov x2, x0
    ldr x3, =0xfffffffe00000005
    add x4, x0, #16
    stp x1, x3, [x4, #16]!
    ldp x5, x6, [x4], #16
    ldpsw x7, x8, [x4, #-8]
    add x9, x4, #0
    sub x10, x9, x4
    ldr x11, [x2, #-9]
    ldr x12, [x2, #-1]
    b 1f
    .ltorg
1:
  `,
    withData(new Array(128).fill(0)),
  );
  assert.equal(x(m, 0), BigInt(DATA + 9));
  assert.equal(x(m, 11), 0x1122334455667788n);
  assert.equal(x(m, 12), 0x0000007788008800n);
  assert.equal(x(m, 4), BigInt(DATA + 9 + 16 + 16 + 16));
  assert.equal(x(m, 5), 0x1122334455667788n);
  assert.equal(x(m, 6), 0xfffffffe00000005n);
  assert.equal(x(m, 7), 5n); // LDPSW: the words of x3, sign-extended
  assert.equal(x(m, 8), 0xfffffffffffffffen);
  const bytes = m.memory.readBytes(DATA, 16);
  assert.deepEqual([...bytes.slice(8, 14)], [0, 0x88, 0, 0x88, 0x77, 0]);
});

test('literal loads, exclusives with the local monitor, LDAR/STLR', { skip }, () => {
  const m = runAsm(
    `
    ldr w1, lit
    ldrsw x2, lit
    ldxr x3, [x0]
    add x3, x3, #1
    stxr w4, x3, [x0]
    stxr w5, x3, [x0]
    ldaxp x6, x7, [x0]
    clrex
    stlxp w8, x6, x7, [x0]
    ldxr w9, [x0]
    stlxr w10, w9, [x0]
    mov x11, #42
    stlr x11, [x0, #0]
    ldar x12, [x0]
    b 1f
lit: .word 0x80000001
1:
  `,
    withData([5, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]),
  );
  assert.equal(x(m, 1), 0x80000001n);
  assert.equal(x(m, 2), 0xffffffff80000001n);
  assert.equal(x(m, 3), 6n);
  assert.equal(x(m, 4), 0n, 'first STXR succeeds');
  assert.equal(x(m, 5), 1n, 'second STXR fails: monitor cleared');
  assert.equal(x(m, 6), 6n);
  assert.equal(x(m, 7), 9n);
  assert.equal(x(m, 8), 1n, 'STLXP after CLREX fails');
  assert.equal(x(m, 10), 0n);
  assert.equal(x(m, 12), 42n);
});

test('DC ZVA zeroes a 64-byte aligned block; DCZID reports 64 bytes', { skip }, () => {
  const m = runAsm(
    `
    add x1, x0, #70
    dc zva, x1
    mrs x2, dczid_el0
  `,
    withData(new Array(256).fill(0xaa)),
  );
  const b = m.memory.readBytes(DATA, 256);
  assert.equal(b[63], 0xaa);
  assert.ok(b.slice(64, 128).every((v) => v === 0));
  assert.equal(b[128], 0xaa);
  assert.equal(x(m, 2), 4n);
});

test('SIMD&FP register loads/stores: Q, D, S, B, pairs; writes clear upper bits', { skip }, () => {
  const m = runAsm(
    `
    ldr q0, [x0]
    ldr d1, [x0, #8]
    ldr s2, [x0, #4]
    ldr b3, [x0, #15]
    ldp q4, q5, [x0]
    stp d1, d2, [x0, #32]
    str q0, [x0, #48]
    ldur h6, [x0, #1]
  `,
    withData(Array.from({ length: 64 }, (_, i) => i)),
  );
  const v = m.cpu.v;
  assert.deepEqual([...v.slice(0, 4)], [0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c]);
  assert.deepEqual([...v.slice(4, 8)], [0x0b0a0908, 0x0f0e0d0c, 0, 0]);
  assert.deepEqual([...v.slice(8, 12)], [0x07060504, 0, 0, 0]);
  assert.deepEqual([...v.slice(12, 16)], [0x0f, 0, 0, 0]);
  assert.deepEqual([...v.slice(20, 24)], [0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c]);
  assert.deepEqual([...v.slice(24, 28)], [0x0201, 0, 0, 0]);
  const b = m.memory.readBytes(DATA + 32, 32);
  assert.deepEqual([...b.slice(0, 12)], [8, 9, 10, 11, 12, 13, 14, 15, 4, 5, 6, 7]);
  assert.deepEqual([...b.slice(16, 32)], Array.from({ length: 16 }, (_, i) => i));
});
