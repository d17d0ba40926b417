/**
 * Decoders for the A64 load/store groups: single registers (all addressing
 * modes), pairs, literals, exclusives and acquire/release, for both general
 * and SIMD&FP registers. Advanced SIMD structure loads are delegated to the
 * FP/SIMD module by the top-level decoder.
 */
import { extendReg } from './alu.js';
import {
  EC_FP,
  FSC_ALIGNMENT,
  GuestFault,
  P_R0,
  P_W0,
  SINK,
  SP,
  type Cpu,
} from './cpu.js';
import { R } from './int64.js';
import type { Handler } from './phys.js';

type H = Handler;
/** A memory access at (lo, hi) for one register. */
type Op = (c: Cpu, lo: number, hi: number) => void;

const wr = (d: number): number => (d === 31 ? SINK : d);
const rsp = (n: number): number => (n === 31 ? SP : n);

function fpTrap(): never {
  throw new GuestFault(EC_FP, 0x1e00000);
}

// ------------------------------------------------------------ access ops

/** Integer load kinds. */
const enum LK {
  U8,
  U16,
  U32,
  U64,
  S8X,
  S16X,
  S32X,
  S8W,
  S16W,
}

function intLoad(kind: LK, t: number): Op {
  const d = wr(t);
  switch (kind) {
    case LK.U8:
      return (c, lo, hi) => {
        c.xl[d] = c.ld8(lo, hi);
        c.xh[d] = 0;
      };
    case LK.U16:
      return (c, lo, hi) => {
        c.xl[d] = c.ld16(lo, hi);
        c.xh[d] = 0;
      };
    case LK.U32:
      return (c, lo, hi) => {
        c.xl[d] = c.ld32(lo, hi);
        c.xh[d] = 0;
      };
    case LK.U64:
      return (c, lo, hi) => {
        c.ld64(lo, hi);
        c.xl[d] = c.ml;
        c.xh[d] = c.mh;
      };
    case LK.S8X:
      return (c, lo, hi) => {
        const v = (c.ld8(lo, hi) << 24) >> 24;
        c.xl[d] = v;
        c.xh[d] = v >> 31;
      };
    case LK.S16X:
      return (c, lo, hi) => {
        const v = (c.ld16(lo, hi) << 16) >> 16;
        c.xl[d] = v;
        c.xh[d] = v >> 31;
      };
    case LK.S32X:
      return (c, lo, hi) => {
        const v = c.ld32(lo, hi);
        c.xl[d] = v;
        c.xh[d] = v >> 31;
      };
    case LK.S8W:
      return (c, lo, hi) => {
        c.xl[d] = (c.ld8(lo, hi) << 24) >> 24;
        c.xh[d] = 0;
      };
    case LK.S16W:
      return (c, lo, hi) => {
        c.xl[d] = (c.ld16(lo, hi) << 16) >> 16;
        c.xh[d] = 0;
      };
  }
}

function intStore(size: number, t: number): Op {
  switch (size) {
    case 1:
      return (c, lo, hi) => c.st8(lo, hi, c.xl[t]! & 0xff);
    case 2:
      return (c, lo, hi) => c.st16(lo, hi, c.xl[t]! & 0xffff);
    case 4:
      return (c, lo, hi) => c.st32(lo, hi, c.xl[t]!);
    default:
      return (c, lo, hi) => c.st64(lo, hi, c.xl[t]!, c.xh[t]!);
  }
}

/** SIMD&FP register load of `size` bytes into Vt, zeroing the rest of the register. */
function fpLoad(size: number, t: number): Op {
  const b = t * 4;
  return (c, lo, hi) => {
    const v = c.v;
    switch (size) {
      case 1:
        v[b] = c.ld8(lo, hi);
        v[b + 1] = 0;
        break;
      case 2:
        v[b] = c.ld16(lo, hi);
        v[b + 1] = 0;
        break;
      case 4:
        v[b] = c.ld32(lo, hi);
        v[b + 1] = 0;
        break;
      case 8:
        c.ld64(lo, hi);
        v[b] = c.ml;
        v[b + 1] = c.mh;
        break;
      default: {
        c.ld64(lo, hi);
        const l0 = c.ml;
        const l1 = c.mh;
        const l2 = (lo + 8) | 0;
        c.ld64(l2, (l2 >>> 0) < (lo >>> 0) ? (hi + 1) | 0 : hi);
        v[b] = l0;
        v[b + 1] = l1;
        v[b + 2] = c.ml;
        v[b + 3] = c.mh;
        return;
      }
    }
    v[b + 2] = 0;
    v[b + 3] = 0;
  };
}

function fpStore(size: number, t: number): Op {
  const b = t * 4;
  return (c, lo, hi) => {
    const v = c.v;
    switch (size) {
      case 1:
        c.st8(lo, hi, v[b]! & 0xff);
        return;
      case 2:
        c.st16(lo, hi, v[b]! & 0xffff);
        return;
      case 4:
        c.st32(lo, hi, v[b]! | 0);
        return;
      case 8:
        c.st64(lo, hi, v[b]! | 0, v[b + 1]! | 0);
        return;
      default: {
        const l2 = (lo + 8) | 0;
        const h2 = (l2 >>> 0) < (lo >>> 0) ? (hi + 1) | 0 : hi;
        // Probe the second half first so a fault there leaves memory unchanged.
        c.dataPa(l2, h2, true);
        c.st64(lo, hi, v[b]! | 0, v[b + 1]! | 0);
        c.st64(l2, h2, v[b + 2]! | 0, v[b + 3]! | 0);
      }
    }
  };
}

/** Run an access with EL0 permissions (LDTR/STTR at EL1). */
function unprivileged(op: Op): Op {
  return (c, lo, hi) => {
    if (c.el === 0) {
      op(c, lo, hi);
      return;
    }
    const r = c.rMask;
    const w = c.wMask;
    c.rMask = P_R0;
    c.wMask = P_W0;
    try {
      op(c, lo, hi);
    } finally {
      c.rMask = r;
      c.wMask = w;
    }
  };
}

/** The access op for a single-register load/store; undefined when unallocated. Returns [op, sizeBytes]. */
function singleOp(size: number, v: number, opc: number, t: number): [Op, number] | undefined | 'prfm' {
  if (v) {
    const bytes = (opc & 2) !== 0 ? (size === 0 ? 16 : 0) : 1 << size;
    if (bytes === 0) return undefined;
    return [(opc & 1) !== 0 ? fpLoad(bytes, t) : fpStore(bytes, t), bytes];
  }
  const bytes = 1 << size;
  switch (opc) {
    case 0:
      return [intStore(bytes, t), bytes];
    case 1:
      return [intLoad([LK.U8, LK.U16, LK.U32, LK.U64][size]!, t), bytes];
    case 2:
      if (size === 3) return 'prfm';
      return [intLoad([LK.S8X, LK.S16X, LK.S32X][size]!, t), bytes];
    default:
      if (size >= 2) return undefined;
      return [intLoad([LK.S8W, LK.S16W][size]!, t), bytes];
  }
}

const NOP: H = () => {};

function withFpCheck(v: number, h: H): H {
  if (!v) return h;
  return (c) => {
    if (c.fpTrap) fpTrap();
    h(c);
  };
}

// ------------------------------------------------------------ decoders

export function decodeLoadStore(insn: number): H | undefined {
  if ((insn & 0x3f000000) === 0x08000000) return decodeExclusive(insn);
  if ((insn & 0x3b000000) === 0x18000000) return decodeLiteral(insn);
  if ((insn & 0x3a000000) === 0x28000000) return decodePair(insn);
  if ((insn & 0x3b000000) === 0x38000000) return decodeRegImm9(insn);
  if ((insn & 0x3b000000) === 0x39000000) return decodeUnsignedImm(insn);
  return undefined;
}

function decodeUnsignedImm(insn: number): H | undefined {
  const size = insn >>> 30;
  const v = (insn >>> 26) & 1;
  const opc = (insn >>> 22) & 3;
  const t = insn & 31;
  const n = rsp((insn >>> 5) & 31);
  const s = singleOp(size, v, opc, t);
  if (s === undefined) return undefined;
  if (s === 'prfm') return NOP;
  const [op, bytes] = s;
  const off = ((insn >>> 10) & 0xfff) * bytes;
  if (!v) {
    const fast = fastUimm(size, opc, t, n, off);
    if (fast !== undefined) return fast;
  }
  return withFpCheck(v, (c) => {
    const l = (c.xl[n]! >>> 0) + off;
    op(c, l | 0, l > 0xffffffff ? (c.xh[n]! + 1) | 0 : c.xh[n]!);
  });
}

/**
 * Monomorphic handlers for the most frequent forms (LDR/STR X and W with an
 * unsigned offset): the memory fast path inlines into them.
 */
function fastUimm(size: number, opc: number, t: number, n: number, off: number): H | undefined {
  const d = wr(t);
  if (size === 3 && opc === 1) {
    return (c) => {
      const l = (c.xl[n]! >>> 0) + off;
      c.ld64(l | 0, l > 0xffffffff ? (c.xh[n]! + 1) | 0 : c.xh[n]!);
      c.xl[d] = c.ml;
      c.xh[d] = c.mh;
    };
  }
  if (size === 3 && opc === 0) {
    return (c) => {
      const l = (c.xl[n]! >>> 0) + off;
      c.st64(l | 0, l > 0xffffffff ? (c.xh[n]! + 1) | 0 : c.xh[n]!, c.xl[t]!, c.xh[t]!);
    };
  }
  if (size === 2 && opc === 1) {
    return (c) => {
      const l = (c.xl[n]! >>> 0) + off;
      c.xl[d] = c.ld32(l | 0, l > 0xffffffff ? (c.xh[n]! + 1) | 0 : c.xh[n]!);
      c.xh[d] = 0;
    };
  }
  if (size === 2 && opc === 0) {
    return (c) => {
      const l = (c.xl[n]! >>> 0) + off;
      c.st32(l | 0, l > 0xffffffff ? (c.xh[n]! + 1) | 0 : c.xh[n]!, c.xl[t]!);
    };
  }
  if (size === 0 && opc === 1) {
    return (c) => {
      const l = (c.xl[n]! >>> 0) + off;
      c.xl[d] = c.ld8(l | 0, l > 0xffffffff ? (c.xh[n]! + 1) | 0 : c.xh[n]!);
      c.xh[d] = 0;
    };
  }
  return undefined;
}

/** Monomorphic LDP/STP of X registers (signed offset, pre- and post-index) within one page. */
function fastPair64(load: boolean, t: number, t2: number, n: number, off: number, pre: boolean, wb: boolean): H {
  const d1 = wr(t);
  const d2 = wr(t2);
  if (load) {
    return (c) => {
      const bl = c.xl[n]!;
      const bh = c.xh[n]!;
      const l = (bl >>> 0) + off;
      const nl = l | 0;
      const nh = (bh + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0;
      const al = pre ? nl : bl;
      const ah = pre ? nh : bh;
      if ((al & 0xfff) > 4080) {
        slowPair(c, true, d1, d2, t, t2, al, ah);
      } else {
        c.ld64(al, ah);
        const l1 = c.ml;
        const h1 = c.mh;
        c.ld64((al + 8) | 0, ah);
        c.xl[d1] = l1;
        c.xh[d1] = h1;
        c.xl[d2] = c.ml;
        c.xh[d2] = c.mh;
      }
      if (wb) {
        c.xl[n] = nl;
        c.xh[n] = nh;
      }
    };
  }
  return (c) => {
    const bl = c.xl[n]!;
    const bh = c.xh[n]!;
    const l = (bl >>> 0) + off;
    const nl = l | 0;
    const nh = (bh + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0;
    const al = pre ? nl : bl;
    const ah = pre ? nh : bh;
    if ((al & 0xfff) > 4080) {
      slowPair(c, false, d1, d2, t, t2, al, ah);
    } else {
      c.st64(al, ah, c.xl[t]!, c.xh[t]!);
      c.st64((al + 8) | 0, ah, c.xl[t2]!, c.xh[t2]!);
    }
    if (wb) {
      c.xl[n] = nl;
      c.xh[n] = nh;
    }
  };
}

/** A 16-byte pair access that may cross a page: translate both ends first, then access. */
function slowPair(c: Cpu, load: boolean, d1: number, d2: number, t: number, t2: number, al: number, ah: number): void {
  const l2 = (al >>> 0) + 8;
  const a2l = l2 | 0;
  const a2h = l2 > 0xffffffff ? (ah + 1) | 0 : ah;
  const e = (al >>> 0) + 15;
  c.dataPa(al, ah, !load);
  c.dataPa(e | 0, e > 0xffffffff ? (ah + 1) | 0 : ah, !load);
  if (load) {
    c.ld64(al, ah);
    const l1 = c.ml;
    const h1 = c.mh;
    c.ld64(a2l, a2h);
    c.xl[d1] = l1;
    c.xh[d1] = h1;
    c.xl[d2] = c.ml;
    c.xh[d2] = c.mh;
  } else {
    c.st64(al, ah, c.xl[t]!, c.xh[t]!);
    c.st64(a2l, a2h, c.xl[t2]!, c.xh[t2]!);
  }
}

function decodeRegImm9(insn: number): H | undefined {
  const size = insn >>> 30;
  const v = (insn >>> 26) & 1;
  const opc = (insn >>> 22) & 3;
  const t = insn & 31;
  const n = rsp((insn >>> 5) & 31);
  const kind = (insn >>> 10) & 3;
  if ((insn >>> 21) & 1) {
    // Register offset (kind must be 10); other encodings are LSE atomics / PAC: absent.
    if (kind !== 2) return undefined;
    const s = singleOp(size, v, opc, t);
    if (s === undefined) return undefined;
    if (s === 'prfm') return NOP;
    const [op, bytes] = s;
    const option = (insn >>> 13) & 7;
    if ((option & 2) === 0) return undefined;
    const shift = (insn >>> 12) & 1 ? 31 - Math.clz32(bytes) : 0;
    const m = (insn >>> 16) & 31;
    return withFpCheck(v, (c) => {
      extendReg(c.xl[m]!, c.xh[m]!, option, shift);
      const l = (c.xl[n]! >>> 0) + (R.lo >>> 0);
      const h = (c.xh[n]! + R.hi + (l > 0xffffffff ? 1 : 0)) | 0;
      op(c, l | 0, h);
    });
  }
  const imm = (insn << 11) >> 23; // imm9, bits 20:12
  let s = singleOp(size, v, opc, t);
  if (s === undefined) return undefined;
  if (s === 'prfm') {
    // PRFUM (unscaled) is a hint; other kinds with size 3/opc 2 are unallocated.
    return kind === 0 ? NOP : undefined;
  }
  let op = s[0];
  switch (kind) {
    case 0: // unscaled (LDUR/STUR)
      return withFpCheck(v, (c) => {
        const l = (c.xl[n]! >>> 0) + imm;
        op(c, l | 0, (c.xh[n]! + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0);
      });
    case 2: // unprivileged (LDTR/STTR)
      if (v) return undefined;
      op = unprivileged(op);
      return (c) => {
        const l = (c.xl[n]! >>> 0) + imm;
        op(c, l | 0, (c.xh[n]! + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0);
      };
    case 1: // post-index
      return withFpCheck(v, (c) => {
        const bl = c.xl[n]!;
        const bh = c.xh[n]!;
        op(c, bl, bh);
        const l = (bl >>> 0) + imm;
        c.xl[n] = l;
        c.xh[n] = (bh + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0;
      });
    default: // pre-index
      return withFpCheck(v, (c) => {
        const l = (c.xl[n]! >>> 0) + imm;
        const al = l | 0;
        const ah = (c.xh[n]! + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0;
        op(c, al, ah);
        c.xl[n] = al;
        c.xh[n] = ah;
      });
  }
}

function decodeLiteral(insn: number): H | undefined {
  const opc = insn >>> 30;
  const v = (insn >>> 26) & 1;
  const t = insn & 31;
  const imm = ((insn << 8) >> 13) * 4;
  let op: Op;
  if (v) {
    if (opc === 3) return undefined;
    op = fpLoad(4 << opc, t);
  } else {
    if (opc === 3) return NOP; // PRFM (literal)
    op = intLoad(opc === 0 ? LK.U32 : opc === 1 ? LK.U64 : LK.S32X, t);
  }
  return withFpCheck(v, (c) => {
    const l = (c.pcLo >>> 0) - 4 + imm;
    op(c, l | 0, (c.pcHi + Math.floor(l / 4294967296)) | 0);
  });
}

function decodePair(insn: number): H | undefined {
  const opc = insn >>> 30;
  const v = (insn >>> 26) & 1;
  const type = (insn >>> 23) & 3;
  const load = ((insn >>> 22) & 1) !== 0;
  const t = insn & 31;
  const t2 = (insn >>> 10) & 31;
  const n = rsp((insn >>> 5) & 31);
  const imm7 = (insn << 10) >> 25;
  let bytes: number;
  let op1: Op;
  let op2: Op;
  if (v) {
    if (opc === 3) return undefined;
    bytes = 4 << opc;
    op1 = load ? fpLoad(bytes, t) : fpStore(bytes, t);
    op2 = load ? fpLoad(bytes, t2) : fpStore(bytes, t2);
  } else {
    if (opc === 3 || (opc === 1 && !load)) return undefined;
    bytes = opc === 2 ? 8 : 4;
    const kind = opc === 2 ? LK.U64 : opc === 1 ? LK.S32X : LK.U32;
    op1 = load ? intLoad(kind, t) : intStore(bytes, t);
    op2 = load ? intLoad(kind, t2) : intStore(bytes, t2);
  }
  const off = imm7 * bytes;
  const pre = type !== 1; // offset, pre-index and no-allocate use base+imm
  const wb = type === 1 || type === 3;
  if (type === 0 && opc === 1 && !v) return undefined; // no LDNPSW
  if (!v && opc === 2) return fastPair64(load, t, t2, n, off, pre, wb);
  return withFpCheck(v, (c) => {
    const bl = c.xl[n]!;
    const bh = c.xh[n]!;
    const l = (bl >>> 0) + off;
    const nl = l | 0;
    const nh = (bh + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0;
    const al = pre ? nl : bl;
    const ah = pre ? nh : bh;
    const l2 = (al >>> 0) + bytes;
    const a2l = l2 | 0;
    const a2h = l2 > 0xffffffff ? (ah + 1) | 0 : ah;
    // Translate both ends first when the pair crosses a page, so a fault on the
    // second half leaves registers and memory untouched (the instruction restarts).
    if ((al & 0xfff) > 4096 - 2 * bytes) {
      c.dataPa(al, ah, !load);
      c.dataPa(a2l, a2h, !load);
      const e = (a2l >>> 0) + bytes - 1;
      c.dataPa(e | 0, e > 0xffffffff ? (a2h + 1) | 0 : a2h, !load);
    }
    op1(c, al, ah);
    op2(c, a2l, a2h);
    if (wb) {
      c.xl[n] = nl;
      c.xh[n] = nh;
    }
  });
}

function decodeExclusive(insn: number): H | undefined {
  const size = insn >>> 30;
  const o2 = (insn >>> 23) & 1;
  const load = ((insn >>> 22) & 1) !== 0;
  const o1 = (insn >>> 21) & 1;
  const rs = (insn >>> 16) & 31;
  const t2 = (insn >>> 10) & 31;
  const n = rsp((insn >>> 5) & 31);
  const t = insn & 31;
  const bytes = 1 << size;
  if (o2 === 1) {
    if (o1 === 1) return undefined; // CAS family (LSE): absent
    // LDAR/STLR (and LDLAR/STLLR, treated the same): ordinary accesses, we are sequentially consistent.
    const op = load ? intLoad([LK.U8, LK.U16, LK.U32, LK.U64][size]!, t) : intStore(bytes, t);
    return (c) => op(c, c.xl[n]!, c.xh[n]!);
  }
  const pair = o1 === 1;
  if (pair && size < 2) return undefined;
  const total = pair ? bytes * 2 : bytes;
  const kind = [LK.U8, LK.U16, LK.U32, LK.U64][size]!;
  if (load) {
    const op1 = intLoad(kind, t);
    const op2 = intLoad(kind, t2);
    return (c) => {
      const lo = c.xl[n]!;
      const hi = c.xh[n]!;
      if ((lo & (total - 1)) !== 0) throw c.dataFault(lo, hi, false, FSC_ALIGNMENT);
      const pa = c.dataPa(lo, hi, false);
      op1(c, lo, hi);
      if (pair) op2(c, (lo + bytes) | 0, hi);
      c.monAddr = pa;
      c.monSize = total;
    };
  }
  const st1 = intStore(bytes, t);
  const st2 = intStore(bytes, t2);
  const s = wr(rs);
  return (c) => {
    const lo = c.xl[n]!;
    const hi = c.xh[n]!;
    if ((lo & (total - 1)) !== 0) throw c.dataFault(lo, hi, true, FSC_ALIGNMENT);
    const pa = c.dataPa(lo, hi, true);
    let status = 1;
    if (c.monAddr === pa && c.monSize === total) {
      st1(c, lo, hi);
      if (pair) st2(c, (lo + bytes) | 0, hi);
      status = 0;
    }
    c.monAddr = -1;
    c.xl[s] = status;
    c.xh[s] = 0;
  };
}
