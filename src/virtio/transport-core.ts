/**
 * What virtio-mmio (mmio.ts) and virtio-pci (pci-virtio.ts) share, independent
 * of register layout and interrupt delivery: the status machine, feature
 * negotiation, the selected queue's size/ready/address registers, activation
 * of the device with its queues, notifications and reset.
 *
 * Status machine: writing 0 resets the device; FEATURES_OK sticks only when
 * the driver's features are a subset of what was offered and include
 * VERSION_1 (and the device's acceptFeatures agrees); DRIVER_OK activates the
 * device (only after FEATURES_OK, else DEVICE_NEEDS_RESET). Notifications
 * before FEATURES_OK, for a queue that does not exist, and any guest error
 * from the device set DEVICE_NEEDS_RESET (with a config interrupt once
 * DRIVER_OK is set); notifications between FEATURES_OK and DRIVER_OK are
 * remembered and delivered at DRIVER_OK. Nothing a guest writes makes this throw.
 *
 * A transport extends VirtioTransport, decodes its registers into these
 * calls and implements the three interrupt hooks and `onReset`.
 */
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

const U32 = 0xffffffffn;
const TWO32 = 0x1_0000_0000;

export type QueueAddrField = 'descAddr' | 'driverAddr' | 'deviceAddr';

export abstract class VirtioTransport {
  readonly queues: Virtqueue[];
  readonly offered: bigint;
  status = 0;
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

  constructor(
    readonly device: VirtioDevice,
    readonly name: string,
    /** Guest memory, or a getter for it (the board may create memory after its devices). */
    private readonly memoryRef: GuestMemory | (() => GuestMemory),
    /** Called with a one-line reason when the device needs reset (default: nothing). */
    protected readonly log?: (msg: string) => void,
  ) {
    this.offered = device.features | VIRTIO_TRANSPORT_FEATURES;
    this.queues = device.queueSizes.map((n, i) => new Virtqueue(i, n));
  }

  protected get memory(): GuestMemory {
    const m = this.memoryRef;
    return typeof m === 'function' ? m() : m;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** The used ring of queue qi has entries the driver wants to hear about. */
  protected abstract usedInterrupt(qi: number): void;
  /** The device's config space changed (ConfigGeneration was already bumped). */
  protected abstract configInterrupt(): void;
  /** DEVICE_NEEDS_RESET was just set while DRIVER_OK. */
  protected abstract needsResetInterrupt(): void;
  /** Clear the transport's own state (interrupt status, vectors) at reset. */
  protected abstract onReset(): void;
  /** PCI ignores notifications while reset (status 0); mmio treats them as an error. */
  protected readonly notifyWhileResetIsError: boolean = true;

  protected selectedQueue(): Virtqueue | undefined {
    return this.queues[this.queueSel];
  }

  /** 32 bits of the offered features (word `sel`; 0 past the second). */
  protected deviceFeatureWord(sel: number): number {
    return sel < 2 ? Number((this.offered >> BigInt(32 * sel)) & U32) : 0;
  }

  protected driverFeatureWord(sel: number): number {
    return sel < 2 ? Number((this.driverFeatures >> BigInt(32 * sel)) & U32) : 0;
  }

  /** The driver writes 32 bits of its features at driverFeaturesSel (frozen once FEATURES_OK). */
  protected writeDriverFeatures(value: number): void {
    if (this.status & STATUS_FEATURES_OK || this.driverFeaturesSel >= 2) return;
    const sh = BigInt(32 * this.driverFeaturesSel);
    this.driverFeatures = (this.driverFeatures & ~(U32 << sh)) | (BigInt(value) << sh);
  }

  protected setQueueSize(value: number): void {
    const q = this.selectedQueue();
    if (q && !q.ready) q.size = value;
  }

  /** Enable the selected queue; rings outside RAM or misaligned set DEVICE_NEEDS_RESET. */
  protected enableQueue(): void {
    const q = this.selectedQueue();
    if (!q || q.ready) return;
    const err = q.enable(this.memory, this.ringOpts());
    if (err !== undefined) this.needsReset(err);
  }

  /** Write the low or high 32 bits of one of the selected queue's ring addresses. */
  protected setQueueAddr(field: QueueAddrField, high: boolean, value: number): void {
    const q = this.selectedQueue();
    if (!q || q.ready) return;
    const old = q[field];
    const lo = old % TWO32;
    const hi = Math.floor(old / TWO32);
    // Addresses above 2^53 cannot be RAM; keep them unrepresentable-but-invalid (enable() rejects them).
    q[field] = high ? (value > 0x1fffff ? Number.MAX_SAFE_INTEGER + 1 : value * TWO32 + lo) : hi * TWO32 + value;
  }

  private ringOpts(): { eventIdx: boolean; indirect: boolean } {
    return {
      eventIdx: (this.driverFeatures & VIRTIO_F_RING_EVENT_IDX) !== 0n,
      indirect: (this.driverFeatures & VIRTIO_F_RING_INDIRECT_DESC) !== 0n,
    };
  }

  protected writeStatus(v: number): void {
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
    let next = v;
    if (v & STATUS_FEATURES_OK && !(old & STATUS_FEATURES_OK) && !this.featuresAcceptable()) next &= ~STATUS_FEATURES_OK;
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
    if ((f & ~this.offered) !== 0n || (f & VIRTIO_F_VERSION_1) === 0n) return false;
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
    // Each activation gets its own context; a stale one (kept by the device past a reset) does nothing.
    const ctx: VirtioDeviceContext = {
      memory: this.memory,
      queues: this.queues,
      features: this.driverFeatures,
      signalUsed(qi: number): void {
        if (self.ctx !== ctx) return;
        const q = self.queues[qi];
        if (q && q.needsInterrupt()) self.usedInterrupt(qi);
      },
      signalConfig(): void {
        if (self.ctx !== ctx) return;
        self.configGeneration = (self.configGeneration + 1) >>> 0;
        self.configInterrupt();
      },
      needsReset(reason: string): void {
        if (self.ctx === ctx) self.needsReset(reason);
      },
    };
    this.ctx = ctx;
    this.active = true;
    this.callDevice(() => this.device.activate(ctx));
    const d = this.deferredNotify;
    this.deferredNotify = 0n;
    for (let i = 0; i < this.queues.length; i++) if (d & (1n << BigInt(i))) this.notify(i);
  }

  /** A queue notification from the driver. */
  notify(qi: number): void {
    if (this.status & STATUS_DEVICE_NEEDS_RESET) return;
    if (!Number.isInteger(qi) || qi < 0 || qi >= this.queues.length) {
      this.needsReset(`notification for queue ${qi}, which does not exist`);
      return;
    }
    if (!this.active) {
      // Linux may fill queues before DRIVER_OK: hold those until activation.
      if (this.status & STATUS_FEATURES_OK) this.deferredNotify |= 1n << BigInt(qi);
      else if (this.status !== 0 || this.notifyWhileResetIsError) this.needsReset(`notification for queue ${qi} before FEATURES_OK`);
      return;
    }
    if (!this.queues[qi]!.ready) return;
    this.callDevice(() => this.device.queueNotify(qi));
  }

  /** Every call into the device goes through here: nothing it throws escapes to the VMM. */
  protected callDevice(fn: () => void): void {
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

  needsReset(reason: string): void {
    this.lastError = reason;
    if (this.status & STATUS_DEVICE_NEEDS_RESET) return;
    this.log?.(`${this.name}: device needs reset: ${reason}`);
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    for (const q of this.queues) q.broken = true;
    if (this.status & STATUS_DRIVER_OK) this.needsResetInterrupt();
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
    this.driverFeatures = 0n;
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = 0;
    this.deferredNotify = 0n;
    this.onReset();
    for (const q of this.queues) q.reset();
  }
}
