/**
 * The translating run loop: a drop-in replacement for exec.ts runSlice.
 *
 * At every block entry (after a branch, a translated block, or a page
 * change) it looks up the translated block for the physical PC; blocks are
 * translated once an entry has been reached HOT times. Cold code runs on the
 * interpreter's handlers, one instruction at a time, exactly as runSlice does.
 *
 * Blocks live per physical RAM page next to the interpreter's decode cache
 * (phys.icache): a JitPage remembers the handler array it was built against,
 * so when phys invalidates the page (stores to code, IC IVAU/IALLU) the array
 * is replaced and every block of the page is dropped on the next lookup.
 * Each block also records the virtual page it was translated for (branch and
 * ADR targets are absolute) and is retranslated when entered through another
 * mapping. The code page's translation is cached for the slice, as in
 * runSlice: TLB maintenance, EL changes and code stores end the slice.
 */
import { EC_IABT_CUR, EC_IABT_LOW, FSC_EXTERNAL, GuestFault, type Cpu } from '../cpu.js';
import { decode } from '../decode.js';
import { toBig } from '../int64.js';
import type { Handler, Phys } from '../phys.js';
import { isTerminator, translate, type Block } from './translate.js';

/** Entries reached this many times get translated (TSVISOR_EMU_JIT_HOT overrides; 0 = translate at once, for tests). */
export const HOT = (() => {
  const v = Number(process.env.TSVISOR_EMU_JIT_HOT);
  return Number.isInteger(v) && v >= 0 && v <= 65535 ? v : 50000;
})();

/** Blocks are kept only when at least NUM/DEN of their instructions are inline (TSVISOR_EMU_JIT_INLINE=NUM, of 10). */
const MIN_INLINE_DEN = 10;
const MIN_INLINE_NUM = (() => {
  const v = Number(process.env.TSVISOR_EMU_JIT_INLINE);
  return Number.isInteger(v) && v >= 0 && v <= 10 ? v : 0;
})();

export interface JitStats {
  /** Translations dropped because too few of their instructions were inline. */
  rejected: number;
  /** Blocks translated. */
  translated: number;
  /** Block entries executed (translated code). */
  executed: number;
  /** Translated blocks dropped because their page's code changed or was invalidated. */
  invalidated: number;
  /** Blocks retranslated because they were entered through a different virtual page. */
  remapped: number;
  /** Milliseconds spent translating (source generation + compilation). */
  translateMs: number;
  /** Guest instructions retired in translated blocks and in the interpreter. */
  jitInsns: number;
  interpInsns: number;
}

interface JitPage {
  /** The decode-cache array this page's blocks were built against. */
  hs: Array<Handler | undefined>;
  blocks: Array<Block | undefined>;
  hits: Uint16Array;
  count: number;
}

interface JitState {
  pages: Array<JitPage | undefined>;
  stats: JitStats;
  /** Translation threshold (entries). */
  hot: number;
}

const states = new WeakMap<Phys, JitState>();

function stateOf(phys: Phys): JitState {
  let s = states.get(phys);
  if (s === undefined) {
    s = {
      pages: new Array<JitPage | undefined>(phys.icache.length).fill(undefined),
      stats: { rejected: 0, translated: 0, executed: 0, invalidated: 0, remapped: 0, translateMs: 0, jitInsns: 0, interpInsns: 0 },
      hot: HOT,
    };
    states.set(phys, s);
  }
  return s;
}

/** Set the translation threshold for the machine that owns `phys` (0: translate every block at first entry). */
export function setJitHot(phys: Phys, hot: number): void {
  stateOf(phys).hot = Math.max(0, Math.min(65535, hot | 0));
}

/** Translation statistics for the machine that owns `phys` (shared by its vCPUs). */
export function jitStats(phys: Phys): JitStats {
  return stateOf(phys).stats;
}

const NO_PAGE: Array<Handler | undefined> = [];

/**
 * Run up to about `budget` instructions (a block may overshoot by up to
 * MAX_BLOCK - 1). With `stop` (the raw runner's stop address), execution
 * stops before running the instruction at that virtual address.
 */
export function runSliceJit(c: Cpu, budget: number, stop?: bigint): number {
  const phys = c.phys;
  const dv = c.dv;
  const st = stateOf(phys);
  const stats = st.stats;
  const hot = st.hot;
  const hasStop = stop !== undefined;
  const stopLo = hasStop ? Number(stop & 0xffffffffn) | 0 : 0;
  const stopHi = hasStop ? Number((stop >> 32n) & 0xffffffffn) | 0 : 0;
  let pageLo = 1;
  let pageHi = 0;
  let hs = NO_PAGE;
  let jp: JitPage | undefined;
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
          const rp = c.tlbRam[i]!;
          if (rp < 0) {
            throw new GuestFault(c.el === 0 ? EC_IABT_LOW : EC_IABT_CUR, FSC_EXTERNAL, toBig(lo, hi));
          }
          let page = phys.icache[rp];
          if (page === undefined) {
            page = new Array<Handler | undefined>(1024);
            phys.icache[rp] = page;
            phys.noteCode(rp);
          }
          hs = page;
          jp = st.pages[rp];
          if (jp === undefined || jp.hs !== page) {
            if (jp !== undefined) stats.invalidated += jp.count;
            jp = { hs: page, blocks: new Array<Block | undefined>(1024), hits: new Uint16Array(1024), count: 0 };
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
          if (b === undefined || b.vaLo !== pageLo || b.vaHi !== hi) {
            if (p.hits[idx]! < hot) {
              p.hits[idx]!++;
              b = undefined;
            } else {
              const t0 = performance.now();
              if (b !== undefined) stats.remapped++;
              else p.count++;
              b = translate({
                hs,
                dv,
                ramOff,
                idx,
                vaLo: pageLo,
                vaHi: hi,
                stopIdx: hasStop && (stopLo & ~0xfff) === pageLo && stopHi === hi ? (stopLo & 0xfff) >>> 2 : -1,
              });
              stats.translated++;
              stats.translateMs += performance.now() - t0;
              if (b.calls * MIN_INLINE_DEN > b.len * (MIN_INLINE_DEN - MIN_INLINE_NUM)) {
                // Mostly handler calls: no gain over the interpreter, only V8 warm-up. Ask again later.
                stats.rejected++;
                p.hits[idx] = 0;
                b = undefined;
              } else p.blocks[idx] = b;
            }
          }
          if (b !== undefined) {
            ilo = lo;
            ihi = hi;
            inBlock = true;
            const k = b.fn(c, c.sliceEnd - n);
            inBlock = false;
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
        // The block set pcLo to the faulting instruction's address + 4 before it.
        inBlock = false;
        const done = ((c.pcLo - ilo) >>> 0) / 4;
        n += done;
        jitN += done;
        flo = (c.pcLo - 4) | 0;
        if (c.pcLo === 0) fhi = (ihi + 1 - 1) | 0;
        else fhi = ihi;
      }
      c.pcLo = flo;
      c.pcHi = fhi;
      c.fault(e, flo, fhi);
      pageLo = 1;
      entry = true;
    }
  }
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
export function topBlocks(phys: Phys, count: number): Array<{ page: number; idx: number; runs: number; len: number; src: string }> {
  const out: Array<{ page: number; idx: number; runs: number; len: number; src: string }> = [];
  stateOf(phys).pages.forEach((p, page) => {
    p?.blocks.forEach((b, idx) => {
      if (b !== undefined) out.push({ page, idx, runs: b.runs, len: b.len, src: b.src });
    });
  });
  return out.sort((a, b) => b.runs - a.runs).slice(0, count);
}
