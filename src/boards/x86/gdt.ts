/**
 * The boot GDT shared by both entry paths (selectors in boot-state.ts):
 *   0x00 null, 0x08 flat 32-bit code (PVH), 0x10 flat 64-bit code (__BOOT_CS),
 *   0x18 flat data (__BOOT_DS), 0x20 32-bit TSS (for TR).
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { TablesLocation } from './boot-state.js';

/**
 * One 8-byte descriptor. `flags` packs the access byte (bits 0-7) and the
 * G/DB/L/AVL nibble (bits 12-15), the usual compact form.
 */
export function gdtEntry(flags: number, base: number, limit: number): bigint {
  const b = BigInt(base >>> 0);
  const l = BigInt(limit >>> 0);
  const f = BigInt(flags & 0xf0ff);
  return ((b & 0xff000000n) << 32n) | (f << 40n) | ((l & 0xf0000n) << 32n) | ((b & 0xffffffn) << 16n) | (l & 0xffffn);
}

export const GDT_CODE32 = 0xc09b; // G, D, P, S, code exec/read accessed
export const GDT_CODE64 = 0xa09b; // G, L, P, S, code exec/read accessed
export const GDT_DATA = 0xc093; // G, B, P, S, data read/write accessed
export const GDT_TSS = 0x008b; // P, 32-bit busy TSS

export function bootGdtEntries(): bigint[] {
  return [
    0n,
    gdtEntry(GDT_CODE32, 0, 0xfffff),
    gdtEntry(GDT_CODE64, 0, 0xfffff),
    gdtEntry(GDT_DATA, 0, 0xfffff),
    gdtEntry(GDT_TSS, 0, 0x67),
  ];
}

export function writeBootGdt(mem: GuestMemory, base: number): TablesLocation {
  const entries = bootGdtEntries();
  entries.forEach((e, i) => mem.writeU64(base + i * 8, e));
  return { gdtBase: base, gdtLimit: entries.length * 8 - 1 };
}
