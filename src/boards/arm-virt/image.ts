/**
 * arm64 Linux Image loader (Documentation/arch/arm64/booting.rst).
 *
 * Header (64 bytes, little-endian): code0, code1 (u32), text_offset (u64 @8),
 * image_size (u64 @16), flags (u64 @24), res2..res4, magic "ARM\x64" (@0x38),
 * res5 / PE header offset (@0x3c). Debian's vmlinuz is this Image with an
 * EFI stub ("MZ" in code0); gzip-compressed Images are inflated first.
 *
 * Layout in RAM (all inside [ramBase, ramBase+ramSize)):
 *   kernel  at a 2 MiB aligned base + text_offset, occupying image_size bytes
 *           (text + data + bss + early page tables);
 *   DTB     at the next 2 MiB boundary after the kernel: 8-byte aligned and,
 *           since it gets a whole 2 MiB slot, never crossing a 2 MiB boundary;
 *   initrd  after the DTB slot, page aligned.
 * Everything stays low in RAM, inside the 1 GiB-aligned window the kernel
 * requires the initrd to share with the Image.
 */
import { gunzipSync } from 'node:zlib';
import type { GuestMemory } from '../../memory/guest-memory.js';

export const ARM64_IMAGE_MAGIC = 0x644d5241; // "ARM\x64" little-endian
const MIB2 = 2 * 1024 * 1024;
const PAGE = 4096;
/** The DTB slot: booting.rst limits the blob to 2 MiB. */
export const DTB_MAX_SIZE = MIB2;

export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

export interface Arm64ImageHeader {
  textOffset: number;
  /** Effective size including bss; the file length when the header says 0 (pre-3.17 kernels). */
  imageSize: number;
  flags: number;
  bigEndian: boolean;
  /** Kernel page size in KiB (4, 16, 64) or 0 when unspecified. */
  pageSizeKiB: number;
  /** flags bit 3: the Image may sit at any 2 MiB aligned address (otherwise as low as possible). */
  anyBase: boolean;
  /** The Image carries an EFI/PE stub ("MZ"). */
  efiStub: boolean;
}

export interface ArmLoadLayout {
  kernelBase: number;
  kernelEnd: number;
  /** Where CPU 0 starts: the first byte of the Image. */
  entry: number;
  dtbAddr: number;
  initrdStart?: number;
  initrdEnd?: number;
}

/** Inflate a gzip-compressed Image (Image.gz); other bytes are returned as they are. */
export function maybeDecompress(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      const b = gunzipSync(bytes, { maxOutputLength: 512 * 1024 * 1024 });
      return new Uint8Array(b.buffer, b.byteOffset, b.length);
    } catch (e) {
      throw new ImageError(`kernel looks gzip-compressed but does not inflate: ${(e as Error).message}`);
    }
  }
  return bytes;
}

export function parseArm64Image(bytes: Uint8Array): Arm64ImageHeader {
  if (bytes.length < 64) throw new ImageError(`kernel is ${bytes.length} bytes: too small for an arm64 Image header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0x38, true) !== ARM64_IMAGE_MAGIC) {
    const hint = bytes[0] === 0x7f && bytes[1] === 0x45 ? ' (this is an ELF file; pass the Image/vmlinuz, not vmlinux)'
      : bytes[0] === 0x4d && bytes[1] === 0x5a && bytes[0x202] === 0x48 ? ' (this looks like an x86 bzImage)'
      : '';
    throw new ImageError(`kernel is not an arm64 Image: no "ARM\\x64" magic at offset 0x38${hint}`);
  }
  const textOffset = Number(v.getBigUint64(8, true));
  let imageSize = Number(v.getBigUint64(16, true));
  const flags = Number(v.getBigUint64(24, true) & 0xffffffffn);
  if (imageSize === 0) imageSize = bytes.length;
  if (textOffset % PAGE !== 0 || textOffset >= MIB2) throw new ImageError(`arm64 Image has a bad text_offset 0x${textOffset.toString(16)}`);
  if (imageSize < bytes.length) throw new ImageError(`arm64 Image image_size ${imageSize} is smaller than the file (${bytes.length})`);
  const bigEndian = (flags & 1) !== 0;
  if (bigEndian) throw new ImageError('arm64 Image is big-endian; only little-endian kernels are supported');
  const ps = (flags >>> 1) & 3;
  return {
    textOffset,
    imageSize,
    flags,
    bigEndian,
    pageSizeKiB: [0, 4, 16, 64][ps]!,
    anyBase: (flags & 8) !== 0,
    efiStub: bytes[0] === 0x4d && bytes[1] === 0x5a,
  };
}

const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/** Where kernel, DTB and initrd go. Throws ImageError when they do not fit in RAM. */
export function planArmLoad(hdr: Arm64ImageHeader, initrdLength: number | undefined, ramBase: number, ramSize: number): ArmLoadLayout {
  if (ramBase % MIB2 !== 0) throw new ImageError('RAM base must be 2 MiB aligned');
  const ramEnd = ramBase + ramSize;
  const kernelBase = ramBase + hdr.textOffset;
  const kernelEnd = kernelBase + hdr.imageSize;
  const dtbAddr = alignUp(kernelEnd, MIB2);
  let end = dtbAddr + DTB_MAX_SIZE;
  const layout: ArmLoadLayout = { kernelBase, kernelEnd, entry: kernelBase, dtbAddr };
  if (initrdLength !== undefined) {
    layout.initrdStart = end;
    layout.initrdEnd = end + initrdLength;
    end = alignUp(layout.initrdEnd, PAGE);
  }
  if (end > ramEnd) {
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    throw new ImageError(
      `kernel (${mib(hdr.imageSize)})${initrdLength !== undefined ? ` + initrd (${mib(initrdLength)})` : ''} + DTB slot need ${mib(end - ramBase)} but RAM is ${mib(ramSize)}`,
    );
  }
  return layout;
}

/** Parse, place and copy the kernel (and initrd) into guest RAM. The caller writes the DTB at layout.dtbAddr. */
export function loadArm64(memory: GuestMemory, ramBase: number, ramSize: number, kernel: Uint8Array, initrd?: Uint8Array): ArmLoadLayout & { header: Arm64ImageHeader } {
  const image = maybeDecompress(kernel);
  const header = parseArm64Image(image);
  const layout = planArmLoad(header, initrd?.length, ramBase, ramSize);
  memory.writeBytes(layout.kernelBase, image);
  // bss and the rest of image_size must read as zero; fresh heap RAM already is, but a reset reuses RAM.
  memory.fill(layout.kernelBase + image.length, header.imageSize - image.length, 0);
  if (initrd && layout.initrdStart !== undefined) memory.writeBytes(layout.initrdStart, initrd);
  return { ...layout, header };
}
