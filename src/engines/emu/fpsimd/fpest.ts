/**
 * Reciprocal and reciprocal-square-root estimates (FRECPE, FRSQRTE, URECPE,
 * URSQRTE) and FRECPX, bit-exact to the ARMv8.0 pseudocode (8-bit estimate
 * tables computed by RecipEstimate / RecipSqrtEstimate; FEAT_RPRES absent).
 * Work on raw bits: single as one word, double as a BigInt (rare ops).
 */
import { S } from './fpcore.js';
import { FPSR_IOC, FPSR_DZC, FPSR_OFC, FPSR_UFC, FPSR_IXC, FPSR_IDC, RN, RP, RM } from './views.js';

export function recipEstimate(a: number): number {
  a = a * 2 + 1;
  const b = Math.floor((1 << 19) / a);
  return (b + 1) >> 1;
}

export function recipSqrtEstimate(a: number): number {
  if (a < 256) a = a * 2 + 1;
  else { a = (a >> 1) << 1; a = (a + 1) * 2; }
  let b = 512;
  while (a * (b + 1) * (b + 1) < 2 ** 28) b++;
  return (b + 1) >> 1;
}

interface Fmt { E: number; F: number; bias: number }
const F32: Fmt = { E: 8, F: 23, bias: 127 }, F64: Fmt = { E: 11, F: 52, bias: 1023 };

/** Split bits into sign/exp/fraction; apply FZ (denormal -> zero, IDC). */
function unpack(bits: bigint, f: Fmt): { sign: bigint; exp: number; frac: bigint; nan: boolean; snan: boolean; inf: boolean; zero: boolean } {
  const sign = bits >> BigInt(f.E + f.F);
  const exp = Number((bits >> BigInt(f.F)) & BigInt((1 << f.E) - 1));
  let frac = bits & ((1n << BigInt(f.F)) - 1n);
  const maxE = (1 << f.E) - 1;
  const nan = exp === maxE && frac !== 0n;
  const snan = nan && (frac >> BigInt(f.F - 1)) === 0n;
  if (exp === 0 && frac !== 0n && S.fz) { S.flags |= FPSR_IDC; frac = 0n; }
  return { sign, exp, frac, nan, snan, inf: exp === maxE && frac === 0n, zero: exp === 0 && frac === 0n };
}

function pack(sign: bigint, exp: number, frac: bigint, f: Fmt): bigint {
  return (sign << BigInt(f.E + f.F)) | (BigInt(exp) << BigInt(f.F)) | frac;
}

/** Propagate a NaN operand (quietened) or the default NaN. */
function nanOut(bits: bigint, snan: boolean, f: Fmt): bigint {
  if (snan) S.flags |= FPSR_IOC;
  if (S.dn) return pack(0n, (1 << f.E) - 1, 1n << BigInt(f.F - 1), f);
  return bits | (1n << BigInt(f.F - 1));
}

export function frecpe(bits: bigint, single: boolean): bigint {
  const f = single ? F32 : F64;
  const u = unpack(bits, f);
  const maxE = (1 << f.E) - 1;
  if (u.nan) return nanOut(bits, u.snan, f);
  if (u.inf) return pack(u.sign, 0, 0n, f);
  if (u.zero) { S.flags |= FPSR_DZC; return pack(u.sign, maxE, 0n, f); }
  // |value| < 2^-(bias+1): the reciprocal overflows.
  const fracTop2 = Number(u.frac >> BigInt(f.F - 2));
  if (u.exp === 0 && fracTop2 === 0) {
    const rm = S.rm;
    const toInf = rm === RN || (rm === RP && u.sign === 0n) || (rm === RM && u.sign === 1n);
    S.flags |= FPSR_OFC | FPSR_IXC;
    return toInf ? pack(u.sign, maxE, 0n, f) : pack(u.sign, maxE - 1, (1n << BigInt(f.F)) - 1n, f);
  }
  if (S.fz && u.exp >= 2 * f.bias - 1) { S.flags |= FPSR_UFC; return pack(u.sign, 0, 0n, f); }
  // 52-bit fraction view as in the pseudocode.
  let frac = u.frac << BigInt(52 - f.F), exp = u.exp;
  if (exp === 0) {
    if (((frac >> 51n) & 1n) === 0n) { exp = -1; frac = (frac << 2n) & ((1n << 52n) - 1n); }
    else frac = (frac << 1n) & ((1n << 52n) - 1n);
  }
  const scaled = 256 + Number(frac >> 44n);
  let rexp = (single ? 253 : 2045) - exp;
  const est = recipEstimate(scaled);
  let rf = BigInt(est & 0xff) << 44n;
  if (rexp === 0) rf = (1n << 51n) | (rf >> 1n);
  else if (rexp === -1) { rf = (1n << 50n) | (rf >> 2n); rexp = 0; }
  return pack(u.sign, rexp, rf >> BigInt(52 - f.F), f);
}

export function frsqrte(bits: bigint, single: boolean): bigint {
  const f = single ? F32 : F64;
  const u = unpack(bits, f);
  const maxE = (1 << f.E) - 1;
  if (u.nan) return nanOut(bits, u.snan, f);
  if (u.zero) { S.flags |= FPSR_DZC; return pack(u.sign, maxE, 0n, f); }
  if (u.sign === 1n) { S.flags |= FPSR_IOC; return pack(0n, maxE, 1n << BigInt(f.F - 1), f); }
  if (u.inf) return 0n;
  let frac = u.frac << BigInt(52 - f.F), exp = u.exp;
  const M52 = (1n << 52n) - 1n;
  if (exp === 0) {
    while (((frac >> 51n) & 1n) === 0n) { frac = (frac << 1n) & M52; exp--; }
    frac = (frac << 1n) & M52;
  }
  const scaled = (exp & 1) === 0 ? 256 + Number(frac >> 44n) : 128 + Number(frac >> 45n);
  const rexp = Math.floor(((single ? 380 : 3068) - exp) / 2);
  const est = recipSqrtEstimate(scaled);
  return pack(0n, rexp, (BigInt(est & 0xff) << 44n) >> BigInt(52 - f.F), f);
}

export function frecpx(bits: bigint, single: boolean): bigint {
  const f = single ? F32 : F64;
  const u = unpack(bits, f);
  if (u.nan) return nanOut(bits, u.snan, f);
  const maxE = (1 << f.E) - 1;
  return pack(u.sign, u.exp === 0 ? maxE - 1 : ~u.exp & maxE, 0n, f);
}

export function urecpe(w: number): number {
  if ((w >>> 31) === 0) return 0xffffffff;
  return (recipEstimate(w >>> 23 & 0x1ff) << 23) >>> 0;
}

export function ursqrte(w: number): number {
  if ((w >>> 30) === 0) return 0xffffffff;
  return (recipSqrtEstimate(w >>> 23 & 0x1ff) << 23) >>> 0;
}

