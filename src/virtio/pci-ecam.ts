/**
 * ECAM (PCI Express "Enhanced Configuration Access Mechanism"): the config
 * space of every function memory-mapped, 4 KiB per function, as Linux's
 * pci-host-ecam-generic driver expects on the Arm virt board:
 *
 *   offset = bus << 20 | device << 15 | function << 12 | register
 *
 * It is only a different way in to the same PciBus config accessors the x86
 * 0xCF8/0xCFC ports use. Guest accesses are untrusted: an access that
 * crosses a dword boundary or has an odd size reads as all ones and writes
 * nothing (as a conf1 access that spills past the data window); registers
 * 0x100-0xFFF of a present function (PCIe extended space; our functions are
 * conventional PCI) read as 0 and ignore writes; absent functions and buses
 * read as all ones.
 */
import type { AccessSize, BusDevice } from '../devices/device.js';
import type { PciBus } from './pci.js';

/** Bytes of ECAM space per bus. */
export const ECAM_BUS_SIZE = 1 << 20;

export interface EcamAddress {
  bus: number;
  dev: number;
  fn: number;
  reg: number;
}

/** Decode an offset into the ECAM region (undefined past `buses` buses or not an integer). */
export function decodeEcam(offset: number, buses: number): EcamAddress | undefined {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset >= buses * ECAM_BUS_SIZE) return undefined;
  return { bus: Math.floor(offset / ECAM_BUS_SIZE), dev: (offset >>> 15) & 0x1f, fn: (offset >>> 12) & 0x7, reg: offset & 0xfff };
}

function ones(size: AccessSize): number {
  return size >= 4 ? 0xffffffff : (1 << (8 * size)) - 1;
}

/** A BusDevice for `buses` buses of ECAM space over `bus` (register it at the ECAM base with length buses << 20). */
export function pciEcam(bus: PciBus, buses: number): BusDevice & { readonly buses: number } {
  if (!Number.isInteger(buses) || buses < 1 || buses > 256) throw new RangeError(`ECAM: 1..256 buses, not ${buses}`);
  // Sizes other than 1/2/4 (the bus splits 8-byte accesses into two dwords) and dword-crossing accesses.
  const bad = (a: EcamAddress, size: AccessSize): boolean => (size !== 1 && size !== 2 && size !== 4) || (a.reg & 3) + size > 4;
  return {
    name: 'pci-ecam',
    buses,
    read(offset, size) {
      const a = decodeEcam(offset, buses);
      if (a === undefined || bad(a, size)) return ones(size);
      const f = bus.functionAt(a.bus, a.dev, a.fn);
      if (f === undefined) return ones(size);
      if (a.reg >= 256) return 0;
      return bus.configRead(a.bus, a.dev, a.fn, a.reg, size);
    },
    write(offset, size, value) {
      const a = decodeEcam(offset, buses);
      if (a === undefined || bad(a, size) || a.reg >= 256) return;
      bus.configWrite(a.bus, a.dev, a.fn, a.reg, size, value >>> 0);
    },
  };
}
