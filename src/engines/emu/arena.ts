/**
 * Layout of the emu engine's state area in a WebAssembly-backed guest memory
 * (createEmuMemory): RAM at offset 0, then Phys.codePages, then one area per
 * vCPU. The interpreter sees these as ordinary typed arrays (Cpu.xl, tlbLo,
 * ...); translated WebAssembly code reads and writes the same bytes at
 * these offsets from the vCPU's area base.
 */

/** Bytes per vCPU area and the number of areas the memory has room for (emuStateBytes). */
export const CPU_STRIDE = 0x11000;
export const MAX_ARENA_CPUS = 8;

/** Int32 slots exchanged between the run loop and translated code: pc and NZCV. */
export const S_OFF = 0x000;
export const S_PCLO = 0;
export const S_PCHI = 1;
/** NZCV packed as bits 3..0. */
export const S_NZCV = 2;
export const S_SLOTS = 16;

/** The vCPU's EL and instruction-fetch permission mask (Cpu.xMask), for the dispatcher. */
export const S_EL = 3;
export const S_XMASK = 4;
/** Blocks entered by the dispatcher (statistics). */
export const S_EXEC = 5;

/**
 * Block hash table (after the per-page code generations): HASH_ENTRIES
 * entries of 32 bytes: key (RAM page * 1024 + word index + 1), virtual page
 * lo, hi, EL, code generation of the page, table index of the function.
 */
export const HASH_BITS = 16;
export const HASH_ENTRIES = 1 << HASH_BITS;
export const HASH_ENTRY = 32;

/** X registers (34 int32 each, see Cpu): low and high halves. */
export const XL_OFF = 0x100;
export const XH_OFF = 0x200;

/** Software TLB arrays (4096 int32 each). */
export const TLB_LO_OFF = 0x1000;
export const TLB_HI_OFF = 0x5000;
export const TLB_FLAGS_OFF = 0x9000;
export const TLB_RAM_OFF = 0xd000;
