/**
 * Physical address space shared by all vCPUs of the emu engine: the RAM fast
 * path (one region, viewed directly), other RAM regions and MMIO through the
 * Bus, and the per-physical-page cache of decoded instructions.
 */
import type { Bus } from '../../devices/bus.js';
import type { AccessSize } from '../../devices/device.js';
import type { GuestMemory, MemoryRegion } from '../../memory/guest-memory.js';
import { CPU_STRIDE, MAX_ARENA_CPUS } from './arena.js';

export type Handler = (c: any) => void;

export class Phys {
  /** The RAM region with the fast path (the largest one). */
  readonly ram: MemoryRegion;
  readonly ramBase: number;
  readonly ramSize: number;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** Decoded-instruction arrays (1024 handlers) per RAM page, undefined until first executed. */
  readonly icache: Array<Array<Handler | undefined> | undefined>;
  /** 1 when the RAM page has decoded instructions (stores to it must invalidate them). */
  readonly codePages: Uint8Array;
  /** Every vCPU on this address space: broadcast (inner-shareable) TLB maintenance reaches them all. */
  readonly cpus: Array<{ flushTlb(): void; flushTlbNonGlobal(): void; flushTlbVa(lo: number, hi: number): void }> = [];
  /** Bumped whenever a code page is invalidated. */
  codeGen = 0;
  /** RAM pages that currently have decoded instructions (may hold stale duplicates). */
  private codeList: number[] = [];
  /**
   * The WebAssembly.Memory holding RAM at offset 0 and the state area after
   * it (arena.ts), when the memory was made by createEmuMemory; the block
   * translator needs it.
   */
  readonly wasm: WebAssembly.Memory | undefined;
  /** Byte offset of the state area in `wasm` (0 without one). */
  readonly stateBase: number = 0;
  /** Per RAM page: bumped whenever its decoded code is dropped (translated blocks check it). */
  readonly pageGen: Int32Array;
  /** Byte offset of the block hash table in `wasm` (arena.ts), 0 without one. */
  readonly hashBase: number = 0;

  constructor(
    readonly memory: GuestMemory,
    readonly mmio: Bus,
  ) {
    let best: MemoryRegion | undefined;
    for (const r of memory.regions) if (best === undefined || r.size > best.size) best = r;
    if (best === undefined) throw new Error('emu: guest memory has no RAM region');
    // Heap RAM (tests, library callers): move it into a WebAssembly memory so translated code can run.
    if (memory.wasm === undefined && best.hostAddr === undefined && memory.moveToWasm(best)) {
      best = memory.regions.find((r) => r.gpa === best!.gpa)!;
    }
    this.ram = best;
    this.ramBase = best.gpa;
    this.ramSize = best.size;
    this.u8 = best.u8;
    this.dv = best.view;
    const pages = Math.ceil(best.size / 4096);
    // Packed, not holey: this array is indexed on every cross-page branch.
    this.icache = Array.from({ length: pages }, () => undefined);
    const w = memory.wasm;
    if (w !== undefined && best.buffer === w.buffer && best.u8.byteOffset === 0) {
      this.wasm = w;
      this.stateBase = Math.ceil(best.size / 65536) * 65536;
      this.codePages = new Uint8Array(w.buffer, this.stateBase, pages);
      const genOff = this.stateBase + Math.ceil(pages / 65536) * 65536 + 9 * 65536;
      this.pageGen = new Int32Array(w.buffer, genOff, pages);
      this.hashBase = genOff + Math.ceil((pages * 4) / 65536) * 65536;
    } else {
      this.wasm = undefined;
      this.codePages = new Uint8Array(pages);
      this.pageGen = new Int32Array(pages);
    }
  }

  /** Byte offset in `wasm` of vCPU `index`'s state area (arena.ts), or -1 without a wasm memory. */
  cpuArea(index: number): number {
    if (this.wasm === undefined || index < 0 || index >= MAX_ARENA_CPUS) return -1;
    return this.stateBase + Math.ceil(this.codePages.length / 65536) * 65536 + index * CPU_STRIDE;
  }

  /** RAM page index of a physical address, or -1 when it is not in the fast RAM region. */
  ramPage(pa: number): number {
    const off = pa - this.ramBase;
    return off >= 0 && off < this.ramSize ? Math.floor(off / 4096) : -1;
  }

  invalidateCode(page: number): void {
    this.icache[page] = undefined;
    this.codePages[page] = 0;
    this.pageGen[page]!++;
    this.codeGen++;
  }

  /** Record that `page` now has decoded instructions. */
  noteCode(page: number): void {
    this.codePages[page] = 1;
    this.codeList.push(page);
  }

  /** IC IALLU(IS): forget every decoded page. */
  invalidateAllCode(): void {
    for (const p of this.codeList) {
      this.icache[p] = undefined;
      this.codePages[p] = 0;
      this.pageGen[p]!++;
    }
    this.codeList = [];
    this.codeGen++;
  }

  /** Slow physical read (other RAM regions, MMIO). Returns undefined for an unmapped address. */
  read(pa: number, size: AccessSize): number | bigint | undefined {
    const m = this.memory;
    if (m.isRam(pa, size)) {
      switch (size) {
        case 1:
          return m.readU8(pa);
        case 2:
          return m.readU16(pa);
        case 4:
          return m.readU32(pa);
        default:
          return m.readU64(pa);
      }
    }
    return this.mmio.read(pa, size);
  }

  /** Slow physical write; false when unmapped. */
  write(pa: number, size: AccessSize, value: number | bigint): boolean {
    const m = this.memory;
    if (m.isRam(pa, size)) {
      const page = this.ramPage(pa);
      if (page >= 0 && this.codePages[page] !== 0) this.invalidateCode(page);
      switch (size) {
        case 1:
          m.writeU8(pa, Number(value) & 0xff);
          break;
        case 2:
          m.writeU16(pa, Number(value) & 0xffff);
          break;
        case 4:
          m.writeU32(pa, Number(BigInt.asUintN(32, BigInt(value))));
          break;
        default:
          m.writeU64(pa, BigInt(value));
      }
      return true;
    }
    return this.mmio.write(pa, size, value);
  }
}
