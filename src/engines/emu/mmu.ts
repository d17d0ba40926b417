/**
 * Stage-1 translation for EL1&0: 4 KiB granule, up to 48-bit VA, TTBR0/TTBR1
 * selected by VA bit 55, start level from TnSZ, hierarchical table
 * permissions, AP[2:1]/UXN/PXN/WXN, access flag faults (ARMv8.0 has no
 * hardware AF update). The result lists the permissions of the page for both
 * ELs so one TLB entry serves every later access.
 */
import {
  ACC_EXEC,
  ACC_WRITE,
  EC_DABT_CUR,
  EC_DABT_LOW,
  EC_IABT_CUR,
  EC_IABT_LOW,
  FSC_ACCESS,
  FSC_ADDR_SIZE,
  FSC_PERMISSION,
  FSC_TRANSLATION,
  FSC_WALK_EXTERNAL,
  GuestFault,
  P_R0,
  P_R1,
  P_W0,
  P_W1,
  P_X0,
  P_X1,
  type Cpu,
} from './cpu.js';
import { toBig } from './int64.js';

export interface WalkResult {
  /** Physical address of the 4 KiB page. */
  pa: number;
  perms: number;
  /** Leaf level (3 = page, 1/2 = block) and the nG bit. */
  level: number;
  ng: boolean;
}

const result: WalkResult = { pa: 0, perms: 0, level: 3, ng: false };
const TWO32 = 4294967296;
/** 2 ** n for the shifts of a walk (Math.pow with a variable exponent is a runtime call). */
const POW2 = Float64Array.from({ length: 64 }, (_, n) => 2 ** n);

/**
 * Walk the tables for (lo, hi). `acc` and `mask` give the access being made:
 * the walk faults unless the page grants a permission bit in `mask`.
 */
export function walk(c: Cpu, lo: number, hi: number, acc: number, mask: number): WalkResult {
  const t = translateVa(c, lo, hi);
  if (t.fsc < 0 && (t.perms & mask) !== 0) {
    result.pa = t.pa;
    result.perms = t.perms;
    result.level = t.level;
    result.ng = t.ng;
    return result;
  }
  const fsc = t.fsc < 0 ? FSC_PERMISSION + t.level : t.fsc;
  throw abort(c, lo, hi, acc, fsc);
}

export function abort(c: Cpu, lo: number, hi: number, acc: number, fsc: number): GuestFault {
  const far = toBig(lo, hi);
  if (acc === ACC_EXEC) return new GuestFault(c.el === 0 ? EC_IABT_LOW : EC_IABT_CUR, fsc, far);
  return new GuestFault(c.el === 0 ? EC_DABT_LOW : EC_DABT_CUR, fsc | (acc === ACC_WRITE ? 1 << 6 : 0), far);
}

const tr = { pa: 0, perms: 0, fsc: -1, level: 0, ng: false };

/** Translate without an access check: fills `tr` (fsc = -1 on success; level = leaf level). */
export function translateVa(c: Cpu, lo: number, hi: number): typeof tr {
  tr.fsc = -1;
  tr.level = 0;
  tr.ng = false;
  const sctlr = c.sctlrN;
  if ((sctlr & 1) === 0) {
    // MMU off: flat, 48-bit PA limit.
    if ((hi >>> 16) !== 0) {
      tr.fsc = FSC_ADDR_SIZE;
      return tr;
    }
    tr.pa = (hi >>> 0) * TWO32 + ((lo & ~0xfff) >>> 0);
    tr.perms = P_R1 | P_W1 | P_X1 | P_R0 | P_W0 | P_X0;
    tr.level = 1; // flat mapping: treat as a block so TLBI by VA finds it
    return tr;
  }
  const upper = (hi & 0x00800000) !== 0;
  const tcrLo = c.tcrLo;
  const tsz = upper ? (tcrLo >>> 16) & 0x3f : tcrLo & 0x3f;
  const epd = upper ? (tcrLo >>> 23) & 1 : (tcrLo >>> 7) & 1;
  const tbi = upper ? (c.tcrHi >>> 6) & 1 : (c.tcrHi >>> 5) & 1;
  const inputBits = 64 - Math.min(Math.max(tsz, 16), 39);
  // The bits above the input range must all equal bit 55 (ignoring the top byte with TBI).
  const topMaskHi = tbi !== 0 ? 0x00ffffff : 0xffffffff;
  const hiBitsAbove = inputBits - 32; // number of hi bits inside the input range
  const rangeMask = (topMaskHi & ~((1 << hiBitsAbove) - 1)) >>> 0;
  const want = upper ? rangeMask : 0;
  if (((hi & rangeMask) >>> 0) !== want || epd !== 0) {
    tr.fsc = FSC_TRANSLATION;
    return tr;
  }
  const ttbr = upper ? c.ttbr1 : c.ttbr0;
  let table = Number(ttbr & 0x0000fffffffffffen);
  const va = (hi & 0xffff) * TWO32 + (lo >>> 0);
  const levels = Math.ceil((inputBits - 12) / 9);
  let level = 4 - levels;
  let apTable = 0; // bit1: no write, bit0: no EL0
  let uxnTable = false;
  let pxnTable = false;
  const mem = c.phys;
  for (;;) {
    const shift = 12 + 9 * (3 - level);
    const idxBits = level === 4 - levels ? inputBits - shift : 9;
    const idx = Math.floor(va / POW2[shift]!) & ((1 << idxBits) - 1);
    const dpa = table + idx * 8;
    let dlo: number;
    let dhi: number;
    const page = mem.ramPage(dpa);
    if (page >= 0) {
      const o = dpa - mem.ramBase;
      dlo = mem.dv.getInt32(o, true);
      dhi = mem.dv.getInt32(o + 4, true);
    } else {
      let v: bigint | number | undefined;
      try {
        v = mem.memory.isRam(dpa, 8) ? mem.memory.readU64(dpa) : undefined;
      } catch {
        v = undefined;
      }
      if (v === undefined) {
        tr.fsc = FSC_WALK_EXTERNAL + level;
        tr.level = level;
        return tr;
      }
      const b = BigInt(v);
      dlo = Number(BigInt.asIntN(32, b));
      dhi = Number(BigInt.asIntN(32, b >> 32n));
    }
    tr.level = level;
    if ((dlo & 1) === 0) {
      tr.fsc = FSC_TRANSLATION + level;
      return tr;
    }
    const oa = (dhi & 0xffff) * TWO32 + ((dlo & ~0xfff) >>> 0);
    const isTable = (dlo & 2) !== 0 && level < 3;
    if (isTable) {
      apTable |= (dhi >>> 29) & 3; // bits 62:61
      if (dhi & (1 << 28)) uxnTable = true; // bit 60
      if (dhi & (1 << 27)) pxnTable = true; // bit 59
      table = oa;
      level++;
      continue;
    }
    if ((dlo & 2) === 0 && level === 3) {
      tr.fsc = FSC_TRANSLATION + level; // reserved encoding at level 3
      return tr;
    }
    if (level === 0) {
      tr.fsc = FSC_TRANSLATION + level; // no level-0 blocks with 4K granule
      return tr;
    }
    // Leaf: block (level 1/2) or page (level 3).
    if ((dlo & (1 << 10)) === 0) {
      tr.fsc = FSC_ACCESS + level;
      return tr;
    }
    const blockShift = 12 + 9 * (3 - level);
    const blockSize = POW2[blockShift]!;
    const offInBlock = va % blockSize;
    const outBase = Math.floor(oa / blockSize) * blockSize;
    tr.pa = outBase + Math.floor(offInBlock / 4096) * 4096;
    const ap2 = (dlo >>> 7) & 1 || apTable & 2 ? 1 : 0;
    const ap1 = (dlo >>> 6) & 1 && (apTable & 1) === 0 ? 1 : 0;
    const uxn = (dhi >>> 22) & 1 || uxnTable;
    const pxn = (dhi >>> 21) & 1 || pxnTable;
    const wxn = (sctlr >>> 19) & 1;
    let perms = P_R1;
    if (!ap2) perms |= P_W1;
    if (ap1) {
      perms |= P_R0;
      if (!ap2) perms |= P_W0;
    }
    if (!uxn && !(wxn && perms & P_W0)) perms |= P_X0;
    // EL1 can never execute memory writable at EL0.
    if (!pxn && !(perms & P_W0) && !(wxn && perms & P_W1)) perms |= P_X1;
    tr.perms = perms;
    tr.ng = (dlo & (1 << 11)) !== 0;
    return tr;
  }
}
