/**
 * The translating run loop: a drop-in replacement for exec.ts runSlice.
 *
 * At every block entry (after a branch, a translated block, or a page
 * change) it looks up the translated block for the physical PC; an entry
 * reached HOT times is queued for translation, and queued blocks are
 * translated and compiled together, many functions per WebAssembly module
 * (compilation cost is mostly per module), when the queue is full or the
 * slice ends. Cold code runs on the interpreter's handlers, one instruction
 * at a time, exactly as runSlice does.
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
import { S_NZCV, S_PCHI, S_PCLO } from '../arena.js';
import { decode } from '../decode.js';
import { runSlice } from '../exec.js';
import { toBig } from '../int64.js';
import type { Handler, Phys } from '../phys.js';
import { isTerminator, translate } from './translate.js';
import { encodeModule, I32, type Fn } from './wasm.js';

/** Entries reached this many times get translated (TSVISOR_EMU_JIT_HOT overrides; 0 = translate at once, for tests). */
export const HOT = (() => {
  const v = Number(process.env.TSVISOR_EMU_JIT_HOT);
  return Number.isInteger(v) && v >= 0 && v <= 65000 ? v : 40;
})();

/** Blocks compiled per module at most; a fuller queue is compiled at once (TSVISOR_EMU_JIT_BATCH). */
const BATCH = (() => {
  const v = Number(process.env.TSVISOR_EMU_JIT_BATCH);
  return Number.isInteger(v) && v >= 1 && v <= 4096 ? v : 64;
})();

/** hits[] value of an entry that is queued for translation. */
const QUEUED = 65535;

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
    };
    const h = (hidx: number, k: number): number => {
      const c = st.cur!;
      const S = c.jitS;
      c.pcLo = S[S_PCLO]!;
      c.pcHi = S[S_PCHI]!;
      const f = S[S_NZCV]!;
      c.nf = (f >> 3) & 1;
      c.zf = (f >> 2) & 1;
      c.cf = (f >> 1) & 1;
      c.vf = f & 1;
      st.lastK = k;
      st.handlers[hidx]!(c);
      S[S_PCLO] = c.pcLo;
      S[S_PCHI] = c.pcHi;
      S[S_NZCV] = (c.nf << 3) | (c.zf << 2) | (c.cf << 1) | c.vf;
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
const H_TYPE = { params: [I32, I32], results: [I32] };

/** Translate and compile every queued block whose page is still current. */
function compileQueue(phys: Phys, st: JitState): void {
  const q = st.queue;
  if (q.length === 0) return;
  st.queue = [];
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
    const bytes = encodeModule(st.memPages, [{ name: 'h', type: H_TYPE }], FN_TYPE, fns);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), st.imports);
    st.stats.modules++;
    meta.forEach(({ p, len }, k) => {
      const jp = p.jp;
      if (jp.blocks[p.idx] === undefined) jp.count++;
      jp.blocks[p.idx] = { fn: inst.exports[`f${k}`] as BlockFn, vaLo: p.vaLo, vaHi: p.vaHi, el: p.el, len, runs: 0 };
      st.stats.translated++;
    });
  }
  // Entries of pages invalidated meanwhile start counting again on their new JitPage.
  st.stats.translateMs += performance.now() - t0;
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
  const stats = st.stats;
  const hot = st.hot;
  const S = c.jitS;
  const area = c.arena;
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
  let n = 0;
  let interp = 0;
  let jitN = 0;
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
            S[S_NZCV] = (c.nf << 3) | (c.zf << 2) | (c.cf << 1) | c.vf;
            st.cur = c;
            inBlock = true;
            const k = b.fn(area, c.sliceEnd - n);
            inBlock = false;
            c.pcLo = S[S_PCLO]!;
            c.pcHi = S[S_PCHI]!;
            const f = S[S_NZCV]!;
            c.nf = (f >> 3) & 1;
            c.zf = (f >> 2) & 1;
            c.cf = (f >> 1) & 1;
            c.vf = f & 1;
            b.runs++;
            n += k;
            jitN += k;
            stats.executed++;
            // The block may have branched anywhere (or ended the slice): next pc is an entry.
            continue;
          }
        }
        // Interpret one instruction, as runSlice does.
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
        n += st.lastK;
        jitN += st.lastK;
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
  if (st.queue.length > 0) compileQueue(phys, st);
  stats.jitInsns += jitN;
  stats.interpInsns += interp;
  c.count = n;
  c.retired += n;
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
