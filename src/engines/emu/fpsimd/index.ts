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
import { views } from './views.js';
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

export function execFpSimd(ctx: FpSimdContext, insn: number): boolean {
  insn >>>= 0;
  const vw = views(ctx);
  const ls = insn & 0xbf000000;
  if (ls === 0x0c000000) return ldstMultiple(ctx, vw, insn);
  if (ls === 0x0d000000) return ldstSingle(ctx, vw, insn);
  if ((insn & 0x0e000000) !== 0x0e000000) return false;
  if ((insn & 0x5e000000) === 0x1e000000) return execScalarFp(ctx, vw, insn);
  const cls = insn & 0xdf000000;
  const vector = (insn & 0x9e000000) === 0x0e000000;
  if (vector) return (insn & 0x01000000) ? vector01111(ctx, vw, insn) : vector01110(ctx, vw, insn);
  if (cls === 0x5e000000) return scalar11110(ctx, vw, insn);
  if (cls === 0x5f000000) return scalar11111(ctx, vw, insn);
  return false;
}

type VW = ReturnType<typeof views>;

function vector01110(ctx: FpSimdContext, vw: VW, insn: number): boolean {
  const b10 = (insn >>> 10) & 1, b11 = (insn >>> 11) & 1;
  if ((insn >>> 21) & 1) {
    if (b10) return ((insn >>> 11) & 31) >= 24 ? threeSameFp(ctx, vw, insn, false) : threeSameInt(ctx, vw, insn, false);
    if (!b11) {
      if ((insn & 0xbfe0fc00) === 0x0ee0e000) { // PMULL/PMULL2 .1Q
        if (!fpsimdFeatures.crypto) return false;
        pmull64(vw, insn);
        return true;
      }
      return threeDiff(ctx, vw, insn, false);
    }
    const sel = (insn >>> 17) & 15;
    const U = (insn >>> 29) & 1, opc = (insn >>> 12) & 31, a = (insn >>> 23) & 1;
    if (sel === 4 && (insn & 0xff000000) === 0x4e000000) return fpsimdFeatures.crypto && aes(vw, insn);
    if (sel === 0) {
      if (isFpMisc(opc, a)) return twoMiscFp(ctx, vw, insn, false);
      if (isIntMisc(U, opc)) return twoMiscInt(ctx, vw, insn, false);
      return false;
    }
    if (sel === 8) return opc === 12 || opc === 15 ? acrossFp(ctx, vw, insn) : acrossInt(vw, insn);
    return false;
  }
  if ((insn >>> 15) & 1) return false;
  const U = (insn >>> 29) & 1;
  if (b10) return ((insn >>> 22) & 3) === 0 ? copyGroup(ctx, vw, insn) : false;
  if (U) return extract(vw, insn);
  return b11 ? permute(vw, insn) : tableLookup(vw, insn);
}

function vector01111(ctx: FpSimdContext, vw: VW, insn: number): boolean {
  if ((insn >>> 10) & 1) {
    if ((insn >>> 23) & 1) return false;
    if (((insn >>> 19) & 15) === 0) return modifiedImm(vw, insn);
    const opc = (insn >>> 11) & 31;
    return opc === 28 || opc === 31 ? shiftImmFp(ctx, vw, insn, false) : shiftImmInt(ctx, vw, insn, false);
  }
  return byElement(ctx, vw, insn, false);
}

function scalar11110(ctx: FpSimdContext, vw: VW, insn: number): boolean {
  const b10 = (insn >>> 10) & 1, b11 = (insn >>> 11) & 1;
  if ((insn >>> 21) & 1) {
    if (b10) return ((insn >>> 11) & 31) >= 24 ? threeSameFp(ctx, vw, insn, true) : threeSameInt(ctx, vw, insn, true);
    if (!b11) return threeDiff(ctx, vw, insn, true);
    const sel = (insn >>> 17) & 15;
    const U = (insn >>> 29) & 1, opc = (insn >>> 12) & 31, a = (insn >>> 23) & 1;
    if (sel === 0) {
      if (isFpMisc(opc, a)) return twoMiscFp(ctx, vw, insn, true);
      if (isIntMisc(U, opc)) return twoMiscInt(ctx, vw, insn, true);
      return false;
    }
    if (sel === 8) return U ? scalarPairwiseFp(ctx, vw, insn) : scalarPairwiseInt(vw, insn);
    if (sel === 4 && (insn & 0xff000000) === 0x5e000000) return fpsimdFeatures.crypto && sha2reg(vw, insn);
    return false;
  }
  if (b10 && ((insn >>> 22) & 3) === 0 && ((insn >>> 15) & 1) === 0) return scalarCopy(vw, insn);
  if ((insn & 0xff208c00) === 0x5e000000) return fpsimdFeatures.crypto && sha3reg(vw, insn);
  return false;
}

function scalar11111(ctx: FpSimdContext, vw: VW, insn: number): boolean {
  if ((insn >>> 10) & 1) {
    if ((insn >>> 23) & 1 || ((insn >>> 19) & 15) === 0) return false;
    const opc = (insn >>> 11) & 31;
    return opc === 28 || opc === 31 ? shiftImmFp(ctx, vw, insn, true) : shiftImmInt(ctx, vw, insn, true);
  }
  return byElement(ctx, vw, insn, true);
}
