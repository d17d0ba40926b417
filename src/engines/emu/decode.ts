/**
 * Top-level A64 decoder: picks the encoding group from bits 28:25 and returns
 * a handler closure for the instruction word. Handlers are cached per
 * physical page by the run loop, so each word is decoded once.
 */
import { EC_FP, EC_UNKNOWN, GuestFault, type Cpu } from './cpu.js';
import { decodeDpImm, decodeDpReg } from './decode-dp.js';
import { decodeLoadStore } from './decode-ls.js';
import { decodeBranchSys } from './decode-sys.js';
import { decodeFpSimd } from './fpsimd/index.js';
import type { Handler } from './phys.js';

const UNDEF: Handler = () => {
  throw new GuestFault(EC_UNKNOWN, 0);
};

/**
 * FP/SIMD data processing and structure loads/stores: decoded once by the
 * FP/SIMD module (null = unallocated, UNDEFINED without an FPEN check); the
 * handler checks CPACR_EL1.FPEN, then executes.
 */
function fpsimd(insn: number): Handler {
  const exec = decodeFpSimd(insn);
  if (exec === null) return UNDEF;
  return (c: Cpu) => {
    if (c.fpTrap) throw new GuestFault(EC_FP, 0x1e00000);
    exec(c);
  };
}

export function decode(insn: number): Handler {
  const op0 = (insn >>> 25) & 15;
  let h: Handler | undefined;
  if ((op0 & 0xe) === 0x8) h = decodeDpImm(insn);
  else if ((op0 & 0xe) === 0xa) h = decodeBranchSys(insn);
  else if ((op0 & 0x5) === 0x4) {
    // Advanced SIMD load/store multiple/single structures go to the FP/SIMD module.
    h = (insn & 0xbe000000) === 0x0c000000 ? fpsimd(insn) : decodeLoadStore(insn);
  } else if ((op0 & 0x7) === 0x5) h = decodeDpReg(insn);
  else if ((op0 & 0x7) === 0x7) h = fpsimd(insn);
  return h ?? UNDEF;
}
