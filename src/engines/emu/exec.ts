/**
 * The interpreter loop: fetch through the software TLB, look up (or decode
 * and cache) the handler for the word, advance pc, run the handler. A
 * synchronous exception thrown by a handler (GuestFault) is taken here with
 * the faulting instruction's address as the preferred return.
 */
import { EC_IABT_CUR, EC_IABT_LOW, FSC_EXTERNAL, GuestFault, type Cpu } from './cpu.js';
import { decode } from './decode.js';
import { toBig } from './int64.js';
import type { Handler } from './phys.js';

const NO_PAGE: Array<Handler | undefined> = [];

/** A packed (not holey) array of 1024 empty slots: hole checks would slow every lookup. */
function newPage(): Array<Handler | undefined> {
  const a: Array<Handler | undefined> = [];
  for (let i = 0; i < 1024; i++) a.push(undefined);
  return a;
}

/** Run up to `budget` instructions on `c` (fewer when a handler ends the slice). Returns instructions executed. */
export function runSlice(c: Cpu, budget: number): number {
  const phys = c.phys;
  const dv = c.dv;
  // The code page's translation is cached for the slice: every event that could
  // change it (TLB maintenance, EL change, stores to decoded code) ends the slice.
  let pageLo = 1; // never a page address: forces the first translation
  let pageHi = 0;
  let hs = NO_PAGE;
  let ramOff = 0;
  let ilo = 0;
  let ihi = 0;
  let n = 0;
  c.sliceEnd = budget;
  while (n < c.sliceEnd) {
    try {
      while (n < c.sliceEnd) {
        const lo = c.pcLo;
        const hi = c.pcHi;
        ilo = lo;
        ihi = hi;
        if ((lo & ~0xfff) !== pageLo || hi !== pageHi) {
          const i = c.fetchTranslate(lo, hi);
          const rp = c.tlbRam[i]!;
          if (rp < 0) {
            throw new GuestFault(c.el === 0 ? EC_IABT_LOW : EC_IABT_CUR, FSC_EXTERNAL, toBig(lo, hi));
          }
          let page = phys.icache[rp];
          if (page === undefined) {
            page = newPage();
            phys.icache[rp] = page;
            phys.noteCode(rp);
          }
          hs = page;
          ramOff = rp * 4096;
          pageLo = lo & ~0xfff;
          pageHi = hi;
        }
        const idx = (lo & 0xfff) >>> 2;
        let h = hs[idx];
        if (h === undefined) {
          h = decode(dv.getUint32(ramOff + (lo & 0xfff), true));
          hs[idx] = h;
        }
        c.pcLo = (lo + 4) | 0;
        if (lo === -4) c.pcHi = (hi + 1) | 0;
        n++;
        h(c);
      }
    } catch (e) {
      if (!(e instanceof GuestFault)) throw e;
      c.pcLo = ilo;
      c.pcHi = ihi;
      c.fault(e, ilo, ihi);
      pageLo = 1;
    }
  }
  c.count = n;
  c.retired += n;
  return n;
}
