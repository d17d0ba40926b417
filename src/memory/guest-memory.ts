/**
 * Guest physical memory: a set of non-overlapping regions, each backed by one
 * ArrayBuffer of at most 4 GiB (Node 20 cannot view more than that at once).
 *
 * Every access a device or a loader makes goes through this class, and every
 * access is bounds-checked: an address outside guest RAM, or a range that
 * straddles two regions, throws GuestMemoryError. Device code turns that error
 * into a device error status; it never reaches host memory.
 *
 * Guest physical addresses are JS numbers (exact up to 2^53, far above any
 * RAM size we support).
 */

export const MAX_REGION_SIZE = 4 * 1024 * 1024 * 1024;

export class GuestMemoryError extends Error {
  constructor(readonly gpa: number, readonly length: number, why = 'outside guest RAM') {
    super(`guest memory access at 0x${gpa.toString(16)} (+${length}) is ${why}`);
    this.name = 'GuestMemoryError';
  }
}

export interface MemoryRegion {
  /** Guest physical base address. */
  readonly gpa: number;
  readonly size: number;
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly view: DataView;
  /** Host virtual address of the mapping, when it is an mmap (KVM needs it). */
  readonly hostAddr?: bigint;
}

export class GuestMemory {
  readonly regions: MemoryRegion[] = [];
  /** Last region hit: most accesses fall in the same region as the previous one. */
  private last: MemoryRegion | undefined;

  /**
   * The WebAssembly.Memory whose buffer holds the first region at offset 0
   * (emu engine: translated code addresses guest RAM directly), if any.
   */
  wasm?: WebAssembly.Memory;

  /** Add a region backed by `buffer` (the whole buffer, or its first `length` bytes) at guest physical `gpa`. */
  addRegion(gpa: number, buffer: ArrayBuffer, hostAddr?: bigint, length?: number): MemoryRegion {
    const size = length ?? buffer.byteLength;
    if (size > buffer.byteLength) throw new RangeError(`region length ${size} exceeds its buffer`);
    if (size === 0 || size > MAX_REGION_SIZE) throw new RangeError(`region size ${size} out of range`);
    if (!Number.isSafeInteger(gpa) || gpa < 0) throw new RangeError(`bad region base ${gpa}`);
    for (const r of this.regions) {
      if (gpa < r.gpa + r.size && r.gpa < gpa + size) {
        throw new RangeError(`region 0x${gpa.toString(16)} overlaps region 0x${r.gpa.toString(16)}`);
      }
    }
    const region: MemoryRegion = { gpa, size, buffer, u8: new Uint8Array(buffer, 0, size), view: new DataView(buffer, 0, size), hostAddr };
    this.regions.push(region);
    this.regions.sort((a, b) => a.gpa - b.gpa);
    return region;
  }

  /**
   * Move `region` (copying its bytes) to offset 0 of a new WebAssembly.Memory
   * followed by the emu state area (createEmuMemory's layout), so an engine
   * built on heap memory can still run translated code. False when it would
   * not fit in 4 GiB or a WebAssembly memory is already attached.
   */
  moveToWasm(region: MemoryRegion): boolean {
    const k = this.regions.indexOf(region);
    if (this.wasm !== undefined || k < 0) return false;
    const ramBytes = Math.ceil(region.size / 65536) * 65536;
    const total = ramBytes + emuStateBytes(region.size);
    if (total > 65535 * 65536) return false;
    const wasm = new WebAssembly.Memory({ initial: total / 65536, maximum: total / 65536 });
    const u8 = new Uint8Array(wasm.buffer, 0, region.size);
    u8.set(region.u8);
    const moved: MemoryRegion = { gpa: region.gpa, size: region.size, buffer: wasm.buffer, u8, view: new DataView(wasm.buffer, 0, region.size) };
    this.regions[k] = moved;
    this.last = undefined;
    this.wasm = wasm;
    return true;
  }

  /** Total bytes of RAM. */
  get totalSize(): number {
    return this.regions.reduce((n, r) => n + r.size, 0);
  }

  /** The region holding [gpa, gpa+length), or undefined when the range is not wholly inside one region. */
  find(gpa: number, length = 1): MemoryRegion | undefined {
    const l = this.last;
    if (l !== undefined && gpa >= l.gpa && gpa + length <= l.gpa + l.size) return l;
    for (const r of this.regions) {
      if (gpa >= r.gpa && gpa < r.gpa + r.size) {
        if (gpa + length > r.gpa + r.size || length < 0) return undefined;
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  /** True when [gpa, gpa+length) is RAM in a single region. */
  isRam(gpa: number, length = 1): boolean {
    return Number.isSafeInteger(gpa) && gpa >= 0 && this.find(gpa, length) !== undefined;
  }

  private region(gpa: number, length: number): MemoryRegion {
    if (!Number.isSafeInteger(gpa) || gpa < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new GuestMemoryError(Number.isFinite(gpa) ? gpa : -1, length, 'not a valid address');
    }
    const r = this.find(gpa, length);
    if (r === undefined) throw new GuestMemoryError(gpa, length);
    return r;
  }

  /** Zero-copy view of [gpa, gpa+length). Throws unless the range is inside one region. */
  slice(gpa: number, length: number): Uint8Array {
    const r = this.region(gpa, length);
    return r.u8.subarray(gpa - r.gpa, gpa - r.gpa + length);
  }

  /** Copy of [gpa, gpa+length). */
  readBytes(gpa: number, length: number): Uint8Array {
    return this.slice(gpa, length).slice();
  }

  writeBytes(gpa: number, data: Uint8Array): void {
    this.slice(gpa, data.length).set(data);
  }

  fill(gpa: number, length: number, value = 0): void {
    this.slice(gpa, length).fill(value);
  }

  readU8(gpa: number): number {
    const r = this.region(gpa, 1);
    return r.u8[gpa - r.gpa]!;
  }
  readU16(gpa: number): number {
    const r = this.region(gpa, 2);
    return r.view.getUint16(gpa - r.gpa, true);
  }
  readU32(gpa: number): number {
    const r = this.region(gpa, 4);
    return r.view.getUint32(gpa - r.gpa, true);
  }
  readU64(gpa: number): bigint {
    const r = this.region(gpa, 8);
    return r.view.getBigUint64(gpa - r.gpa, true);
  }
  /** 64-bit read as a JS number; throws if the value is not exactly representable. */
  readU64Number(gpa: number): number {
    const v = this.readU64(gpa);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GuestMemoryError(gpa, 8, 'holding a value too large for an address');
    return Number(v);
  }
  writeU8(gpa: number, v: number): void {
    const r = this.region(gpa, 1);
    r.u8[gpa - r.gpa] = v;
  }
  writeU16(gpa: number, v: number): void {
    const r = this.region(gpa, 2);
    r.view.setUint16(gpa - r.gpa, v, true);
  }
  writeU32(gpa: number, v: number): void {
    const r = this.region(gpa, 4);
    r.view.setUint32(gpa - r.gpa, v >>> 0, true);
  }
  writeU64(gpa: number, v: bigint | number): void {
    const r = this.region(gpa, 8);
    r.view.setBigUint64(gpa - r.gpa, BigInt.asUintN(64, BigInt(v)), true);
  }
}

/** Guest memory backed by ordinary (non-mmap) ArrayBuffers: for the emu engine and for unit tests. */
export function createHeapMemory(layout: Array<{ gpa: number; size: number }>): GuestMemory {
  const mem = new GuestMemory();
  for (const { gpa, size } of layout) mem.addRegion(gpa, new ArrayBuffer(size));
  return mem;
}

/** Bytes the emu engine keeps after RAM in a WebAssembly-backed memory (see engines/emu/arena.ts). */
export function emuStateBytes(ramSize: number): number {
  // codePages (one byte per RAM page) rounded to 64 KiB, 8 vCPU areas of 68 KiB (rounded),
  // code generations (4 bytes per page, rounded), the block hash table (2 MiB).
  const pages = Math.ceil(ramSize / 4096);
  return Math.ceil(pages / 65536) * 65536 + 9 * 65536 + Math.ceil((pages * 4) / 65536) * 65536 + 2 * 1024 * 1024;
}

/**
 * Guest memory for the emu engine: one RAM region at offset 0 of a
 * WebAssembly.Memory, followed by the engine's state area (registers, TLB,
 * code-page map) that translated code reads and writes. Falls back to an
 * ordinary heap buffer when RAM plus state would not fit in 4 GiB.
 */
export function createEmuMemory(gpa: number, size: number): GuestMemory {
  const ramBytes = Math.ceil(size / 65536) * 65536;
  const total = ramBytes + emuStateBytes(size);
  if (total > 65535 * 65536) return createHeapMemory([{ gpa, size }]);
  const pages = total / 65536;
  const wasm = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const mem = new GuestMemory();
  mem.addRegion(gpa, wasm.buffer, undefined, size);
  mem.wasm = wasm;
  return mem;
}
