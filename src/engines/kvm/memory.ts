/**
 * Guest RAM for the kvm engine: anonymous mmap'd regions (so KVM can map the
 * same host pages into the guest) wrapped in a GuestMemory whose regions carry
 * their host addresses for KVM_SET_USER_MEMORY_REGION.
 */
import { GuestMemory, MAX_REGION_SIZE } from '../../memory/guest-memory.js';
import { sys, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS, MAP_NORESERVE, MADV_DONTFORK } from '../../sys/native.js';

export interface RamRange {
  gpa: number;
  size: number;
}

const PAGE = 4096;
/** Start of the 32-bit PCI/MMIO hole on x86 (LAPIC, IOAPIC, firmware, PCI BARs live above). */
export const X86_MMIO_HOLE_START = 0xc000_0000;
export const X86_HIGH_RAM_START = 0x1_0000_0000;

/**
 * x86 RAM layout for `bytes` of memory: everything below 0xC0000000, and the
 * rest above 4 GiB, each piece split into regions of at most 4 GiB.
 */
export function x86RamLayout(bytes: number): RamRange[] {
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % PAGE !== 0) {
    throw new RangeError(`RAM size ${bytes} must be a positive multiple of 4 KiB`);
  }
  const out: RamRange[] = [];
  const low = Math.min(bytes, X86_MMIO_HOLE_START);
  out.push({ gpa: 0, size: low });
  let rest = bytes - low;
  let gpa = X86_HIGH_RAM_START;
  while (rest > 0) {
    const size = Math.min(rest, MAX_REGION_SIZE);
    out.push({ gpa, size });
    gpa += size;
    rest -= size;
  }
  return out;
}

/**
 * GuestMemory whose regions are fresh anonymous mappings (MAP_NORESERVE: pages
 * cost nothing until the guest touches them). Each region records hostAddr.
 */
export function createMmapMemory(layout: RamRange[]): GuestMemory {
  const mem = new GuestMemory();
  for (const { gpa, size } of layout) {
    if (size <= 0 || size > MAX_REGION_SIZE || size % PAGE !== 0 || gpa % PAGE !== 0) {
      throw new RangeError(`RAM region 0x${gpa.toString(16)}+0x${size.toString(16)} must be page-aligned and at most 4 GiB`);
    }
    const m = sys().mmap(size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    // Child processes (gcc in tests, helpers) must not inherit a copy of guest RAM.
    sys().madvise(m.buffer, 0, size, MADV_DONTFORK);
    mem.addRegion(gpa, m.buffer, m.addr);
  }
  return mem;
}
