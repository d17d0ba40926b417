/**
 * An address space (port I/O or MMIO) mapping ranges to devices.
 * Lookup is a binary search over sorted ranges with a one-entry cache, so a
 * device that is hit repeatedly (a UART, a virtio notify register) costs one
 * comparison.
 */
import type { AccessSize, BusDevice } from './device.js';

export interface BusRange {
  readonly base: number;
  readonly length: number;
  readonly device: BusDevice;
}

export class Bus {
  private ranges: BusRange[] = [];
  private lastHit: BusRange | undefined;

  constructor(readonly name: string) {}

  register(base: number, length: number, device: BusDevice): void {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(length) || length <= 0) {
      throw new RangeError(`${this.name}: bad range for ${device.name}`);
    }
    for (const r of this.ranges) {
      if (base < r.base + r.length && r.base < base + length) {
        throw new RangeError(
          `${this.name}: ${device.name} at 0x${base.toString(16)} overlaps ${r.device.name} at 0x${r.base.toString(16)}`,
        );
      }
    }
    this.ranges.push({ base, length, device });
    this.ranges.sort((a, b) => a.base - b.base);
  }

  /** The range containing addr, or undefined. */
  lookup(addr: number): BusRange | undefined {
    const h = this.lastHit;
    if (h !== undefined && addr >= h.base && addr < h.base + h.length) return h;
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.ranges[mid]!;
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.base + r.length) lo = mid + 1;
      else {
        this.lastHit = r;
        return r;
      }
    }
    return undefined;
  }

  get devices(): readonly BusRange[] {
    return this.ranges;
  }

  /**
   * Read `size` bytes at addr. Returns undefined when nothing is mapped there
   * (the engine decides what an unmapped access means: all-ones on x86 port
   * I/O, an external abort or RAZ on Arm).
   * 8-byte reads return a bigint.
   */
  read(addr: number, size: AccessSize): number | bigint | undefined {
    const r = this.lookup(addr);
    if (r === undefined) return undefined;
    const off = addr - r.base;
    if (size === 8) {
      const d = r.device;
      if (d.wide && d.read64) return d.read64(off);
      const lo = d.read(off, 4) >>> 0;
      const hi = d.read(off + 4, 4) >>> 0;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    return r.device.read(off, size);
  }

  /** Write; returns false when nothing is mapped at addr. */
  write(addr: number, size: AccessSize, value: number | bigint): boolean {
    const r = this.lookup(addr);
    if (r === undefined) return false;
    const off = addr - r.base;
    if (size === 8) {
      const v = BigInt.asUintN(64, BigInt(value));
      const d = r.device;
      if (d.wide && d.write64) d.write64(off, v);
      else {
        d.write(off, 4, Number(v & 0xffffffffn));
        d.write(off + 4, 4, Number(v >> 32n));
      }
      return true;
    }
    r.device.write(off, size, typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : value);
    return true;
  }
}
