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

export type BlockFn = (c: Cpu) => number;

export interface Block {
  fn: BlockFn;
  /** Virtual page (lo, hi) the block was translated for (ADR and branch targets are absolute). */
  vaLo: number;
  vaHi: number;
  /** Instructions in the block. */
  len: number;
  /** Times entered (for statistics and profiling). */
  runs: number;
}

/** Longest block, in instructions (bounds interrupt latency beyond the slice budget). */
export const MAX_BLOCK = 64;

/** Assert that a value interpolated into generated source is a plain number. */
function num(v: number): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error('jit: non-numeric literal');
  return String(v);
}

const wr = (d: number): number => (d === 31 ? SINK : d);
const rsp = (n: number): number => (n === 31 ? SP : n);

/** True for words in the branch / exception / system group: they end a block. */
export function isTerminator(w: number): boolean {
  return ((w >>> 25) & 0xe) === 0xa;
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
function inlineBranch(w: number, a: number, hi: number, k1: string): string | undefined {
  const next = addr(a, hi, 4);
  const setPc = (t: [number, number]): string => `c.pcLo=${num(t[0])};c.pcHi=${num(t[1])};`;
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
    return `if(${nz ? '!' : ''}(${zero})){${setPc(t)}}else{${setPc(next)}}return ${k1};`;
  }
  // TBZ / TBNZ
  if ((w & 0x7e000000) === 0x36000000) {
    const bit = ((w >>> 26) & 32) | ((w >>> 19) & 31);
    const nz = ((w >>> 24) & 1) !== 0;
    const T = num(w & 31);
    const t = addr(a, hi, ((w << 13) >> 18) * 4);
    const test = `((${bit >= 32 ? 'xh' : 'xl'}[${T}]&${num((1 << (bit & 31)) | 0)})!==0)`;
    return `if(${nz ? '' : '!'}${test}){${setPc(t)}}else{${setPc(next)}}return ${k1};`;
  }
  // B.cond
  if ((w & 0xff000010) === 0x54000000) {
    const t = addr(a, hi, ((w << 8) >> 13) * 4);
    return `if(${condExpr(w & 15)}){${setPc(t)}}else{${setPc(next)}}return ${k1};`;
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
  let body = '';
  let k = 0;
  let i = idx;
  let terminated = false;
  for (; i < 1024 && k < MAX_BLOCK; i++, k++) {
    if (i === stopIdx && k > 0) break;
    const w = dv.getUint32(ramOff + i * 4, true);
    let h = hs[i];
    if (h === undefined) {
      h = decode(w);
      hs[i] = h;
    }
    const a = ((vaLo & ~0xfff) >>> 0) + i * 4;
    const next = addr(a, vaHi, 4);
    const k1 = num(k + 1);
    const setNext = `c.pcLo=${num(next[0])};${next[1] !== vaHi ? `c.pcHi=${num(next[1])};` : ''}`;
    if (isTerminator(w)) {
      const br = inlineBranch(w, a, vaHi, k1);
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
    body += `${setNext}H[${num(H.length - 1)}](c);if(c.sliceEnd===0)return ${k1};\n`;
  }
  if (!terminated) {
    const next = addr(((vaLo & ~0xfff) >>> 0) + i * 4, vaHi, 0);
    body += `c.pcLo=${num(next[0])};c.pcHi=${num(next[1])};return ${num(k)};`;
  }
  const src = `"use strict";return function block(c){const xl=c.xl;const xh=c.xh;\n${body}\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('H', src) as (h: Handler[]) => BlockFn;
  return { fn: factory(H), vaLo: vaLo & ~0xfff, vaHi, len: k, runs: 0 };
}

/** For tests and debugging: the inline source of one instruction (undefined = handler call). */
export function inlineSource(w: number): string | undefined {
  return isTerminator(w) ? inlineBranch(w, 0x1000, 0, '1') : inlineOp(w);
}
