/**
 * IEEE 754 arithmetic with Arm semantics (FPCR.RMode, FZ, DN; FPSR flags; Arm
 * NaN propagation), on JS numbers.
 *
 * How results are rounded: every op first computes the round-to-nearest-even
 * double `d` of the exact result x plus es = sign(x - d) (exact, from an
 * error-free transformation or, where that is unsafe, BigInt arithmetic).
 * `fin` then rounds d to the target format (single via Math.fround, which is
 * correct because a double has more than 2*24+2 bits; the one double-rounding
 * hazard, d exactly on a single midpoint with es != 0, is fixed explicitly),
 * applies a directed rounding mode by stepping one ulp in the direction es
 * says, and raises IXC/OFC/UFC and FZ flushing.
 *
 * NaNs: a JS number cannot carry a NaN payload reliably, so ops return NaN and
 * leave in `S.nanSel` which operand (1..3, 0 = default NaN) the caller must
 * copy, quietened, from the register file (see fplane.ts).
 */
import { FPSR_IOC, FPSR_DZC, FPSR_OFC, FPSR_UFC, FPSR_IXC, FPSR_IDC, FPCR_DN, FPCR_FZ, FPCR_AHP, RN, RP, RM, RZ } from './views.js';

/**
 * Per-instruction FP state, loaded from FPCR by fpBegin; callers OR `flags` into FPSR.
 * nanSel: operand (1..3) whose NaN the result propagates, 0 = default NaN.
 * nanNeg: bit 0 negate a NaN result (FNMUL), bit k operand k was negated before
 * NaN selection (FMSUB, FMLS, FRECPS...), bit 8 clear the NaN's sign (FABD).
 */
export const S = { fz: false, dn: false, ahp: false, rm: RN, flags: 0, nanSel: 0, nanNeg: 0 };

export function fpBegin(fpcr: number): void {
  S.fz = (fpcr & FPCR_FZ) !== 0;
  S.dn = (fpcr & FPCR_DN) !== 0;
  S.ahp = (fpcr & FPCR_AHP) !== 0;
  S.rm = (fpcr >>> 22) & 3;
  S.flags = 0;
}

export const MIN_NORMAL32 = 2 ** -126, MIN_NORMAL64 = 2 ** -1022;
const QBIT32 = 1 << 22, QBIT64 = 1 << 19;

/** Is the NaN whose top word is w signalling? (w = bits for single, high word for double) */
export function isSNaNWord(w: number, single: boolean): boolean {
  return (w & (single ? QBIT32 : QBIT64)) === 0;
}

/** FZ input flush: denormal operands become signed zero and raise IDC. */
export function flushIn(x: number, single: boolean): number {
  if (S.fz && x !== 0 && Math.abs(x) < (single ? MIN_NORMAL32 : MIN_NORMAL64)) {
    S.flags |= FPSR_IDC;
    return x * 0;
  }
  return x;
}

function invalid(): number { S.flags |= FPSR_IOC; S.nanSel = 0; return NaN; }

/** FPProcessNaNs for two operands (at least one is NaN). */
export function nan2(a: number, b: number, aw: number, bw: number, single: boolean): number {
  const an = a !== a, bn = b !== b;
  if (an && isSNaNWord(aw, single)) { S.flags |= FPSR_IOC; S.nanSel = 1; }
  else if (bn && isSNaNWord(bw, single)) { S.flags |= FPSR_IOC; S.nanSel = 2; }
  else S.nanSel = an ? 1 : 2;
  return NaN;
}

/** FPProcessNaNs3 in operand order 1, 2, 3 (at least one is NaN). */
export function nan3(a: number, b: number, c: number, aw: number, bw: number, cw: number, single: boolean): number {
  if (a !== a && isSNaNWord(aw, single)) { S.flags |= FPSR_IOC; S.nanSel = 1; }
  else if (b !== b && isSNaNWord(bw, single)) { S.flags |= FPSR_IOC; S.nanSel = 2; }
  else if (c !== c && isSNaNWord(cw, single)) { S.flags |= FPSR_IOC; S.nanSel = 3; }
  else S.nanSel = a !== a ? 1 : b !== b ? 2 : 3;
  return NaN;
}

/** FPProcessNaN for one operand. */
export function nan1(aw: number, single: boolean): number {
  if (isSNaNWord(aw, single)) S.flags |= FPSR_IOC;
  S.nanSel = 1;
  return NaN;
}

// ---- ulp stepping -------------------------------------------------------
const cvb = new ArrayBuffer(8);
const cf64 = new Float64Array(cvb), cf32 = new Float32Array(cvb), cu32 = new Uint32Array(cvb);

export function nextUp(x: number, single: boolean): number {
  if (x !== x || x === Infinity) return x;
  if (x === 0) return single ? 2 ** -149 : Number.MIN_VALUE;
  if (single) {
    cf32[0] = x;
    cu32[0] = x > 0 ? cu32[0] + 1 : cu32[0] - 1;
    return cf32[0];
  }
  cf64[0] = x;
  // Step the 64-bit pattern as two words (the typed array wraps each word).
  if (x > 0) { cu32[0] = cu32[0] + 1; if (cu32[0] === 0) cu32[1] = cu32[1] + 1; }
  else { if (cu32[0] === 0) cu32[1] = cu32[1] - 1; cu32[0] = cu32[0] - 1; }
  return cf64[0];
}
export function nextDown(x: number, single: boolean): number { return -nextUp(-x, single); }

/**
 * Round the exact result x (given as its RNE double d and es = sign(x - d)) to
 * the target format under FPCR, raising flags. Only called for results of
 * finite operands.
 */
export function fin(d: number, es: number, single: boolean): number {
  let r = d;
  if (single) {
    r = Math.fround(d);
    if (r !== d) {
      if (es !== 0 && r - r === 0) {
        // d on a single-precision midpoint: the discarded es decides the side.
        const o = d > r ? nextUp(r, true) : nextDown(r, true);
        if (d - r === o - d && (es > 0) === (o > r)) r = o;
      }
      es = d > r ? 1 : -1;
    }
  }
  const minN = single ? MIN_NORMAL32 : MIN_NORMAL64;
  const a = Math.abs(r);
  const tiny = a < minN || (a === minN && (r > 0 ? es < 0 : es > 0));
  if (tiny && S.fz && (r !== 0 || es !== 0)) {
    S.flags |= FPSR_UFC;
    return r * 0;
  }
  if (es === 0) return r;
  S.flags |= FPSR_IXC;
  if (tiny) S.flags |= FPSR_UFC;
  let ovf = r - r !== 0;
  switch (S.rm) {
    case RP: if (es > 0) r = nextUp(r, single); break;
    case RM: if (es < 0) r = nextDown(r, single); break;
    case RZ:
      if (r > 0 || (r === 0 && 1 / r > 0)) { if (es < 0) r = nextDown(r, single); }
      else if (es > 0) r = nextUp(r, single);
      break;
  }
  if (r - r !== 0) ovf = true;
  if (ovf) S.flags |= FPSR_OFC;
  return r;
}

// ---- exact helpers ------------------------------------------------------
const SPLIT = 134217729; // 2^27 + 1 (Dekker)
/** a*b - p exactly, for operands in the range where Dekker's product is exact. */
function prodErr(a: number, b: number, p: number): number {
  let t = SPLIT * a;
  const ah = t - (t - a), al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}
function dekkerSafe(a: number, b: number, p: number): boolean {
  const ap = Math.abs(p);
  return ap > 2 ** -960 && ap < 2 ** 1000 && Math.abs(a) < 2 ** 990 && Math.abs(b) < 2 ** 990;
}

/** Finite double as mant * 2^exp (mant signed BigInt). */
function decomp(x: number): [bigint, number] {
  cf64[0] = x;
  const hi = cu32[1], lo = cu32[0];
  let e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (e === 0) e = 1; else m |= 1n << 52n;
  return [hi >>> 31 ? -m : m, e - 1075];
}

/** sign(a*b - c), exactly. */
function sgnMulSub(a: number, b: number, c: number): number {
  const [ma, ea] = decomp(a), [mb, eb] = decomp(b), [mc, ec] = decomp(c);
  const ep = ea + eb, E = Math.min(ep, ec);
  const X = ((ma * mb) << BigInt(ep - E)) - (mc << BigInt(ec - E));
  return X > 0n ? 1 : X < 0n ? -1 : 0;
}

function bitLength(m: bigint): number { return m === 0n ? 0 : m.toString(2).length; }

/** x * 2^k for an exactly representable result. */
function ldexp(x: number, k: number): number {
  while (k > 1000) { x *= 2 ** 1000; k -= 1000; }
  while (k < -1000) { x *= 2 ** -1000; k += 1000; }
  return x * 2 ** k;
}

/** Round X*2^E to the nearest double (ties even); sets bigEs = sign(exact - result). */
export let bigEs = 0;
export function bigToDouble(X: bigint, E: number): number {
  if (X === 0n) { bigEs = 0; return 0; }
  const neg = X < 0n;
  const M = neg ? -X : X;
  const L = bitLength(M);
  const e = L - 1 + E;
  let p = 53;
  if (e < -1022) p = 53 - (-1022 - e);
  const shift = L - p;
  let r: number, esMag = 0;
  if (shift <= 0) r = ldexp(Number(M), E);
  else {
    let q = M >> BigInt(shift);
    const rem = M - (q << BigInt(shift));
    if (rem !== 0n) {
      const half = 1n << BigInt(shift - 1);
      if (rem > half || (rem === half && (q & 1n) === 1n)) { q += 1n; esMag = -1; } else esMag = 1;
    }
    r = ldexp(Number(q), E + shift);
  }
  if (r === Infinity) esMag = -1;
  bigEs = neg ? -esMag : esMag;
  return neg ? -r : r;
}

// ---- operations (operands non-NaN, already flushed) ----------------------
/** Signed zero of an exact zero sum: +0 except -0 in round-to-minus or when both terms are -0. */
function zeroSum(a: number, b: number): number {
  if (S.rm === RM) return 1 / a > 0 && 1 / b > 0 ? 0 : -0;
  return a + b;
}

export function fadd(a: number, b: number, single: boolean): number {
  const s = a + b;
  if (a - a !== 0 || b - b !== 0) return s !== s ? invalid() : s;
  if (s === 0) return zeroSum(a, b);
  let es = 0;
  if (s - s === 0) {
    const bp = s - a, ap = s - bp;
    const err = (a - ap) + (b - bp);
    es = err > 0 ? 1 : err < 0 ? -1 : 0;
  } else es = s > 0 ? -1 : 1;
  return fin(s, es, single);
}

export function fmul(a: number, b: number, single: boolean): number {
  const p = a * b;
  if (a - a !== 0 || b - b !== 0) return p !== p ? invalid() : p;
  if (a === 0 || b === 0) return p;
  if (single) return fin(p, 0, true); // a 24x24-bit product is exact in a double
  let es: number;
  if (dekkerSafe(a, b, p)) { const e = prodErr(a, b, p); es = e > 0 ? 1 : e < 0 ? -1 : 0; }
  else if (p - p !== 0) es = p > 0 ? -1 : 1;
  else es = sgnMulSub(a, b, p);
  return fin(p, es, false);
}

export function fdiv(a: number, b: number, single: boolean): number {
  const q = a / b;
  if (a - a !== 0 || b - b !== 0) return q !== q ? invalid() : q;
  if (b === 0) {
    if (a === 0) return invalid();
    S.flags |= FPSR_DZC;
    return q;
  }
  if (a === 0) return q;
  let es: number;
  if (q - q !== 0) es = q > 0 ? -1 : 1;
  else {
    // sign(a/b - q) = sign(a - q*b) * sign(b)
    let s: number;
    if (dekkerSafe(q, b, a)) { const p = q * b; const e = prodErr(q, b, p); const r = (a - p) - e; s = r > 0 ? 1 : r < 0 ? -1 : 0; }
    else s = -sgnMulSub(q, b, a);
    es = b > 0 ? s : -s;
  }
  return fin(q, es, single);
}

export function fsqrt(a: number, single: boolean): number {
  if (a === 0 || a === Infinity) return a;
  if (a < 0) return invalid();
  const r = Math.sqrt(a);
  let s: number;
  if (dekkerSafe(r, r, a)) { const p = r * r; const e = prodErr(r, r, p); const d = (a - p) - e; s = d > 0 ? 1 : d < 0 ? -1 : 0; }
  else s = -sgnMulSub(r, r, a);
  return fin(r, s, single);
}

/** c + a*b with a single rounding (FPMulAdd). Operands non-NaN. */
export function fmuladd(c: number, a: number, b: number, single: boolean): number {
  const aInf = a - a !== 0, bInf = b - b !== 0, cInf = c - c !== 0;
  if ((aInf && b === 0) || (bInf && a === 0)) return invalid();
  if (aInf || bInf || cInf) {
    const pInf = aInf || bInf;
    const p = pInf ? a * b : 0;
    if (pInf && cInf && (p > 0) !== (c > 0)) return invalid();
    return pInf ? p : c;
  }
  const p = a * b;
  if (a === 0 || b === 0) {
    return c === 0 ? zeroSum(c, p) : c;
  }
  if (single) {
    // p is exact; the sum's error is exact by TwoSum (no overflow possible from singles).
    const s = c + p;
    if (s === 0) return zeroSum(c, p);
    const bp = s - c, ap = s - bp;
    const err = (c - ap) + (p - bp);
    return fin(s, err > 0 ? 1 : err < 0 ? -1 : 0, true);
  }
  if (c !== 0 && dekkerSafe(a, b, p) && Math.abs(c) > 2 ** -900 && Math.abs(c) < 2 ** 1000) {
    // Error-free: a*b = p + e; p + c = s + t; t + e = u + v; s + u = r + w; x = r + (w + v).
    const e = prodErr(a, b, p);
    const s = p + c, s1 = s - p, t = (p - (s - s1)) + (c - s1);
    const u = t + e, u1 = u - t, v = (t - (u - u1)) + (e - u1);
    const r = s + u, r1 = r - s, w = (s - (r - r1)) + (u - r1);
    const z = w + v, ar = Math.abs(r);
    // r is the correctly rounded x unless x - r may reach half the spacing below or above r.
    if (ar > 2 ** -900 && ar < 2 ** 1000 && Math.abs(z) < (ar - nextDown(ar, false)) / 2) {
      return fin(r, z > 0 ? 1 : z < 0 ? -1 : 0, false);
    }
  }
  const [ma, ea] = decomp(a), [mb, eb] = decomp(b), [mc, ec] = decomp(c);
  const ep = ea + eb, E = Math.min(ep, ec);
  const X = ((ma * mb) << BigInt(ep - E)) + (mc << BigInt(ec - E));
  if (X === 0n) return S.rm === RM ? -0 : 0;
  const d = bigToDouble(X, E);
  return fin(d, bigEs, false);
}

/** FMAX/FMIN on non-NaN values (Math.max/min order the zeros as Arm does). */
export function fmax(a: number, b: number): number { return Math.max(a, b); }
export function fmin(a: number, b: number): number { return Math.min(a, b); }

/** FMULX: like FMUL but 0 * inf = 2.0 with the product's sign. */
export function fmulx(a: number, b: number, single: boolean): number {
  const aInf = a - a !== 0, bInf = b - b !== 0;
  if ((aInf && b === 0) || (bInf && a === 0)) return (a < 0 || 1 / a < 0) !== (b < 0 || 1 / b < 0) ? -2 : 2;
  return fmul(a, b, single);
}

/** FRECPS: 2 - a*b fused; inf*0 gives 2.0. */
export function frecps(a: number, b: number, single: boolean): number {
  if ((a - a !== 0 && b === 0) || (b - b !== 0 && a === 0)) return 2;
  return fmuladd(2, -a, b, single);
}

/** FRSQRTS: (3 - a*b)/2 fused; inf*0 gives 1.5. */
export function frsqrts(a: number, b: number, single: boolean): number {
  if ((a - a !== 0 && b === 0) || (b - b !== 0 && a === 0)) return 1.5;
  // (3 - a*b)/2: the halving is exact unless the result is tiny, so compute the
  // fused value at double the scale... simplest correct route: halve b first
  // when that is exact (b normal), else fall back.
  const hb = b / 2;
  if (hb * 2 === b && Math.abs(hb) >= (single ? MIN_NORMAL32 : MIN_NORMAL64)) return fmuladd(1.5, -a, hb, single);
  const ha = a / 2;
  if (ha * 2 === a && Math.abs(ha) >= (single ? MIN_NORMAL32 : MIN_NORMAL64)) return fmuladd(1.5, -ha, b, single);
  return fmuladd(3, -a, b, single) / 2;
}

/** Two-operand op codes shared by the scalar and vector decoders. */
export const OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3, OP_MAX = 4, OP_MIN = 5, OP_MAXNM = 6, OP_MINNM = 7,
  OP_NMUL = 8, OP_MULX = 9, OP_RECPS = 10, OP_RSQRTS = 11, OP_ABD = 12;

/**
 * Apply a two-operand op to lane values a, b (aw/bw: the words holding the quiet
 * bit, for NaN handling). NaN results leave S.nanSel set.
 */
export function fp2(op: number, a: number, b: number, aw: number, bw: number, single: boolean): number {
  a = flushIn(a, single); b = flushIn(b, single);
  if (a !== a || b !== b) {
    if (op === OP_MAXNM || op === OP_MINNM) {
      // A quiet NaN against a number yields the number.
      const aq = a !== a && !isSNaNWord(aw, single), bq = b !== b && !isSNaNWord(bw, single);
      if (aq && b === b) return b;
      if (bq && a === a) return a;
    }
    return nan2(a, b, aw, bw, single);
  }
  switch (op) {
    case OP_ADD: return fadd(a, b, single);
    case OP_SUB: return fadd(a, -b, single);
    case OP_MUL: return fmul(a, b, single);
    case OP_DIV: return fdiv(a, b, single);
    case OP_MAX: case OP_MAXNM: return Math.max(a, b);
    case OP_MIN: case OP_MINNM: return Math.min(a, b);
    case OP_NMUL: return -fmul(a, b, single);
    case OP_MULX: return fmulx(a, b, single);
    case OP_RECPS: return frecps(a, b, single);
    case OP_RSQRTS: return frsqrts(a, b, single);
    case OP_ABD: return Math.abs(fadd(a, -b, single));
  }
  throw new Error('bad fp op');
}

/** FPCompare: NZCV (N=8). signalAll: FCMPE semantics (any NaN raises IOC). */
export function fcmp(a: number, b: number, aw: number, bw: number, single: boolean, signalAll: boolean): number {
  a = flushIn(a, single); b = flushIn(b, single);
  if (a !== a || b !== b) {
    if (signalAll || (a !== a && isSNaNWord(aw, single)) || (b !== b && isSNaNWord(bw, single))) S.flags |= FPSR_IOC;
    return 0b0011;
  }
  return a === b ? 0b0110 : a < b ? 0b1000 : 0b0010;
}

/** Vector compare ops: 0 EQ, 1 GE, 2 GT, 3 ACGE (|a|>=|b|), 4 ACGT. Returns true/false. */
export function fcmpOp(op: number, a: number, b: number, aw: number, bw: number, single: boolean): boolean {
  a = flushIn(a, single); b = flushIn(b, single);
  if (a !== a || b !== b) {
    if (op !== 0 || (a !== a && isSNaNWord(aw, single)) || (b !== b && isSNaNWord(bw, single))) S.flags |= FPSR_IOC;
    return false;
  }
  switch (op) {
    case 0: return a === b;
    case 1: return a >= b;
    case 2: return a > b;
    case 3: return Math.abs(a) >= Math.abs(b);
    default: return Math.abs(a) > Math.abs(b);
  }
}

