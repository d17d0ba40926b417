/**
 * Decoders for the A64 integer data-processing groups (immediate and
 * register). Each returns a handler closure specialised for the fields of
 * one instruction word, or undefined for unallocated encodings.
 */
import { adc32, adc64, condHolds, crc32, extendReg, mul64, smulh64, umulh64 } from './alu.js';
import { decodeBitMasks } from './bitmasks.js';
import { SINK, SP, ZR, type Cpu } from './cpu.js';
import { R, bigHi, bigLo, bswap16x2, bswap32, rbit32, ror64, shift32, shift64, toBig } from './int64.js';
import type { Handler } from './phys.js';

type H = Handler;

/** Destination index: register 31 is XZR (writes discarded). */
const wr = (d: number): number => (d === 31 ? SINK : d);
/** Destination/source index where register 31 is SP. */
const rsp = (n: number): number => (n === 31 ? SP : n);
/** Source index where register 31 is XZR. */
const rz = (n: number): number => n; // index 31 is always zero

/** Address of the executing instruction (pc was already advanced) + k, into R. */
function pcRel(c: Cpu, k: number): void {
  const l = (c.pcLo >>> 0) - 4 + k;
  const carry = Math.floor(l / 4294967296);
  R.lo = l | 0;
  R.hi = (c.pcHi + carry) | 0;
}

// ------------------------------------------------------ data processing: imm

export function decodeDpImm(insn: number): H | undefined {
  const op = (insn >>> 23) & 7;
  const sf = insn >>> 31 !== 0;
  const rd = insn & 31;
  const rn = (insn >>> 5) & 31;
  switch (op) {
    case 0:
    case 1: {
      // ADR / ADRP
      const immlo = (insn >>> 29) & 3;
      const immhi = (insn << 8) >> 13; // bits 23:5 sign-extended
      const imm = immhi * 4 + immlo;
      const d = wr(rd);
      if (insn >>> 31 === 0) {
        return (c) => {
          pcRel(c, imm);
          c.xl[d] = R.lo;
          c.xh[d] = R.hi;
        };
      }
      const off = imm * 4096;
      return (c) => {
        pcRel(c, 0);
        const l = ((R.lo & ~0xfff) >>> 0) + off;
        c.xl[d] = l | 0;
        c.xh[d] = (R.hi + Math.floor(l / 4294967296)) | 0;
      };
    }
    case 2: {
      // ADD/ADDS/SUB/SUBS (immediate)
      const sub = (insn >>> 30) & 1;
      const setf = ((insn >>> 29) & 1) !== 0;
      const sh = (insn >>> 22) & 1;
      let imm = ((insn >>> 10) & 0xfff) << (sh ? 12 : 0);
      const n = rsp(rn);
      const d = setf ? wr(rd) : rsp(rd);
      if (sf) {
        if (!setf) {
          if (sub) imm = -imm;
          return (c) => {
            const xl = c.xl;
            const l = (xl[n]! >>> 0) + imm;
            xl[d] = l;
            c.xh[d] = c.xh[n]! + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0);
          };
        }
        const bl = sub ? ~imm : imm;
        const bh = sub ? -1 : 0;
        return (c) => {
          adc64(c, c.xl[n]!, c.xh[n]!, bl, bh, sub, true);
          c.xl[d] = R.lo;
          c.xh[d] = R.hi;
        };
      }
      const b = sub ? ~imm : imm;
      return (c) => {
        c.xl[d] = adc32(c, c.xl[n]!, b, sub, setf);
        c.xh[d] = 0;
      };
    }
    case 4: {
      // Logical (immediate)
      const opc = (insn >>> 29) & 3;
      const nbit = (insn >>> 22) & 1;
      if (!sf && nbit) return undefined;
      const m = decodeBitMasks(nbit, (insn >>> 10) & 63, (insn >>> 16) & 63, true, sf ? 64 : 32);
      if (m === undefined) return undefined;
      const il = bigLo(m.wmask);
      const ih = sf ? bigHi(m.wmask) : 0;
      const n = rz(rn);
      const d = opc === 3 ? wr(rd) : rsp(rd);
      return logical(opc, sf, d, (c) => c.xl[n]!, sf ? (c) => c.xh[n]! : () => 0, il, ih);
    }
    case 5: {
      // Move wide
      const opc = (insn >>> 29) & 3;
      const hw = (insn >>> 21) & 3;
      if (opc === 1 || (!sf && hw > 1)) return undefined;
      const imm = (insn >>> 5) & 0xffff;
      const d = wr(rd);
      const lo = hw === 0 ? imm : hw === 1 ? imm << 16 : 0;
      const hi = hw === 2 ? imm : hw === 3 ? imm << 16 : 0;
      if (opc === 0) {
        // MOVN
        const nl = ~lo;
        const nh = sf ? ~hi : 0;
        return (c) => {
          c.xl[d] = nl;
          c.xh[d] = nh;
        };
      }
      if (opc === 2) {
        return (c) => {
          c.xl[d] = lo;
          c.xh[d] = hi;
        };
      }
      // MOVK: replace one 16-bit field.
      const shift = (hw & 1) * 16;
      const keep = ~(0xffff << shift);
      const part = imm << shift;
      if (hw < 2) {
        return (c) => {
          c.xl[d] = (c.xl[d]! & keep) | part;
          if (!sf) c.xh[d] = 0;
        };
      }
      return (c) => {
        c.xh[d] = (c.xh[d]! & keep) | part;
      };
    }
    case 6:
      return decodeBitfield(insn, sf, rd, rn);
    case 7: {
      // EXTR
      const nbit = (insn >>> 22) & 1;
      if ((insn >>> 29) & 3 || (insn >>> 21) & 1 || nbit !== (sf ? 1 : 0)) return undefined;
      const lsb = (insn >>> 10) & 63;
      if (!sf && lsb > 31) return undefined;
      const m = rz((insn >>> 16) & 31);
      const n = rz(rn);
      const d = wr(rd);
      if (!sf) {
        return (c) => {
          const lo = c.xl[m]!;
          const hi = c.xl[n]!;
          c.xl[d] = lsb === 0 ? lo : (lo >>> lsb) | (hi << (32 - lsb));
          c.xh[d] = 0;
        };
      }
      return (c) => {
        // Concatenate Xn:Xm (128 bits) and take 64 bits starting at lsb.
        const ml = c.xl[m]!;
        const mh = c.xh[m]!;
        const nl = c.xl[n]!;
        const nh = c.xh[n]!;
        let rl: number;
        let rh: number;
        if (lsb === 0) {
          rl = ml;
          rh = mh;
        } else if (lsb < 32) {
          rl = (ml >>> lsb) | (mh << (32 - lsb));
          rh = (mh >>> lsb) | (nl << (32 - lsb));
        } else if (lsb === 32) {
          rl = mh;
          rh = nl;
        } else {
          const s = lsb - 32;
          rl = (mh >>> s) | (nl << (32 - s));
          rh = (nl >>> s) | (nh << (32 - s));
        }
        c.xl[d] = rl;
        c.xh[d] = rh;
      };
    }
  }
  return undefined;
}

/** AND/ORR/EOR/ANDS of Rn with a second operand given by getters or constants. */
function logical(
  opc: number,
  sf: boolean,
  d: number,
  al: (c: Cpu) => number,
  ah: (c: Cpu) => number,
  il: number,
  ih: number,
): H {
  switch (opc) {
    case 0:
      return (c) => {
        c.xl[d] = al(c) & il;
        c.xh[d] = ah(c) & ih;
      };
    case 1:
      return (c) => {
        c.xl[d] = al(c) | il;
        c.xh[d] = ah(c) | ih;
      };
    case 2:
      return (c) => {
        c.xl[d] = al(c) ^ il;
        c.xh[d] = ah(c) ^ ih;
      };
    default:
      return (c) => {
        const rl = al(c) & il;
        const rh = ah(c) & ih;
        c.xl[d] = rl;
        c.xh[d] = rh;
        setLogicFlags(c, sf, rl, rh);
      };
  }
}

function setLogicFlags(c: Cpu, sf: boolean, rl: number, rh: number): void {
  if (sf) {
    c.nf = rh >>> 31;
    c.zf = (rl | rh) === 0 ? 1 : 0;
  } else {
    c.nf = rl >>> 31;
    c.zf = rl === 0 ? 1 : 0;
  }
  c.cf = 0;
  c.vf = 0;
}

function decodeBitfield(insn: number, sf: boolean, rd: number, rn: number): H | undefined {
  const opc = (insn >>> 29) & 3;
  const nbit = (insn >>> 22) & 1;
  const immr = (insn >>> 16) & 63;
  const imms = (insn >>> 10) & 63;
  if (opc === 3 || nbit !== (sf ? 1 : 0)) return undefined;
  if (!sf && (immr > 31 || imms > 31)) return undefined;
  const width = sf ? 64 : 32;
  const m = decodeBitMasks(nbit, imms, immr, false, width);
  if (m === undefined) return undefined;
  const n = rz(rn);
  const d = wr(rd);
  const wl = bigLo(m.wmask);
  const wh = bigHi(m.wmask);
  const tl = bigLo(m.tmask);
  const th = bigHi(m.tmask);
  const wt = (m.wmask & m.tmask);
  const wtl = bigLo(wt);
  const wth = bigHi(wt);
  if (!sf) {
    const r = immr;
    if (opc === 2) {
      // UBFM (LSL/LSR/UBFX/UXTB...)
      return (c) => {
        c.xl[d] = shift32(c.xl[n]!, 3, r) & wtl;
        c.xh[d] = 0;
      };
    }
    if (opc === 0) {
      // SBFM (ASR/SBFX/SXTB...)
      return (c) => {
        const src = c.xl[n]!;
        const bot = shift32(src, 3, r) & wl;
        const top = (src << (31 - imms)) >> 31;
        c.xl[d] = (top & ~tl) | (bot & tl);
        c.xh[d] = 0;
      };
    }
    return (c) => {
      const dst = c.xl[d === SINK ? ZR : d]!;
      const bot = (dst & ~wl) | (shift32(c.xl[n]!, 3, r) & wl);
      c.xl[d] = (dst & ~tl) | (bot & tl);
      c.xh[d] = 0;
    };
  }
  const r = immr;
  if (opc === 2) {
    return (c) => {
      ror64(c.xl[n]!, c.xh[n]!, r);
      c.xl[d] = R.lo & wtl;
      c.xh[d] = R.hi & wth;
    };
  }
  if (opc === 0) {
    const bitHi = imms >= 32;
    const sh = 31 - (imms & 31);
    return (c) => {
      const sl = c.xl[n]!;
      const shh = c.xh[n]!;
      ror64(sl, shh, r);
      const botl = R.lo & wl;
      const both = R.hi & wh;
      const top = ((bitHi ? shh : sl) << sh) >> 31;
      c.xl[d] = (top & ~tl) | (botl & tl);
      c.xh[d] = (top & ~th) | (both & th);
    };
  }
  return (c) => {
    const s = d === SINK ? ZR : d;
    const dl = c.xl[s]!;
    const dh = c.xh[s]!;
    ror64(c.xl[n]!, c.xh[n]!, r);
    const botl = (dl & ~wl) | (R.lo & wl);
    const both = (dh & ~wh) | (R.hi & wh);
    c.xl[d] = (dl & ~tl) | (botl & tl);
    c.xh[d] = (dh & ~th) | (both & th);
  };
}

// ------------------------------------------------------ data processing: reg

export function decodeDpReg(insn: number): H | undefined {
  const sf = insn >>> 31 !== 0;
  const op1 = (insn >>> 28) & 1;
  const op2 = (insn >>> 21) & 15;
  const rd = insn & 31;
  const rn = (insn >>> 5) & 31;
  const rm = (insn >>> 16) & 31;
  if (op1 === 0) {
    if ((op2 & 8) === 0) return logicalShifted(insn, sf, rd, rn, rm);
    if ((op2 & 1) === 0) return addSubShifted(insn, sf, rd, rn, rm);
    return addSubExtended(insn, sf, rd, rn, rm);
  }
  switch (op2) {
    case 0: {
      if (((insn >>> 10) & 63) !== 0) return undefined;
      // ADC/ADCS/SBC/SBCS
      const sub = (insn >>> 30) & 1;
      const setf = ((insn >>> 29) & 1) !== 0;
      const d = wr(rd);
      if (sf) {
        return (c) => {
          const bl = c.xl[rm]!;
          const bh = c.xh[rm]!;
          adc64(c, c.xl[rn]!, c.xh[rn]!, sub ? ~bl : bl, sub ? ~bh : bh, c.cf, setf);
          c.xl[d] = R.lo;
          c.xh[d] = R.hi;
        };
      }
      return (c) => {
        const b = c.xl[rm]!;
        c.xl[d] = adc32(c, c.xl[rn]!, sub ? ~b : b, c.cf, setf);
        c.xh[d] = 0;
      };
    }
    case 2:
      return condCompare(insn, sf, rn, rm);
    case 4:
      return condSelect(insn, sf, rd, rn, rm);
    case 6:
      if ((insn >>> 30) & 1) return oneSource(insn, sf, rd, rn);
      return twoSource(insn, sf, rd, rn, rm);
  }
  if (op2 & 8) return threeSource(insn, sf, rd, rn, rm);
  return undefined;
}

function logicalShifted(insn: number, sf: boolean, rd: number, rn: number, rm: number): H | undefined {
  const opc = (insn >>> 29) & 3;
  const type = (insn >>> 22) & 3;
  const invert = ((insn >>> 21) & 1) !== 0;
  const amt = (insn >>> 10) & 63;
  if (!sf && amt > 31) return undefined;
  const d = wr(rd);
  const n = rn;
  const m = rm;
  // MOV (register) fast path: ORR Xd, XZR, Xm.
  if (opc === 1 && n === ZR && amt === 0 && !invert) {
    if (sf)
      return (c) => {
        c.xl[d] = c.xl[m]!;
        c.xh[d] = c.xh[m]!;
      };
    return (c) => {
      c.xl[d] = c.xl[m]!;
      c.xh[d] = 0;
    };
  }
  if (!sf) {
    return (c) => {
      let b = shift32(c.xl[m]!, type, amt);
      if (invert) b = ~b;
      const a = c.xl[n]!;
      let r: number;
      switch (opc) {
        case 0:
          r = a & b;
          break;
        case 1:
          r = a | b;
          break;
        case 2:
          r = a ^ b;
          break;
        default:
          r = a & b;
          setLogicFlags(c, false, r, 0);
      }
      c.xl[d] = r;
      c.xh[d] = 0;
    };
  }
  return (c) => {
    let bl = c.xl[m]!;
    let bh = c.xh[m]!;
    if (amt !== 0) {
      shift64(bl, bh, type, amt);
      bl = R.lo;
      bh = R.hi;
    }
    if (invert) {
      bl = ~bl;
      bh = ~bh;
    }
    const al = c.xl[n]!;
    const ah = c.xh[n]!;
    let rl: number;
    let rh: number;
    switch (opc) {
      case 0:
        rl = al & bl;
        rh = ah & bh;
        break;
      case 1:
        rl = al | bl;
        rh = ah | bh;
        break;
      case 2:
        rl = al ^ bl;
        rh = ah ^ bh;
        break;
      default:
        rl = al & bl;
        rh = ah & bh;
        setLogicFlags(c, true, rl, rh);
    }
    c.xl[d] = rl;
    c.xh[d] = rh;
  };
}

function addSubShifted(insn: number, sf: boolean, rd: number, rn: number, rm: number): H | undefined {
  const sub = (insn >>> 30) & 1;
  const setf = ((insn >>> 29) & 1) !== 0;
  const type = (insn >>> 22) & 3;
  const amt = (insn >>> 10) & 63;
  if (type === 3 || (!sf && amt > 31)) return undefined;
  const d = wr(rd);
  if (!sf) {
    return (c) => {
      const b = shift32(c.xl[rm]!, type, amt);
      c.xl[d] = adc32(c, c.xl[rn]!, sub ? ~b : b, sub, setf);
      c.xh[d] = 0;
    };
  }
  if (amt === 0) {
    return (c) => {
      const bl = c.xl[rm]!;
      const bh = c.xh[rm]!;
      adc64(c, c.xl[rn]!, c.xh[rn]!, sub ? ~bl : bl, sub ? ~bh : bh, sub, setf);
      c.xl[d] = R.lo;
      c.xh[d] = R.hi;
    };
  }
  return (c) => {
    shift64(c.xl[rm]!, c.xh[rm]!, type, amt);
    const bl = R.lo;
    const bh = R.hi;
    adc64(c, c.xl[rn]!, c.xh[rn]!, sub ? ~bl : bl, sub ? ~bh : bh, sub, setf);
    c.xl[d] = R.lo;
    c.xh[d] = R.hi;
  };
}

function addSubExtended(insn: number, sf: boolean, rd: number, rn: number, rm: number): H | undefined {
  const sub = (insn >>> 30) & 1;
  const setf = ((insn >>> 29) & 1) !== 0;
  const option = (insn >>> 13) & 7;
  const sh = (insn >>> 10) & 7;
  if (sh > 4 || ((insn >>> 22) & 3) !== 0) return undefined;
  const n = rsp(rn);
  const d = setf ? wr(rd) : rsp(rd);
  if (!sf) {
    return (c) => {
      extendReg(c.xl[rm]!, c.xh[rm]!, option, sh);
      const b = R.lo;
      c.xl[d] = adc32(c, c.xl[n]!, sub ? ~b : b, sub, setf);
      c.xh[d] = 0;
    };
  }
  return (c) => {
    extendReg(c.xl[rm]!, c.xh[rm]!, option, sh);
    const bl = R.lo;
    const bh = R.hi;
    adc64(c, c.xl[n]!, c.xh[n]!, sub ? ~bl : bl, sub ? ~bh : bh, sub, setf);
    c.xl[d] = R.lo;
    c.xh[d] = R.hi;
  };
}

function condCompare(insn: number, sf: boolean, rn: number, rm: number): H | undefined {
  if (((insn >>> 29) & 1) === 0 || (insn >>> 10) & 1 || (insn >>> 4) & 1) return undefined;
  const sub = (insn >>> 30) & 1;
  const cond = (insn >>> 12) & 15;
  const isImm = ((insn >>> 11) & 1) !== 0;
  const nzcv = insn & 15;
  const imm = rm; // imm5 in the Rm field
  return (c) => {
    if (!condHolds(c, cond)) {
      c.nzcv = nzcv;
      return;
    }
    let bl = isImm ? imm : c.xl[rm]!;
    let bh = isImm ? 0 : c.xh[rm]!;
    if (sub) {
      bl = ~bl;
      bh = ~bh;
    }
    if (sf) adc64(c, c.xl[rn]!, c.xh[rn]!, bl, bh, sub, true);
    else adc32(c, c.xl[rn]!, bl, sub, true);
  };
}

function condSelect(insn: number, sf: boolean, rd: number, rn: number, rm: number): H | undefined {
  if ((insn >>> 29) & 1 || (insn >>> 11) & 1) return undefined;
  const op = (insn >>> 30) & 1;
  const o2 = (insn >>> 10) & 1;
  const cond = (insn >>> 12) & 15;
  const d = wr(rd);
  const kind = (op << 1) | o2; // 0 CSEL, 1 CSINC, 2 CSINV, 3 CSNEG
  return (c) => {
    if (condHolds(c, cond)) {
      c.xl[d] = c.xl[rn]!;
      c.xh[d] = sf ? c.xh[rn]! : 0;
      return;
    }
    let l = c.xl[rm]!;
    let h = sf ? c.xh[rm]! : 0;
    switch (kind) {
      case 1: {
        const s = (l >>> 0) + 1;
        l = s | 0;
        if (s > 0xffffffff) h = (h + 1) | 0;
        break;
      }
      case 2:
        l = ~l;
        h = ~h;
        break;
      case 3: {
        // negate: ~x + 1
        const s = (~l >>> 0) + 1;
        l = s | 0;
        h = (~h + (s > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
    }
    c.xl[d] = l;
    c.xh[d] = sf ? h : 0;
  };
}

function oneSource(insn: number, sf: boolean, rd: number, rn: number): H | undefined {
  if ((insn >>> 16) & 31 || (insn >>> 29) & 1) return undefined;
  const opcode = (insn >>> 10) & 63;
  const d = wr(rd);
  const n = rn;
  switch (opcode) {
    case 0: // RBIT
      return sf
        ? (c) => {
            const l = c.xl[n]!;
            c.xl[d] = rbit32(c.xh[n]!);
            c.xh[d] = rbit32(l);
          }
        : (c) => {
            c.xl[d] = rbit32(c.xl[n]!);
            c.xh[d] = 0;
          };
    case 1: // REV16
      return (c) => {
        const l = c.xl[n]!;
        c.xh[d] = sf ? bswap16x2(c.xh[n]!) : 0;
        c.xl[d] = bswap16x2(l);
      };
    case 2: // REV (32-bit) / REV32 (64-bit)
      return (c) => {
        const l = c.xl[n]!;
        c.xh[d] = sf ? bswap32(c.xh[n]!) : 0;
        c.xl[d] = bswap32(l);
      };
    case 3: // REV (64-bit)
      if (!sf) return undefined;
      return (c) => {
        const l = c.xl[n]!;
        c.xl[d] = bswap32(c.xh[n]!);
        c.xh[d] = bswap32(l);
      };
    case 4: // CLZ
      return sf
        ? (c) => {
            const h = c.xh[n]!;
            c.xl[d] = h !== 0 ? Math.clz32(h) : 32 + Math.clz32(c.xl[n]!);
            c.xh[d] = 0;
          }
        : (c) => {
            c.xl[d] = Math.clz32(c.xl[n]!);
            c.xh[d] = 0;
          };
    case 5: // CLS: leading bits equal to the sign bit, not counting it
      return sf
        ? (c) => {
            const h = c.xh[n]!;
            const l = c.xl[n]!;
            const s = h >> 31;
            const xh = h ^ s;
            const xl = l ^ s;
            const z = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
            c.xl[d] = z - 1;
            c.xh[d] = 0;
          }
        : (c) => {
            const v = c.xl[n]!;
            c.xl[d] = Math.clz32(v ^ (v >> 31)) - 1;
            c.xh[d] = 0;
          };
  }
  return undefined;
}

function twoSource(insn: number, sf: boolean, rd: number, rn: number, rm: number): H | undefined {
  if ((insn >>> 29) & 1) return undefined;
  const opcode = (insn >>> 10) & 63;
  const d = wr(rd);
  switch (opcode) {
    case 2: // UDIV
      if (!sf)
        return (c) => {
          const b = c.xl[rm]! >>> 0;
          c.xl[d] = b === 0 ? 0 : Math.floor((c.xl[rn]! >>> 0) / b);
          c.xh[d] = 0;
        };
      return (c) => {
        const b = toBig(c.xl[rm]!, c.xh[rm]!);
        const q = b === 0n ? 0n : toBig(c.xl[rn]!, c.xh[rn]!) / b;
        c.xl[d] = bigLo(q);
        c.xh[d] = bigHi(q);
      };
    case 3: // SDIV (round toward zero; INT_MIN / -1 = INT_MIN)
      if (!sf)
        return (c) => {
          const b = c.xl[rm]!;
          c.xl[d] = b === 0 ? 0 : Math.trunc(c.xl[rn]! / b) | 0;
          c.xh[d] = 0;
        };
      return (c) => {
        const b = BigInt.asIntN(64, toBig(c.xl[rm]!, c.xh[rm]!));
        const q = b === 0n ? 0n : BigInt.asIntN(64, toBig(c.xl[rn]!, c.xh[rn]!)) / b;
        c.xl[d] = bigLo(q);
        c.xh[d] = bigHi(q);
      };
    case 8:
    case 9:
    case 10:
    case 11: {
      // LSLV/LSRV/ASRV/RORV
      const type = opcode - 8;
      if (!sf)
        return (c) => {
          c.xl[d] = shift32(c.xl[rn]!, type, c.xl[rm]! & 31);
          c.xh[d] = 0;
        };
      return (c) => {
        shift64(c.xl[rn]!, c.xh[rn]!, type, c.xl[rm]! & 63);
        c.xl[d] = R.lo;
        c.xh[d] = R.hi;
      };
    }
  }
  if ((opcode & 0x38) === 0x10) {
    // CRC32{B,H,W,X} / CRC32C{B,H,W,X}
    const sz = opcode & 3;
    const castagnoli = (opcode & 4) !== 0;
    if ((sz === 3) !== sf) return undefined;
    const bytes = 1 << sz;
    return (c) => {
      c.xl[d] = crc32(c.xl[rn]!, c.xl[rm]!, c.xh[rm]!, bytes, castagnoli);
      c.xh[d] = 0;
    };
  }
  return undefined;
}

function threeSource(insn: number, sf: boolean, rd: number, rn: number, rm: number): H | undefined {
  const op54 = (insn >>> 29) & 3;
  const op31 = (insn >>> 21) & 7;
  const o0 = (insn >>> 15) & 1;
  const ra = (insn >>> 10) & 31;
  const d = wr(rd);
  if (op54 !== 0) return undefined;
  if (op31 === 0) {
    // MADD / MSUB
    if (!sf) {
      return (c) => {
        const p = Math.imul(c.xl[rn]!, c.xl[rm]!);
        c.xl[d] = o0 ? (c.xl[ra]! - p) | 0 : (c.xl[ra]! + p) | 0;
        c.xh[d] = 0;
      };
    }
    return (c) => {
      mul64(c.xl[rn]!, c.xh[rn]!, c.xl[rm]!, c.xh[rm]!);
      let pl = R.lo;
      let ph = R.hi;
      let cin = 0;
      if (o0) {
        pl = ~pl;
        ph = ~ph;
        cin = 1;
      }
      adc64(c, c.xl[ra]!, c.xh[ra]!, pl, ph, cin, false);
      c.xl[d] = R.lo;
      c.xh[d] = R.hi;
    };
  }
  if (!sf) return undefined;
  if (op31 === 1 || op31 === 5) {
    // SMADDL/SMSUBL/UMADDL/UMSUBL: 32x32 -> 64 plus Xa
    const signed = op31 === 1;
    return (c) => {
      const a = signed ? BigInt(c.xl[rn]!) : BigInt(c.xl[rn]! >>> 0);
      const b = signed ? BigInt(c.xl[rm]!) : BigInt(c.xl[rm]! >>> 0);
      const acc = toBig(c.xl[ra]!, c.xh[ra]!);
      const r = o0 ? acc - a * b : acc + a * b;
      c.xl[d] = bigLo(r);
      c.xh[d] = bigHi(r);
    };
  }
  if ((op31 === 2 || op31 === 6) && o0 === 0) {
    // SMULH/UMULH
    if (op31 === 2) {
      return (c) => {
        smulh64(c.xl[rn]!, c.xh[rn]!, c.xl[rm]!, c.xh[rm]!);
        c.xl[d] = R.lo;
        c.xh[d] = R.hi;
      };
    }
    return (c) => {
      umulh64(c.xl[rn]!, c.xh[rn]!, c.xl[rm]!, c.xh[rm]!);
      c.xl[d] = R.lo;
      c.xh[d] = R.hi;
    };
  }
  return undefined;
}
