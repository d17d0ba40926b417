/**
 * virtio-mmio transport, version 2 ("modern", virtio 1.2 §4.2), as a BusDevice.
 * One instance per device slot; the Arm virt board places slot n at
 * 0x0a000000 + 0x200 n with an edge-triggered SPI 16 + n:
 *
 *   buildArmVirt({ ..., virtio: [(irq) => new VirtioMmio(blk, irq, memory)] })
 *
 * Status machine: writing 0 resets the device; FEATURES_OK sticks only when
 * the driver's features are a subset of what was offered and include
 * VERSION_1 (and the device's acceptFeatures agrees); DRIVER_OK activates the
 * device (only after FEATURES_OK, else DEVICE_NEEDS_RESET). Queue
 * notifications before FEATURES_OK, for a queue that does not exist, and any
 * guest error from the device set DEVICE_NEEDS_RESET (with a config
 * interrupt once DRIVER_OK is set); notifications between FEATURES_OK and
 * DRIVER_OK are remembered and delivered at DRIVER_OK. Nothing a guest
 * writes here makes this object throw.
 */
import type { AccessSize, BusDevice, IrqLine } from '../devices/device.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import {
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER_OK,
  STATUS_FAILED,
  STATUS_FEATURES_OK,
  VIRTIO_F_RING_EVENT_IDX,
  VIRTIO_F_RING_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  VIRTIO_TRANSPORT_FEATURES,
  isGuestError,
  type VirtioDevice,
  type VirtioDeviceContext,
} from './device.js';
import { Virtqueue } from './queue.js';

export const VIRTIO_MMIO_MAGIC = 0x74726976; // "virt"
export const VIRTIO_MMIO_VENDOR = 0x56535354; // "TSSV"

/** Register offsets. */
export const R = {
  MAGIC: 0x000,
  VERSION: 0x004,
  DEVICE_ID: 0x008,
  VENDOR_ID: 0x00c,
  DEVICE_FEATURES: 0x010,
  DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020,
  DRIVER_FEATURES_SEL: 0x024,
  QUEUE_SEL: 0x030,
  QUEUE_NUM_MAX: 0x034,
  QUEUE_NUM: 0x038,
  QUEUE_READY: 0x044,
  QUEUE_NOTIFY: 0x050,
  INTERRUPT_STATUS: 0x060,
  INTERRUPT_ACK: 0x064,
  STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080,
  QUEUE_DESC_HIGH: 0x084,
  QUEUE_DRIVER_LOW: 0x090,
  QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0,
  QUEUE_DEVICE_HIGH: 0x0a4,
  SHM_SEL: 0x0ac,
  SHM_LEN_LOW: 0x0b0,
  SHM_LEN_HIGH: 0x0b4,
  SHM_BASE_LOW: 0x0b8,
  SHM_BASE_HIGH: 0x0bc,
  CONFIG_GENERATION: 0x0fc,
  CONFIG: 0x100,
} as const;

export const INT_USED_RING = 1;
export const INT_CONFIG = 2;

const U32 = 0xffffffffn;

export class VirtioMmio implements BusDevice {
  readonly name: string;
  readonly queues: Virtqueue[];
  status = 0;
  interruptStatus = 0;
  configGeneration = 0;
  deviceFeaturesSel = 0;
  driverFeaturesSel = 0;
  driverFeatures = 0n;
  queueSel = 0;
  /** Why the device last went to DEVICE_NEEDS_RESET (for tests and logs). */
  lastError: string | undefined;
  /** Errors that were not guest errors (VMM bugs caught at the boundary). */
  internalErrors = 0;
  private active = false;
  private deferredNotify = 0n;
  private ctx: VirtioDeviceContext | undefined;
  private memoryRef: GuestMemory | (() => GuestMemory);
  readonly offered: bigint;

  private get memory(): GuestMemory {
    const m = this.memoryRef;
    return typeof m === 'function' ? m() : m;
  }

  constructor(
    readonly device: VirtioDevice,
    private readonly irq: IrqLine,
    /** Guest memory, or a getter for it (the board may create memory after its devices). */
    memory: GuestMemory | (() => GuestMemory),
    /** Called with a one-line reason when the device needs reset (default: nothing). */
    private readonly log?: (msg: string) => void,
  ) {
    this.name = `virtio-mmio(${device.name})`;
    this.memoryRef = memory;
    this.offered = device.features | VIRTIO_TRANSPORT_FEATURES;
    this.queues = device.queueSizes.map((n, i) => new Virtqueue(i, n));
  }

  get isActive(): boolean {
    return this.active;
  }

  private queue(): Virtqueue | undefined {
    return this.queues[this.queueSel];
  }

  read(offset: number, size: AccessSize): number {
    if (offset >= R.CONFIG) {
      return this.device.readConfig(offset - R.CONFIG, size) >>> 0;
    }
    if (size !== 4 || (offset & 3) !== 0) return 0;
    switch (offset) {
      case R.MAGIC:
        return VIRTIO_MMIO_MAGIC;
      case R.VERSION:
        return 2;
      case R.DEVICE_ID:
        return this.device.deviceType;
      case R.VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
      case R.DEVICE_FEATURES:
        return this.deviceFeaturesSel < 2 ? Number((this.offered >> BigInt(32 * this.deviceFeaturesSel)) & U32) : 0;
      case R.QUEUE_NUM_MAX:
        return this.queue()?.maxSize ?? 0;
      case R.QUEUE_READY:
        return this.queue()?.ready ? 1 : 0;
      case R.INTERRUPT_STATUS:
        return this.interruptStatus;
      case R.STATUS:
        return this.status;
      case R.SHM_LEN_LOW:
      case R.SHM_LEN_HIGH:
        return 0xffffffff; // no shared memory regions
      case R.CONFIG_GENERATION:
        return this.configGeneration >>> 0;
      default:
        return 0;
    }
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset >= R.CONFIG) {
      this.callDevice(() => this.device.writeConfig(offset - R.CONFIG, size, value));
      return;
    }
    if (size !== 4 || (offset & 3) !== 0) return;
    value >>>= 0;
    const q = this.queue();
    switch (offset) {
      case R.DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = value;
        return;
      case R.DRIVER_FEATURES:
        if (this.status & STATUS_FEATURES_OK) return;
        if (this.driverFeaturesSel < 2) {
          const sh = BigInt(32 * this.driverFeaturesSel);
          this.driverFeatures = (this.driverFeatures & ~(U32 << sh)) | (BigInt(value) << sh);
        }
        return;
      case R.DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = value;
        return;
      case R.QUEUE_SEL:
        this.queueSel = value;
        return;
      case R.QUEUE_NUM:
        if (q && !q.ready) q.size = value;
        return;
      case R.QUEUE_READY:
        if (!q) return;
        if (value & 1) {
          if (q.ready) return;
          const err = q.enable(this.memory, this.ringOpts());
          if (err !== undefined) this.needsReset(err);
        } else {
          q.ready = false;
        }
        return;
      case R.QUEUE_NOTIFY:
        this.notify(value & 0xffff);
        return;
      case R.INTERRUPT_ACK:
        this.interruptStatus &= ~value;
        return;
      case R.STATUS:
        this.writeStatus(value & 0xff);
        return;
      case R.QUEUE_DESC_LOW:
      case R.QUEUE_DESC_HIGH:
      case R.QUEUE_DRIVER_LOW:
      case R.QUEUE_DRIVER_HIGH:
      case R.QUEUE_DEVICE_LOW:
      case R.QUEUE_DEVICE_HIGH: {
        if (!q || q.ready) return;
        const high = (offset & 4) !== 0;
        const field = offset < R.QUEUE_DRIVER_LOW ? 'descAddr' : offset < R.QUEUE_DEVICE_LOW ? 'driverAddr' : 'deviceAddr';
        const old = q[field];
        const lo = old % 4294967296;
        const hi = Math.floor(old / 4294967296);
        // Addresses above 2^53 cannot be RAM; keep them unrepresentable-but-invalid (enable() rejects them).
        q[field] = high ? (value > 0x1fffff ? Number.MAX_SAFE_INTEGER + 1 : value * 4294967296 + lo) : hi * 4294967296 + value;
        return;
      }
      default:
        return;
    }
  }

  private ringOpts(): { eventIdx: boolean; indirect: boolean } {
    return {
      eventIdx: (this.driverFeatures & VIRTIO_F_RING_EVENT_IDX) !== 0n,
      indirect: (this.driverFeatures & VIRTIO_F_RING_INDIRECT_DESC) !== 0n,
    };
  }

  private writeStatus(v: number): void {
    if (v === 0) {
      this.resetDevice();
      return;
    }
    const old = this.status;
    if (old & STATUS_DEVICE_NEEDS_RESET) {
      // Only a reset clears it; keep FAILED if the driver gives up.
      this.status |= v & STATUS_FAILED;
      return;
    }
    let next = v | (old & STATUS_DEVICE_NEEDS_RESET);
    if (v & STATUS_FEATURES_OK && !(old & STATUS_FEATURES_OK)) {
      if (!this.featuresAcceptable()) next &= ~STATUS_FEATURES_OK;
    }
    this.status = next;
    if (next & STATUS_DRIVER_OK && !(old & STATUS_DRIVER_OK)) {
      if (!(next & STATUS_FEATURES_OK)) {
        this.needsReset('DRIVER_OK without FEATURES_OK');
        return;
      }
      this.activate();
    }
  }

  private featuresAcceptable(): boolean {
    const f = this.driverFeatures;
    if ((f & ~this.offered) !== 0n) return false;
    if ((f & VIRTIO_F_VERSION_1) === 0n) return false;
    if (this.device.acceptFeatures) {
      let ok = false;
      this.callDevice(() => (ok = this.device.acceptFeatures!(f)));
      return ok;
    }
    return true;
  }

  private activate(): void {
    const opts = this.ringOpts();
    for (const q of this.queues) if (q.ready) q.setFeatures(opts);
    const self = this;
    const ctx: VirtioDeviceContext = {
      memory: this.memory,
      queues: this.queues,
      features: this.driverFeatures,
      signalUsed(qi: number): void {
        if (self.ctx !== ctx) return;
        const q = self.queues[qi];
        if (q && q.needsInterrupt()) self.raise(INT_USED_RING);
      },
      signalConfig(): void {
        if (self.ctx !== ctx) return;
        self.configGeneration = (self.configGeneration + 1) >>> 0;
        self.raise(INT_CONFIG);
      },
      needsReset(reason: string): void {
        if (self.ctx !== ctx) return;
        self.needsReset(reason);
      },
    };
    this.ctx = ctx;
    this.active = true;
    this.callDevice(() => this.device.activate(ctx));
    const deferred = this.deferredNotify;
    this.deferredNotify = 0n;
    for (let i = 0; i < this.queues.length; i++) {
      if (deferred & (1n << BigInt(i))) this.notify(i);
    }
  }

  private notify(qi: number): void {
    if (this.status & STATUS_DEVICE_NEEDS_RESET) return;
    if (qi >= this.queues.length) {
      this.needsReset(`notification for queue ${qi}, which does not exist`);
      return;
    }
    if (!this.active) {
      if (this.status & STATUS_FEATURES_OK) this.deferredNotify |= 1n << BigInt(qi);
      else this.needsReset(`notification for queue ${qi} before FEATURES_OK`);
      return;
    }
    if (!this.queues[qi]!.ready) return;
    this.callDevice(() => this.device.queueNotify(qi));
  }

  private callDevice(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!isGuestError(e)) {
        this.internalErrors++;
        this.log?.(`${this.name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
      this.needsReset(e instanceof Error ? e.message : String(e));
    }
  }

  private raise(bit: number): void {
    this.interruptStatus |= bit;
    this.irq.pulse();
  }

  needsReset(reason: string): void {
    this.lastError = reason;
    if (this.status & STATUS_DEVICE_NEEDS_RESET) return;
    this.log?.(`${this.name}: device needs reset: ${reason}`);
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    for (const q of this.queues) q.broken = true;
    if (this.status & STATUS_DRIVER_OK) this.raise(INT_CONFIG);
  }

  private resetDevice(): void {
    if (this.active || this.ctx) {
      try {
        this.device.reset();
      } catch (e) {
        this.internalErrors++;
        this.log?.(`${this.name}: reset failed: ${String(e)}`);
      }
    }
    this.ctx = undefined;
    this.active = false;
    this.status = 0;
    this.interruptStatus = 0;
    this.driverFeatures = 0n;
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = 0;
    this.deferredNotify = 0n;
    for (const q of this.queues) q.reset();
  }

  /** Release host resources when the VM ends. */
  close(): void {
    try {
      this.device.close?.();
    } catch {
      // best effort
    }
  }
}
