/**
 * The translating run loop: a drop-in replacement for exec.ts runSlice.
 *
 * At every block entry (after a branch, a translated block, or a page
 * change) it looks up the translated block for the physical PC; an entry
 * reached HOT times is queued for translation, and queued blocks are
 * translated and compiled together, many functions per WebAssembly module
 * (compilation cost is mostly per module), when the queue is full or the
 * slice ends (a partly filled queue waits up to DELAY slices). Cold code runs
 * on the interpreter's fast loop: runSlice with an entry hook counts the
 * entries it passes (taken branches, exception entries) and returns before
 * one that has a block or has just become hot. With a stop address (the raw
 * runner) cold code runs one instruction at a time on the handlers.
 *
 * Blocks live per physical RAM page next to the interpreter's decode cache
 * (phys.icache): a JitPage remembers the handler array it was built against,
 * so when phys invalidates the page (stores to code, IC IVAU/IALLU) the array
 * is replaced and every block of the page is dropped on the next lookup.
 * A block is keyed by physical address + the virtual page it was translated
 * for (branch and ADR targets are absolute) + the exception level (the
 * inline TLB checks use that EL's permission bits); it is retranslated when
 * entered otherwise. The code page's translation is cached for the slice,
 * as in runSlice: TLB maintenance, EL changes and code stores end the slice.
 *
 * Translated code shares the vCPU state with the interpreter through the
 * WebAssembly memory (arena.ts); without one (Phys built on a heap buffer)
 * this loop is the interpreter.
 */
import { EC_IABT_CUR, EC_IABT_LOW, FSC_EXTERNAL, GuestFault, type Cpu } from '../cpu.js';
import {
  HASH_BITS,
  HASH_ENTRIES,
  HASH_ENTRY,
  S_EL,
  S_EXEC,
  S_NZCV,
  S_OFF,
  S_PCHI,
  S_PCLO,
  S_XMASK,
  TLB_FLAGS_OFF,
  TLB_HI_OFF,
  TLB_LO_OFF,
  TLB_RAM_OFF,
} from '../arena.js';
import { decode } from '../decode.js';
import { HITS_QUEUED, runSlice, type EntryHook } from '../exec.js';
import { toBig } from '../int64.js';
import type { Handler, Phys } from '../phys.js';
import { COUNT_MASK, INTERP_NEXT, STOP, isTerminator, translate } from './translate.js';
import { Bytes, encodeModule, Fn, I32, Op } from './wasm.js';

/** Entries reached this many times get translated (TSVISOR_EMU_JIT_HOT overrides; 0 = translate at once, for tests). */
export const HOT = (() => {
  const v = Number(process.env.TSVISOR_EMU_JIT_HOT);
  return Number.isInteger(v) && v >= 0 && v <= 65000 ? v : 2000;
})();

/** Blocks compiled per module at most; a fuller queue is compiled at once (TSVISOR_EMU_JIT_BATCH). */
const BATCH = (() => {
  const v = Number(process.env.TSVISOR_EMU_JIT_BATCH);
  return Number.isInteger(v) && v >= 1 && v <= 4096 ? v : 64;
})();

/**
 * Translated blocks kept at most: past this many, the next slice drops every
 * block, the function table and the hash table, and translation starts over
 * (bounds memory on guests that keep loading new code).
 */
const MAX_BLOCKS = (() => {
  const v = Number(process.env.TSVISOR_EMU_JIT_MAX_BLOCKS);
  return Number.isInteger(v) && v >= 1 ? v : 200_000;
})();

/**
 * Slices a partly filled queue waits for more blocks before it is compiled
 * (TSVISOR_EMU_JIT_DELAY): compilation costs mostly per module, and queued
 * entries run on the interpreter meanwhile.
 */
const DELAY = (() => {
  const v = Number(process.env.TSVISOR_EMU_JIT_DELAY);
  return Number.isInteger(v) && v >= 1 ? v : 32;
})();

/** hits[] value of an entry that is queued for translation. */
const QUEUED = HITS_QUEUED;

/** NZCV as the translated code keeps it in the state area: N<<3 | Z<<2 | C<<1 | V. */
function packNzcv(c: Cpu): number {
  return (c.nf << 3) | (c.zf << 2) | (c.cf << 1) | c.vf;
}

/** Take pc and NZCV back from the state area after translated code ran (or before a handler runs). */
function pcFlagsFromState(c: Cpu, S: Int32Array): void {
  c.pcLo = S[S_PCLO]!;
  c.pcHi = S[S_PCHI]!;
  const f = S[S_NZCV]!;
  c.nf = (f >> 3) & 1;
  c.zf = (f >> 2) & 1;
  c.cf = (f >> 1) & 1;
  c.vf = f & 1;
}

export interface JitStats {
  /** Blocks translated. */
  translated: number;
  /** WebAssembly modules compiled (each holds up to BATCH blocks). */
  modules: number;
  /** Block entries executed (translated code). */
  executed: number;
  /** Translated blocks dropped because their page's code changed or was invalidated. */
  invalidated: number;
  /** Blocks retranslated because they were entered through a different virtual page or EL. */
  remapped: number;
  /** Milliseconds spent translating (wasm generation + compilation + instantiation). */
  translateMs: number;
  /** Guest instructions retired in translated blocks and in the interpreter. */
  jitInsns: number;
  interpInsns: number;
}

type BlockFn = (cpuArea: number, budget: number) => number;

interface Block {
  fn: BlockFn;
  /** Index in the shared function table (the dispatcher's call_indirect). */
  tidx: number;
  vaLo: number;
  vaHi: number;
  el: number;
  len: number;
  runs: number;
}

interface JitPage {
  /** The decode-cache array this page's blocks were built against. */
  hs: Array<Handler | undefined>;
  blocks: Array<Block | undefined>;
  hits: Uint16Array;
  count: number;
}

interface Pending {
  jp: JitPage;
  rp: number;
  idx: number;
  vaLo: number;
  vaHi: number;
  el: number;
  stopIdx: number;
}

interface JitState {
  pages: Array<JitPage | undefined>;
  stats: JitStats;
  hot: number;
  queue: Pending[];
  /** Interpreter handlers called from translated code, by index. */
  handlers: Handler[];
  handlerIndex: Map<Handler, number>;
  /** The vCPU running translated code (for the handler import). */
  cur: Cpu | undefined;
  /** Instructions retired in the running block before the last handler call (precise counts on faults). */
  lastK: number;
  imports: Record<string, Record<string, unknown>>;
  memPages: number;
  /** Every translated block, by table index, for the in-wasm dispatcher. */
  table: WebAssembly.Table;
  /** dispatch(cpuArea, budget, tableIndex): runs blocks back to back while the hash table knows the next pc. */
  dispatch: ((area: number, budget: number, tidx: number) => number) | undefined;
  /** The block hash table (arena.ts) as int32. */
  hash: Int32Array;
  /** What runSlice needs to run cold code up to the next translated or hot entry. */
  hook: EntryHook;
  /** Slices ended with a partly filled queue since it was last compiled. */
  queueAge: number;
}

const states = new WeakMap<Phys, JitState>();

function stateOf(phys: Phys): JitState {
  let s = states.get(phys);
  if (s === undefined) {
    const st: JitState = {
      pages: new Array<JitPage | undefined>(phys.icache.length).fill(undefined),
      stats: { translated: 0, modules: 0, executed: 0, invalidated: 0, remapped: 0, translateMs: 0, jitInsns: 0, interpInsns: 0 },
      hot: HOT,
      queue: [],
      handlers: [],
      handlerIndex: new Map(),
      cur: undefined,
      lastK: 0,
      imports: {},
      memPages: phys.wasm === undefined ? 0 : phys.wasm.buffer.byteLength / 65536,
      table: new WebAssembly.Table({ initial: 0, element: 'anyfunc' }),
      dispatch: undefined,
      hash: phys.wasm === undefined ? new Int32Array(8) : new Int32Array(phys.wasm.buffer, phys.hashBase, (HASH_ENTRIES * HASH_ENTRY) / 4),
      hook: { pages: [], hot: HOT },
      queueAge: 0,
    };
    st.hook.pages = st.pages;
    if (phys.wasm !== undefined && DISPATCH) st.dispatch = buildDispatcher(phys, st);
    const h = (hidx: number, k: number): number => {
      const c = st.cur!;
      const S = c.jitS;
      pcFlagsFromState(c, S);
      st.lastK = k;
      st.handlers[hidx]!(c);
      S[S_PCLO] = c.pcLo;
      S[S_PCHI] = c.pcHi;
      S[S_NZCV] = packNzcv(c);
      return c.sliceEnd === 0 ? 1 : 0;
    };
    st.imports = { env: { mem: phys.wasm, h } };
    s = st;
    states.set(phys, s);
  }
  return s;
}

/** Set the translation threshold for the machine that owns `phys` (0: translate every block at first entry). */
export function setJitHot(phys: Phys, hot: number): void {
  stateOf(phys).hot = Math.max(0, Math.min(65000, hot | 0));
}

/** Translation statistics for the machine that owns `phys` (shared by its vCPUs). */
export function jitStats(phys: Phys): JitStats {
  return stateOf(phys).stats;
}

function handlerId(st: JitState, h: Handler): number {
  let i = st.handlerIndex.get(h);
  if (i === undefined) {
    i = st.handlers.length;
    st.handlers.push(h);
    st.handlerIndex.set(h, i);
  }
  return i;
}

const FN_TYPE = { params: [I32, I32], results: [I32] };
/** Chain blocks inside WebAssembly (TSVISOR_EMU_JIT_CHAIN=0 returns to the run loop after every block). */
const DISPATCH = process.env.TSVISOR_EMU_JIT_CHAIN !== '0';

/**
 * The dispatcher: call the block at table index `tidx`; while it ends
 * normally and the budget lasts, translate the next pc through the
 * instruction TLB (the hit path of fetchTranslate), find the block in the
 * hash table (physical page + index, virtual page, EL, code generation of
 * the page) and call it. Anything else returns to the run loop with pc in S.
 */
function buildDispatcher(phys: Phys, st: JitState): (area: number, budget: number, tidx: number) => number {
  const f = new Fn(3);
  const CPU = 0;
  const BUDGET = 1;
  const TIDX = 2;
  const n = f.local(I32);
  const r = f.local(I32);
  const lo = f.local(I32);
  const hi = f.local(I32);
  const i4 = f.local(I32);
  const page = f.local(I32);
  const e = f.local(I32);
  const key = f.local(I32);
  const S = (slot: number): number => S_OFF + 4 * slot;
  const H = phys.hashBase;
  const genOff = phys.pageGen.byteOffset;
  const retIf = (): void => {
    f.ctl(Op.if).get(n).op(Op.return).op(Op.end);
  };
  f.ctl(Op.loop);
  f.get(CPU).get(BUDGET).get(n).op(Op.i32_sub).get(TIDX);
  f.code.byte(0x11).u32(0).u32(0); // call_indirect (type 0) table 0
  f.set(r);
  f.get(CPU).get(CPU).mem(Op.i32_load, 2, S(S_EXEC)).i32(1).op(Op.i32_add).mem(Op.i32_store, 2, S(S_EXEC));
  f.get(n).get(r).i32(COUNT_MASK).op(Op.i32_and).op(Op.i32_add).set(n);
  f.get(r).i32(STOP | INTERP_NEXT).op(Op.i32_and);
  f.ctl(Op.if).get(n).get(r).i32(STOP | INTERP_NEXT).op(Op.i32_and).op(Op.i32_or).op(Op.return).op(Op.end);
  f.get(n).get(BUDGET).op(Op.i32_ge_s);
  retIf();
  f.get(CPU).mem(Op.i32_load, 2, S(S_PCLO)).set(lo);
  f.get(CPU).mem(Op.i32_load, 2, S(S_PCHI)).set(hi);
  f.get(lo).i32(3).op(Op.i32_and);
  retIf();
  f.get(lo).i32(12).op(Op.i32_shr_u).get(hi).op(Op.i32_xor).i32(4095).op(Op.i32_and).i32(2).op(Op.i32_shl).get(CPU).op(Op.i32_add).set(i4);
  f.get(i4).mem(Op.i32_load, 2, TLB_LO_OFF).get(lo).i32(-4096).op(Op.i32_and).op(Op.i32_ne);
  retIf();
  f.get(i4).mem(Op.i32_load, 2, TLB_HI_OFF).get(hi).op(Op.i32_ne);
  retIf();
  f.get(i4).mem(Op.i32_load, 2, TLB_FLAGS_OFF).get(CPU).mem(Op.i32_load, 2, S(S_XMASK)).op(Op.i32_and).op(Op.i32_eqz);
  retIf();
  f.get(i4).mem(Op.i32_load, 2, TLB_RAM_OFF).tee(page).i32(0).op(Op.i32_lt_s);
  retIf();
  f.get(page).i32(10).op(Op.i32_shl).get(lo).i32(4095).op(Op.i32_and).i32(2).op(Op.i32_shr_u).op(Op.i32_add).i32(1).op(Op.i32_add).set(key);
  f.get(key).i32(0x9e3779b1 | 0).op(0x6c); // i32.mul
  f.i32(32 - HASH_BITS).op(Op.i32_shr_u).i32(5).op(Op.i32_shl).set(e);
  f.get(e).mem(Op.i32_load, 2, H).get(key).op(Op.i32_ne);
  retIf();
  f.get(e).mem(Op.i32_load, 2, H + 4).get(lo).i32(-4096).op(Op.i32_and).op(Op.i32_ne);
  retIf();
  f.get(e).mem(Op.i32_load, 2, H + 8).get(hi).op(Op.i32_ne);
  retIf();
  f.get(e).mem(Op.i32_load, 2, H + 12).get(CPU).mem(Op.i32_load, 2, S(S_EL)).op(Op.i32_ne);
  retIf();
  f.get(e).mem(Op.i32_load, 2, H + 16).get(page).i32(2).op(Op.i32_shl).mem(Op.i32_load, 2, genOff).op(Op.i32_ne);
  retIf();
  f.get(e).mem(Op.i32_load, 2, H + 20).set(TIDX);
  f.br(Op.br, 0);
  f.op(Op.end);
  f.op(Op.unreachable);

  const out = new Bytes();
  out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const ts = new Bytes().u32(2);
  ts.byte(0x60).u32(2).bytes([I32, I32]).u32(1).byte(I32);
  ts.byte(0x60).u32(3).bytes([I32, I32, I32]).u32(1).byte(I32);
  out.section(1, ts);
  const im = new Bytes().u32(2);
  im.name('env').name('mem').byte(0x02).byte(0x01).u32(st.memPages).u32(st.memPages);
  im.name('env').name('tbl').byte(0x01).byte(0x70).byte(0x00).u32(0);
  out.section(2, im);
  out.section(3, new Bytes().u32(1).u32(1));
  out.section(7, new Bytes().u32(1).name('d').byte(0x00).u32(0));
  const code = new Bytes().u32(1);
  f.encode(code);
  out.section(10, code);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(out.done()), { env: { mem: phys.wasm, tbl: st.table } });
  return inst.exports.d as (area: number, budget: number, tidx: number) => number;
}

const H_TYPE = { params: [I32, I32], results: [I32] };

/** Translate and compile every queued block whose page is still current. */
function compileQueue(phys: Phys, st: JitState): void {
  const q = st.queue;
  if (q.length === 0) return;
  st.queue = [];
  st.queueAge = 0;
  const t0 = performance.now();
  const fns: Fn[] = [];
  const meta: Array<{ p: Pending; len: number }> = [];
  const dv = phys.dv;
  for (const p of q) {
    if (st.pages[p.rp] !== p.jp || phys.icache[p.rp] !== p.jp.hs) continue; // invalidated meanwhile
    const hs = p.jp.hs;
    const ramOff = p.rp * 4096;
    const t = translate(
      {
        dv,
        ramOff,
        idx: p.idx,
        vaLo: p.vaLo,
        vaHi: p.vaHi,
        el: p.el,
        stopIdx: p.stopIdx,
        handler: (i) => {
          let h = hs[i];
          if (h === undefined) {
            h = decode(dv.getUint32(ramOff + i * 4, true));
            hs[i] = h;
          }
          return handlerId(st, h);
        },
      },
      phys.stateBase,
    );
    fns.push(t.fn);
    meta.push({ p, len: t.len });
  }
  if (fns.length > 0) {
    const t1 = performance.now();
    const bytes = encodeModule(st.memPages, [{ name: 'h', type: H_TYPE }], FN_TYPE, fns);
    const t2 = performance.now();
    const mod = new WebAssembly.Module(bytes);
    const t3 = performance.now();
    const inst = new WebAssembly.Instance(mod, st.imports);
    const t4 = performance.now();
    PROF.gen += t1 - t0;
    PROF.enc += t2 - t1;
    PROF.mod += t3 - t2;
    PROF.inst += t4 - t3;
    PROF.bytes += bytes.length;
    st.stats.modules++;
    const base = st.table.grow(meta.length);
    meta.forEach(({ p, len }, k) => {
      const jp = p.jp;
      if (jp.blocks[p.idx] === undefined) jp.count++;
      const fn = inst.exports[`f${k}`] as BlockFn;
      st.table.set(base + k, fn);
      jp.blocks[p.idx] = { fn, tidx: base + k, vaLo: p.vaLo, vaHi: p.vaHi, el: p.el, len, runs: 0 };
      // Publish it to the dispatcher (overwriting whatever held the slot).
      const key = ((p.rp << 10) + p.idx + 1) | 0;
      const e = (Math.imul(key, 0x9e3779b1 | 0) >>> (32 - HASH_BITS)) * (HASH_ENTRY / 4);
      const H = st.hash;
      H[e] = key;
      H[e + 1] = p.vaLo;
      H[e + 2] = p.vaHi;
      H[e + 3] = p.el;
      H[e + 4] = phys.pageGen[p.rp]!;
      H[e + 5] = base + k;
      st.stats.translated++;
    });
  }
  // Entries of pages invalidated meanwhile start counting again on their new JitPage.
  st.stats.translateMs += performance.now() - t0;
}

export const PROF = { gen: 0, enc: 0, mod: 0, inst: 0, bytes: 0 };

/** Forget every translated block (between slices only: the dispatcher captured by a running slice uses the old table). */
function flushAll(phys: Phys, st: JitState): void {
  for (const p of st.pages) if (p !== undefined) st.stats.invalidated += p.count;
  st.pages.fill(undefined);
  st.hook.pages = st.pages;
  st.queue = [];
  st.hash.fill(0);
  st.handlers = [];
  st.handlerIndex.clear();
  st.table = new WebAssembly.Table({ initial: 0, element: 'anyfunc' });
  if (st.dispatch !== undefined) st.dispatch = buildDispatcher(phys, st);
}

const NO_PAGE: Array<Handler | undefined> = [];

/**
 * Run up to about `budget` instructions (a block may overshoot by up to
 * MAX_BLOCK - 1). With `stop` (the raw runner's stop address), execution
 * stops before running the instruction at that virtual address.
 */
export function runSliceJit(c: Cpu, budget: number, stop?: bigint): number {
  const phys = c.phys;
  if (phys.wasm === undefined || c.arena < 0) return runSlice(c, budget);
  const dv = c.dv;
  const st = stateOf(phys);
  if (st.table.length > MAX_BLOCKS) flushAll(phys, st);
  const stats = st.stats;
  const hot = st.hot;
  const S = c.jitS;
  const area = c.arena;
  const dispatch = st.dispatch;
  const hasStop = stop !== undefined;
  const stopLo = hasStop ? Number(stop & 0xffffffffn) | 0 : 0;
  const stopHi = hasStop ? Number((stop >> 32n) & 0xffffffffn) | 0 : 0;
  let pageLo = 1;
  let pageHi = 0;
  let hs = NO_PAGE;
  let jp: JitPage | undefined;
  let rp = 0;
  let ramOff = 0;
  let ilo = 0;
  let ihi = 0;
  let inBlock = false;
  let entry = true;
  let interpNext = false;
  let n = 0;
  let interp = 0;
  let jitN = 0;
  /** Instructions runSlice ran (and already added to c.retired). */
  let inner = 0;
  const hook: EntryHook = st.hook;
  hook.hot = hot;
  c.sliceEnd = budget;
  while (n < c.sliceEnd) {
    try {
      while (n < c.sliceEnd) {
        const lo = c.pcLo;
        const hi = c.pcHi;
        if (hasStop && lo === stopLo && hi === stopHi) {
          c.sliceEnd = 0;
          break;
        }
        if ((lo & ~0xfff) !== pageLo || hi !== pageHi) {
          ilo = lo;
          ihi = hi;
          const i = c.fetchTranslate(lo, hi);
          rp = c.tlbRam[i]!;
          if (rp < 0) {
            throw new GuestFault(c.el === 0 ? EC_IABT_LOW : EC_IABT_CUR, FSC_EXTERNAL, toBig(lo, hi));
          }
          let page = phys.icache[rp];
          if (page === undefined) {
            page = [];
            for (let k = 0; k < 1024; k++) page.push(undefined);
            phys.icache[rp] = page;
            phys.noteCode(rp);
          }
          hs = page;
          jp = st.pages[rp];
          if (jp === undefined || jp.hs !== page) {
            if (jp !== undefined) stats.invalidated += jp.count;
            jp = { hs: page, blocks: new Array<Block | undefined>(1024).fill(undefined), hits: new Uint16Array(1024), count: 0 };
            st.pages[rp] = jp;
          }
          ramOff = rp * 4096;
          pageLo = lo & ~0xfff;
          pageHi = hi;
          entry = true;
        }
        const idx = (lo & 0xfff) >>> 2;
        if (entry) {
          const p = jp!;
          let b = p.blocks[idx];
          if (b !== undefined && (b.vaLo !== pageLo || b.vaHi !== hi || b.el !== c.el)) {
            // Entered through another mapping or at another EL: translate again.
            stats.remapped++;
            p.blocks[idx] = undefined;
            p.hits[idx] = hot;
            b = undefined;
          }
          if (b === undefined) {
            const hits = p.hits[idx]!;
            if (hits < hot) p.hits[idx] = hits + 1;
            else if (hits !== QUEUED) {
              p.hits[idx] = QUEUED;
              st.queue.push({
                jp: p,
                rp,
                idx,
                vaLo: pageLo,
                vaHi: hi,
                el: c.el,
                stopIdx: hasStop && (stopLo & ~0xfff) === pageLo && stopHi === hi ? (stopLo & 0xfff) >>> 2 : -1,
              });
              if (hot === 0 || st.queue.length >= BATCH) {
                compileQueue(phys, st);
                b = p.blocks[idx];
              }
            }
          }
          if (b !== undefined) {
            ilo = lo;
            ihi = hi;
            S[S_NZCV] = packNzcv(c);
            st.cur = c;
            inBlock = true;
            let k: number;
            if (dispatch !== undefined && !hasStop) {
              // Chained: the dispatcher runs this block and the next ones it finds in the hash table.
              S[S_PCLO] = lo;
              S[S_PCHI] = hi;
              S[S_EL] = c.el;
              S[S_XMASK] = c.xMask;
              S[S_EXEC] = 0;
              k = dispatch(area, c.sliceEnd - n, b.tidx);
              stats.executed += S[S_EXEC]! - 1;
            } else k = b.fn(area, c.sliceEnd - n);
            inBlock = false;
            k &= ~STOP;
            if (k >= INTERP_NEXT) {
              // The block stopped before a load/store its fast path could not do.
              k -= INTERP_NEXT;
              interpNext = true;
            }
            pcFlagsFromState(c, S);
            b.runs++;
            n += k;
            jitN += k;
            stats.executed++;
            // The block may have branched anywhere (or ended the slice): next pc is an entry.
            if (!interpNext) continue;
          }
        }
        if (interpNext) {
          // One instruction on the interpreter (the one a block stopped before); then an entry again.
          interpNext = false;
          if (n >= c.sliceEnd) break;
          const cur = c.pcLo;
          if ((cur & ~0xfff) !== pageLo || c.pcHi !== pageHi) continue;
          const i2 = (cur & 0xfff) >>> 2;
          ilo = cur;
          ihi = c.pcHi;
          let h2 = hs[i2];
          if (h2 === undefined) {
            h2 = decode(dv.getUint32(ramOff + (cur & 0xfff), true));
            hs[i2] = h2;
          }
          c.pcLo = (cur + 4) | 0;
          if (cur === -4) c.pcHi = (ihi + 1) | 0;
          n++;
          interp++;
          h2(c);
          entry = true;
          continue;
        }
        if (!hasStop) {
          // Cold code: the interpreter's fast loop runs it up to the next entry that has a
          // block or has become hot (counting the entries it passes), or to the end of the slice.
          const end = c.sliceEnd;
          const r = runSlice(c, end - n, hook);
          n += r;
          interp += r;
          inner += r;
          if (c.sliceEnd !== 0) c.sliceEnd = end;
          entry = true;
          continue;
        }
        // Interpret one instruction (the raw runner's stop address is checked before each one).
        ilo = lo;
        ihi = hi;
        let h = hs[idx];
        const w = dv.getUint32(ramOff + (lo & 0xfff), true);
        if (h === undefined) {
          h = decode(w);
          hs[idx] = h;
        }
        c.pcLo = (lo + 4) | 0;
        if (lo === -4) c.pcHi = (hi + 1) | 0;
        n++;
        interp++;
        h(c);
        entry = isTerminator(w) || c.pcLo !== ((lo + 4) | 0);
      }
    } catch (e) {
      if (!(e instanceof GuestFault)) {
        inBlock = false;
        throw e;
      }
      let flo = ilo;
      let fhi = ihi;
      if (inBlock) {
        // The handler call set pc to the faulting instruction's address + 4; registers and flags are in the Cpu.
        inBlock = false;
        // As in runSlice, the faulting instruction counts as executed.
        n += st.lastK + 1;
        jitN += st.lastK + 1;
        flo = (c.pcLo - 4) | 0;
        fhi = c.pcLo >>> 0 < 4 ? (c.pcHi - 1) | 0 : c.pcHi;
      }
      c.pcLo = flo;
      c.pcHi = fhi;
      c.fault(e, flo, fhi);
      pageLo = 1;
      entry = true;
    }
  }
  if (st.queue.length > 0 && (hasStop || hot === 0 || ++st.queueAge >= DELAY)) {
    compileQueue(phys, st);
  }
  stats.jitInsns += jitN;
  stats.interpInsns += interp;
  c.count = n;
  c.retired += n - inner;
  return n;
}

/** True when the environment asks for the translator by default (TSVISOR_EMU_JIT=on|off). */
export function jitFromEnv(): boolean | undefined {
  const v = process.env.TSVISOR_EMU_JIT;
  return v === 'on' ? true : v === 'off' ? false : undefined;
}

/**
 * raw-runner's runUntil with the translator: run until pc == stopPc, the CPU
 * halts/powers off, or about maxInsns are executed (blocks never run past
 * stopPc). Pending interrupts are taken between slices.
 */
export function runUntilJit(cpu: Cpu, stopPc: bigint, maxInsns: number): number {
  let n = 0;
  while (n < maxInsns && cpu.on && !cpu.halted && cpu.pc !== stopPc) {
    if (cpu.checkInterrupts()) {
      n++;
      continue;
    }
    n += runSliceJit(cpu, Math.min(maxInsns - n, 4096), stopPc);
  }
  return n;
}

/** The most-entered translated blocks (debugging and profiling). */
export function topBlocks(phys: Phys, count: number): Array<{ page: number; idx: number; runs: number; len: number }> {
  const out: Array<{ page: number; idx: number; runs: number; len: number }> = [];
  stateOf(phys).pages.forEach((p, page) => {
    p?.blocks.forEach((b, idx) => {
      if (b !== undefined) out.push({ page, idx, runs: b.runs, len: b.len });
    });
  });
  return out.sort((a, b) => b.runs - a.runs).slice(0, count);
}
