/**
 * FP and Advanced SIMD for the emu engine's AArch64 CPU.
 *
 * execFpSimd executes one instruction from the A64 "Data Processing -- Scalar
 * Floating-Point and Advanced SIMD" group (op0 = x111) or the Advanced SIMD
 * load/store multiple/single structure groups, and returns false for
 * encodings that are unallocated or belong to absent optional features (FP16
 * arithmetic, dot product, RDM, FCMA, JSCVT, BF16; crypto unless
 * fpsimdFeatures.crypto): the core then raises UNDEF. The core does the FPEN
 * trap check and LDR/STR/LDP/STP (SIMD&FP).
 */
import type { FpSimdContext } from '../fpsimd-context.js';
import { views, type VViews } from './views.js';
import { execScalarFp } from './scalar-fp.js';
import { threeSameInt, threeDiff } from './int-three.js';
import { twoMiscInt, isIntMisc, acrossInt, scalarPairwiseInt } from './int-misc.js';
import { shiftImmInt } from './int-shift.js';
import { threeSameFp, twoMiscFp, isFpMisc, acrossFp, scalarPairwiseFp, shiftImmFp } from './fp-vector.js';
import { byElement } from './by-element.js';
import { copyGroup, scalarCopy, modifiedImm, permute, extract, tableLookup } from './perm.js';
import { ldstMultiple, ldstSingle } from './ldst.js';
import { aes, sha3reg, sha2reg, pmull64 } from './crypto.js';

/**
 * Optional features. crypto (AES, SHA1, SHA256, PMULL 64-bit) is off by default,
 * matching ID registers that report it absent; a core that advertises
 * ID_AA64ISAR0_EL1.AES = 2, SHA1 = 1, SHA2 = 1 sets it to true.
 */
export const fpsimdFeatures = { crypto: false };

/** A group executor: runs insn (already routed to its group); false = unallocated within the group. */
type Exec = (ctx: FpSimdContext, vw: VViews, insn: number) => boolean;

export function execFpSimd(ctx: FpSimdContext, insn: number): boolean {
  insn >>>= 0;
  const g = route(insn);
  return g !== null && g(ctx, views(ctx), insn);
}

/**
 * Decode once: the executor for insn, or null when it is UNDEF (unallocated,
 * or an absent feature as fpsimdFeatures stands now). The returned function
 * returns true; it may throw the context's memory fault.
 */
export function decodeFpSimd(insn: number): ((ctx: FpSimdContext) => boolean) | null {
  insn >>>= 0;
  const g = route(insn);
  if (g === null || !g(DRY, views(DRY), insn)) return null;
  return (ctx) => g(ctx, views(ctx), insn);
}

/** A throw-away context for decodeFpSimd's allocation check (reads 0, drops writes). */
const DRY: FpSimdContext = {
  v: new Uint32Array(128), fpcr: 0, fpsr: 0, nzcv: 0,
  getX: () => 0n, setX: () => {}, getW: () => 0, setW: () => {}, getXSP: () => 0x1000n, setXSP: () => {},
  load: () => 0n, store: () => {},
};

// Group executors with their fixed arguments bound once.
const E_LD_MULTI: Exec = ldstMultiple, E_LD_SINGLE: Exec = ldstSingle, E_SCALAR_FP: Exec = execScalarFp;
const E_3SAME_FP: Exec = (c, v, i) => threeSameFp(c, v, i, false), E_3SAME_FP_S: Exec = (c, v, i) => threeSameFp(c, v, i, true);
const E_3SAME_INT: Exec = (c, v, i) => threeSameInt(c, v, i, false), E_3SAME_INT_S: Exec = (c, v, i) => threeSameInt(c, v, i, true);
const E_3DIFF: Exec = (c, v, i) => threeDiff(c, v, i, false), E_3DIFF_S: Exec = (c, v, i) => threeDiff(c, v, i, true);
const E_MISC_FP: Exec = (c, v, i) => twoMiscFp(c, v, i, false), E_MISC_FP_S: Exec = (c, v, i) => twoMiscFp(c, v, i, true);
const E_MISC_INT: Exec = (c, v, i) => twoMiscInt(c, v, i, false), E_MISC_INT_S: Exec = (c, v, i) => twoMiscInt(c, v, i, true);
const E_ACROSS_FP: Exec = acrossFp, E_ACROSS_INT: Exec = (_c, v, i) => acrossInt(v, i);
const E_PAIR_FP: Exec = scalarPairwiseFp, E_PAIR_INT: Exec = (_c, v, i) => scalarPairwiseInt(v, i);
const E_COPY: Exec = copyGroup, E_SCOPY: Exec = (_c, v, i) => scalarCopy(v, i);
const E_EXT: Exec = (_c, v, i) => extract(v, i), E_PERM: Exec = (_c, v, i) => permute(v, i), E_TBL: Exec = (_c, v, i) => tableLookup(v, i);
const E_MODIMM: Exec = (_c, v, i) => modifiedImm(v, i);
const E_SHIFT_FP: Exec = (c, v, i) => shiftImmFp(c, v, i, false), E_SHIFT_FP_S: Exec = (c, v, i) => shiftImmFp(c, v, i, true);
const E_SHIFT_INT: Exec = (c, v, i) => shiftImmInt(c, v, i, false), E_SHIFT_INT_S: Exec = (c, v, i) => shiftImmInt(c, v, i, true);
const E_ELEM: Exec = (c, v, i) => byElement(c, v, i, false), E_ELEM_S: Exec = (c, v, i) => byElement(c, v, i, true);
const E_AES: Exec = (_c, v, i) => aes(v, i), E_SHA3: Exec = (_c, v, i) => sha3reg(v, i), E_SHA2: Exec = (_c, v, i) => sha2reg(v, i);
const E_PMULL: Exec = (_c, v, i) => { pmull64(v, i); return true; };

/** Route an instruction word to its encoding group (null: not an FP/SIMD group we implement). */
function route(insn: number): Exec | null {
  const ls = insn & 0xbf000000;
  if (ls === 0x0c000000) return E_LD_MULTI;
  if (ls === 0x0d000000) return E_LD_SINGLE;
  if ((insn & 0x0e000000) !== 0x0e000000) return null;
  if ((insn & 0x5e000000) === 0x1e000000) return E_SCALAR_FP;
  const cls = insn & 0xdf000000;
  if ((insn & 0x9e000000) === 0x0e000000) return insn & 0x01000000 ? vector01111(insn) : vector01110(insn);
  if (cls === 0x5e000000) return scalar11110(insn);
  if (cls === 0x5f000000) return scalar11111(insn);
  return null;
}

function vector01110(insn: number): Exec | null {
  const b10 = (insn >>> 10) & 1, b11 = (insn >>> 11) & 1;
  if ((insn >>> 21) & 1) {
    if (b10) return ((insn >>> 11) & 31) >= 24 ? E_3SAME_FP : E_3SAME_INT;
    if (!b11) {
      if ((insn & 0xbfe0fc00) === 0x0ee0e000) return fpsimdFeatures.crypto ? E_PMULL : null; // PMULL .1Q
      return E_3DIFF;
    }
    const sel = (insn >>> 17) & 15;
    const U = (insn >>> 29) & 1, opc = (insn >>> 12) & 31, a = (insn >>> 23) & 1;
    if (sel === 4 && (insn & 0xff000000) === 0x4e000000) return fpsimdFeatures.crypto ? E_AES : null;
    if (sel === 0) return isFpMisc(opc, a) ? E_MISC_FP : isIntMisc(U, opc) ? E_MISC_INT : null;
    if (sel === 8) return opc === 12 || opc === 15 ? E_ACROSS_FP : E_ACROSS_INT;
    return null;
  }
  if ((insn >>> 15) & 1) return null;
  if (b10) return ((insn >>> 22) & 3) === 0 ? E_COPY : null;
  if ((insn >>> 29) & 1) return E_EXT;
  return b11 ? E_PERM : E_TBL;
}

function vector01111(insn: number): Exec | null {
  if ((insn >>> 10) & 1) {
    if ((insn >>> 23) & 1) return null;
    if (((insn >>> 19) & 15) === 0) return E_MODIMM;
    const opc = (insn >>> 11) & 31;
    return opc === 28 || opc === 31 ? E_SHIFT_FP : E_SHIFT_INT;
  }
  return E_ELEM;
}

function scalar11110(insn: number): Exec | null {
  const b10 = (insn >>> 10) & 1, b11 = (insn >>> 11) & 1;
  if ((insn >>> 21) & 1) {
    if (b10) return ((insn >>> 11) & 31) >= 24 ? E_3SAME_FP_S : E_3SAME_INT_S;
    if (!b11) return E_3DIFF_S;
    const sel = (insn >>> 17) & 15;
    const U = (insn >>> 29) & 1, opc = (insn >>> 12) & 31, a = (insn >>> 23) & 1;
    if (sel === 0) return isFpMisc(opc, a) ? E_MISC_FP_S : isIntMisc(U, opc) ? E_MISC_INT_S : null;
    if (sel === 8) return U ? E_PAIR_FP : E_PAIR_INT;
    if (sel === 4 && (insn & 0xff000000) === 0x5e000000) return fpsimdFeatures.crypto ? E_SHA2 : null;
    return null;
  }
  if (b10 && ((insn >>> 22) & 3) === 0 && ((insn >>> 15) & 1) === 0) return E_SCOPY;
  if ((insn & 0xff208c00) === 0x5e000000) return fpsimdFeatures.crypto ? E_SHA3 : null;
  return null;
}

function scalar11111(insn: number): Exec | null {
  if ((insn >>> 10) & 1) {
    if ((insn >>> 23) & 1 || ((insn >>> 19) & 15) === 0) return null;
    const opc = (insn >>> 11) & 31;
    return opc === 28 || opc === 31 ? E_SHIFT_FP_S : E_SHIFT_INT_S;
  }
  return E_ELEM_S;
}
