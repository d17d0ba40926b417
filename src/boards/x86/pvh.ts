/**
 * Xen PVH direct boot of an ELF image (a vmlinux or our test guests): load
 * the PT_LOAD segments at their physical addresses, find the entry point in
 * the XEN_ELFNOTE_PHYS32_ENTRY note, and describe the machine in a
 * struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h).
 * The guest starts in 32-bit protected mode, paging off, EBX = start_info.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { GuestMemoryError } from '../../memory/guest-memory.js';
import { X86LoadError } from './errors.js';
import { type E820Entry, ramEndContaining } from './e820.js';

export const XEN_ELFNOTE_PHYS32_ENTRY = 18;
export const HVM_START_MAGIC = 0x336ec578;
export const HVM_START_INFO_SIZE = 56;
export const HVM_MODLIST_ENTRY_SIZE = 32;
export const HVM_MEMMAP_ENTRY_SIZE = 24;

// struct hvm_start_info offsets.
export const SI_MAGIC = 0;
export const SI_VERSION = 4;
export const SI_FLAGS = 8;
export const SI_NR_MODULES = 12;
export const SI_MODLIST_PADDR = 16;
export const SI_CMDLINE_PADDR = 24;
export const SI_RSDP_PADDR = 32;
export const SI_MEMMAP_PADDR = 40;
export const SI_MEMMAP_ENTRIES = 48;

const PT_LOAD = 1;
const PT_NOTE = 4;
const EM_386 = 3;
const EM_X86_64 = 62;

export interface ElfSegment {
  paddr: number;
  offset: number;
  filesz: number;
  memsz: number;
}

export interface PvhElf {
  entry: number;
  segments: ElfSegment[];
}

export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46;
}

/** Parses an ELF32/ELF64 little-endian x86 image; requires the PVH entry note. */
export function parsePvhElf(image: Uint8Array): PvhElf {
  if (!isElf(image)) throw new X86LoadError('not-a-kernel', 'kernel is neither a bzImage nor an ELF file');
  const bad = (why: string): X86LoadError => new X86LoadError('bad-elf', `ELF kernel: ${why}`);
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const is64 = image[4] === 2;
  if (image[4] !== 1 && !is64) throw bad('unknown ELF class');
  if (image[5] !== 1) throw bad('not little-endian');
  if (image.length < (is64 ? 64 : 52)) throw bad('truncated header');
  const machine = dv.getUint16(18, true);
  if (machine !== EM_386 && machine !== EM_X86_64) throw bad(`not an x86 image (e_machine ${machine})`);
  const phoff = is64 ? Number(dv.getBigUint64(32, true)) : dv.getUint32(28, true);
  const phentsize = dv.getUint16(is64 ? 54 : 42, true);
  const phnum = dv.getUint16(is64 ? 56 : 44, true);
  if (phentsize < (is64 ? 56 : 32) || phoff + phnum * phentsize > image.length) throw bad('program headers out of range');

  const segments: ElfSegment[] = [];
  let entry: number | undefined;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const type = dv.getUint32(ph, true);
    const num = (o64: number, o32: number): number => (is64 ? Number(dv.getBigUint64(ph + o64, true)) : dv.getUint32(ph + o32, true));
    const offset = num(8, 4);
    const paddr = num(24, 12);
    const filesz = num(32, 16);
    const memsz = num(40, 20);
    if (offset + filesz > image.length) throw bad(`segment ${i} out of range`);
    if (type === PT_LOAD && filesz > memsz) throw bad(`segment ${i} has filesz > memsz`);
    if (type === PT_LOAD && memsz > 0) segments.push({ paddr, offset, filesz, memsz });
    if (type === PT_NOTE) entry ??= findPhys32Entry(image.subarray(offset, offset + filesz));
  }
  if (entry === undefined) throw new X86LoadError('no-pvh-note', 'ELF kernel has no XEN_ELFNOTE_PHYS32_ENTRY (PVH) note');
  if (segments.length === 0) throw bad('no loadable segments');
  return { entry, segments };
}

/** Walks an ELF note section: {namesz, descsz, type, name (4-aligned), desc (4-aligned)}. */
function findPhys32Entry(notes: Uint8Array): number | undefined {
  const dv = new DataView(notes.buffer, notes.byteOffset, notes.byteLength);
  let p = 0;
  while (p + 12 <= notes.length) {
    const namesz = dv.getUint32(p, true);
    const descsz = dv.getUint32(p + 4, true);
    const type = dv.getUint32(p + 8, true);
    const name = p + 12;
    const desc = name + ((namesz + 3) & ~3);
    const next = desc + ((descsz + 3) & ~3);
    if (next > notes.length || next <= p) return undefined;
    const isXen = namesz === 4 && notes[name] === 0x58 && notes[name + 1] === 0x65 && notes[name + 2] === 0x6e && notes[name + 3] === 0;
    if (isXen && type === XEN_ELFNOTE_PHYS32_ENTRY && descsz >= 4) return dv.getUint32(desc, true);
    p = next;
  }
  return undefined;
}

export interface PvhLoadOptions {
  image: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
  e820: readonly E820Entry[];
  startInfoAddr: number;
  modlistAddr: number;
  memmapAddr: number;
  memmapMax: number;
  cmdlineAddr: number;
  cmdlineMax: number;
  /** ACPI RSDP address for start_info.rsdp_paddr (0: none). */
  rsdpAddr?: number;
}

export interface PvhLoadResult {
  entry: number;
  kernelEnd: number;
  initrdAddr?: number;
}

export function loadPvhElf(mem: GuestMemory, o: PvhLoadOptions): PvhLoadResult {
  const elf = parsePvhElf(o.image);
  let kernelEnd = 0;
  for (const s of elf.segments) {
    if (!mem.isRam(s.paddr, s.memsz)) {
      throw new X86LoadError('kernel-too-large', `ELF segment 0x${s.paddr.toString(16)}+0x${s.memsz.toString(16)} is outside guest RAM`);
    }
    mem.writeBytes(s.paddr, o.image.subarray(s.offset, s.offset + s.filesz));
    mem.fill(s.paddr + s.filesz, s.memsz - s.filesz);
    kernelEnd = Math.max(kernelEnd, s.paddr + s.memsz);
  }

  const cmd = new TextEncoder().encode(o.cmdline);
  if (cmd.length > o.cmdlineMax - 1) throw new X86LoadError('cmdline-too-long', `command line is ${cmd.length} bytes, limit ${o.cmdlineMax - 1}`);
  mem.fill(o.cmdlineAddr, cmd.length + 1);
  mem.writeBytes(o.cmdlineAddr, cmd);

  let initrdAddr: number | undefined;
  if (o.initrd !== undefined && o.initrd.length > 0) {
    const lowEnd = ramEndContaining(o.e820, 0x100000) ?? 0;
    const top = Math.floor((Math.min(lowEnd, 2 ** 32) - o.initrd.length) / 0x1000) * 0x1000;
    if (top < kernelEnd) throw new X86LoadError('initrd-too-large', `initrd of ${o.initrd.length} bytes does not fit in RAM after the kernel`);
    initrdAddr = top;
    mem.writeBytes(top, o.initrd);
  }

  if (o.e820.length > o.memmapMax) throw new X86LoadError('memory-layout', `too many memory map entries (${o.e820.length})`);
  const si = o.startInfoAddr;
  try {
    mem.fill(si, HVM_START_INFO_SIZE);
    mem.writeU32(si + SI_MAGIC, HVM_START_MAGIC);
    mem.writeU32(si + SI_VERSION, 1);
    mem.writeU32(si + SI_FLAGS, 0);
    mem.writeU64(si + SI_CMDLINE_PADDR, o.cmdlineAddr);
    mem.writeU64(si + SI_RSDP_PADDR, o.rsdpAddr ?? 0);
    if (initrdAddr !== undefined) {
      mem.writeU32(si + SI_NR_MODULES, 1);
      mem.writeU64(si + SI_MODLIST_PADDR, o.modlistAddr);
      mem.fill(o.modlistAddr, HVM_MODLIST_ENTRY_SIZE);
      mem.writeU64(o.modlistAddr, initrdAddr);
      mem.writeU64(o.modlistAddr + 8, o.initrd!.length);
    }
    mem.writeU64(si + SI_MEMMAP_PADDR, o.memmapAddr);
    mem.writeU32(si + SI_MEMMAP_ENTRIES, o.e820.length);
    o.e820.forEach((e, i) => {
      const p = o.memmapAddr + i * HVM_MEMMAP_ENTRY_SIZE;
      mem.writeU64(p, e.addr);
      mem.writeU64(p + 8, e.size);
      mem.writeU32(p + 16, e.type); // e820 and XEN_HVM_MEMMAP_TYPE_* share the numbers 1-7
      mem.writeU32(p + 20, 0);
    });
  } catch (e) {
    if (e instanceof GuestMemoryError) throw new X86LoadError('memory-layout', `start_info does not fit: ${e.message}`);
    throw e;
  }
  return { entry: elf.entry, kernelEnd, initrdAddr };
}
