/**
 * virtio-mmio transport, version 2 ("modern", virtio 1.2 §4.2), as a BusDevice.
 * One instance per device slot; the Arm virt board places slot n at
 * 0x0a000000 + 0x200 n with an edge-triggered SPI 16 + n:
 *
 *   buildArmVirt({ ..., virtio: [(irq) => new VirtioMmio(blk, irq, memory)] })
 *
 * The status machine, feature negotiation, queue setup and the hostile-driver
 * rules are in transport-core.ts; this file is the register layout and the
 * InterruptStatus/edge-IRQ mechanics. Nothing a guest writes here makes this
 * object throw.
 */
import type { AccessSize, BusDevice, IrqLine } from '../devices/device.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { VirtioDevice } from './device.js';
import { VirtioTransport } from './transport-core.js';

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

export class VirtioMmio extends VirtioTransport implements BusDevice {
  interruptStatus = 0;

  constructor(
    device: VirtioDevice,
    private readonly irq: IrqLine,
    /** Guest memory, or a getter for it (the board may create memory after its devices). */
    memory: GuestMemory | (() => GuestMemory),
    /** Called with a one-line reason when the device needs reset (default: nothing). */
    log?: (msg: string) => void,
  ) {
    super(device, `virtio-mmio(${device.name})`, memory, log);
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
        return this.deviceFeatureWord(this.deviceFeaturesSel);
      case R.QUEUE_NUM_MAX:
        return this.selectedQueue()?.maxSize ?? 0;
      case R.QUEUE_READY:
        return this.selectedQueue()?.ready ? 1 : 0;
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
    switch (offset) {
      case R.DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = value;
        return;
      case R.DRIVER_FEATURES:
        this.writeDriverFeatures(value);
        return;
      case R.DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = value;
        return;
      case R.QUEUE_SEL:
        this.queueSel = value;
        return;
      case R.QUEUE_NUM:
        this.setQueueSize(value);
        return;
      case R.QUEUE_READY: {
        const q = this.selectedQueue();
        // Unlike virtio-pci, mmio lets the driver clear QueueReady.
        if (value & 1) this.enableQueue();
        else if (q) q.ready = false;
        return;
      }
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
        const field = offset < R.QUEUE_DRIVER_LOW ? 'descAddr' : offset < R.QUEUE_DEVICE_LOW ? 'driverAddr' : 'deviceAddr';
        this.setQueueAddr(field, (offset & 4) !== 0, value);
        return;
      }
      default:
        return;
    }
  }

  protected usedInterrupt(): void {
    this.raise(INT_USED_RING);
  }

  protected configInterrupt(): void {
    this.raise(INT_CONFIG);
  }

  protected needsResetInterrupt(): void {
    this.raise(INT_CONFIG);
  }

  protected onReset(): void {
    this.interruptStatus = 0;
  }

  private raise(bit: number): void {
    this.interruptStatus |= bit;
    this.irq.pulse();
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
