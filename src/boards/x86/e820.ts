/**
 * The guest's physical memory map, derived from the GuestMemory regions the
 * board is given (so a layout with a 32-bit PCI hole simply shows up as two
 * RAM ranges with nothing between them). The 640 KiB-1 MiB window is never
 * reported as RAM: its last base-memory KiB holds the MP table and
 * 0xF0000-0xFFFFF is the (empty) BIOS area, both reserved.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { BASE_MEMORY_END, BIOS_AREA, HIGH_MEMORY, MPTABLE_ADDR } from './layout.js';
import { X86LoadError } from './errors.js';

export const E820_RAM = 1;
export const E820_RESERVED = 2;

export interface E820Entry {
  addr: number;
  size: number;
  type: number;
}

export function buildE820(mem: GuestMemory): E820Entry[] {
  const ram: E820Entry[] = [];
  for (const r of mem.regions) {
    const end = r.gpa + r.size;
    const lowEnd = Math.min(end, MPTABLE_ADDR);
    if (r.gpa < lowEnd) ram.push({ addr: r.gpa, size: lowEnd - r.gpa, type: E820_RAM });
    const highStart = Math.max(r.gpa, HIGH_MEMORY);
    if (highStart < end) ram.push({ addr: highStart, size: end - highStart, type: E820_RAM });
  }
  if (ram.length === 0 || ram[0]!.addr !== 0 || ram[0]!.size !== MPTABLE_ADDR) {
    throw new X86LoadError('memory-layout', 'x86 board needs guest RAM covering 0-640 KiB');
  }
  const out: E820Entry[] = [
    ram[0]!,
    { addr: MPTABLE_ADDR, size: BASE_MEMORY_END - MPTABLE_ADDR, type: E820_RESERVED },
    { addr: BIOS_AREA, size: HIGH_MEMORY - BIOS_AREA, type: E820_RESERVED },
    ...ram.slice(1),
  ];
  return out;
}

/** Writes entries in the 20-byte boot_params layout ({u64 addr, u64 size, u32 type}). */
export function writeE820Table(mem: GuestMemory, at: number, entries: readonly E820Entry[]): void {
  entries.forEach((e, i) => {
    const p = at + i * 20;
    mem.writeU64(p, e.addr);
    mem.writeU64(p + 8, e.size);
    mem.writeU32(p + 16, e.type);
  });
}

/** The end of the RAM range that contains `addr` (per the map), or undefined. */
export function ramEndContaining(entries: readonly E820Entry[], addr: number): number | undefined {
  for (const e of entries) if (e.type === E820_RAM && addr >= e.addr && addr < e.addr + e.size) return e.addr + e.size;
  return undefined;
}
