/**
 * Fixed guest-physical addresses of what the x86 board writes below 1 MiB.
 * All of it sits in conventional memory (< 0x9FC00) except the MP table,
 * which the MP spec wants in the last KiB of base memory; the e820 map marks
 * that KiB reserved so Linux does not reuse it.
 */
export const GDT_ADDR = 0x500;
/** hvm_start_info for the PVH entry, then its module list and memory map. */
export const PVH_START_INFO_ADDR = 0x6000;
export const PVH_MODLIST_ADDR = 0x6040;
export const PVH_MEMMAP_ADDR = 0x6100;
export const PVH_MEMMAP_MAX_ENTRIES = 128;
/** The zero page (struct boot_params), 4 KiB. */
export const BOOT_PARAMS_ADDR = 0x7000;
/** Initial stack for the 64-bit entry (grows down, below the page tables). */
export const BOOT_STACK_TOP = 0x8ff0;
/** Identity-map page tables: PML4, one PDPT, four page directories (4 GiB of 2 MiB pages). */
export const PML4_ADDR = 0x9000;
export const PDPT_ADDR = 0xa000;
export const PD_ADDR = 0xb000;
export const PD_COUNT = 4;
/** Kernel command line. */
export const CMDLINE_ADDR = 0x20000;
export const CMDLINE_MAX = 0x10000;
/** MP floating pointer + config table: the last KiB of base memory. */
export const MPTABLE_ADDR = 0x9fc00;
/** End of conventional memory (640 KiB). */
export const BASE_MEMORY_END = 0xa0000;
/** Start of the BIOS area that the e820 map reserves (0xE0000-0xFFFFF, where Linux also scans for the ACPI RSDP). */
export const BIOS_AREA = 0xe0000;
/** ACPI tables (opt-in), RSDP first: inside the reserved BIOS area, below ACPI_TABLES_LIMIT. */
export const ACPI_TABLES_ADDR = 0xe0000;
export const ACPI_TABLES_LIMIT = 0xf0000;
export const HIGH_MEMORY = 0x100000;
/** Local APIC and I/O APIC MMIO bases. */
export const LAPIC_ADDR = 0xfee00000;
export const IOAPIC_ADDR = 0xfec00000;
