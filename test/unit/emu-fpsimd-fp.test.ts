/**
 * Architecture-level checks of FP/SIMD edge cases (values from the Arm ARM
 * rules and IEEE 754, not from an implementation): fused multiply-add
 * exactness, NaN propagation, FZ/DN, rounding modes, saturation, flags,
 * narrowing/saturating integer lanes, and UNDEF for absent extensions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFpSimd, fpsimdFeatures } from '../../src/engines/emu/fpsimd/index.js';
import { makeCtx, setV, getV, type FakeCtx } from './emu-fpsimd-ctx.js';

const f64 = new Float64Array(1), u64 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
function setD(ctx: FakeCtx, n: number, x: number): void { f64[0] = x; setV(ctx, n, [u64[0], u64[1], 0xdead, 0xbeef]); }
function setDBits(ctx: FakeCtx, n: number, hi: number, lo = 0): void { setV(ctx, n, [lo, hi, 0xdead, 0xbeef]); }
function setS(ctx: FakeCtx, n: number, x: number): void { f32[0] = x; setV(ctx, n, [u32[0], 0x1234, 0xdead, 0xbeef]); }
function getD(ctx: FakeCtx, n: number): number { u64[0] = ctx.v[4 * n]; u64[1] = ctx.v[4 * n + 1]; return f64[0]; }
function getS(ctx: FakeCtx, n: number): number { u32[0] = ctx.v[4 * n]; return f32[0]; }
function run(ctx: FakeCtx, insn: number): void { assert.equal(execFpSimd(ctx, insn), true, `insn ${insn.toString(16)} UNDEF`); }

const IOC = 1, DZC = 2, OFC = 4, UFC = 8, IXC = 16, IDC = 128, QC = 1 << 27;
const FZ = 1 << 24, DN = 1 << 25, RP = 1 << 22, RM = 2 << 22, RZ = 3 << 22;

test('FMADD (double) is fused: (1+2^-30)^2 - (1+2^-29) = 2^-60 exactly', () => {
  const ctx = makeCtx();
  setD(ctx, 1, 1 + 2 ** -30); setD(ctx, 2, 1 + 2 ** -30); setD(ctx, 3, -(1 + 2 ** -29));
  run(ctx, 0x1f420c20); // fmadd d0, d1, d2, d3
  assert.equal(getD(ctx, 0), 2 ** -60);
  assert.deepEqual(getV(ctx, 0).slice(2), [0, 0], 'upper 64 bits cleared');
  assert.equal(ctx.fpsr, 0, 'exact: no flags');
});

test('FMADD (single) is fused too', () => {
  const ctx = makeCtx();
  setS(ctx, 1, 1 + 2 ** -12); setS(ctx, 2, 1 + 2 ** -12); setS(ctx, 3, -(1 + 2 ** -11));
  run(ctx, 0x1f020c20); // fmadd s0, s1, s2, s3
  assert.equal(getS(ctx, 0), 2 ** -24);
  assert.equal(ctx.v[1], 0, 'bits above the single cleared');
});

test('NaN propagation: signalling NaN wins and is quietened (IOC); first operand wins among quiet NaNs', () => {
  const ctx = makeCtx();
  setDBits(ctx, 1, 0x7ff80000, 1); // qNaN payload 1
  setDBits(ctx, 2, 0x7ff00000, 2); // sNaN payload 2
  run(ctx, 0x1e622820); // fadd d0, d1, d2
  assert.deepEqual(getV(ctx, 0), [2, 0x7ff80000, 0, 0]);
  assert.equal(ctx.fpsr, IOC);
  setDBits(ctx, 2, 0xfff80000, 3); ctx.fpsr = 0;
  run(ctx, 0x1e622820);
  assert.deepEqual(getV(ctx, 0), [1, 0x7ff80000, 0, 0]);
  assert.equal(ctx.fpsr, 0);
  ctx.fpcr = DN;
  run(ctx, 0x1e622820);
  assert.deepEqual(getV(ctx, 0), [0, 0x7ff80000, 0, 0], 'DN gives the default NaN');
});

test('invalid operations give the default NaN (positive) and IOC; x/0 gives DZC', () => {
  const ctx = makeCtx();
  setD(ctx, 1, Infinity); setD(ctx, 2, Infinity);
  run(ctx, 0x1e623820); // fsub d0, d1, d2: inf - inf
  assert.deepEqual(getV(ctx, 0), [0, 0x7ff80000, 0, 0]);
  assert.equal(ctx.fpsr, IOC);
  ctx.fpsr = 0; setS(ctx, 1, -3); setS(ctx, 2, 0);
  run(ctx, 0x1e221820); // fdiv s0, s1, s2
  assert.equal(getS(ctx, 0), -Infinity);
  assert.equal(ctx.fpsr, DZC);
  ctx.fpsr = 0; setD(ctx, 1, -1);
  run(ctx, 0x1e61c020); // fsqrt d0, d1
  assert.equal(ctx.v[1], 0x7ff80000);
  assert.equal(ctx.fpsr, IOC);
});

test('signed zeros: x + -x is +0, but -0 when rounding toward minus infinity', () => {
  const ctx = makeCtx();
  setD(ctx, 1, 1.5); setD(ctx, 2, 1.5);
  run(ctx, 0x1e623820); // fsub d0, d1, d2
  assert.ok(Object.is(getD(ctx, 0), 0));
  ctx.fpcr = RM;
  run(ctx, 0x1e623820);
  assert.ok(Object.is(getD(ctx, 0), -0));
});

test('FZ flushes denormal inputs (IDC) and tiny results (UFC) to signed zero', () => {
  const ctx = makeCtx();
  ctx.fpcr = FZ;
  setS(ctx, 1, -(2 ** -140)); setS(ctx, 2, 1);
  run(ctx, 0x1e220820); // fmul s0, s1, s2
  assert.ok(Object.is(getS(ctx, 0), -0));
  assert.equal(ctx.fpsr, IDC);
  ctx.fpsr = 0; setS(ctx, 1, 2 ** -100); setS(ctx, 2, 2 ** -30);
  run(ctx, 0x1e220820);
  assert.ok(Object.is(getS(ctx, 0), 0));
  assert.equal(ctx.fpsr, UFC);
  ctx.fpcr = 0; ctx.fpsr = 0;
  run(ctx, 0x1e220820);
  assert.equal(getS(ctx, 0), 2 ** -130, 'without FZ the exact denormal is kept');
  assert.equal(ctx.fpsr, 0);
});

test('overflow: OFC+IXC, infinity under RN, largest finite under RZ', () => {
  const ctx = makeCtx();
  setS(ctx, 1, 3e38); setS(ctx, 2, 3e38);
  run(ctx, 0x1e222820); // fadd s0, s1, s2
  assert.equal(getS(ctx, 0), Infinity);
  assert.equal(ctx.fpsr, OFC | IXC);
  ctx.fpcr = RZ; ctx.fpsr = 0;
  run(ctx, 0x1e222820);
  assert.equal(ctx.v[0], 0x7f7fffff);
});

test('directed rounding of an inexact add (single): RP rounds up, RM and RZ down', () => {
  const ctx = makeCtx();
  setS(ctx, 1, 1); setS(ctx, 2, 2 ** -30);
  for (const [mode, exp] of [[0, 1], [RP, 1 + 2 ** -23], [RM, 1], [RZ, 1]]) {
    ctx.fpcr = mode; ctx.fpsr = 0;
    run(ctx, 0x1e222820);
    assert.equal(getS(ctx, 0), exp, `mode ${mode >> 22}`);
    assert.equal(ctx.fpsr, IXC);
  }
});

test('FRINT variants on 2.5 and -0.5', () => {
  const ctx = makeCtx();
  const cases: [number, number, number][] = [
    [0x1e644020, 2.5, 2], [0x1e664020, 2.5, 3], [0x1e654020, -0.5, -1], [0x1e64c020, -0.5, -0], [0x1e644020, -0.4, -0],
  ];
  for (const [insn, x, exp] of cases) {
    setD(ctx, 1, x);
    run(ctx, insn);
    assert.ok(Object.is(getD(ctx, 0), exp), `${insn.toString(16)}(${x}) = ${getD(ctx, 0)}`);
  }
  ctx.fpsr = 0; ctx.fpcr = RP; setD(ctx, 1, 1.25);
  run(ctx, 0x1e67c020); // frinti uses FPCR
  assert.equal(getD(ctx, 0), 2);
  assert.equal(ctx.fpsr, 0, 'FRINTI does not raise Inexact');
  run(ctx, 0x1e674020); // frintx
  assert.equal(ctx.fpsr, IXC);
});

test('FCVTZS/FCVTZU saturate: NaN -> 0, overflow -> limits, with IOC', () => {
  const ctx = makeCtx();
  const cases: [number, (c: FakeCtx) => void, bigint, number][] = [
    [0x1e380020, (c) => setS(c, 1, NaN), 0n, IOC],
    [0x1e380020, (c) => setS(c, 1, 3e9), 0x7fffffffn, IOC],
    [0x1e380020, (c) => setS(c, 1, -3e9), 0x80000000n, IOC],
    [0x1e380020, (c) => setS(c, 1, -2.75), 0xfffffffen, IXC],
    [0x9e780020, (c) => setD(c, 1, -1e300), 0x8000000000000000n, IOC],
    [0x9e780020, (c) => setD(c, 1, 2 ** 62 + 2048), 0x4000000000000800n, 0],
    [0x1e790020, (c) => setD(c, 1, -0.5), 0n, IXC],
    [0x1e790020, (c) => setD(c, 1, -1), 0n, IOC],
  ];
  for (const [insn, prep, exp, flags] of cases) {
    prep(ctx); ctx.fpsr = 0; ctx.x[0] = 0x5555n;
    run(ctx, insn);
    assert.equal(ctx.x[0], exp, `${insn.toString(16)}`);
    assert.equal(ctx.fpsr, flags);
  }
});

test('FCMP / FCMPE set NZCV; FCMPE signals on quiet NaN, FCMP does not', () => {
  const ctx = makeCtx();
  setD(ctx, 1, 1); setD(ctx, 2, 2);
  run(ctx, 0x1e622020); assert.equal(ctx.nzcv, 0b1000);
  setD(ctx, 1, 2); run(ctx, 0x1e622020); assert.equal(ctx.nzcv, 0b0110);
  setD(ctx, 1, 3); run(ctx, 0x1e622020); assert.equal(ctx.nzcv, 0b0010);
  setD(ctx, 1, NaN); run(ctx, 0x1e622020); assert.equal(ctx.nzcv, 0b0011);
  assert.equal(ctx.fpsr, 0);
  setS(ctx, 1, NaN); setS(ctx, 2, 0);
  run(ctx, 0x1e222030); // fcmpe s1, s2
  assert.equal(ctx.nzcv, 0b0011);
  assert.equal(ctx.fpsr, IOC);
});

test('half-precision conversions round to nearest even and handle overflow', () => {
  const ctx = makeCtx();
  setS(ctx, 1, 1 + 2 ** -11); // exactly halfway between two halves -> even (1.0)
  run(ctx, 0x1e23c020); // fcvt h0, s1
  assert.deepEqual(getV(ctx, 0), [0x3c00, 0, 0, 0]);
  setS(ctx, 1, 65520); run(ctx, 0x1e23c020);
  assert.equal(ctx.v[0], 0x7c00);
  assert.equal(ctx.fpsr & (OFC | IXC), OFC | IXC);
  setV(ctx, 1, [0x0001, 0, 0, 0]); // smallest half denormal
  run(ctx, 0x1ee24020); // fcvt s0, h1
  assert.equal(getS(ctx, 0), 2 ** -24);
});

test('SCVTF/UCVTF from 64-bit registers round per FPCR', () => {
  const ctx = makeCtx();
  ctx.x[1] = (1n << 53n) + 1n;
  run(ctx, 0x9e630020); // ucvtf d0, x1
  assert.equal(getD(ctx, 0), 2 ** 53);
  assert.equal(ctx.fpsr, IXC);
  ctx.fpcr = RP;
  run(ctx, 0x9e630020);
  assert.equal(getD(ctx, 0), 2 ** 53 + 2);
  ctx.fpcr = 0; ctx.x[1] = 0xffffffffffffffffn;
  run(ctx, 0x9e220020); // scvtf s0, x1 (-1)
  assert.equal(getS(ctx, 0), -1);
});

test('FMAX/FMIN order signed zeros; FMAXNM prefers the number over a quiet NaN', () => {
  const ctx = makeCtx();
  setS(ctx, 1, -0); setS(ctx, 2, 0);
  run(ctx, 0x1e224820); assert.ok(Object.is(getS(ctx, 0), 0)); // fmax
  setD(ctx, 1, 0); setD(ctx, 2, -0);
  run(ctx, 0x1e625820); assert.ok(Object.is(getD(ctx, 0), -0)); // fmin
  setS(ctx, 1, NaN); setS(ctx, 2, 7);
  run(ctx, 0x1e226820); assert.equal(getS(ctx, 0), 7); // fmaxnm
});

test('integer lanes: SQADD saturates and sets QC; USHR #8 on bytes is 0; SSHR #16 on halves is the sign', () => {
  const ctx = makeCtx();
  setV(ctx, 1, [0x7f80017f, 0, 0, 0]); setV(ctx, 2, [0x01ff0101, 0, 0, 0]);
  run(ctx, 0x4e220c20); // sqadd v0.16b
  assert.equal(ctx.v[0], 0x7f80027f);
  assert.equal(ctx.fpsr, QC);
  setV(ctx, 1, [0xffffffff, 0xffffffff, 0x80, 0x12345678]);
  run(ctx, 0x6f080420); // ushr v0.16b, v1.16b, #8
  assert.deepEqual(getV(ctx, 0), [0, 0, 0, 0]);
  setV(ctx, 1, [0x80007fff, 0, 0, 0xffff0001]);
  run(ctx, 0x4f100420); // sshr v0.8h, v1.8h, #16
  assert.deepEqual(getV(ctx, 0), [0xffff0000, 0, 0, 0xffff0000]);
});

test('narrowing: SHRN takes the shifted low half, UQXTN saturates; the 64-bit result clears the top', () => {
  const ctx = makeCtx();
  setV(ctx, 0, [1, 2, 3, 4]);
  setV(ctx, 1, [0x00ff1234, 0x01000010, 0xabcd0000, 0x0000ffff]);
  run(ctx, 0x0f0c8420); // shrn v0.8b, v1.8h, #4
  assert.deepEqual(getV(ctx, 0), [0x10010f23, 0x00ffbc00, 0, 0]); // bytes 23 0f 01 10 00 bc ff 00
  run(ctx, 0x2e214820); // uqxtn v0.8b, v1.8h
  assert.deepEqual(getV(ctx, 0), [0xff10ffff, 0x00ffff00, 0, 0]); // ff ff 10 ff 00 ff ff 00
});

test('string-function idioms: CMEQ, UMAXP, ADDV', () => {
  const ctx = makeCtx();
  setV(ctx, 1, [0x00616263, 0x64006566, 0x67686900, 0x6a6b6c6d]);
  setV(ctx, 2, [0, 0, 0, 0]);
  run(ctx, 0x6e228c20); // cmeq v0.16b, v1.16b, v2.16b
  assert.deepEqual(getV(ctx, 0), [0xff000000, 0x00ff0000, 0x000000ff, 0]);
  setV(ctx, 1, getV(ctx, 0));
  run(ctx, 0x6e22a420); // umaxp v0.16b, v1.16b, v2.16b
  assert.deepEqual(getV(ctx, 0), [0xff00ff00, 0x000000ff, 0, 0]); // pair maxima 00 ff 00 ff ff 00 00 00, then v2's
  setV(ctx, 1, [0x01010101, 0x01010101, 0x01010101, 0xff010101]);
  run(ctx, 0x4e31b820); // addv b0, v1.16b: 15 + 255 = 270 -> 14
  assert.deepEqual(getV(ctx, 0), [14, 0, 0, 0]);
});

test('absent optional extensions are UNDEF (FP16, dot product, crypto unless enabled, RDM, JSCVT)', () => {
  const ctx = makeCtx();
  const saved = fpsimdFeatures.crypto;
  fpsimdFeatures.crypto = false;
  for (const insn of [0x1ee22820 /* fadd h0 */, 0x4e829420 /* sdot */, 0x4e284820 /* aese */, 0x5e024020 /* sha256h */,
    0x6e828420 /* sqrdmlah */, 0x1e7e0020 /* fjcvtzs */]) {
    assert.equal(execFpSimd(ctx, insn), false, insn.toString(16));
  }
  assert.equal(execFpSimd(ctx, 0x0e22d420), true, 'fadd v0.2s is allocated');
  fpsimdFeatures.crypto = true;
  assert.equal(execFpSimd(ctx, 0x4e284820), true, 'aese once crypto is enabled');
  fpsimdFeatures.crypto = saved;
});
