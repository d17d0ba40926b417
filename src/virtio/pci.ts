/**
 * A minimal PCI bus: a host bridge, functions on bus 0, and an MMIO window
 * where the functions' memory BARs live. The config space, BAR and
 * capability code here is shared by both boards; only the config access
 * mechanism differs:
 *  - x86: configuration mechanism #1 (address register at port 0xCF8, data
 *    window at 0xCFC-0xCFF), `PciBus.ports`;
 *  - Arm virt: ECAM, a memory-mapped config space (pci-ecam.ts).
 *
 * BARs are assigned here when a function is added (naturally aligned inside
 * the window) and the command register starts with memory decoding on, so
 * Linux's legacy x86 probe (pci_direct_probe + pcibios_scan_root, used when
 * there is no ACPI) finds working devices. The guest may re-size/move BARs
 * with the usual sizing protocol (write all ones, read the size mask back) —
 * Linux on Arm (pci-host-generic) reassigns them all — and the window follows
 * the BARs' current addresses.
 *
 * Config space accesses from the guest are untrusted: every offset/size is
 * bounds-checked; unknown functions read as all ones.
 */
import type { AccessSize, BusDevice, IrqLine } from '../devices/device.js';

export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;
/** The MMIO window for BARs: inside the x86 32-bit hole (RAM ends at 0xC0000000), below the IOAPIC. */
export const PCI_MMIO_WINDOW_BASE = 0xe000_0000;
export const PCI_MMIO_WINDOW_SIZE = 0x1000_0000;

/** Standard config header offsets. */
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_STATUS_INTERRUPT = 0x08;

export const PCI_BAR_MEM_TYPE_64 = 0x4;

/**
 * INTx lines are shared (4 per bus, swizzled by slot): several functions'
 * level outputs on one interrupt input, high while any of them is high.
 * Returns a maker of one source line per function.
 */
export function sharedIntx(out: IrqLine): () => IrqLine {
  const high = new Set<number>();
  let next = 0;
  return () => {
    const id = next++;
    return {
      set(level) {
        if (level) high.add(id);
        else high.delete(id);
        out.set(high.size > 0);
      },
      pulse() {
        out.pulse();
      },
    };
  };
}

/** A memory BAR of a function. */
export interface PciBar {
  /** Power of two, >= 4 KiB. */
  readonly size: number;
  readonly is64: boolean;
  /** Current guest-physical address (what the BAR register holds). */
  addr: number;
  /** MMIO accesses at offset within the BAR. */
  readonly device: BusDevice;
}

/** One PCI function: a 256-byte config space plus BARs. */
export interface PciFunction {
  readonly name: string;
  readonly bars: readonly (PciBar | undefined)[];
  configRead(offset: number, size: AccessSize): number;
  configWrite(offset: number, size: AccessSize, value: number): void;
  /** Called after the guest changed a BAR address or the memory-enable bit. */
  barsChanged?(): void;
}

/**
 * Generic type-0 config space with BAR sizing and a writable command register.
 * Subclasses fill `cfg` (ids, class, capabilities) and handle capability writes.
 */
export class PciConfigSpace {
  readonly cfg = new Uint8Array(256);
  readonly view = new DataView(this.cfg.buffer);
  /** Bits of each config byte the guest may change (besides BARs, handled apart). */
  readonly writable = new Uint8Array(256);

  constructor(ids: { vendor: number; device: number; revision: number; classCode: number; subVendor?: number; subDevice?: number }) {
    this.view.setUint16(PCI_VENDOR_ID, ids.vendor, true);
    this.view.setUint16(PCI_DEVICE_ID, ids.device, true);
    this.cfg[PCI_REVISION_ID] = ids.revision;
    this.cfg[PCI_CLASS_PROG] = ids.classCode & 0xff;
    this.cfg[PCI_CLASS_PROG + 1] = (ids.classCode >> 8) & 0xff;
    this.cfg[PCI_CLASS_PROG + 2] = (ids.classCode >> 16) & 0xff;
    this.view.setUint16(PCI_SUBSYSTEM_VENDOR_ID, ids.subVendor ?? 0, true);
    this.view.setUint16(PCI_SUBSYSTEM_ID, ids.subDevice ?? 0, true);
    // No firmware: memory decoding starts enabled. Memory space, bus master, INTx disable are writable.
    this.cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY;
    this.writable[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    this.writable[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
    this.writable[PCI_INTERRUPT_LINE] = 0xff;
  }

  read(offset: number, size: AccessSize): number {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > 256 || (size !== 1 && size !== 2 && size !== 4)) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    if (size === 1) return this.cfg[offset]!;
    if (size === 2) return this.view.getUint16(offset, true);
    return this.view.getUint32(offset, true);
  }

  /** Masked write of plain registers; returns true when the command register changed. */
  writeMasked(offset: number, size: AccessSize, value: number): boolean {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > 256 || (size !== 1 && size !== 2 && size !== 4)) return false;
    const oldCmd = this.view.getUint16(PCI_COMMAND, true);
    for (let i = 0; i < size; i++) {
      const b = (value >>> (8 * i)) & 0xff;
      const m = this.writable[offset + i]!;
      this.cfg[offset + i] = (this.cfg[offset + i]! & ~m) | (b & m);
    }
    return this.view.getUint16(PCI_COMMAND, true) !== oldCmd;
  }

  get memoryEnabled(): boolean {
    return (this.cfg[PCI_COMMAND]! & PCI_COMMAND_MEMORY) !== 0;
  }
}

/**
 * BAR registers (offsets 0x10-0x27) for a function's bars: sizing protocol
 * and address updates. Returns the 32-bit register value for a read, and
 * applies writes (any size; partial writes merge into the register).
 */
export class BarRegisters {
  /** Raw register values as the guest wrote them (size mask applied on read). */
  private readonly regs = new Uint32Array(6);

  constructor(private readonly bars: readonly (PciBar | undefined)[]) {
    for (let i = 0; i < 6; i++) {
      const b = bars[i];
      if (b === undefined) continue;
      this.regs[i] = b.addr % 0x1_0000_0000;
      if (b.is64) this.regs[i + 1] = Math.floor(b.addr / 0x1_0000_0000);
    }
  }

  /** Register index -> (bar, isHighHalf). */
  private barOf(reg: number): { bar: PciBar; high: boolean } | undefined {
    const b = this.bars[reg];
    if (b !== undefined) return { bar: b, high: false };
    const lo = this.bars[reg - 1];
    if (reg > 0 && lo !== undefined && lo.is64) return { bar: lo, high: true };
    return undefined;
  }

  readReg(reg: number): number {
    const x = this.barOf(reg);
    if (x === undefined) return 0;
    const { bar, high } = x;
    if (high) {
      // Sizes < 4 GiB: the high half is fully writable.
      return this.regs[reg]! >>> 0;
    }
    const mask = ~(bar.size - 1) >>> 0;
    return ((this.regs[reg]! & mask) | (bar.is64 ? PCI_BAR_MEM_TYPE_64 : 0)) >>> 0;
  }

  /** Apply a write of `size` bytes at config offset `offset` (inside 0x10-0x27). Returns true when an address changed. */
  write(offset: number, size: AccessSize, value: number): boolean {
    const reg = (offset - PCI_BAR0) >> 2;
    if (reg < 0 || reg >= 6) return false;
    const x = this.barOf(reg);
    if (x === undefined) return false;
    const shift = 8 * (offset & 3);
    const bytes = Math.min(size, 4 - (offset & 3));
    const m = bytes === 4 ? 0xffffffff : ((1 << (8 * bytes)) - 1) << shift;
    this.regs[reg] = ((this.regs[reg]! & ~m) | ((value << shift) & m)) >>> 0;
    const { bar } = x;
    const idx = x.high ? reg - 1 : reg;
    const lo = (this.regs[idx]! & ~(bar.size - 1)) >>> 0;
    const hi = bar.is64 ? this.regs[idx + 1]! : 0;
    const addr = hi * 0x1_0000_0000 + lo;
    if (addr !== bar.addr) {
      bar.addr = addr;
      return true;
    }
    return false;
  }
}

/** Vendor/device ids of the host bridge function. */
export interface PciHostBridgeIds {
  vendor: number;
  device: number;
}
/** x86: what QEMU's q35 host bridge reports (Linux's type-1 sanity check looks for a host bridge class). */
export const PCI_HOST_BRIDGE_X86: PciHostBridgeIds = { vendor: 0x8086, device: 0x29c0 };
/** Arm virt: QEMU's generic PCIe host bridge (gpex), Red Hat 1b36:0008. */
export const PCI_HOST_BRIDGE_GENERIC: PciHostBridgeIds = { vendor: 0x1b36, device: 0x0008 };

/** The host bridge at 00:00.0 (class 0x0600). */
export class PciHostBridgeFunction implements PciFunction {
  readonly name = 'pci-host-bridge';
  readonly bars: readonly (PciBar | undefined)[] = [];
  private readonly space: PciConfigSpace;
  constructor(ids: PciHostBridgeIds = PCI_HOST_BRIDGE_X86) {
    this.space = new PciConfigSpace({ vendor: ids.vendor, device: ids.device, revision: 0, classCode: 0x060000, subVendor: 0x1af4, subDevice: 0x1100 });
  }
  configRead(offset: number, size: AccessSize): number {
    return this.space.read(offset, size);
  }
  configWrite(offset: number, size: AccessSize, value: number): void {
    this.space.writeMasked(offset, size, value);
  }
}

/**
 * The PCI bus: functions by slot (device number 0-31, function 0), the
 * 0xCF8/0xCFC port device, and the MMIO window device that routes BAR accesses.
 */
export class PciBus {
  readonly slots: Array<PciFunction | undefined> = new Array(32).fill(undefined);
  private address = 0;
  /** Bumped on every config write (BAR moves, command changes): invalidates the window's lookup cache. */
  gen = 0;
  private nextBar = PCI_MMIO_WINDOW_BASE;
  /** Port-I/O device for 0xCF8-0xCFF (register with length 8). */
  readonly ports: BusDevice;
  /** MMIO device for [PCI_MMIO_WINDOW_BASE, +PCI_MMIO_WINDOW_SIZE) (register at that base). */
  readonly window: BusDevice & { lookup(addr: number): { bar: PciBar; off: number } | undefined };

  constructor(readonly windowBase = PCI_MMIO_WINDOW_BASE, readonly windowSize = PCI_MMIO_WINDOW_SIZE, hostBridge: PciHostBridgeIds = PCI_HOST_BRIDGE_X86) {
    this.nextBar = windowBase;
    this.slots[0] = new PciHostBridgeFunction(hostBridge);
    const bus = this;
    this.ports = {
      name: 'pci-conf1',
      read(offset, size) {
        return bus.portRead(offset, size);
      },
      write(offset, size, value) {
        bus.portWrite(offset, size, value);
      },
    };
    const lookup = (addr: number): { bar: PciBar; off: number } | undefined => {
      const gpa = windowBase + addr;
      for (const f of bus.slots) {
        if (f === undefined) continue;
        if (!bus.memoryEnabled(f)) continue;
        for (const b of f.bars) {
          if (b !== undefined && gpa >= b.addr && gpa < b.addr + b.size) return { bar: b, off: gpa - b.addr };
        }
      }
      return undefined;
    };
    let last: { f: PciBar; lo: number; hi: number; gen: number } | undefined;
    const find = (addr: number): { bar: PciBar; off: number } | undefined => {
      const gpa = windowBase + addr;
      const l = last;
      if (l !== undefined && gpa >= l.lo && gpa < l.hi && l.gen === bus.gen) return { bar: l.f, off: gpa - l.lo };
      const r = lookup(addr);
      if (r) last = { f: r.bar, lo: r.bar.addr, hi: r.bar.addr + r.bar.size, gen: bus.gen };
      return r;
    };
    this.window = {
      name: 'pci-mmio-window',
      wide: true,
      lookup: find,
      read(offset, size) {
        const r = find(offset);
        if (r === undefined) return size === 8 ? 0 : 2 ** (8 * size) - 1;
        return r.bar.device.read(r.off, size);
      },
      write(offset, size, value) {
        const r = find(offset);
        if (r !== undefined) r.bar.device.write(r.off, size, value);
      },
      read64(offset) {
        const r = find(offset);
        if (r === undefined) return 0xffff_ffff_ffff_ffffn;
        const d = r.bar.device;
        if (d.wide && d.read64) return d.read64(r.off);
        return (BigInt(d.read(r.off + 4, 4) >>> 0) << 32n) | BigInt(d.read(r.off, 4) >>> 0);
      },
      write64(offset, value) {
        const r = find(offset);
        if (r === undefined) return;
        const d = r.bar.device;
        if (d.wide && d.write64) d.write64(r.off, value);
        else {
          d.write(r.off, 4, Number(value & 0xffffffffn));
          d.write(r.off + 4, 4, Number((value >> 32n) & 0xffffffffn));
        }
      },
    };
  }

  private memoryEnabled(f: PciFunction): boolean {
    return (f.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) !== 0;
  }

  /** Reserve a naturally aligned BAR address in the window. */
  allocBar(size: number): number {
    if (size < 4096 || (size & (size - 1)) !== 0) throw new RangeError(`BAR size ${size} must be a power of two >= 4 KiB`);
    const addr = Math.ceil(this.nextBar / size) * size;
    if (addr + size > this.windowBase + this.windowSize) throw new RangeError('PCI MMIO window is full');
    this.nextBar = addr + size;
    return addr;
  }

  /** Put a function in the first free slot (1..31); returns the slot. */
  add(f: PciFunction, slot?: number): number {
    const s = slot ?? this.slots.findIndex((x, i) => i > 0 && x === undefined);
    if (s < 1 || s > 31 || this.slots[s] !== undefined) throw new RangeError('no free PCI slot');
    this.slots[s] = f;
    return s;
  }

  /** The function at (bus, device, function), if any (only bus 0, function 0 of each slot). */
  functionAt(bus: number, dev: number, fn: number): PciFunction | undefined {
    return bus === 0 && fn === 0 && Number.isInteger(dev) && dev >= 0 && dev < 32 ? this.slots[dev] : undefined;
  }

  /** Config-space access for (bus, device, function, register). */
  configRead(bus: number, dev: number, fn: number, reg: number, size: AccessSize): number {
    const f = this.functionAt(bus, dev, fn);
    if (f === undefined) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    return f.configRead(reg, size) >>> 0;
  }

  configWrite(bus: number, dev: number, fn: number, reg: number, size: AccessSize, value: number): void {
    const f = this.functionAt(bus, dev, fn);
    this.gen++;
    f?.configWrite(reg, size, value);
  }

  private portRead(offset: number, size: AccessSize): number {
    if (offset < 4) {
      if (offset === 0 && size === 4) return this.address >>> 0;
      return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    }
    const a = this.address;
    if ((a & 0x80000000) === 0) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    const reg = (a & 0xfc) + (offset - 4);
    if (reg + size > ((a & 0xfc) + 4)) return (1 << (8 * size)) - 1;
    return this.configRead((a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 0x7, reg, size);
  }

  private portWrite(offset: number, size: AccessSize, value: number): void {
    if (offset < 4) {
      // Only a dword write at 0xCF8 sets the address (0xCF9 byte writes are the PC reset register: ignored).
      if (offset === 0 && size === 4) this.address = value >>> 0;
      return;
    }
    const a = this.address;
    if ((a & 0x80000000) === 0) return;
    const reg = (a & 0xfc) + (offset - 4);
    if (reg + size > (a & 0xfc) + 4) return;
    this.configWrite((a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 0x7, reg, size, value);
  }
}
