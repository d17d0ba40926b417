/**
 * Identity-mapped page tables for the 64-bit boot protocol: boot.rst requires
 * that the range holding the kernel, boot_params and the command line be
 * identity mapped. We map the first 4 GiB with 2 MiB pages (PML4 -> one PDPT
 * -> four page directories), which covers everything the board places.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';

export const PTE_PRESENT = 1n;
export const PTE_WRITABLE = 2n;
export const PTE_PAGE_SIZE = 0x80n;
const TWO_MIB = 0x200000n;
const ONE_GIB = 0x40000000n;

/** Writes the tables; returns the CR3 value (the PML4 address). */
export function writeIdentityPageTables(mem: GuestMemory, pml4: number, pdpt: number, pd: number, pdCount: number): number {
  mem.fill(pml4, 0x1000);
  mem.fill(pdpt, 0x1000);
  mem.fill(pd, 0x1000 * pdCount);
  mem.writeU64(pml4, BigInt(pdpt) | PTE_PRESENT | PTE_WRITABLE);
  for (let i = 0; i < pdCount; i++) {
    const dir = pd + i * 0x1000;
    mem.writeU64(pdpt + i * 8, BigInt(dir) | PTE_PRESENT | PTE_WRITABLE);
    for (let j = 0; j < 512; j++) {
      const phys = BigInt(i) * ONE_GIB + BigInt(j) * TWO_MIB;
      mem.writeU64(dir + j * 8, phys | PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE);
    }
  }
  return pml4;
}
