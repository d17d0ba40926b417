/**
 * Block translator: turns a run of guest instructions on one physical page
 * into one JavaScript function. Frequent integer instructions (ALU,
 * moves, branches) are emitted inline; everything else calls the
 * interpreter's own handler for the word (the same closure the decode cache
 * holds), so semantics are shared with the interpreter.
 *
 * Safety: the generated source is built only from fixed text and numbers
 * this file computes (`num()` asserts every interpolated value is a finite
 * number); guest data never becomes source text.
 *
 * Conventions inside a block (see run.ts):
 * - entry: c.pcLo/c.pcHi hold the block's first address; pcHi stays constant
 *   inside the block (a block never crosses a page);
 * - before any instruction that can fault, read pc or end the slice, c.pcLo
 *   is set to that instruction's address + 4 (the interpreter's convention),
 *   so a GuestFault leaves the faulting address recoverable as pcLo - 4 and
 *   every earlier instruction's effects are already in the CPU state;
 * - the function returns the number of instructions it retired.
 */
import { decodeBitMasks } from '../bitmasks.js';
import { SINK, SP, type Cpu } from '../cpu.js';
import { decode } from '../decode.js';
import { bigHi, bigLo } from '../int64.js';
import type { Handler } from '../phys.js';

export type BlockFn = (c: Cpu, budget: number) => number;

export interface Block {
  fn: BlockFn;
  /** Virtual page (lo, hi) the block was translated for (ADR and branch targets are absolute). */
  vaLo: number;
  vaHi: number;
  /** Instructions in the block. */
  len: number;
  /** Times entered (for statistics and profiling). */
  runs: number;
  /** Generated source (debugging). */
  src: string;
  /** Instructions executed through interpreter handler calls (not inline). */
  calls: number;
}

/** Longest block, in instructions (bounds interrupt latency beyond the slice budget). */
export const MAX_BLOCK = 64;

/** Assert that a value interpolated into generated source is a plain number. */
function num(v: number): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error('jit: non-numeric literal');
  if (KS !== undefined && (v | 0) === v) {
    KS.push(v);
    return `K[${KS.length - 1}]`;
  }
  return String(v);
}

/**
 * Constants of the block being generated. Every number goes into the block's
 * constant table K instead of the source, so blocks that differ only in
 * registers, immediates and addresses share one compiled function (V8 shares
 * optimized code between closures of one factory; thousands of distinct
 * functions are slow to warm up and thrash the host's instruction cache).
 */
let KS: number[] | undefined;
/** Self-loop detection while generating the terminator: the block's start and length. */
let LOOP: { lo: number; hi: number; len: number; hit: boolean } | undefined;

const wr = (d: number): number => (d === 31 ? SINK : d);
const rsp = (n: number): number => (n === 31 ? SP : n);

/** True for words in the branch / exception / system group: they end a block. */
export function isTerminator(w: number): boolean {
  return ((w >>> 25) & 0xe) === 0xa;
}

/** B.cond, CBZ/CBNZ, TBZ/TBNZ. */
function isCondBranch(w: number): boolean {
  return (w & 0xff000010) === 0x54000000 || (w & 0x7e000000) === 0x34000000 || (w & 0x7e000000) === 0x36000000;
}

function condExpr(cond: number): string {
  let e: string;
  switch (cond >> 1) {
    case 0:
      e = 'c.zf!==0';
      break;
    case 1:
      e = 'c.cf!==0';
      break;
    case 2:
      e = 'c.nf!==0';
      break;
    case 3:
      e = 'c.vf!==0';
      break;
    case 4:
      e = '(c.cf!==0&&c.zf===0)';
      break;
    case 5:
      e = 'c.nf===c.vf';
      break;
    case 6:
      e = '(c.nf===c.vf&&c.zf===0)';
      break;
    default:
      return 'true';
  }
  return (cond & 1) !== 0 ? `!(${e})` : e;
}

/** 64-bit (lo, hi) of the address `a` (uint32 low word) + `off` in page-high `hi`, as literals. */
function addr(a: number, hi: number, off: number): [number, number] {
  const l = a + off;
  return [l | 0, (hi + Math.floor(l / 4294967296)) | 0];
}

/** Emit the operand b of a shifted-register form (LSL only) into locals bl/bh; undefined when not LSL. */
function lslOperand(m: number, amt: number, sf: boolean): string {
  const M = num(m);
  if (!sf) return `const bl=${amt === 0 ? `xl[${M}]` : `xl[${M}]<<${num(amt)}`};const bh=0;`;
  if (amt === 0) return `const bl=xl[${M}];const bh=xh[${M}];`;
  if (amt < 32)
    return `const bl=xl[${M}]<<${num(amt)};const bh=(xh[${M}]<<${num(amt)})|(xl[${M}]>>>${num(32 - amt)});`;
  return `const bl=0;const bh=xl[${M}]<<${num(amt - 32)};`;
}

/**
 * 64/32-bit add with carry into register d from locals al/ah (a) and bl/bh
 * (b, already inverted for subtraction), carry-in cin; optional flags.
 */
function addCode(sf: boolean, d: number, cin: number, flags: boolean): string {
  const D = num(d);
  if (sf) {
    let s = `const l=(al>>>0)+(bl>>>0)+${num(cin)};const h=(ah>>>0)+(bh>>>0)+(l>4294967295?1:0);const rl=l|0;const rh=h|0;xl[${D}]=rl;xh[${D}]=rh;`;
    if (flags) s += `c.nf=rh>>>31;c.zf=(rl|rh)===0?1:0;c.cf=h>4294967295?1:0;c.vf=(~(ah^bh)&(ah^rh))>>>31;`;
    return s;
  }
  let s = `const l=(al>>>0)+(bl>>>0)+${num(cin)};const r=l|0;xl[${D}]=r;xh[${D}]=0;`;
  if (flags) s += `c.nf=r>>>31;c.zf=r===0?1:0;c.cf=l>4294967295?1:0;c.vf=(~(al^bl)&(al^r))>>>31;`;
  return s;
}

/**
 * Inline code for one non-terminating instruction, or undefined to use the
 * interpreter's handler. Inline forms never fault and never read pc.
 */
function inlineOp(w: number): string | undefined {
  const sf = w >>> 31 !== 0;
  const rd = w & 31;
  const rn = (w >>> 5) & 31;
  // ADD/SUB (immediate)
  if ((w & 0x1f800000) === 0x11000000) {
    const sub = (w >>> 30) & 1;
    const setf = ((w >>> 29) & 1) !== 0;
    const imm = ((w >>> 10) & 0xfff) << (((w >>> 22) & 1) !== 0 ? 12 : 0);
    const n = rsp(rn);
    const d = setf ? wr(rd) : rsp(rd);
    if (sf && !setf) {
      const k = sub ? -imm : imm;
      return `{const l=(xl[${num(n)}]>>>0)+${num(k)};xl[${num(d)}]=l|0;xh[${num(d)}]=(xh[${num(n)}]+(l>4294967295?1:l<0?-1:0))|0;}`;
    }
    if (!sf && !setf) {
      return `xl[${num(d)}]=(xl[${num(n)}]+${num(sub ? -imm : imm)})|0;xh[${num(d)}]=0;`;
    }
    const bl = sub ? ~imm : imm;
    const bh = sub ? -1 : 0;
    return `{const al=xl[${num(n)}];const ah=${sf ? `xh[${num(n)}]` : '0'};const bl=${num(bl)};const bh=${num(bh)};${addCode(sf, d, sub, true)}}`;
  }
  // Logical (immediate)
  if ((w & 0x1f800000) === 0x12000000) {
    const opc = (w >>> 29) & 3;
    const nbit = (w >>> 22) & 1;
    if (!sf && nbit) return undefined;
    const m = decodeBitMasks(nbit, (w >>> 10) & 63, (w >>> 16) & 63, true, sf ? 64 : 32);
    if (m === undefined) return undefined;
    const il = bigLo(m.wmask);
    const ih = sf ? bigHi(m.wmask) : 0;
    const d = opc === 3 ? wr(rd) : rsp(rd);
    const N = num(rn);
    const op = opc === 1 ? '|' : opc === 2 ? '^' : '&';
    const ah = sf ? `xh[${N}]` : '0';
    let s = `{const rl=xl[${N}]${op}${num(il)};const rh=${ah}${op}${num(ih)};xl[${num(d)}]=rl;xh[${num(d)}]=rh;`;
    if (opc === 3) s += `c.nf=${sf ? 'rh' : 'rl'}>>>31;c.zf=${sf ? '(rl|rh)' : 'rl'}===0?1:0;c.cf=0;c.vf=0;`;
    return s + '}';
  }
  // Move wide
  if ((w & 0x1f800000) === 0x12800000) {
    const opc = (w >>> 29) & 3;
    const hw = (w >>> 21) & 3;
    if (opc === 1 || (!sf && hw > 1)) return undefined;
    const imm = (w >>> 5) & 0xffff;
    const D = num(wr(rd));
    const lo = hw === 0 ? imm : hw === 1 ? imm << 16 : 0;
    const hi = hw === 2 ? imm : hw === 3 ? (imm << 16) | 0 : 0;
    if (opc === 0) return `xl[${D}]=${num(~lo)};xh[${D}]=${num(sf ? ~hi : 0)};`;
    if (opc === 2) return `xl[${D}]=${num(lo | 0)};xh[${D}]=${num(hi)};`;
    // MOVK
    const mask = (0xffff << ((hw & 1) * 16)) | 0;
    const val = ((hw & 1) === 0 ? imm : imm << 16) | 0;
    const tgt = hw < 2 ? 'xl' : 'xh';
    let s = `${tgt}[${D}]=(${tgt}[${D}]&${num(~mask)})|${num(val)};`;
    if (!sf) s += `xh[${D}]=0;`;
    return s;
  }
  // Logical (shifted register), LSL only
  if ((w & 0x1f000000) === 0x0a000000) {
    const opc = (w >>> 29) & 3;
    const type = (w >>> 22) & 3;
    const invert = ((w >>> 21) & 1) !== 0;
    const amt = (w >>> 10) & 63;
    if (type !== 0 || (!sf && amt > 31)) return undefined;
    const m = (w >>> 16) & 31;
    const d = wr(rd);
    const N = num(rn);
    const op = opc === 1 ? '|' : opc === 2 ? '^' : '&';
    const inv = invert ? '~' : '';
    let s = `{${lslOperand(m, amt, sf)}const rl=xl[${N}]${op}${inv}bl;const rh=${sf ? `xh[${N}]${op}${inv}bh` : '0'};xl[${num(d)}]=rl;xh[${num(d)}]=rh;`;
    if (opc === 3) s += `c.nf=${sf ? 'rh' : 'rl'}>>>31;c.zf=${sf ? '(rl|rh)' : 'rl'}===0?1:0;c.cf=0;c.vf=0;`;
    return s + '}';
  }
  // ADD/SUB (shifted register), LSL only
  if ((w & 0x1f200000) === 0x0b000000) {
    const sub = (w >>> 30) & 1;
    const setf = ((w >>> 29) & 1) !== 0;
    const type = (w >>> 22) & 3;
    const amt = (w >>> 10) & 63;
    if (type !== 0 || (!sf && amt > 31)) return undefined;
    const m = (w >>> 16) & 31;
    const d = wr(rd);
    const N = num(rn);
    let s = `{const al=xl[${N}];const ah=${sf ? `xh[${N}]` : '0'};`;
    if (sub) s += lslOperand(m, amt, sf).replace('const bl=', 'const bl0=').replace('const bh=', 'const bh0=') + 'const bl=~bl0;const bh=~bh0;';
    else s += lslOperand(m, amt, sf);
    return s + addCode(sf, d, sub, setf) + '}';
  }
  return undefined;
}

/**
 * Inline code for a terminating branch at address `a` (uint32) in page-high
 * `hi`; the code sets pc and returns `k1` (instructions retired). Undefined
 * when the branch must go through the interpreter's handler.
 */
function inlineBranch(w: number, a: number, hi: number, k1: string, sideExit = false): string | undefined {
  const next = addr(a, hi, 4);
  // As a side exit, a conditional branch leaves the block when taken and falls through into the rest of it.
  const fall = (): string => (sideExit ? '' : `${setPc(next)}return ${k1};`);
  const setPc = (t: [number, number]): string => {
    if (LOOP !== undefined && t[0] === LOOP.lo && t[1] === LOOP.hi) {
      // A branch back to the block's start loops inside the function while the budget lasts.
      LOOP.hit = true;
      const L = num(LOOP.len);
      return `n+=${L};if(n<budget)continue;n-=${L};c.pcLo=${num(t[0])};c.pcHi=${num(t[1])};`;
    }
    return `c.pcLo=${num(t[0])};c.pcHi=${num(t[1])};`;
  };
  // B / BL
  if ((w & 0x7c000000) === 0x14000000) {
    const t = addr(a, hi, ((w << 6) >> 6) * 4);
    const link = w >>> 31 !== 0 ? `xl[30]=${num(next[0])};xh[30]=${num(next[1])};` : '';
    return `${link}${setPc(t)}return ${k1};`;
  }
  // CBZ / CBNZ
  if ((w & 0x7e000000) === 0x34000000) {
    const sf = w >>> 31 !== 0;
    const nz = ((w >>> 24) & 1) !== 0;
    const T = num(w & 31);
    const t = addr(a, hi, ((w << 8) >> 13) * 4);
    const zero = sf ? `(xl[${T}]|xh[${T}])===0` : `xl[${T}]===0`;
    return `if(${nz ? '!' : ''}(${zero})){${setPc(t)}return ${k1};}${fall()}`;
  }
  // TBZ / TBNZ
  if ((w & 0x7e000000) === 0x36000000) {
    const bit = ((w >>> 26) & 32) | ((w >>> 19) & 31);
    const nz = ((w >>> 24) & 1) !== 0;
    const T = num(w & 31);
    const t = addr(a, hi, ((w << 13) >> 18) * 4);
    const test = `((${bit >= 32 ? 'xh' : 'xl'}[${T}]&${num((1 << (bit & 31)) | 0)})!==0)`;
    return `if(${nz ? '' : '!'}${test}){${setPc(t)}return ${k1};}${fall()}`;
  }
  // B.cond
  if ((w & 0xff000010) === 0x54000000) {
    const t = addr(a, hi, ((w << 8) >> 13) * 4);
    return `if(${condExpr(w & 15)}){${setPc(t)}return ${k1};}${fall()}`;
  }
  // BR / RET / BLR
  if ((w & 0xfffffc1f) >>> 0 === 0xd61f0000 || (w & 0xfffffc1f) >>> 0 === 0xd65f0000) {
    const N = num((w >>> 5) & 31);
    return `c.pcLo=xl[${N}];c.pcHi=xh[${N}];return ${k1};`;
  }
  if ((w & 0xfffffc1f) >>> 0 === 0xd63f0000) {
    const N = num((w >>> 5) & 31);
    return `{const tl=xl[${N}];const th=xh[${N}];xl[30]=${num(next[0])};xh[30]=${num(next[1])};c.pcLo=tl;c.pcHi=th;}return ${k1};`;
  }
  return undefined;
}

/**
 * Inline TLB fast path for LDR/STR (X, W, B unsigned offset) and LDP/STP (X).
 * Returns [fast-path guard+body, address code] pieces, or undefined. The
 * slow path (TLB miss, MMIO, page crossing, code page, fault) is the
 * interpreter's handler, so semantics and faults are the interpreter's.
 */
function inlineMem(w: number, slow: string): string | undefined {
  const t = w & 31;
  const n = rsp((w >>> 5) & 31);
  const N = num(n);
  const addrOff = (off: number): string =>
    `const l=(xl[${N}]>>>0)+${num(off)};const al=l|0;const ah=l>4294967295?(xh[${N}]+1)|0:xh[${N}];`;
  const hit = (perm: string, lim: number, store: boolean): string =>
    `const i=((al>>>12)^ah)&4095;if(tlbLo[i]===(al&-4096)&&tlbHi[i]===ah&&(tlbFlags[i]&${perm})!==0&&(al&4095)<=${num(lim)}${store ? '&&cp[tlbRam[i]]===0' : ''}){const o=tlbRam[i]*4096+(al&4095);`;
  // LDR/STR (unsigned immediate), integer
  if ((w & 0x3b000000) === 0x39000000 && ((w >>> 26) & 1) === 0) {
    const size = w >>> 30;
    const opc = (w >>> 22) & 3;
    const off = ((w >>> 10) & 0xfff) << size;
    const D = num(wr(t));
    const T = num(t);
    if (size === 3 && opc === 1)
      return `{${addrOff(off)}${hit('rM', 4088, false)}xl[${D}]=dv.getInt32(o,true);xh[${D}]=dv.getInt32(o+4,true);}else{${slow}}}`;
    if (size === 3 && opc === 0)
      return `{${addrOff(off)}${hit('wM', 4088, true)}dv.setInt32(o,xl[${T}],true);dv.setInt32(o+4,xh[${T}],true);}else{${slow}}}`;
    if (size === 2 && opc === 1)
      return `{${addrOff(off)}${hit('rM', 4092, false)}xl[${D}]=dv.getInt32(o,true);xh[${D}]=0;}else{${slow}}}`;
    if (size === 2 && opc === 0)
      return `{${addrOff(off)}${hit('wM', 4092, true)}dv.setInt32(o,xl[${T}],true);}else{${slow}}}`;
    if (size === 0 && opc === 1)
      return `{${addrOff(off)}${hit('rM', 4095, false)}xl[${D}]=u8[o];xh[${D}]=0;}else{${slow}}}`;
    if (size === 0 && opc === 0)
      return `{${addrOff(off)}${hit('wM', 4095, true)}u8[o]=xl[${T}];}else{${slow}}}`;
    return undefined;
  }
  // LDP/STP (X registers): post-index (01), signed offset (10), pre-index (11)
  if ((w & 0xfe000000) >>> 0 === 0xa8000000 || (w & 0xfe000000) >>> 0 === 0xa9000000) {
    const type = (w >>> 23) & 3;
    if (type === 0) return undefined;
    const load = ((w >>> 22) & 1) !== 0;
    const t2 = (w >>> 10) & 31;
    const off = ((w << 10) >> 25) * 8;
    const pre = type !== 1;
    const wb = type !== 2;
    let s = `{const bl=xl[${N}];const bh=xh[${N}];const l=(bl>>>0)+${num(off)};const nl=l|0;const nh=(bh+(l>4294967295?1:l<0?-1:0))|0;`;
    s += pre ? 'const al=nl;const ah=nh;' : 'const al=bl;const ah=bh;';
    s += hit(load ? 'rM' : 'wM', 4080, !load);
    if (load) {
      const D1 = num(wr(t));
      const D2 = num(wr(t2));
      s += `const l1=dv.getInt32(o,true);const h1=dv.getInt32(o+4,true);const l2=dv.getInt32(o+8,true);const h2=dv.getInt32(o+12,true);xl[${D1}]=l1;xh[${D1}]=h1;xl[${D2}]=l2;xh[${D2}]=h2;`;
    } else {
      s += `dv.setInt32(o,xl[${num(t)}],true);dv.setInt32(o+4,xh[${num(t)}],true);dv.setInt32(o+8,xl[${num(t2)}],true);dv.setInt32(o+12,xh[${num(t2)}],true);`;
    }
    if (wb) s += `xl[${N}]=nl;xh[${N}]=nh;`;
    return s + `}else{${slow}}}`;
  }
  return undefined;
}

export interface TranslateInput {
  /** The decoded-handler array of the physical page (filled in as needed). */
  hs: Array<Handler | undefined>;
  /** The page's words (DataView over RAM) and its byte offset. */
  dv: DataView;
  ramOff: number;
  /** First instruction's index in the page and the page's virtual address. */
  idx: number;
  vaLo: number;
  vaHi: number;
  /** Index at which the block must stop (a stop address of the raw runner), or -1. */
  stopIdx: number;
}

/** Translate the block starting at `inp.idx`. */
export function translate(inp: TranslateInput): Block {
  const { hs, dv, ramOff, idx, vaLo, vaHi, stopIdx } = inp;
  const H: Handler[] = [];
  const consts: number[] = [];
  KS = consts;
  try {
    return generate(inp, H, consts);
  } finally {
    KS = undefined;
    LOOP = undefined;
  }
}

/** Compiled block factories by generated source (blocks of the same shape share code). */
const factories = new Map<string, (h: Handler[], k: Int32Array) => BlockFn>();
/** Distinct compiled shapes (for statistics). */
export function shapeCount(): number {
  return factories.size;
}

function generate(inp: TranslateInput, H: Handler[], consts: number[]): Block {
  const { hs, dv, ramOff, idx, vaLo, vaHi, stopIdx } = inp;
  let body = '';
  let k = 0;
  let i = idx;
  let terminated = false;
  const pageVa = (vaLo & ~0xfff) >>> 0;
  const start = addr(pageVa, vaHi, idx * 4);
  let selfLoop = false;
  for (; i < 1024 && k < MAX_BLOCK; i++, k++) {
    if (i === stopIdx && k > 0) break;
    const w = dv.getUint32(ramOff + i * 4, true);
    let h = hs[i];
    if (h === undefined) {
      h = decode(w);
      hs[i] = h;
    }
    const a = pageVa + i * 4;
    const next = addr(a, vaHi, 4);
    const k1 = `n+${num(k + 1)}`;
    const setNext = `c.pcLo=${num(next[0])};${next[1] !== vaHi ? `c.pcHi=${num(next[1])};` : ''}`;
    if (isCondBranch(w) && k + 1 < MAX_BLOCK && i + 1 < 1024 && i + 1 !== stopIdx) {
      LOOP = { lo: start[0], hi: start[1], len: k + 1, hit: false };
      const br = inlineBranch(w, a, vaHi, k1, true)!;
      if (LOOP.hit) selfLoop = true;
      LOOP = undefined;
      body += br + '\n';
      continue;
    }
    if (isTerminator(w)) {
      LOOP = { lo: start[0], hi: start[1], len: k + 1, hit: false };
      const br = inlineBranch(w, a, vaHi, k1);
      if (LOOP.hit) selfLoop = true;
      LOOP = undefined;
      if (br !== undefined) body += br;
      else {
        H.push(h);
        body += `${setNext}H[${num(H.length - 1)}](c);return ${k1};`;
      }
      terminated = true;
      k++;
      break;
    }
    const op = inlineOp(w);
    if (op !== undefined) {
      body += op + '\n';
      continue;
    }
    H.push(h);
    const slow = `${setNext}H[${num(H.length - 1)}](c);if(c.sliceEnd===0)return ${k1};`;
    const mem = inlineMem(w, slow);
    body += (mem ?? slow) + '\n';
  }
  if (!terminated) {
    const next = addr(pageVa + i * 4, vaHi, 0);
    body += `c.pcLo=${num(next[0])};c.pcHi=${num(next[1])};return n+${num(k)};`;
  }
  // Only the locals the body uses (smaller code per block).
  let pre = 'let n=0;';
  for (const [name, init] of [
    ['xl', 'c.xl'],
    ['xh', 'c.xh'],
    ['tlbLo', 'c.tlbLo'],
    ['tlbHi', 'c.tlbHi'],
    ['tlbFlags', 'c.tlbFlags'],
    ['tlbRam', 'c.tlbRam'],
    ['dv', 'c.dv'],
    ['u8', 'c.u8'],
    ['cp', 'c.phys.codePages'],
    ['rM', 'c.rMask'],
    ['wM', 'c.wMask'],
  ] as const) {
    if (new RegExp(`\\b${name}\\b`).test(body)) pre += `const ${name}=${init};`;
  }
  const src = `"use strict";return function block(c,budget){${pre}\n${selfLoop ? 'for(;;){' : ''}${body}${selfLoop ? '}' : ''}\n};`;
  let factory = factories.get(src);
  if (factory === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    factory = new Function('H', 'K', src) as (h: Handler[], k: Int32Array) => BlockFn;
    factories.set(src, factory);
  }
  return { fn: factory(H, Int32Array.from(consts)), vaLo: vaLo & ~0xfff, vaHi, len: k, runs: 0, src, calls: H.length };
}

/** For tests and debugging: the inline source of one instruction (undefined = handler call). */
export function inlineSource(w: number): string | undefined {
  return isTerminator(w) ? inlineBranch(w, 0x1000, 0, '1') : inlineOp(w);
}
