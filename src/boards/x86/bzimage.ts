/**
 * Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit entry.
 *
 * We parse the real-mode setup header, place the protected-mode part of the
 * bzImage in RAM, fill struct boot_params (the "zero page") and enter at
 * load address + 0x200 in long mode. The 16-bit setup code is never run.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { X86LoadError } from './errors.js';
import { type E820Entry, ramEndContaining, writeE820Table } from './e820.js';

// Setup header offsets (from the start of the image / of boot_params).
export const HDR_SETUP_SECTS = 0x1f1;
export const HDR_BOOT_FLAG = 0x1fe;
export const HDR_JUMP = 0x200;
export const HDR_HEADER = 0x202;
export const HDR_VERSION = 0x206;
export const HDR_TYPE_OF_LOADER = 0x210;
export const HDR_LOADFLAGS = 0x211;
export const HDR_CODE32_START = 0x214;
export const HDR_RAMDISK_IMAGE = 0x218;
export const HDR_RAMDISK_SIZE = 0x21c;
export const HDR_HEAP_END_PTR = 0x224;
export const HDR_CMD_LINE_PTR = 0x228;
export const HDR_INITRD_ADDR_MAX = 0x22c;
export const HDR_KERNEL_ALIGNMENT = 0x230;
export const HDR_RELOCATABLE_KERNEL = 0x234;
export const HDR_XLOADFLAGS = 0x236;
export const HDR_CMDLINE_SIZE = 0x238;
export const HDR_PREF_ADDRESS = 0x258;
export const HDR_INIT_SIZE = 0x260;

// boot_params fields outside the setup header (zero-page.rst).
export const BP_ACPI_RSDP_ADDR = 0x070;
export const BP_EXT_RAMDISK_IMAGE = 0x0c0;
export const BP_EXT_RAMDISK_SIZE = 0x0c4;
export const BP_EXT_CMD_LINE_PTR = 0x0c8;
export const BP_E820_ENTRIES = 0x1e8;
export const BP_E820_TABLE = 0x2d0;
export const BP_E820_MAX = 128;
export const BOOT_PARAMS_SIZE = 0x1000;

export const BOOT_FLAG = 0xaa55;
export const HDRS_MAGIC = 0x53726448; // "HdrS" little-endian
export const MIN_PROTOCOL = 0x206;
export const LOADED_HIGH = 0x01;
export const CAN_USE_HEAP = 0x80;
export const XLF_KERNEL_64 = 0x01;
export const TYPE_OF_LOADER_UNDEFINED = 0xff;
/** heap_end_ptr: end of the setup heap relative to the real-mode code start, minus 0x200 (boot.rst's usual value). */
export const HEAP_END_PTR = 0xfe00;
export const KERNEL_LOAD_ADDR = 0x100000;
/** Offset of the 64-bit entry point from the load address of the protected-mode kernel. */
export const ENTRY_64_OFFSET = 0x200;

export interface SetupHeader {
  setupSects: number;
  version: number;
  loadflags: number;
  xloadflags: number;
  kernelAlignment: number;
  relocatable: boolean;
  prefAddress: number;
  initSize: number;
  cmdlineSize: number;
  initrdAddrMax: number;
  /** Bytes of the setup header to copy into boot_params, starting at 0x1F1. */
  headerLength: number;
}

export function isBzImage(image: Uint8Array): boolean {
  if (image.length < 0x270) return false;
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  return dv.getUint16(HDR_BOOT_FLAG, true) === BOOT_FLAG && dv.getUint32(HDR_HEADER, true) === HDRS_MAGIC;
}

export function parseSetupHeader(image: Uint8Array): SetupHeader {
  if (!isBzImage(image)) throw new X86LoadError('not-a-kernel', 'kernel is not a bzImage (no 0xAA55 boot flag / "HdrS" header)');
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const version = dv.getUint16(HDR_VERSION, true);
  if (version < MIN_PROTOCOL) {
    throw new X86LoadError('protocol-too-old', `bzImage boot protocol ${(version >> 8).toString()}.${(version & 0xff).toString().padStart(2, '0')} is older than 2.06`);
  }
  const xloadflags = dv.getUint16(HDR_XLOADFLAGS, true);
  if (version < 0x20c || (xloadflags & XLF_KERNEL_64) === 0) {
    throw new X86LoadError('no-64bit-entry', 'bzImage has no 64-bit entry point (XLF_KERNEL_64 not set)');
  }
  const loadflags = image[HDR_LOADFLAGS]!;
  if ((loadflags & LOADED_HIGH) === 0) throw new X86LoadError('not-a-kernel', 'bzImage is a zImage (not LOADED_HIGH)');
  const setupSects = image[HDR_SETUP_SECTS]! || 4;
  const headerLength = HDR_HEADER + image[HDR_JUMP + 1]! - HDR_SETUP_SECTS;
  const pref = dv.getBigUint64(HDR_PREF_ADDRESS, true);
  return {
    setupSects,
    version,
    loadflags,
    xloadflags,
    kernelAlignment: dv.getUint32(HDR_KERNEL_ALIGNMENT, true),
    relocatable: image[HDR_RELOCATABLE_KERNEL]! !== 0,
    prefAddress: pref > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(pref),
    initSize: dv.getUint32(HDR_INIT_SIZE, true),
    cmdlineSize: dv.getUint32(HDR_CMDLINE_SIZE, true),
    initrdAddrMax: dv.getUint32(HDR_INITRD_ADDR_MAX, true),
    headerLength: Math.min(Math.max(headerLength, 0), 0x1000 - HDR_SETUP_SECTS),
  };
}

export interface BzImageLoadOptions {
  image: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
  e820: readonly E820Entry[];
  bootParamsAddr: number;
  cmdlineAddr: number;
  cmdlineMax: number;
  /** ACPI RSDP address for boot_params.acpi_rsdp_addr (0: none, the kernel scans). */
  rsdpAddr?: number;
}

export interface BzImageLoadResult {
  header: SetupHeader;
  loadAddr: number;
  entry64: number;
  initrdAddr?: number;
}

const alignUp = (v: number, a: number): number => (a > 1 ? Math.ceil(v / a) * a : v);
const PAGE = 0x1000;

/** Loads the kernel, initrd and command line and writes boot_params. */
export function loadBzImage(mem: GuestMemory, o: BzImageLoadOptions): BzImageLoadResult {
  const hdr = parseSetupHeader(o.image);
  const setupBytes = (hdr.setupSects + 1) * 512;
  if (o.image.length <= setupBytes) throw new X86LoadError('not-a-kernel', 'bzImage is truncated (no protected-mode kernel)');
  const kernel = o.image.subarray(setupBytes);

  // The decompressor runs at max(aligned load address, LOAD_PHYSICAL_ADDR = pref_address)
  // and needs init_size bytes there; load at pref_address when that fits, else 1 MiB.
  const lowEnd = ramEndContaining(o.e820, KERNEL_LOAD_ADDR);
  if (lowEnd === undefined) throw new X86LoadError('memory-layout', 'no RAM at 1 MiB for the kernel');
  const need = Math.max(hdr.initSize, kernel.length);
  const pref = hdr.prefAddress;
  let loadAddr = KERNEL_LOAD_ADDR;
  if (pref >= KERNEL_LOAD_ADDR && pref + need <= lowEnd && pref % PAGE === 0) loadAddr = pref;
  const runAddr = Math.max(alignUp(loadAddr, hdr.relocatable ? hdr.kernelAlignment : 1), hdr.relocatable ? pref : loadAddr);
  const kernelEnd = Math.max(loadAddr + kernel.length, runAddr + hdr.initSize);
  if (kernelEnd > lowEnd) {
    throw new X86LoadError('kernel-too-large', `kernel needs RAM up to 0x${kernelEnd.toString(16)}, RAM ends at 0x${lowEnd.toString(16)}`);
  }

  const cmd = new TextEncoder().encode(o.cmdline);
  const cmdMax = Math.min(hdr.cmdlineSize, o.cmdlineMax - 1);
  if (cmd.length > cmdMax) throw new X86LoadError('cmdline-too-long', `command line is ${cmd.length} bytes, kernel accepts ${cmdMax}`);

  let initrdAddr: number | undefined;
  if (o.initrd !== undefined && o.initrd.length > 0) {
    const size = o.initrd.length;
    const topUnlimited = Math.floor((lowEnd - size) / PAGE) * PAGE;
    const top = Math.floor((Math.min(lowEnd, hdr.initrdAddrMax + 1) - size) / PAGE) * PAGE;
    if (top < kernelEnd) {
      if (topUnlimited >= kernelEnd) {
        throw new X86LoadError('initrd-above-max', `initrd of ${size} bytes fits only above initrd_addr_max 0x${hdr.initrdAddrMax.toString(16)}`);
      }
      throw new X86LoadError('initrd-too-large', `initrd of ${size} bytes does not fit in RAM after the kernel`);
    }
    initrdAddr = top;
    mem.writeBytes(initrdAddr, o.initrd);
  }

  mem.writeBytes(loadAddr, kernel);
  mem.fill(o.cmdlineAddr, cmd.length + 1);
  mem.writeBytes(o.cmdlineAddr, cmd);
  writeBootParams(mem, o, hdr, initrdAddr);
  return { header: hdr, loadAddr, entry64: loadAddr + ENTRY_64_OFFSET, initrdAddr };
}

function writeBootParams(mem: GuestMemory, o: BzImageLoadOptions, hdr: SetupHeader, initrdAddr: number | undefined): void {
  const bp = o.bootParamsAddr;
  if (o.e820.length > BP_E820_MAX) throw new X86LoadError('memory-layout', `too many e820 entries (${o.e820.length})`);
  mem.fill(bp, BOOT_PARAMS_SIZE);
  mem.writeBytes(bp + HDR_SETUP_SECTS, o.image.subarray(HDR_SETUP_SECTS, HDR_SETUP_SECTS + hdr.headerLength));
  mem.writeU8(bp + HDR_TYPE_OF_LOADER, TYPE_OF_LOADER_UNDEFINED);
  mem.writeU8(bp + HDR_LOADFLAGS, hdr.loadflags | CAN_USE_HEAP);
  mem.writeU16(bp + HDR_HEAP_END_PTR, HEAP_END_PTR);
  mem.writeU32(bp + HDR_CMD_LINE_PTR, o.cmdlineAddr % 2 ** 32);
  mem.writeU32(bp + BP_EXT_CMD_LINE_PTR, Math.floor(o.cmdlineAddr / 2 ** 32));
  const size = o.initrd?.length ?? 0;
  const addr = initrdAddr ?? 0;
  mem.writeU32(bp + HDR_RAMDISK_IMAGE, addr % 2 ** 32);
  mem.writeU32(bp + BP_EXT_RAMDISK_IMAGE, Math.floor(addr / 2 ** 32));
  mem.writeU32(bp + HDR_RAMDISK_SIZE, initrdAddr === undefined ? 0 : size % 2 ** 32);
  mem.writeU32(bp + BP_EXT_RAMDISK_SIZE, initrdAddr === undefined ? 0 : Math.floor(size / 2 ** 32));
  mem.writeU64(bp + BP_ACPI_RSDP_ADDR, o.rsdpAddr ?? 0);
  mem.writeU8(bp + BP_E820_ENTRIES, o.e820.length);
  writeE820Table(mem, bp + BP_E820_TABLE, o.e820);
}
