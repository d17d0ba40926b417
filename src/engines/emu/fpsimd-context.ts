/**
 * The contract between the AArch64 integer core (src/engines/emu/) and the
 * FP/SIMD instruction module (src/engines/emu/fpsimd/). The core owns the
 * register file and the MMU; the FP/SIMD module only sees this view.
 */
export interface FpSimdContext {
  /** V0..V31, 128 bits each, 4 little-endian 32-bit words per register: v[4n] = bits 31:0 of Vn. */
  readonly v: Uint32Array;
  fpcr: number;
  fpsr: number;
  /** PSTATE.NZCV as a 4-bit value (N = bit 3, Z = bit 2, C = bit 1, V = bit 0): FCMP/FCCMP write it, FCSEL reads it. */
  nzcv: number;
  /** General register n (0..30; 31 = XZR reads 0 / write discarded). */
  getX(n: number): bigint;
  setX(n: number, value: bigint): void;
  getW(n: number): number; // unsigned 32-bit
  setW(n: number, value: number): void; // zero-extends into Xn
  /** Register n as a base address: n = 31 means the current SP. */
  getXSP(n: number): bigint;
  setXSP(n: number, value: bigint): void;
  /** Virtual-address memory access through the MMU/TLB; faults throw the CPU's exception object (do not catch it). */
  load(va: bigint, size: 1 | 2 | 4 | 8): bigint;
  store(va: bigint, size: 1 | 2 | 4 | 8, value: bigint): void;
}

/** Signature of the FP/SIMD executor: false means "unallocated encoding" and the core raises UNDEF. */
export type ExecFpSimd = (ctx: FpSimdContext, insn: number) => boolean;
