/**
 * The interpreter loop: fetch through the software TLB, look up (or decode
 * and cache) the instruction, advance pc, execute it. A synchronous exception
 * thrown while executing (GuestFault) is taken here with the faulting
 * instruction's address as the preferred return.
 *
 * Every instruction is decoded once into a handler closure (phys.icache, the
 * decode cache the block translator shares). The most frequent simple forms
 * of kernel code are also decoded into a "fast op": four int32 slots per
 * instruction in a per-page Int32Array that this loop executes inline in one
 * switch, with no call and with the operands next to each other in memory.
 * A fast op's slow paths (TLB miss, page-crossing or MMIO access) run the
 * instruction's handler or the Cpu's access methods, so the semantics are the
 * handlers'.
 */
import { adc32, adc64, condHolds, extendReg } from './alu.js';
import { decodeBitMasks } from './bitmasks.js';
import { Bus } from '../../devices/bus.js';
import { createHeapMemory } from '../../memory/guest-memory.js';
import { Cpu, EC_IABT_CUR, EC_IABT_LOW, FSC_EXTERNAL, GuestFault, SINK, SP } from './cpu.js';
import { decode } from './decode.js';
import { R, bigHi, bigLo, ror64, shift32, shift64, toBig } from './int64.js';
import { Phys, type Handler } from './phys.js';

const NO_PAGE: Array<Handler | undefined> = [];
const NO_OPS = new Int32Array(4096);

/** A packed (not holey) array of 1024 empty slots: hole checks would slow every lookup. */
function newPage(): Array<Handler | undefined> {
  const a: Array<Handler | undefined> = [];
  for (let i = 0; i < 1024; i++) a.push(undefined);
  return a;
}

/**
 * Fast-op arrays per RAM page, each valid only for the handler array it was
 * built next to (`owner`): any invalidation of the decode cache replaces that
 * array, which discards the fast ops too.
 */
interface OpsStore {
  ops: Array<Int32Array | undefined>;
  owner: Array<Array<Handler | undefined> | undefined>;
}
const stores = new WeakMap<Phys, OpsStore>();

function opsStore(phys: Phys): OpsStore {
  let s = stores.get(phys);
  if (s === undefined) {
    const n = phys.icache.length;
    s = { ops: Array.from({ length: n }, () => undefined), owner: Array.from({ length: n }, () => undefined) };
    stores.set(phys, s);
  }
  return s;
}

/**
 * Recently executed code pages of one vCPU by virtual page (direct-mapped):
 * a branch to another page usually finds its handler and fast-op arrays here
 * instead of translating and indexing the page-sized tables. Valid while
 * neither the vCPU's translation (tlbGen: TLB maintenance, EL change) nor the
 * decode cache (phys.codeGen) has changed.
 */
const CODE_WAYS = 64;
class CodeCache {
  readonly vLo = new Int32Array(CODE_WAYS).fill(0xffc);
  readonly vHi = new Int32Array(CODE_WAYS);
  readonly ram = new Int32Array(CODE_WAYS);
  readonly hs: Array<Array<Handler | undefined>> = Array.from({ length: CODE_WAYS }, () => NO_PAGE);
  readonly ops: Int32Array[] = Array.from({ length: CODE_WAYS }, () => NO_OPS);
  tlbGen = -1;
  codeGen = -1;
}
const codeCaches = new WeakMap<Cpu, CodeCache>();

function codeCache(c: Cpu): CodeCache {
  let cc = codeCaches.get(c);
  if (cc === undefined) {
    cc = new CodeCache();
    codeCaches.set(c, cc);
  }
  if (cc.tlbGen !== c.tlbGen || cc.codeGen !== c.phys.codeGen) {
    cc.vLo.fill(0xffc); // never matches lo & ~0xffc (bits 11:2 clear)
    cc.tlbGen = c.tlbGen;
    cc.codeGen = c.phys.codeGen;
  }
  return cc;
}

/**
 * The block translator's view of its block table (jit/run.ts), for runSlice
 * to run the translator's cold code: per RAM page, the decode-cache array the
 * page's blocks were built against, the translated blocks and the entry
 * counters.
 */
export interface EntryHook {
  pages: Array<{ hs: Array<Handler | undefined>; blocks: Array<unknown>; hits: Uint16Array } | undefined>;
  hot: number;
}

/** hits[] value of an entry queued for translation (jit/run.ts). */
export const HITS_QUEUED = 65535;

/**
 * Run up to `budget` instructions on `c` (fewer when a handler ends the slice). Returns instructions executed.
 *
 * With `hook` (the translator's cold path), every taken branch or exception
 * entry after the first instruction is a block entry: its counter is bumped
 * while below the threshold; runSlice returns before running an entry that
 * has a translated block, has just become hot, or lies on a page the
 * translator has no current table for (pc is then the entry's address).
 */
export function runSlice(c: Cpu, budget: number, hook?: EntryHook): number {
  const phys = c.phys;
  const dv = c.dv;
  const xl = c.xl;
  const xh = c.xh;
  const tlbLo = c.tlbLo;
  const tlbHi = c.tlbHi;
  const tlbFlags = c.tlbFlags;
  const tlbRam = c.tlbRam;
  const tlbMask = tlbLo.length - 1;
  const codePages = phys.codePages;
  const store = opsStore(phys);
  const cc = codeCache(c);
  // The code page's translation is cached for the slice: every event that could
  // change it (TLB maintenance, EL change, stores to decoded code) ends the slice.
  let pageLo = 0xffc; // never equals lo & ~0xffc: forces the first translation
  let pageHi = 0;
  let hs = NO_PAGE;
  let ops: Int32Array = NO_OPS;
  let ramOff = 0;
  let ilo = 0;
  let ihi = 0;
  let n = 0;
  // Address of the next sequential instruction: any other pc is a block entry (for `hook`).
  let expect = c.pcLo;
  c.sliceEnd = budget;
  outer: while (n < c.sliceEnd) {
    try {
      while (n < c.sliceEnd) {
        const lo = c.pcLo;
        const hi = c.pcHi;
        ilo = lo;
        ihi = hi;
        // Also taken for a misaligned pc (low bits kept): fetchTranslate raises the PC alignment fault.
        if ((lo & ~0xffc) !== pageLo || hi !== pageHi) {
          const way = ((lo >>> 12) ^ hi) & (CODE_WAYS - 1);
          if (cc.vLo[way] === (lo & ~0xffc) && cc.vHi[way] === hi) {
            hs = cc.hs[way]!;
            ops = cc.ops[way]!;
            ramOff = cc.ram[way]!;
            pageLo = lo & ~0xfff;
            pageHi = hi;
          } else {
            const i = c.fetchTranslate(lo, hi);
            const rp = tlbRam[i]!;
            if (rp < 0) {
              throw new GuestFault(c.el === 0 ? EC_IABT_LOW : EC_IABT_CUR, FSC_EXTERNAL, toBig(lo, hi));
            }
            let page = phys.icache[rp];
            if (page === undefined) {
              page = newPage();
              phys.icache[rp] = page;
              phys.noteCode(rp);
            }
            let o = store.ops[rp];
            if (o === undefined || store.owner[rp] !== page) {
              o = new Int32Array(4096);
              store.ops[rp] = o;
              store.owner[rp] = page;
            }
            hs = page;
            ops = o;
            ramOff = rp * 4096;
            pageLo = lo & ~0xfff;
            pageHi = hi;
            if (c.tlbGen === cc.tlbGen) {
              cc.vLo[way] = pageLo;
              cc.vHi[way] = hi;
              cc.hs[way] = page;
              cc.ops[way] = o;
              cc.ram[way] = ramOff;
            }
          }
        }
        // Four slots per 4-byte instruction: the slot index is the byte offset.
        const k = lo & 0xfff;
        if (lo !== expect && hook !== undefined) {
          const p = hook.pages[ramOff >>> 12];
          if (p === undefined || p.hs !== hs) break outer;
          const e = k >>> 2;
          if (p.blocks[e] !== undefined) break outer;
          const h = p.hits[e]!;
          if (h < hook.hot) p.hits[e] = h + 1;
          else if (h !== HITS_QUEUED) break outer;
        }
        expect = (lo + 4) | 0;
        let w = ops[k]!;
        if (w === 0) {
          const insn = dv.getUint32(ramOff + k, true);
          if (hs[k >>> 2] === undefined) hs[k >>> 2] = decode(insn);
          fastDecode(insn, ops, k);
          w = ops[k]!;
        }
        c.pcLo = (lo + 4) | 0;
        if (lo === -4) c.pcHi = (hi + 1) | 0;
        n++;
        switch (w & 0xff) {
          case K.MOV64: {
            const d = (w >>> 8) & 0xff;
            const m = (w >>> 16) & 0xff;
            xl[d] = xl[m]!;
            xh[d] = xh[m]!;
            break;
          }
          case K.MOV32: {
            const d = (w >>> 8) & 0xff;
            xl[d] = xl[(w >>> 16) & 0xff]!;
            xh[d] = 0;
            break;
          }
          case K.ADDI64: {
            const d = (w >>> 8) & 0xff;
            const s = (w >>> 16) & 0xff;
            const l = (xl[s]! >>> 0) + ops[k + 1]!;
            xl[d] = l;
            xh[d] = xh[s]! + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0);
            break;
          }
          case K.ADDI32: {
            const d = (w >>> 8) & 0xff;
            xl[d] = (xl[(w >>> 16) & 0xff]! + ops[k + 1]!) | 0;
            xh[d] = 0;
            break;
          }
          case K.ADDSI64: {
            const s = (w >>> 16) & 0xff;
            adc64(c, xl[s]!, xh[s]!, ops[k + 1]!, ops[k + 2]!, w >>> 24, true);
            const d = (w >>> 8) & 0xff;
            xl[d] = R.lo;
            xh[d] = R.hi;
            break;
          }
          case K.ADDSI32: {
            const d = (w >>> 8) & 0xff;
            xl[d] = adc32(c, xl[(w >>> 16) & 0xff]!, ops[k + 1]!, w >>> 24, true);
            xh[d] = 0;
            break;
          }
          case K.ADDR64:
          case K.ADDSR64: {
            const s = (w >>> 16) & 0xff;
            const m = ops[k + 1]!;
            const sub = w >>> 24;
            const bl = xl[m]!;
            const bh = xh[m]!;
            adc64(c, xl[s]!, xh[s]!, sub ? ~bl : bl, sub ? ~bh : bh, sub, (w & 0xff) === K.ADDSR64);
            const d = (w >>> 8) & 0xff;
            xl[d] = R.lo;
            xh[d] = R.hi;
            break;
          }
          case K.ADDR32: {
            const d = (w >>> 8) & 0xff;
            const a = xl[(w >>> 16) & 0xff]!;
            const b = xl[ops[k + 1]!]!;
            xl[d] = w >>> 24 ? (a - b) | 0 : (a + b) | 0;
            xh[d] = 0;
            break;
          }
          case K.ADDSR32: {
            const b = xl[ops[k + 1]!]!;
            const sub = w >>> 24;
            const d = (w >>> 8) & 0xff;
            xl[d] = adc32(c, xl[(w >>> 16) & 0xff]!, sub ? ~b : b, sub, true);
            xh[d] = 0;
            break;
          }
          case K.AND64: {
            const d = (w >>> 8) & 0xff;
            const s = (w >>> 16) & 0xff;
            const m = ops[k + 1]!;
            const rh = xh[s]! & xh[m]!;
            xl[d] = xl[s]! & xl[m]!;
            xh[d] = rh;
            break;
          }
          case K.ORR64: {
            const d = (w >>> 8) & 0xff;
            const s = (w >>> 16) & 0xff;
            const m = ops[k + 1]!;
            const rh = xh[s]! | xh[m]!;
            xl[d] = xl[s]! | xl[m]!;
            xh[d] = rh;
            break;
          }
          case K.EOR64: {
            const d = (w >>> 8) & 0xff;
            const s = (w >>> 16) & 0xff;
            const m = ops[k + 1]!;
            const rh = xh[s]! ^ xh[m]!;
            xl[d] = xl[s]! ^ xl[m]!;
            xh[d] = rh;
            break;
          }
          case K.ANDS64: {
            const d = (w >>> 8) & 0xff;
            const s = (w >>> 16) & 0xff;
            const m = ops[k + 1]!;
            const rl = xl[s]! & xl[m]!;
            const rh = xh[s]! & xh[m]!;
            xl[d] = rl;
            xh[d] = rh;
            c.nf = rh >>> 31;
            c.zf = (rl | rh) === 0 ? 1 : 0;
            c.cf = 0;
            c.vf = 0;
            break;
          }
          case K.AND32: {
            const d = (w >>> 8) & 0xff;
            xl[d] = xl[(w >>> 16) & 0xff]! & xl[ops[k + 1]!]!;
            xh[d] = 0;
            break;
          }
          case K.ORR32: {
            const d = (w >>> 8) & 0xff;
            xl[d] = xl[(w >>> 16) & 0xff]! | xl[ops[k + 1]!]!;
            xh[d] = 0;
            break;
          }
          case K.EOR32: {
            const d = (w >>> 8) & 0xff;
            xl[d] = xl[(w >>> 16) & 0xff]! ^ xl[ops[k + 1]!]!;
            xh[d] = 0;
            break;
          }
          case K.ANDS32: {
            const d = (w >>> 8) & 0xff;
            const r = xl[(w >>> 16) & 0xff]! & xl[ops[k + 1]!]!;
            xl[d] = r;
            xh[d] = 0;
            c.nf = r >>> 31;
            c.zf = r === 0 ? 1 : 0;
            c.cf = 0;
            c.vf = 0;
            break;
          }
          case K.ANDI64: {
            const d = (w >>> 8) & 0xff;
            const s = (w >>> 16) & 0xff;
            const rh = xh[s]! & ops[k + 2]!;
            xl[d] = xl[s]! & ops[k + 1]!;
            xh[d] = rh;
            break;
          }
          case K.ORRI64: {
            const d = (w >>> 8) & 0xff;
            const s = (w >>> 16) & 0xff;
            const rh = xh[s]! | ops[k + 2]!;
            xl[d] = xl[s]! | ops[k + 1]!;
            xh[d] = rh;
            break;
          }
          case K.EORI64: {
            const d = (w >>> 8) & 0xff;
            const s = (w >>> 16) & 0xff;
            const rh = xh[s]! ^ ops[k + 2]!;
            xl[d] = xl[s]! ^ ops[k + 1]!;
            xh[d] = rh;
            break;
          }
          case K.ANDSI64: {
            const d = (w >>> 8) & 0xff;
            const s = (w >>> 16) & 0xff;
            const rl = xl[s]! & ops[k + 1]!;
            const rh = xh[s]! & ops[k + 2]!;
            xl[d] = rl;
            xh[d] = rh;
            c.nf = rh >>> 31;
            c.zf = (rl | rh) === 0 ? 1 : 0;
            c.cf = 0;
            c.vf = 0;
            break;
          }
          case K.ANDI32: {
            const d = (w >>> 8) & 0xff;
            xl[d] = xl[(w >>> 16) & 0xff]! & ops[k + 1]!;
            xh[d] = 0;
            break;
          }
          case K.ORRI32: {
            const d = (w >>> 8) & 0xff;
            xl[d] = xl[(w >>> 16) & 0xff]! | ops[k + 1]!;
            xh[d] = 0;
            break;
          }
          case K.EORI32: {
            const d = (w >>> 8) & 0xff;
            xl[d] = xl[(w >>> 16) & 0xff]! ^ ops[k + 1]!;
            xh[d] = 0;
            break;
          }
          case K.ANDSI32: {
            const d = (w >>> 8) & 0xff;
            const r = xl[(w >>> 16) & 0xff]! & ops[k + 1]!;
            xl[d] = r;
            xh[d] = 0;
            c.nf = r >>> 31;
            c.zf = r === 0 ? 1 : 0;
            c.cf = 0;
            c.vf = 0;
            break;
          }
          case K.MOVI: {
            const d = (w >>> 8) & 0xff;
            xl[d] = ops[k + 1]!;
            xh[d] = ops[k + 2]!;
            break;
          }
          case K.BEQ:
            if (c.zf !== 0) branchTo(c, lo, hi, ops[k + 1]!);
            break;
          case K.BNE:
            if (c.zf === 0) branchTo(c, lo, hi, ops[k + 1]!);
            break;
          case K.BCOND:
            if (condHolds(c, (w >>> 8) & 0xff)) branchTo(c, lo, hi, ops[k + 1]!);
            break;
          case K.CBZ64: {
            const t = (w >>> 8) & 0xff;
            if ((xl[t]! | xh[t]!) === 0) branchTo(c, lo, hi, ops[k + 1]!);
            break;
          }
          case K.CBNZ64: {
            const t = (w >>> 8) & 0xff;
            if ((xl[t]! | xh[t]!) !== 0) branchTo(c, lo, hi, ops[k + 1]!);
            break;
          }
          case K.CBZ32:
            if (xl[(w >>> 8) & 0xff] === 0) branchTo(c, lo, hi, ops[k + 1]!);
            break;
          case K.CBNZ32:
            if (xl[(w >>> 8) & 0xff] !== 0) branchTo(c, lo, hi, ops[k + 1]!);
            break;
          case K.TBZ: {
            const t = (w >>> 8) & 0xff;
            if ((((w >>> 16) & 0xff) !== 0 ? xh[t]! : xl[t]!) & ops[k + 2]!) break;
            branchTo(c, lo, hi, ops[k + 1]!);
            break;
          }
          case K.TBNZ: {
            const t = (w >>> 8) & 0xff;
            if ((((w >>> 16) & 0xff) !== 0 ? xh[t]! : xl[t]!) & ops[k + 2]!) branchTo(c, lo, hi, ops[k + 1]!);
            break;
          }
          case K.B:
            branchTo(c, lo, hi, ops[k + 1]!);
            break;
          case K.BL:
            xl[30] = c.pcLo;
            xh[30] = c.pcHi;
            branchTo(c, lo, hi, ops[k + 1]!);
            break;
          case K.BR: {
            const t = (w >>> 8) & 0xff;
            c.pcLo = xl[t]!;
            c.pcHi = xh[t]!;
            break;
          }
          case K.BLR: {
            const t = (w >>> 8) & 0xff;
            const l = xl[t]!;
            const h = xh[t]!;
            xl[30] = c.pcLo;
            xh[30] = c.pcHi;
            c.pcLo = l;
            c.pcHi = h;
            break;
          }
          case K.NOP:
            break;
          case K.ADRP: {
            const d = (w >>> 8) & 0xff;
            const l = ((lo & ~0xfff) >>> 0) + ops[k + 1]! * 4096;
            xl[d] = l | 0;
            xh[d] = (hi + Math.floor(l / 4294967296)) | 0;
            break;
          }
          case K.LDRX: {
            const s = (w >>> 16) & 0xff;
            const l = (xl[s]! >>> 0) + ops[k + 1]!;
            const al = l | 0;
            const ah = l > 0xffffffff ? (xh[s]! + 1) | 0 : xh[s]!;
            const i = ((al >>> 12) ^ ah) & tlbMask;
            const d = (w >>> 8) & 0xff;
            if (tlbLo[i] === (al & ~0xfff) && tlbHi[i] === ah && (tlbFlags[i]! & c.rMask) !== 0 && (al & 0xfff) <= 4088) {
              const o = tlbRam[i]! * 4096 + (al & 0xfff);
              const vl = dv.getInt32(o, true);
              xh[d] = dv.getInt32(o + 4, true);
              xl[d] = vl;
            } else {
              c.ld64(al, ah);
              xl[d] = c.ml;
              xh[d] = c.mh;
            }
            break;
          }
          case K.LDRW: {
            const s = (w >>> 16) & 0xff;
            const l = (xl[s]! >>> 0) + ops[k + 1]!;
            const al = l | 0;
            const ah = l > 0xffffffff ? (xh[s]! + 1) | 0 : xh[s]!;
            const i = ((al >>> 12) ^ ah) & tlbMask;
            let v: number;
            if (tlbLo[i] === (al & ~0xfff) && tlbHi[i] === ah && (tlbFlags[i]! & c.rMask) !== 0 && (al & 0xfff) <= 4092) {
              v = dv.getInt32(tlbRam[i]! * 4096 + (al & 0xfff), true);
            } else {
              v = c.ld32(al, ah);
            }
            const d = (w >>> 8) & 0xff;
            xl[d] = v;
            xh[d] = 0;
            break;
          }
          case K.LDRB: {
            const s = (w >>> 16) & 0xff;
            const l = (xl[s]! >>> 0) + ops[k + 1]!;
            const v = c.ld8(l | 0, l > 0xffffffff ? (xh[s]! + 1) | 0 : xh[s]!);
            const d = (w >>> 8) & 0xff;
            xl[d] = v;
            xh[d] = 0;
            break;
          }
          case K.LDRH: {
            const s = (w >>> 16) & 0xff;
            const l = (xl[s]! >>> 0) + ops[k + 1]!;
            const v = c.ld16(l | 0, l > 0xffffffff ? (xh[s]! + 1) | 0 : xh[s]!);
            const d = (w >>> 8) & 0xff;
            xl[d] = v;
            xh[d] = 0;
            break;
          }
          case K.STRX: {
            const s = (w >>> 16) & 0xff;
            const l = (xl[s]! >>> 0) + ops[k + 1]!;
            const al = l | 0;
            const ah = l > 0xffffffff ? (xh[s]! + 1) | 0 : xh[s]!;
            const i = ((al >>> 12) ^ ah) & tlbMask;
            const t = (w >>> 8) & 0xff;
            if (tlbLo[i] === (al & ~0xfff) && tlbHi[i] === ah && (tlbFlags[i]! & c.wMask) !== 0 && (al & 0xfff) <= 4088) {
              const p = tlbRam[i]!;
              if (codePages[p] !== 0) c.codeWritten(p);
              const o = p * 4096 + (al & 0xfff);
              dv.setInt32(o, xl[t]!, true);
              dv.setInt32(o + 4, xh[t]!, true);
            } else {
              c.st64(al, ah, xl[t]!, xh[t]!);
            }
            break;
          }
          case K.STRW: {
            const s = (w >>> 16) & 0xff;
            const l = (xl[s]! >>> 0) + ops[k + 1]!;
            const al = l | 0;
            const ah = l > 0xffffffff ? (xh[s]! + 1) | 0 : xh[s]!;
            const i = ((al >>> 12) ^ ah) & tlbMask;
            const t = (w >>> 8) & 0xff;
            if (tlbLo[i] === (al & ~0xfff) && tlbHi[i] === ah && (tlbFlags[i]! & c.wMask) !== 0 && (al & 0xfff) <= 4092) {
              const p = tlbRam[i]!;
              if (codePages[p] !== 0) c.codeWritten(p);
              dv.setInt32(p * 4096 + (al & 0xfff), xl[t]!, true);
            } else {
              c.st32(al, ah, xl[t]!);
            }
            break;
          }
          case K.STRB: {
            const s = (w >>> 16) & 0xff;
            const l = (xl[s]! >>> 0) + ops[k + 1]!;
            c.st8(l | 0, l > 0xffffffff ? (xh[s]! + 1) | 0 : xh[s]!, xl[(w >>> 8) & 0xff]! & 0xff);
            break;
          }
          case K.STRH: {
            const s = (w >>> 16) & 0xff;
            const l = (xl[s]! >>> 0) + ops[k + 1]!;
            c.st16(l | 0, l > 0xffffffff ? (xh[s]! + 1) | 0 : xh[s]!, xl[(w >>> 8) & 0xff]! & 0xffff);
            break;
          }
          case K.LDPX: {
            const s = w >>> 24;
            const bl = xl[s]!;
            const bh = xh[s]!;
            const f = ops[k + 2]!;
            const l = (bl >>> 0) + ops[k + 1]!;
            const nl = l | 0;
            const nh = (bh + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0;
            const al = (f & 1) !== 0 ? nl : bl;
            const ah = (f & 1) !== 0 ? nh : bh;
            const i = ((al >>> 12) ^ ah) & tlbMask;
            if (tlbLo[i] === (al & ~0xfff) && tlbHi[i] === ah && (tlbFlags[i]! & c.rMask) !== 0 && (al & 0xfff) <= 4080) {
              const o = tlbRam[i]! * 4096 + (al & 0xfff);
              const l1 = dv.getInt32(o, true);
              const h1 = dv.getInt32(o + 4, true);
              const l2 = dv.getInt32(o + 8, true);
              const h2 = dv.getInt32(o + 12, true);
              const d1 = (w >>> 8) & 0xff;
              const d2 = (w >>> 16) & 0xff;
              xl[d1] = l1;
              xh[d1] = h1;
              xl[d2] = l2;
              xh[d2] = h2;
              if ((f & 2) !== 0) {
                xl[s] = nl;
                xh[s] = nh;
              }
            } else {
              hs[k >>> 2]!(c);
            }
            break;
          }
          case K.STPX: {
            const s = w >>> 24;
            const bl = xl[s]!;
            const bh = xh[s]!;
            const f = ops[k + 2]!;
            const l = (bl >>> 0) + ops[k + 1]!;
            const nl = l | 0;
            const nh = (bh + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0;
            const al = (f & 1) !== 0 ? nl : bl;
            const ah = (f & 1) !== 0 ? nh : bh;
            const i = ((al >>> 12) ^ ah) & tlbMask;
            if (tlbLo[i] === (al & ~0xfff) && tlbHi[i] === ah && (tlbFlags[i]! & c.wMask) !== 0 && (al & 0xfff) <= 4080) {
              const p = tlbRam[i]!;
              if (codePages[p] !== 0) c.codeWritten(p);
              const o = p * 4096 + (al & 0xfff);
              const t1 = (w >>> 8) & 0xff;
              const t2 = (w >>> 16) & 0xff;
              dv.setInt32(o, xl[t1]!, true);
              dv.setInt32(o + 4, xh[t1]!, true);
              dv.setInt32(o + 8, xl[t2]!, true);
              dv.setInt32(o + 12, xh[t2]!, true);
              if ((f & 2) !== 0) {
                xl[s] = nl;
                xh[s] = nh;
              }
            } else {
              hs[k >>> 2]!(c);
            }
            break;
          }
          case K.LDRXR:
          case K.LDRWR:
          case K.LDRBR:
          case K.LDRHR:
          case K.STRXR:
          case K.STRWR:
          case K.STRBR:
          case K.STRHR: {
            const m = w >>> 24;
            const f = ops[k + 1]!;
            extendReg(xl[m]!, xh[m]!, f & 7, f >>> 3);
            const s = (w >>> 16) & 0xff;
            const l = (xl[s]! >>> 0) + (R.lo >>> 0);
            const al = l | 0;
            const ah = (xh[s]! + R.hi + (l > 0xffffffff ? 1 : 0)) | 0;
            const t = (w >>> 8) & 0xff;
            switch (w & 0xff) {
              case K.LDRXR:
                c.ld64(al, ah);
                xl[t] = c.ml;
                xh[t] = c.mh;
                break;
              case K.LDRWR:
                xl[t] = c.ld32(al, ah);
                xh[t] = 0;
                break;
              case K.LDRBR:
                xl[t] = c.ld8(al, ah);
                xh[t] = 0;
                break;
              case K.LDRHR:
                xl[t] = c.ld16(al, ah);
                xh[t] = 0;
                break;
              case K.STRXR:
                c.st64(al, ah, xl[t]!, xh[t]!);
                break;
              case K.STRWR:
                c.st32(al, ah, xl[t]!);
                break;
              case K.STRBR:
                c.st8(al, ah, xl[t]! & 0xff);
                break;
              default:
                c.st16(al, ah, xl[t]! & 0xffff);
            }
            break;
          }
          case K.UBFM64: {
            const s = (w >>> 16) & 0xff;
            ror64(xl[s]!, xh[s]!, w >>> 24);
            const d = (w >>> 8) & 0xff;
            xl[d] = R.lo & ops[k + 1]!;
            xh[d] = R.hi & ops[k + 2]!;
            break;
          }
          case K.UBFM32: {
            const v = xl[(w >>> 16) & 0xff]!;
            const r = w >>> 24;
            const d = (w >>> 8) & 0xff;
            xl[d] = (r === 0 ? v : (v >>> r) | (v << (32 - r))) & ops[k + 1]!;
            xh[d] = 0;
            break;
          }
          case K.CSEL64:
          case K.CSEL32: {
            const f = ops[k + 1]!;
            const d = (w >>> 8) & 0xff;
            const sf = (w & 0xff) === K.CSEL64;
            if (condHolds(c, f & 15)) {
              const s = (w >>> 16) & 0xff;
              xl[d] = xl[s]!;
              xh[d] = sf ? xh[s]! : 0;
              break;
            }
            const m = w >>> 24;
            let l = xl[m]!;
            let h = sf ? xh[m]! : 0;
            switch (f >>> 4) {
              case 1: {
                const t = (l >>> 0) + 1;
                l = t | 0;
                if (t > 0xffffffff) h = (h + 1) | 0;
                break;
              }
              case 2:
                l = ~l;
                h = ~h;
                break;
              case 3: {
                const t = (~l >>> 0) + 1;
                l = t | 0;
                h = (~h + (t > 0xffffffff ? 1 : 0)) | 0;
                break;
              }
            }
            xl[d] = l;
            xh[d] = sf ? h : 0;
            break;
          }
          case K.CCMP64:
          case K.CCMP32: {
            const f = ops[k + 1]!;
            if (!condHolds(c, f & 15)) {
              c.nzcv = w >>> 24;
              break;
            }
            const m = (w >>> 16) & 0xff;
            const isImm = (f & 16) !== 0;
            const sub = (f >>> 5) & 1;
            let bl = isImm ? m : xl[m]!;
            let bh = isImm ? 0 : xh[m]!;
            if (sub) {
              bl = ~bl;
              bh = ~bh;
            }
            const s = (w >>> 8) & 0xff;
            if ((w & 0xff) === K.CCMP64) adc64(c, xl[s]!, xh[s]!, bl, bh, sub, true);
            else adc32(c, xl[s]!, bl, sub, true);
            break;
          }
          case K.ADDSH64: {
            const f = ops[k + 1]!;
            const m = f & 0xff;
            shift64(xl[m]!, xh[m]!, (f >>> 8) & 3, (f >>> 16) & 63);
            const sub = w >>> 24;
            const bl = R.lo;
            const bh = R.hi;
            const s = (w >>> 16) & 0xff;
            adc64(c, xl[s]!, xh[s]!, sub ? ~bl : bl, sub ? ~bh : bh, sub, (f >>> 24) !== 0);
            const d = (w >>> 8) & 0xff;
            xl[d] = R.lo;
            xh[d] = R.hi;
            break;
          }
          case K.ADDSH32: {
            const f = ops[k + 1]!;
            const b = shift32(xl[f & 0xff]!, (f >>> 8) & 3, (f >>> 16) & 63);
            const sub = w >>> 24;
            const d = (w >>> 8) & 0xff;
            xl[d] = adc32(c, xl[(w >>> 16) & 0xff]!, sub ? ~b : b, sub, (f >>> 24) !== 0);
            xh[d] = 0;
            break;
          }
          case K.SHV64: {
            const s = (w >>> 16) & 0xff;
            shift64(xl[s]!, xh[s]!, ops[k + 1]!, xl[w >>> 24]! & 63);
            const d = (w >>> 8) & 0xff;
            xl[d] = R.lo;
            xh[d] = R.hi;
            break;
          }
          case K.SHV32: {
            const d = (w >>> 8) & 0xff;
            xl[d] = shift32(xl[(w >>> 16) & 0xff]!, ops[k + 1]!, xl[w >>> 24]! & 31);
            xh[d] = 0;
            break;
          }
          default:
            hs[k >>> 2]!(c);
        }
      }
    } catch (e) {
      if (!(e instanceof GuestFault)) throw e;
      c.pcLo = ilo;
      c.pcHi = ihi;
      c.fault(e, ilo, ihi);
      pageLo = 0xffc;
      expect = ~c.pcLo;
    }
  }
  c.count = n;
  c.retired += n;
  return n;
}

/**
 * A loop that runs every fast-op kind (and the handler, TLB-miss, page-crossing
 * and fault paths of the loop) with 64-bit values whose low halves exceed
 * 2^31, assembled from the source below. See warmUp().
 *
 *   movz x0,#0x8000,lsl#16; add x0,x0,#2,lsl#12; movn x1,#0; mov x2,#5; mov x20,#64
 *   loop: mov/add/sub/adds/subs/cmp (imm and reg, X and W); and/orr/eor/ands/tst (reg, imm);
 *   adrp; lsl/lsr/ubfx; csel/csinc/csinv/csneg/cinc; ccmp/ccmn (reg, imm); add/subs shifted;
 *   str/ldr X, W, B, H (unsigned offset and register offset); stp/ldp (offset, pre, post, across a
 *   page); cbz/cbnz/tbz/tbnz/b.cond both ways; bl; adr+blr; nop/dmb/isb/paciasp/autiasp; b;
 *   add x1,x1,#0x777; add x1,x1,x1,lsl#13; subs x20,x20,#1; b.ne loop;
 *   adr x27,base+0x4008; str x1,[x27] (a store into decoded code); udf #0
 *   func: ret      (the bl goes to a ret at base + 0x4000, another code page;
 *   VBAR_EL1 = base + 0x800, "b ." at the EL1h synchronous vector)
 */
const WARM_CODE = [
  0xd2b00000, 0x91400800, 0x92800001, 0xd28000a2, 0xd2800814, 0xaa0103e3, 0x2a0103e4, 0x91000425,
  0xd13ffca5, 0x11000c26, 0x51001cc6, 0xb1000427, 0xf1002847, 0x71000c3f, 0x31000448, 0x8b020029,
  0xcb010129, 0x0b02002a, 0x4b01004a, 0xab02002b, 0xeb01005f, 0x2b02002b, 0x6b01005f, 0x8a02002c,
  0xaa01018c, 0xca02018c, 0xea02002c, 0xea02003f, 0x0a02002d, 0x2a0101ad, 0x4a0201ad, 0x6a02002d,
  0x92401c2e, 0xb2700dce, 0xd24001ce, 0xf241002e, 0xf240083f, 0x12001c2f, 0x321801ef, 0x520001ef,
  0x7201002f, 0x90000010, 0xd37df031, 0xd347fe31, 0xd3442c31, 0x531d7032, 0x53077e52, 0x9a820033,
  0x9a821433, 0xda82b033, 0xda82a433, 0x1a820033, 0x1a829453, 0x5a824433, 0xfa421024, 0xfa430820,
  0xba418042, 0x7a421024, 0x7a450840, 0x8b020c35, 0xeb420435, 0x8b820ab5, 0x0b020c36, 0x6b420436,
  0xf9000401, 0xf9400417, 0xb9001001, 0xb9401017, 0x39005001, 0x39405017, 0x79002c01, 0x79402c17,
  0xf8227801, 0xf8627818, 0xb8225801, 0xb8625818, 0x38226801, 0x38626818, 0x78227801, 0x78627818,
  0x3862c818, 0xa9020801, 0xa9426819, 0xa9bf0801, 0xa8c16819, 0x913fe01c, 0xa9000b81, 0xa9406b99,
  0xb4000022, 0xb5000022, 0x34000022, 0x35000022, 0xb6f80021, 0xb7f80021, 0x36000022, 0x37000022,
  0xeb02005f, 0x54000020, 0x54000021, 0x5400002b, 0x54000028, 0xeb02003f, 0x54000020, 0x54000021,
  0x5400002a, 0x94000f97, 0x100001fd, 0xd63f03a0, 0xd503201f, 0xd5033bbf, 0xd5033fdf, 0xd503233f,
  0xd50323bf, 0x14000001, 0x911ddc21, 0x8b013421, 0xf1000694, 0x54fff201, 0x1001f19b, 0xf9000361,
  0x00000000, 0xd65f03c0
];

let warmed = false;
let warmedHook = false;

/**
 * Run WARM_CODE once on a scratch vCPU so that V8 sees type feedback for
 * every case of runSlice before it first optimises it. Without this the
 * loop is optimised early in boot (few kinds seen, addresses below 2^31)
 * and deoptimised again for every newly seen kind or value range; each
 * recompilation of this large function takes hundreds of milliseconds,
 * during which the loop runs unoptimised.
 */
export function warmUp(hooked = false): void {
  if (warmed && (warmedHook || !hooked)) return;
  warmed = true;
  warmedHook ||= hooked;
  const base = 0x80000000;
  const memory = createHeapMemory([{ gpa: base, size: 0x10000 }]);
  for (let i = 0; i < WARM_CODE.length; i++) memory.writeU32(base + 4 * i, WARM_CODE[i]!);
  memory.writeU32(base + 0xa00, 0x14000000); // b .
  memory.writeU32(base + 0x4000, 0xd65f03c0); // ret
  const c = new Cpu(0, new Phys(memory, new Bus('mmio')));
  c.on = true;
  c.pcLo = base | 0;
  c.pcHi = 0;
  c.vbar = BigInt(base + 0x800);
  for (let i = 0; i < 8 && c.stats.exceptions === 0; i++) runSlice(c, 10000);
  runSlice(c, 100);
  // Again through the block translator's entry hook (its cold path), counting entries and stopping at them.
  c.pcLo = base | 0;
  c.pcHi = 0;
  // The translator's cold path: only when the translator runs (runSlice stays monomorphic without it).
  if (!hooked) return;
  const ex0 = c.stats.exceptions;
  const hook: EntryHook = { pages: [], hot: 20 };
  for (let i = 0; i < 200 && c.stats.exceptions === ex0; i++) {
    // Pages appear as the loop decodes them; a block appears at the last entry seen, as after a translation.
    hook.pages = c.phys.icache.map((hs) => (hs === undefined ? undefined : { hs, blocks: [], hits: new Uint16Array(1024).fill(i > 150 ? HITS_QUEUED : 0) }));
    if (i % 7 === 3) hook.pages.forEach((p) => p?.blocks.push(...Array.from({ length: 1024 }, () => p)));
    runSlice(c, 1000, hook);
  }
}

/** pc = (lo, hi) + off: a branch relative to the executing instruction. */
function branchTo(c: Cpu, lo: number, hi: number, off: number): void {
  const t = (lo >>> 0) + off;
  c.pcLo = t | 0;
  c.pcHi = t > 0xffffffff ? (hi + 1) | 0 : t < 0 ? (hi - 1) | 0 : hi;
}

// ------------------------------------------------------------------ fast ops

const enum K {
  NONE = 0,
  GEN,
  /** Xd = Xm (ORR Xd, XZR, Xm). a=d b=m */
  MOV64,
  /** Wd = Wm. */
  MOV32,
  /** Xd|SP = Xn|SP + imm (imm signed, ADD/SUB immediate without flags). */
  ADDI64,
  ADDI32,
  /** ADDS/SUBS immediate: b operand (imm, imm2) already inverted for SUBS, x = carry in. */
  ADDSI64,
  ADDSI32,
  /** ADD/SUB (shifted register, amount 0) without flags; x = 1 for SUB. */
  ADDR64,
  ADDR32,
  /** ADDS/SUBS (shifted register, amount 0); x = 1 for SUBS. imm = Rm. */
  ADDSR64,
  ADDSR32,
  /** Logical (shifted register, amount 0, not inverted): imm = Rm. */
  AND64,
  ORR64,
  EOR64,
  ANDS64,
  AND32,
  ORR32,
  EOR32,
  ANDS32,
  /** Logical (immediate): (imm, imm2) = mask; a=d b=n. */
  ANDI64,
  ORRI64,
  EORI64,
  ANDSI64,
  ANDI32,
  ORRI32,
  EORI32,
  ANDSI32,
  /** Xd = (imm, imm2): MOVZ/MOVN. */
  MOVI,
  /** B.cond: a = cond, imm = offset from this instruction. */
  BEQ,
  BNE,
  BCOND,
  /** CBZ/CBNZ: a = Rt, imm = offset. */
  CBZ64,
  CBNZ64,
  CBZ32,
  CBNZ32,
  /** TBZ/TBNZ: a = Rt, b = 1 when the bit is in the high word, imm2 = bit mask. */
  TBZ,
  TBNZ,
  B,
  BL,
  /** BR/RET Xn: a = n. */
  BR,
  BLR,
  /** Hints that do nothing on ARMv8.0 (NOP, PAC*, BTI...) and DMB/DSB/ISB. */
  NOP,
  /** ADRP: a = d, imm = page offset count (pages). */
  ADRP,
  /** LDR/STR (unsigned offset): a = Rt (dest already mapped), b = Rn|SP, imm = byte offset. */
  LDRX,
  STRX,
  LDRW,
  STRW,
  LDRB,
  STRB,
  LDRH,
  STRH,
  /** LDP/STP X: a = Rt, b = Rt2, x = Rn|SP, imm = offset, imm2 = bit0 pre (address = base + imm), bit1 writeback. */
  LDPX,
  STPX,
  /** LDR/STR (register offset): a = Rt (dest mapped for loads), b = Rn|SP, x = Rm, imm = option | shift << 3. */
  LDRXR,
  LDRWR,
  LDRBR,
  LDRHR,
  STRXR,
  STRWR,
  STRBR,
  STRHR,
  /** UBFM (LSL/LSR/UBFX immediate): a = d, b = n, x = rotate, (imm, imm2) = wmask & tmask. */
  UBFM64,
  UBFM32,
  /** CSEL/CSINC/CSINV/CSNEG: a = d, b = n, x = m, imm = cond | kind << 4. */
  CSEL64,
  CSEL32,
  /** CCMP/CCMN: a = n, b = m or imm5, x = nzcv, imm = cond | isImm << 4 | sub << 5. */
  CCMP64,
  CCMP32,
  /** ADD/SUB(S) (shifted register, amount > 0): a = d, b = n, x = sub, imm = m | type << 8 | amt << 16 | setf << 24. */
  ADDSH64,
  ADDSH32,
  /** LSLV/LSRV/ASRV/RORV: a = d, b = n, x = m, imm = shift type. */
  SHV64,
  SHV32,
}

const wr = (d: number): number => (d === 31 ? SINK : d);
const rsp = (n: number): number => (n === 31 ? SP : n);

function put(ops: Int32Array, k: number, kind: K, a: number, b: number, x: number, imm: number, imm2: number): void {
  ops[k] = kind | (a << 8) | (b << 16) | (x << 24);
  ops[k + 1] = imm;
  ops[k + 2] = imm2;
}

/**
 * Fill ops[k..k+3] for `insn`. Only exact forms are accepted; anything else
 * becomes K.GEN (the handler runs).
 */
export function fastDecode(insn: number, ops: Int32Array, k: number): void {
  ops[k] = K.GEN;
  ops[k + 1] = 0;
  ops[k + 2] = 0;
  const op0 = (insn >>> 25) & 15;
  const sf = insn >>> 31 !== 0;
  const rd = insn & 31;
  const rn = (insn >>> 5) & 31;
  const rm = (insn >>> 16) & 31;
  if ((op0 & 0xe) === 0x8) {
    // Data processing (immediate)
    const op = (insn >>> 23) & 7;
    if (op === 2) {
      const sub = (insn >>> 30) & 1;
      const setf = ((insn >>> 29) & 1) !== 0;
      const sh = (insn >>> 22) & 1;
      const imm = ((insn >>> 10) & 0xfff) << (sh ? 12 : 0);
      const n = rsp(rn);
      if (!setf) {
        put(ops, k, sf ? K.ADDI64 : K.ADDI32, rsp(rd), n, 0, sub ? -imm : imm, 0);
        return;
      }
      const d = wr(rd);
      if (sf) put(ops, k, K.ADDSI64, d, n, sub, sub ? ~imm : imm, sub ? -1 : 0);
      else put(ops, k, K.ADDSI32, d, n, sub, sub ? ~imm : imm, 0);
      return;
    }
    if ((op === 0 || op === 1) && insn >>> 31 !== 0) {
      // ADRP (op is 0 or 1: bit 23 belongs to immhi)
      const immlo = (insn >>> 29) & 3;
      const immhi = (insn << 8) >> 13;
      put(ops, k, K.ADRP, wr(rd), 0, 0, immhi * 4 + immlo, 0);
      return;
    }
    if (op === 4) {
      const opc = (insn >>> 29) & 3;
      const nbit = (insn >>> 22) & 1;
      if (!sf && nbit) return;
      const m = decodeBitMasks(nbit, (insn >>> 10) & 63, (insn >>> 16) & 63, true, sf ? 64 : 32);
      if (m === undefined) return;
      const il = bigLo(m.wmask);
      const ih = sf ? bigHi(m.wmask) : 0;
      const d = opc === 3 ? wr(rd) : rsp(rd);
      const kind = sf
        ? [K.ANDI64, K.ORRI64, K.EORI64, K.ANDSI64][opc]!
        : [K.ANDI32, K.ORRI32, K.EORI32, K.ANDSI32][opc]!;
      put(ops, k, kind, d, rn, 0, il, ih);
      return;
    }
    if (op === 6) {
      // Bitfield: only UBFM (LSL/LSR/UBFX/UXTB...)
      const opc = (insn >>> 29) & 3;
      const nbit = (insn >>> 22) & 1;
      const immr = (insn >>> 16) & 63;
      const imms = (insn >>> 10) & 63;
      if (opc !== 2 || nbit !== (sf ? 1 : 0)) return;
      if (!sf && (immr > 31 || imms > 31)) return;
      const m = decodeBitMasks(nbit, imms, immr, false, sf ? 64 : 32);
      if (m === undefined) return;
      const wt = m.wmask & m.tmask;
      put(ops, k, sf ? K.UBFM64 : K.UBFM32, wr(rd), rn, immr, bigLo(wt), bigHi(wt));
      return;
    }
    if (op === 5) {
      const opc = (insn >>> 29) & 3;
      const hw = (insn >>> 21) & 3;
      if (opc === 1 || opc === 3 || (!sf && hw > 1)) return;
      const imm = (insn >>> 5) & 0xffff;
      const lo = hw === 0 ? imm : hw === 1 ? imm << 16 : 0;
      const hi = hw === 2 ? imm : hw === 3 ? imm << 16 : 0;
      if (opc === 0) put(ops, k, K.MOVI, wr(rd), 0, 0, ~lo, sf ? ~hi : 0);
      else put(ops, k, K.MOVI, wr(rd), 0, 0, lo, hi);
      return;
    }
    return;
  }
  if ((op0 & 0x7) === 0x5) {
    // Data processing (register)
    const op1 = (insn >>> 28) & 1;
    const op2 = (insn >>> 21) & 15;
    if (op1 !== 0) {
      if (op2 === 6 && ((insn >>> 29) & 3) === 0) {
        // Data processing (2 source): only the variable shifts
        const opcode = (insn >>> 10) & 63;
        if (opcode >= 8 && opcode <= 11) put(ops, k, sf ? K.SHV64 : K.SHV32, wr(rd), rn, rm, opcode - 8, 0);
      } else if (op2 === 4) {
        // Conditional select
        if ((insn >>> 29) & 1 || (insn >>> 11) & 1) return;
        const kind = (((insn >>> 30) & 1) << 1) | ((insn >>> 10) & 1);
        put(ops, k, sf ? K.CSEL64 : K.CSEL32, wr(rd), rn, rm, ((insn >>> 12) & 15) | (kind << 4), 0);
      } else if (op2 === 2) {
        // Conditional compare
        if (((insn >>> 29) & 1) === 0 || (insn >>> 10) & 1 || (insn >>> 4) & 1) return;
        const isImm = (insn >>> 11) & 1;
        const sub = (insn >>> 30) & 1;
        put(ops, k, sf ? K.CCMP64 : K.CCMP32, rn, rm, insn & 15, ((insn >>> 12) & 15) | (isImm << 4) | (sub << 5), 0);
      }
      return;
    }
    const amt = (insn >>> 10) & 63;
    if (amt !== 0) {
      if ((op2 & 8) === 0 || (op2 & 1) !== 0) return;
      // Add/subtract (shifted register) with a shift
      const type = (insn >>> 22) & 3;
      if (type === 3 || (!sf && amt > 31)) return;
      const setf = (insn >>> 29) & 1;
      put(ops, k, sf ? K.ADDSH64 : K.ADDSH32, wr(rd), rn, (insn >>> 30) & 1, rm | (type << 8) | (amt << 16) | (setf << 24), 0);
      return;
    }
    if ((op2 & 8) === 0) {
      // Logical (shifted register)
      const opc = (insn >>> 29) & 3;
      const type = (insn >>> 22) & 3;
      const invert = ((insn >>> 21) & 1) !== 0;
      if (invert) return;
      void type; // any shift type with amount 0 is the identity
      const d = wr(rd);
      if (opc === 1 && rn === 31) {
        put(ops, k, sf ? K.MOV64 : K.MOV32, d, rm, 0, 0, 0);
        return;
      }
      const kind = sf ? [K.AND64, K.ORR64, K.EOR64, K.ANDS64][opc]! : [K.AND32, K.ORR32, K.EOR32, K.ANDS32][opc]!;
      put(ops, k, kind, d, rn, 0, rm, 0);
      return;
    }
    if ((op2 & 1) === 0) {
      // Add/subtract (shifted register)
      const sub = (insn >>> 30) & 1;
      const setf = ((insn >>> 29) & 1) !== 0;
      const type = (insn >>> 22) & 3;
      if (type === 3) return;
      const kind = setf ? (sf ? K.ADDSR64 : K.ADDSR32) : sf ? K.ADDR64 : K.ADDR32;
      put(ops, k, kind, wr(rd), rn, sub, rm, 0);
    }
    return;
  }
  if ((op0 & 0xe) === 0xa) {
    // Branches, exception generation, system
    if ((insn & 0x7c000000) === 0x14000000) {
      put(ops, k, insn >>> 31 ? K.BL : K.B, 0, 0, 0, ((insn << 6) >> 6) * 4, 0);
      return;
    }
    if ((insn & 0x7e000000) === 0x34000000) {
      const nz = ((insn >>> 24) & 1) !== 0;
      const kind = sf ? (nz ? K.CBNZ64 : K.CBZ64) : nz ? K.CBNZ32 : K.CBZ32;
      put(ops, k, kind, rd, 0, 0, ((insn << 8) >> 13) * 4, 0);
      return;
    }
    if ((insn & 0x7e000000) === 0x36000000) {
      const bit = ((insn >>> 26) & 32) | ((insn >>> 19) & 31);
      const nz = ((insn >>> 24) & 1) !== 0;
      put(ops, k, nz ? K.TBNZ : K.TBZ, rd, bit >= 32 ? 1 : 0, 0, ((insn << 13) >> 18) * 4, 1 << (bit & 31));
      return;
    }
    if ((insn & 0xff000010) === 0x54000000) {
      const cond = insn & 15;
      put(ops, k, cond === 0 ? K.BEQ : cond === 1 ? K.BNE : K.BCOND, cond, 0, 0, ((insn << 8) >> 13) * 4, 0);
      return;
    }
    if ((insn & 0xfffffc1f) >>> 0 === 0xd61f0000 || (insn & 0xfffffc1f) >>> 0 === 0xd65f0000) {
      put(ops, k, K.BR, rn, 0, 0, 0, 0); // BR, RET
      return;
    }
    if ((insn & 0xfffffc1f) >>> 0 === 0xd63f0000) {
      put(ops, k, K.BLR, rn, 0, 0, 0, 0);
      return;
    }
    if ((insn & 0xfff8f01f) >>> 0 === 0xd500201f) {
      // Hints: YIELD (1), WFE (2), WFI (3) do something; the rest are NOPs.
      const op = (insn >>> 5) & 0x7f;
      if (op !== 1 && op !== 2 && op !== 3) put(ops, k, K.NOP, 0, 0, 0, 0, 0);
      return;
    }
    if ((insn & 0xfff8f01f) >>> 0 === 0xd500301f) {
      const op2 = (insn >>> 5) & 7;
      if (op2 === 4 || op2 === 5 || op2 === 6) put(ops, k, K.NOP, 0, 0, 0, 0, 0); // DSB, DMB, ISB
      return;
    }
    return;
  }
  if ((op0 & 0x5) === 0x4) {
    // Loads and stores (integer only)
    if ((insn & 0x3b000000) === 0x39000000) {
      // Unsigned immediate offset
      const size = insn >>> 30;
      const v = (insn >>> 26) & 1;
      const opc = (insn >>> 22) & 3;
      if (v) return;
      const n = rsp(rn);
      const off = ((insn >>> 10) & 0xfff) << size;
      let kind = K.GEN;
      if (opc === 1) kind = [K.LDRB, K.LDRH, K.LDRW, K.LDRX][size]!;
      else if (opc === 0) kind = [K.STRB, K.STRH, K.STRW, K.STRX][size]!;
      if (kind === K.GEN) return;
      put(ops, k, kind, opc === 1 ? wr(rd) : rd, n, 0, off, 0);
      return;
    }
    if ((insn & 0x3b200c00) === 0x38200800) {
      // Register offset (bit 21 set, bits 11:10 = 10), integer, LDR/STR only
      const size = insn >>> 30;
      const v = (insn >>> 26) & 1;
      const opc = (insn >>> 22) & 3;
      const option = (insn >>> 13) & 7;
      if (v || (option & 2) === 0) return;
      let kind = K.GEN;
      if (opc === 1) kind = [K.LDRBR, K.LDRHR, K.LDRWR, K.LDRXR][size]!;
      else if (opc === 0) kind = [K.STRBR, K.STRHR, K.STRWR, K.STRXR][size]!;
      if (kind === K.GEN) return;
      const shift = (insn >>> 12) & 1 ? size : 0;
      put(ops, k, kind, opc === 1 ? wr(rd) : rd, rsp(rn), rm, option | (shift << 3), 0);
      return;
    }
    if ((insn & 0x3a000000) === 0x28000000) {
      // Load/store pair: only 64-bit integer (opc 2, V 0), types 1..3 (post, offset, pre).
      const opc = insn >>> 30;
      const v = (insn >>> 26) & 1;
      const type = (insn >>> 23) & 3;
      if (opc !== 2 || v || type === 0) return;
      const load = ((insn >>> 22) & 1) !== 0;
      const t = rd;
      const t2 = (insn >>> 10) & 31;
      const imm7 = (insn << 10) >> 25;
      const pre = type !== 1;
      const wb = type === 1 || type === 3;
      put(ops, k, load ? K.LDPX : K.STPX, load ? wr(t) : t, load ? wr(t2) : t2, rsp(rn), imm7 * 8, (pre ? 1 : 0) | (wb ? 2 : 0));
    }
  }
}
