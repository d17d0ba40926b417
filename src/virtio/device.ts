/**
 * The virtio device-model interface: what every virtio device (blk, net, rng,
 * console, vsock...) implements, independent of the transport (virtio-mmio on
 * the Arm board, virtio-pci on x86) and of the engine.
 *
 * Life cycle, driven by the transport:
 *   1. The driver reads `features` (the transport adds the transport bits
 *      VERSION_1, RING_INDIRECT_DESC, RING_EVENT_IDX), writes its choice;
 *      the transport asks `acceptFeatures` (optional) before setting FEATURES_OK.
 *   2. The driver configures the queues (sizes up to `queueSizes[i]`).
 *   3. On DRIVER_OK the transport calls `activate(ctx)` once. From then on it
 *      forwards queue notifications as `queueNotify(q)`.
 *   4. On a status write of 0 (or a transport reset) it calls `reset()`; the
 *      device drops every reference it holds to ctx and its queues.
 *
 * Device models run on the machine thread only. They never throw to the
 * transport: a malformed request gets an error status written back when that
 * is possible, otherwise the device calls `ctx.needsReset()` (sets
 * DEVICE_NEEDS_RESET and raises a config interrupt) and stops touching its
 * queues. GuestMemoryError / VirtqueueError are caught at the device boundary
 * (see `guard` below).
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { GuestMemoryError } from '../memory/guest-memory.js';
import type { Virtqueue } from './queue.js';
import { VirtqueueError } from './queue.js';

/** Device IDs (virtio 1.2 §5). */
export const VIRTIO_ID_NET = 1;
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_RNG = 4;
export const VIRTIO_ID_VSOCK = 19;

/** Transport-level feature bits (virtio 1.2 §6). */
export const VIRTIO_F_RING_INDIRECT_DESC = 1n << 28n;
export const VIRTIO_F_RING_EVENT_IDX = 1n << 29n;
export const VIRTIO_F_VERSION_1 = 1n << 32n;
export const VIRTIO_F_ACCESS_PLATFORM = 1n << 33n;
export const VIRTIO_F_RING_PACKED = 1n << 34n;
/** What every transport offers on top of the device's own bits. */
export const VIRTIO_TRANSPORT_FEATURES = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX;

/** Device status bits (virtio 1.2 §2.1). */
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

/** What the transport gives a device when the driver sets DRIVER_OK. */
export interface VirtioDeviceContext {
  readonly memory: GuestMemory;
  /** One per entry of `queueSizes`; a queue the driver did not enable has `ready === false`. */
  readonly queues: readonly Virtqueue[];
  /** The negotiated features (device and transport bits). */
  readonly features: bigint;
  /**
   * The device put buffers in queue q's used ring: the transport interrupts the
   * driver unless the driver suppressed it (VRING_AVAIL_F_NO_INTERRUPT or
   * used_event with EVENT_IDX). Call it once per batch, not per buffer.
   */
  signalUsed(q: number): void;
  /** The config space changed: the transport bumps ConfigGeneration and raises a config interrupt. */
  signalConfig(): void;
  /** Unrecoverable driver error: set DEVICE_NEEDS_RESET, raise a config interrupt. The device should go quiet. */
  needsReset(reason: string): void;
}

export interface VirtioDevice {
  /** For messages: "virtio-blk", ... */
  readonly name: string;
  readonly deviceType: number;
  /** Device-specific feature bits (0..23 and any device bits above 40); the transport adds its own. */
  readonly features: bigint;
  /** Maximum size of each queue (powers of two). The number of entries is the number of queues. */
  readonly queueSizes: readonly number[];
  /** Bytes of device config space. */
  readonly configSize: number;
  /** Read `size` (1, 2 or 4) bytes of config space at `offset` (little-endian); out of range reads 0. */
  readConfig(offset: number, size: number): number;
  /** Write config space (most devices ignore writes). */
  writeConfig(offset: number, size: number, value: number): void;
  /** Optional: veto a feature set before FEATURES_OK (default: any subset of what was offered). */
  acceptFeatures?(features: bigint): boolean;
  activate(ctx: VirtioDeviceContext): void;
  queueNotify(q: number): void;
  reset(): void;
  /** Optional: release host resources (files, sockets) when the VM ends. */
  close?(): void;
}

/** True for errors a hostile guest can cause (bad descriptors, addresses outside RAM). */
export function isGuestError(e: unknown): e is GuestMemoryError | VirtqueueError {
  return e instanceof GuestMemoryError || e instanceof VirtqueueError;
}

/**
 * Run `fn`; a guest-caused error becomes `ctx.needsReset`. Other errors are
 * VMM bugs and are rethrown.
 */
export function guard(ctx: VirtioDeviceContext | undefined, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (isGuestError(e)) ctx?.needsReset(e.message);
    else throw e;
  }
}

/**
 * `guard` for devices that go quiet after a guest error (net, vsock): `quiet`
 * runs first, then `ctx.needsReset` with the device name on the reason.
 * Other errors are VMM bugs and are rethrown.
 */
export function guardQuiet(ctx: VirtioDeviceContext, name: string, fn: () => void, quiet: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!isGuestError(e)) throw e;
    quiet();
    ctx.needsReset(`${name}: ${e.message}`);
  }
}

/** A little helper for device config spaces: a byte buffer read/written little-endian at any size. */
export class ConfigSpace {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  get size(): number {
    return this.bytes.length;
  }
  read(offset: number, size: number): number {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.bytes.length) return 0;
    if (size === 1) return this.bytes[offset]!;
    if (size === 2) return this.view.getUint16(offset, true);
    if (size === 4) return this.view.getUint32(offset, true);
    return 0;
  }
  write(offset: number, size: number, value: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.bytes.length) return;
    if (size === 1) this.bytes[offset] = value;
    else if (size === 2) this.view.setUint16(offset, value, true);
    else if (size === 4) this.view.setUint32(offset, value >>> 0, true);
  }
}
