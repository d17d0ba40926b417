/**
 * virtio-pci, modern only (virtio 1.2 §4.1): one PCI function per virtio
 * device, vendor 0x1AF4, device 0x1040 + type, revision 1.
 *
 * BAR0 (64-bit memory, 32 KiB) holds every structure, each found through a
 * vendor capability:
 *   0x0000 common configuration      (cfg_type 1)
 *   0x1000 ISR status                 (cfg_type 3)
 *   0x2000 device configuration       (cfg_type 4)
 *   0x3000 queue notify, 4 bytes per queue (cfg_type 2, notify_off_multiplier 4)
 *   0x4000 MSI-X table, 0x6000 MSI-X PBA (capability 0x11)
 *
 * Interrupts: MSI-X (one vector per queue + config, as the driver assigns
 * them) through a PciInterrupts sink — under kvm that is a GSI route +
 * irqfd per vector (pci-kvm.ts) — and INTx (level, cleared by reading ISR)
 * when MSI-X is off. Queue notifications are plain MMIO writes here; under
 * kvm pci-kvm.ts registers an ioeventfd on each queue's notify address so
 * the write never leaves the kernel, and calls `notify(q)` from the host poll.
 *
 * Same status machine and hostile-driver rules as the mmio transport (both
 * in transport-core.ts), except that notifications while reset (status 0)
 * are ignored; nothing the guest writes makes this throw.
 */
import type { AccessSize, BusDevice, IrqLine } from '../devices/device.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { VirtioDevice } from './device.js';
import { VirtioTransport } from './transport-core.js';
import { BarRegisters, PCI_BAR0, PCI_CAPABILITY_LIST, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN, PCI_STATUS, PCI_STATUS_CAP_LIST, PCI_STATUS_INTERRUPT, PciConfigSpace, type PciBar, type PciFunction } from './pci.js';

export const VIRTIO_PCI_VENDOR = 0x1af4;
export const VIRTIO_PCI_DEVICE_BASE = 0x1040;

export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const PCI_CAP_ID_VNDR = 0x09;
export const PCI_CAP_ID_MSIX = 0x11;

export const BAR_SIZE = 0x8000;
export const COMMON_OFF = 0x0000;
export const COMMON_LEN = 0x38;
export const ISR_OFF = 0x1000;
export const DEVICE_CFG_OFF = 0x2000;
export const NOTIFY_OFF = 0x3000;
export const NOTIFY_MULTIPLIER = 4;
export const MSIX_TABLE_OFF = 0x4000;
export const MSIX_PBA_OFF = 0x6000;
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

/** Common configuration register offsets (struct virtio_pci_common_cfg). */
export const C = {
  DFSELECT: 0x00,
  DF: 0x04,
  GFSELECT: 0x08,
  GF: 0x0c,
  MSIX: 0x10,
  NUMQ: 0x12,
  STATUS: 0x14,
  CFGGENERATION: 0x15,
  Q_SELECT: 0x16,
  Q_SIZE: 0x18,
  Q_MSIX: 0x1a,
  Q_ENABLE: 0x1c,
  Q_NOFF: 0x1e,
  Q_DESCLO: 0x20,
  Q_DESCHI: 0x24,
  Q_AVAILLO: 0x28,
  Q_AVAILHI: 0x2c,
  Q_USEDLO: 0x30,
  Q_USEDHI: 0x34,
} as const;

/** Capability offsets in config space. */
const CAP_COMMON = 0x40;
const CAP_ISR = 0x50;
const CAP_DEVICE = 0x60;
const CAP_NOTIFY = 0x70;
const CAP_MSIX = 0x84;

export interface MsiMessage {
  addressLo: number;
  addressHi: number;
  data: number;
}

/** One MSI vector as the platform implements it (kvm: GSI route + irqfd). */
export interface MsiVector {
  /** Point the vector at `msg`, or disable it. */
  route(msg: MsiMessage | undefined): void;
  fire(): void;
  close?(): void;
}

/** Where a virtio-pci function's interrupts go. */
export interface PciInterrupts {
  /** INTx (level-triggered, shared semantics: asserted while ISR is non-zero). */
  intx: IrqLine;
  /** GSI behind intx, written to the Interrupt Line register. */
  intxGsi: number;
  /** Create a vector (called lazily, once per MSI-X table entry). Absent = no MSI-X capability. */
  msi?: () => MsiVector;
}

/** Registration of a queue-notify address with the platform (kvm: ioeventfd). */
export interface NotifyHook {
  /**
   * Make writes of `len` bytes at `gpa` call `notify` later (from the host poll);
   * returns a remover. (owner, queue) names the registration across BAR moves.
   */
  register(owner: object, queue: number, gpa: number, len: number, notify: () => void): { remove(): void };
}

const CLASS_BY_TYPE: Record<number, number> = {
  1: 0x020000, // network controller, ethernet
  2: 0x018000, // mass storage, other
  3: 0x078000, // communication, other
  4: 0x00ff00,
  19: 0x078000,
};

export class VirtioPci extends VirtioTransport implements PciFunction {
  readonly bars: (PciBar | undefined)[];
  readonly nvec: number;
  isr = 0;
  private readonly space: PciConfigSpace;
  private readonly barRegs: BarRegisters;
  private configVector = VIRTIO_MSI_NO_VECTOR;
  private readonly queueVector: number[];
  /** MSI-X table: 4 u32 per entry. */
  private readonly table: Uint32Array;
  private readonly pba: Uint32Array;
  private readonly vectors: Array<MsiVector | undefined>;
  private readonly routed: Array<string | undefined>;
  private hooks: Array<{ remove(): void }> = [];
  /** Statistics: interrupts sent by kind. */
  readonly stats = { msi: 0, intx: 0, notifies: 0 };
  // An ioeventfd can still fire for a write the guest made just before resetting.
  protected override readonly notifyWhileResetIsError = false;

  constructor(
    device: VirtioDevice,
    memory: GuestMemory | (() => GuestMemory),
    barAddr: number,
    private readonly irq: PciInterrupts,
    private readonly notifyHook?: NotifyHook,
    log?: (m: string) => void,
  ) {
    super(device, `virtio-pci(${device.name})`, memory, log);
    this.queueVector = this.queues.map(() => VIRTIO_MSI_NO_VECTOR);
    if (this.queues.length * NOTIFY_MULTIPLIER > MSIX_TABLE_OFF - NOTIFY_OFF) throw new RangeError('too many queues');
    if (device.configSize > NOTIFY_OFF - DEVICE_CFG_OFF) throw new RangeError('device config too large');
    this.nvec = irq.msi ? this.queues.length + 1 : 0;
    this.table = new Uint32Array(4 * Math.max(1, this.nvec));
    for (let i = 0; i < this.nvec; i++) this.table[4 * i + 3] = 1; // masked at reset
    this.pba = new Uint32Array(Math.max(1, Math.ceil(this.nvec / 32)));
    this.vectors = new Array(this.nvec).fill(undefined);
    this.routed = new Array(this.nvec).fill(undefined);

    const s = new PciConfigSpace({
      vendor: VIRTIO_PCI_VENDOR,
      device: VIRTIO_PCI_DEVICE_BASE + device.deviceType,
      revision: 1,
      classCode: CLASS_BY_TYPE[device.deviceType] ?? 0xff0000,
      subVendor: VIRTIO_PCI_VENDOR,
      subDevice: 0x1100,
    });
    this.space = s;
    const v = s.view;
    v.setUint16(PCI_STATUS, PCI_STATUS_CAP_LIST, true);
    s.cfg[PCI_CAPABILITY_LIST] = CAP_COMMON;
    s.cfg[PCI_INTERRUPT_LINE] = irq.intxGsi & 0xff;
    s.cfg[PCI_INTERRUPT_PIN] = 1;
    const devLen = Math.max(4, (device.configSize + 3) & ~3);
    this.vendorCap(CAP_COMMON, CAP_ISR, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFF, COMMON_LEN, 16);
    this.vendorCap(CAP_ISR, CAP_DEVICE, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFF, 4, 16);
    this.vendorCap(CAP_DEVICE, CAP_NOTIFY, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_CFG_OFF, devLen, 16);
    this.vendorCap(CAP_NOTIFY, this.nvec > 0 ? CAP_MSIX : 0, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFF, this.queues.length * NOTIFY_MULTIPLIER, 20);
    v.setUint32(CAP_NOTIFY + 16, NOTIFY_MULTIPLIER, true);
    if (this.nvec > 0) {
      s.cfg[CAP_MSIX] = PCI_CAP_ID_MSIX;
      s.cfg[CAP_MSIX + 1] = 0;
      v.setUint16(CAP_MSIX + 2, this.nvec - 1, true);
      v.setUint32(CAP_MSIX + 4, MSIX_TABLE_OFF | 0, true); // BIR 0
      v.setUint32(CAP_MSIX + 8, MSIX_PBA_OFF | 0, true);
      s.writable[CAP_MSIX + 3] = 0xc0; // MSI-X Enable, Function Mask
    }
    const self = this;
    const regs: BusDevice = {
      name: this.name,
      read: (off, size) => self.barRead(off, size),
      write: (off, size, value) => self.barWrite(off, size, value),
    };
    this.bars = [{ size: BAR_SIZE, is64: true, addr: barAddr, device: regs }];
    this.barRegs = new BarRegisters(this.bars);
    this.registerNotify();
  }

  private vendorCap(at: number, next: number, type: number, offset: number, length: number, capLen: number): void {
    const c = this.space.cfg;
    const v = this.space.view;
    c[at] = PCI_CAP_ID_VNDR;
    c[at + 1] = next;
    c[at + 2] = capLen;
    c[at + 3] = type;
    c[at + 4] = 0; // BAR 0
    c[at + 5] = 0;
    v.setUint32(at + 8, offset, true);
    v.setUint32(at + 12, length, true);
  }

  get bar0(): PciBar {
    return this.bars[0]!;
  }

  get msixEnabled(): boolean {
    return this.nvec > 0 && (this.space.cfg[CAP_MSIX + 3]! & 0x80) !== 0;
  }

  private get functionMasked(): boolean {
    return (this.space.cfg[CAP_MSIX + 3]! & 0x40) !== 0;
  }

  // ---- config space ----

  configRead(offset: number, size: AccessSize): number {
    if (offset >= PCI_BAR0 && offset < PCI_BAR0 + 24 && size === 4 && (offset & 3) === 0) return this.barRegs.readReg((offset - PCI_BAR0) >> 2);
    if (offset >= PCI_BAR0 && offset < PCI_BAR0 + 24) {
      const reg = this.barRegs.readReg((offset - PCI_BAR0) >> 2);
      return (reg >>> (8 * (offset & 3))) & ((1 << (8 * size)) - 1 || 0xffffffff);
    }
    if (offset === PCI_STATUS && size >= 2) {
      // Interrupt status bit mirrors INTx.
      const st = this.space.read(offset, size);
      return this.isr !== 0 && !this.msixEnabled ? st | PCI_STATUS_INTERRUPT : st;
    }
    return this.space.read(offset, size);
  }

  configWrite(offset: number, size: AccessSize, value: number): void {
    if (offset >= PCI_BAR0 && offset < PCI_BAR0 + 24) {
      if (this.barRegs.write(offset, size, value)) this.registerNotify();
      return;
    }
    const wasMsix = this.msixEnabled;
    const wasMasked = this.functionMasked;
    const cmdChanged = this.space.writeMasked(offset, size, value);
    if (cmdChanged) {
      this.registerNotify();
      this.updateIntx();
    }
    if (wasMsix !== this.msixEnabled || wasMasked !== this.functionMasked) {
      for (let i = 0; i < this.nvec; i++) this.updateRoute(i);
      this.updateIntx();
    }
  }

  /** (Re-)register ioeventfds for the notify addresses at the BAR's current place. */
  private registerNotify(): void {
    if (this.notifyHook === undefined) return;
    for (const h of this.hooks) h.remove();
    this.hooks = [];
    const bar = this.bar0;
    if (!this.space.memoryEnabled || bar.addr === 0) return;
    this.queues.forEach((_, i) => {
      try {
        this.hooks.push(this.notifyHook!.register(this, i, bar.addr + NOTIFY_OFF + NOTIFY_MULTIPLIER * i, 2, () => this.notify(i)));
      } catch (e) {
        // A guest that moves the BAR somewhere KVM refuses (e.g. over RAM) keeps the slow path.
        this.log?.(`${this.name}: ioeventfd for queue ${i} at 0x${(bar.addr + NOTIFY_OFF).toString(16)} failed: ${(e as Error).message}`);
      }
    });
  }

  // ---- BAR0 ----

  private barRead(off: number, size: AccessSize): number {
    if (off < COMMON_OFF + COMMON_LEN + 8) return this.commonRead(off, size);
    if (off >= ISR_OFF && off < ISR_OFF + 4) {
      if (off !== ISR_OFF) return 0;
      const v = this.isr;
      this.isr = 0;
      this.updateIntx();
      return v;
    }
    if (off >= DEVICE_CFG_OFF && off < NOTIFY_OFF) {
      if (size !== 1 && size !== 2 && size !== 4) return 0;
      let r = 0;
      this.callDevice(() => (r = this.device.readConfig(off - DEVICE_CFG_OFF, size)));
      return r >>> 0;
    }
    if (off >= MSIX_TABLE_OFF && off < MSIX_TABLE_OFF + 16 * this.nvec) {
      if (size !== 4 || (off & 3) !== 0) return 0;
      return this.table[(off - MSIX_TABLE_OFF) >> 2]! >>> 0;
    }
    if (off >= MSIX_PBA_OFF && off < MSIX_PBA_OFF + 4 * this.pba.length && this.nvec > 0) {
      if (size !== 4 && size !== 8) return 0;
      return this.pba[(off - MSIX_PBA_OFF) >> 2]! >>> 0;
    }
    return 0;
  }

  private barWrite(off: number, size: AccessSize, value: number): void {
    if (off < COMMON_OFF + COMMON_LEN + 8) {
      this.commonWrite(off, size, value >>> 0);
      return;
    }
    if (off >= DEVICE_CFG_OFF && off < NOTIFY_OFF) {
      if (size === 1 || size === 2 || size === 4) this.callDevice(() => this.device.writeConfig(off - DEVICE_CFG_OFF, size, value));
      return;
    }
    if (off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_MULTIPLIER * this.queues.length) {
      // The queue is the one whose notify address this is (the value is the queue index too).
      this.notify((off - NOTIFY_OFF) / NOTIFY_MULTIPLIER);
      return;
    }
    if (off >= MSIX_TABLE_OFF && off < MSIX_TABLE_OFF + 16 * this.nvec) {
      if (size !== 4 || (off & 3) !== 0) return;
      const w = (off - MSIX_TABLE_OFF) >> 2;
      this.table[w] = (w & 3) === 3 ? value & 1 : value >>> 0;
      this.updateRoute(w >> 2);
      return;
    }
  }

  private commonRead(off: number, size: AccessSize): number {
    const q = this.queues[this.queueSel];
    const b = new DataView(new ArrayBuffer(64));
    b.setUint32(C.DFSELECT, this.deviceFeaturesSel, true);
    b.setUint32(C.DF, this.deviceFeatureWord(this.deviceFeaturesSel), true);
    b.setUint32(C.GFSELECT, this.driverFeaturesSel, true);
    b.setUint32(C.GF, this.driverFeatureWord(this.driverFeaturesSel), true);
    b.setUint16(C.MSIX, this.configVector, true);
    b.setUint16(C.NUMQ, this.queues.length, true);
    b.setUint8(C.STATUS, this.status);
    b.setUint8(C.CFGGENERATION, this.configGeneration & 0xff);
    b.setUint16(C.Q_SELECT, this.queueSel, true);
    if (q) {
      b.setUint16(C.Q_SIZE, q.size, true);
      b.setUint16(C.Q_MSIX, this.queueVector[this.queueSel]!, true);
      b.setUint16(C.Q_ENABLE, q.ready ? 1 : 0, true);
      b.setUint16(C.Q_NOFF, this.queueSel, true);
      b.setUint32(C.Q_DESCLO, q.descAddr % 0x1_0000_0000, true);
      b.setUint32(C.Q_DESCHI, Math.floor(q.descAddr / 0x1_0000_0000) >>> 0, true);
      b.setUint32(C.Q_AVAILLO, q.driverAddr % 0x1_0000_0000, true);
      b.setUint32(C.Q_AVAILHI, Math.floor(q.driverAddr / 0x1_0000_0000) >>> 0, true);
      b.setUint32(C.Q_USEDLO, q.deviceAddr % 0x1_0000_0000, true);
      b.setUint32(C.Q_USEDHI, Math.floor(q.deviceAddr / 0x1_0000_0000) >>> 0, true);
    } else {
      b.setUint16(C.Q_MSIX, VIRTIO_MSI_NO_VECTOR, true);
    }
    if (off + size > 64) return 0;
    if (size === 1) return b.getUint8(off);
    if (size === 2) return b.getUint16(off, true);
    if (size === 4) return b.getUint32(off, true);
    return 0;
  }

  private commonWrite(off: number, size: AccessSize, value: number): void {
    const q = this.queues[this.queueSel];
    switch (off) {
      case C.DFSELECT:
        if (size === 4) this.deviceFeaturesSel = value;
        return;
      case C.GFSELECT:
        if (size === 4) this.driverFeaturesSel = value;
        return;
      case C.GF:
        if (size === 4) this.writeDriverFeatures(value);
        return;
      case C.MSIX:
        if (size === 2) this.configVector = value < this.nvec ? value : VIRTIO_MSI_NO_VECTOR;
        return;
      case C.STATUS:
        if (size === 1) this.writeStatus(value & 0xff);
        return;
      case C.Q_SELECT:
        if (size === 2) this.queueSel = value & 0xffff;
        return;
      case C.Q_SIZE:
        if (size === 2) this.setQueueSize(value & 0xffff);
        return;
      case C.Q_MSIX:
        if (size === 2 && q) this.queueVector[this.queueSel] = value < this.nvec ? value : VIRTIO_MSI_NO_VECTOR;
        return;
      case C.Q_ENABLE:
        if (size === 2 && (value & 1) !== 0) this.enableQueue(); // writing 0 is not allowed (§4.1.4.3.2)
        return;
      case C.Q_DESCLO:
      case C.Q_DESCHI:
      case C.Q_AVAILLO:
      case C.Q_AVAILHI:
      case C.Q_USEDLO:
      case C.Q_USEDHI: {
        if (size !== 4) return;
        const field = off < C.Q_AVAILLO ? 'descAddr' : off < C.Q_USEDLO ? 'driverAddr' : 'deviceAddr';
        this.setQueueAddr(field, (off & 4) !== 0, value);
        return;
      }
      default:
        return;
    }
  }

  /** A queue notification (MMIO write, or an ioeventfd seen at the host poll). */
  override notify(qi: number): void {
    this.stats.notifies++;
    super.notify(qi);
  }

  // ---- interrupts ----

  protected usedInterrupt(qi: number): void {
    this.raise(1, this.queueVector[qi] ?? VIRTIO_MSI_NO_VECTOR);
  }

  protected configInterrupt(): void {
    this.raise(2, this.configVector);
  }

  protected needsResetInterrupt(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    this.raise(2, this.configVector);
  }

  protected onReset(): void {
    this.isr = 0;
    this.updateIntx();
    this.configVector = VIRTIO_MSI_NO_VECTOR;
    this.queueVector.fill(VIRTIO_MSI_NO_VECTOR);
  }

  private raise(isrBit: number, vector: number): void {
    if (this.msixEnabled) {
      if (vector === VIRTIO_MSI_NO_VECTOR || vector >= this.nvec) return; // the driver chose no interrupt
      if (this.functionMasked || this.table[4 * vector + 3]! & 1) {
        this.pba[vector >> 5]! |= 1 << (vector & 31);
        return;
      }
      this.fireVector(vector);
      return;
    }
    this.isr |= isrBit;
    this.updateIntx();
  }

  private fireVector(i: number): void {
    let v = this.vectors[i];
    if (v === undefined) {
      v = this.irq.msi!();
      this.vectors[i] = v;
      this.routed[i] = undefined;
      this.updateRoute(i);
    }
    this.stats.msi++;
    v.fire();
  }

  private updateRoute(i: number): void {
    if (i < 0 || i >= this.nvec) return;
    const t = this.table;
    const msg = this.msixEnabled ? { addressLo: t[4 * i]!, addressHi: t[4 * i + 1]!, data: t[4 * i + 2]! } : undefined;
    const key = msg ? `${msg.addressLo}:${msg.addressHi}:${msg.data}` : undefined;
    const v = this.vectors[i];
    if (v !== undefined && this.routed[i] !== key) {
      this.routed[i] = key;
      v.route(msg);
    }
    // Unmasking delivers a pending message.
    const pending = (this.pba[i >> 5]! >>> (i & 31)) & 1;
    if (pending && this.msixEnabled && !this.functionMasked && !(t[4 * i + 3]! & 1)) {
      this.pba[i >> 5]! &= ~(1 << (i & 31));
      this.fireVector(i);
    }
  }

  private intxLevel = false;
  private updateIntx(): void {
    const cmd = this.space.view.getUint16(PCI_COMMAND, true);
    const level = this.isr !== 0 && !this.msixEnabled && (cmd & PCI_COMMAND_INTX_DISABLE) === 0;
    if (level !== this.intxLevel) {
      this.intxLevel = level;
      if (level) this.stats.intx++;
      this.irq.intx.set(level);
    }
  }

  close(): void {
    for (const h of this.hooks) h.remove();
    this.hooks = [];
    for (const v of this.vectors) v?.close?.();
    // The device itself belongs to whoever built it (it closes its backend).
  }
}
