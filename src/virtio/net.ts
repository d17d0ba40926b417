/**
 * virtio-net (virtio 1.2 §5.1): one RX/TX queue pair over a NetBackend
 * (src/backends/net.ts; a tap today, a software switch later).
 *
 * Every frame on both sides carries virtio_net_hdr_v1 (12 bytes), which is
 * also what a tap with IFF_VNET_HDR + TUNSETVNETHDRSZ 12 speaks, so checksum
 * and segmentation offloads pass through untouched:
 *  - host offloads (CSUM, HOST_TSO4/6, HOST_ECN): the guest sends partial
 *    checksums / 64 KiB GSO frames and the tap (the host kernel) finishes them;
 *  - guest offloads (GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN): told to the backend
 *    (TUNSETOFFLOAD) so it only delivers what the driver accepted;
 *  - MRG_RXBUF: a received frame may span several RX chains (num_buffers).
 *
 * Hostile guest: a TX chain shorter than the header or longer than the
 * largest frame is completed and dropped; a header asking for an offload that
 * was not negotiated is dropped; malformed rings/descriptors (VirtqueueError,
 * GuestMemoryError) put the device in DEVICE_NEEDS_RESET.
 */
import type { NetBackend, NetBackendListener } from '../backends/net.js';
import { MAX_NET_FRAME, TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN, VNET_HDR_LEN } from '../backends/net.js';
import { ConfigSpace, guardQuiet, VIRTIO_ID_NET, type VirtioDevice, type VirtioDeviceContext } from './device.js';
import { DescChain } from './queue.js';

export const VIRTIO_NET_F_CSUM = 1n << 0n;
export const VIRTIO_NET_F_GUEST_CSUM = 1n << 1n;
export const VIRTIO_NET_F_MTU = 1n << 3n;
export const VIRTIO_NET_F_MAC = 1n << 5n;
export const VIRTIO_NET_F_GUEST_TSO4 = 1n << 7n;
export const VIRTIO_NET_F_GUEST_TSO6 = 1n << 8n;
export const VIRTIO_NET_F_GUEST_ECN = 1n << 9n;
export const VIRTIO_NET_F_HOST_TSO4 = 1n << 11n;
export const VIRTIO_NET_F_HOST_TSO6 = 1n << 12n;
export const VIRTIO_NET_F_HOST_ECN = 1n << 13n;
export const VIRTIO_NET_F_MRG_RXBUF = 1n << 15n;
export const VIRTIO_NET_F_STATUS = 1n << 16n;

export const VIRTIO_NET_S_LINK_UP = 1;

/** virtio_net_hdr flags / gso types. */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

export const NET_RX_QUEUE = 0;
export const NET_TX_QUEUE = 1;
export const NET_QUEUE_SIZE = 256;

/** The offload features this device offers (when `offloads` is on). */
export const NET_OFFLOAD_FEATURES =
  VIRTIO_NET_F_CSUM |
  VIRTIO_NET_F_GUEST_CSUM |
  VIRTIO_NET_F_GUEST_TSO4 |
  VIRTIO_NET_F_GUEST_TSO6 |
  VIRTIO_NET_F_GUEST_ECN |
  VIRTIO_NET_F_HOST_TSO4 |
  VIRTIO_NET_F_HOST_TSO6 |
  VIRTIO_NET_F_HOST_ECN;

export interface VirtioNetOptions {
  backend: NetBackend;
  mac: Uint8Array;
  /** Offer checksum/TSO offloads (default true). */
  offloads?: boolean;
  /** Offer MRG_RXBUF (default true). */
  mergeable?: boolean;
  queueSize?: number;
}

/** TUN_F_* bits for the guest-receive offloads in `features`. */
export function tunOffloadsFor(features: bigint): number {
  let f = 0;
  if (features & VIRTIO_NET_F_GUEST_CSUM) {
    f |= TUN_F_CSUM;
    if (features & VIRTIO_NET_F_GUEST_TSO4) f |= TUN_F_TSO4;
    if (features & VIRTIO_NET_F_GUEST_TSO6) f |= TUN_F_TSO6;
    if (features & VIRTIO_NET_F_GUEST_ECN && f & (TUN_F_TSO4 | TUN_F_TSO6)) f |= TUN_F_TSO_ECN;
  }
  return f;
}

export class VirtioNet implements VirtioDevice, NetBackendListener {
  readonly name = 'virtio-net';
  readonly deviceType = VIRTIO_ID_NET;
  readonly features: bigint;
  readonly queueSizes: readonly number[];
  readonly configSize = 12;
  readonly backend: NetBackend;
  readonly mac: Uint8Array;
  private readonly config = new ConfigSpace(12);
  private ctx: VirtioDeviceContext | undefined;
  private negotiated = 0n;
  private broken = false;
  /** RX chains popped but not yet filled (kept for the next frame). */
  private held: DescChain[] = [];
  private heldCount = 0;
  /** A TX chain whose frame the backend could not take yet. */
  private txWaiting = false;
  private readonly txChain = new DescChain();
  private readonly txBuf = new Uint8Array(MAX_NET_FRAME);
  private readonly u16 = new Uint8Array(2);
  readonly stats = { txFrames: 0, txDropped: 0, rxFrames: 0, rxDropped: 0, rxBuffers: 0 };

  constructor(opts: VirtioNetOptions) {
    if (opts.mac.length !== 6) throw new RangeError('MAC must be 6 bytes');
    this.backend = opts.backend;
    this.mac = opts.mac.slice();
    let f = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS;
    if (opts.offloads !== false) f |= NET_OFFLOAD_FEATURES;
    if (opts.mergeable !== false) f |= VIRTIO_NET_F_MRG_RXBUF;
    this.features = f;
    const qs = opts.queueSize ?? NET_QUEUE_SIZE;
    this.queueSizes = [qs, qs];
    this.config.bytes.set(this.mac, 0);
    this.config.view.setUint16(6, VIRTIO_NET_S_LINK_UP, true);
    this.config.view.setUint16(8, 1, true); // max_virtqueue_pairs (only read with MQ)
    this.config.view.setUint16(10, 1500, true); // mtu (only read with MTU)
    this.backend.listener = this;
  }

  readConfig(offset: number, size: number): number {
    return this.config.read(offset, size);
  }

  writeConfig(): void {
    // MAC is read-only without VIRTIO_NET_F_CTRL_MAC_ADDR (legacy-only writes); ignore.
  }

  acceptFeatures(features: bigint): boolean {
    // Dependencies of §5.1.3.1: TSO needs the matching checksum offload.
    if (features & (VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6 | VIRTIO_NET_F_GUEST_ECN) && !(features & VIRTIO_NET_F_GUEST_CSUM)) return false;
    if (features & (VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_ECN) && !(features & VIRTIO_NET_F_CSUM)) return false;
    return true;
  }

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
    this.negotiated = ctx.features;
    this.broken = false;
    this.heldCount = 0;
    this.txWaiting = false;
    this.backend.setOffloads(tunOffloadsFor(ctx.features));
    this.run(() => {
      this.processTx();
      this.processRx();
    });
  }

  reset(): void {
    this.ctx = undefined;
    this.heldCount = 0;
    this.txWaiting = false;
    this.broken = false;
    try {
      this.backend.setOffloads(0);
    } catch {
      // backend gone
    }
  }

  close(): void {
    this.ctx = undefined;
    this.backend.close();
  }

  queueNotify(q: number): void {
    if (q === NET_TX_QUEUE) this.run(() => this.processTx());
    else if (q === NET_RX_QUEUE) this.run(() => this.processRx());
  }

  /** Backend listener: frames arrived. */
  rxReady(): void {
    if (this.ctx === undefined) {
      // Nobody to receive: a NIC without a driver drops what arrives.
      for (let f = this.backend.peek(); f !== undefined; f = this.backend.peek()) {
        this.backend.pop();
        this.stats.rxDropped++;
      }
      return;
    }
    this.run(() => this.processRx());
  }

  /** Backend listener: send() has room again. */
  txSpace(): void {
    if (this.ctx !== undefined) this.run(() => this.processTx());
  }

  private run(fn: () => void): void {
    const ctx = this.ctx;
    if (ctx === undefined || this.broken) return;
    guardQuiet(ctx, 'virtio-net', fn, () => (this.broken = true));
  }

  private processTx(): void {
    const ctx = this.ctx!;
    const q = ctx.queues[NET_TX_QUEUE];
    if (q === undefined || !q.ready) return;
    const chain = this.txChain;
    let completed = 0;
    try {
      for (;;) {
        if (!this.txWaiting) {
          if (!q.pop(chain)) break;
        }
        this.txWaiting = false;
        const len = chain.readBytes;
        if (len < VNET_HDR_LEN || len > this.txBuf.length) {
          this.stats.txDropped++;
          q.push(chain.head, 0);
          completed++;
          continue;
        }
        const frame = this.txBuf.subarray(0, len);
        chain.read(ctx.memory, 0, frame);
        if (!this.txHeaderOk(frame)) {
          this.stats.txDropped++;
          q.push(chain.head, 0);
          completed++;
          continue;
        }
        frame[10] = 0; // num_buffers is not used on transmit
        frame[11] = 0;
        if (!this.backend.send(frame)) {
          this.txWaiting = true; // keep the chain; txSpace() retries
          break;
        }
        this.stats.txFrames++;
        q.push(chain.head, 0);
        completed++;
      }
    } finally {
      if (completed > 0) {
        this.backend.flush();
        ctx.signalUsed(NET_TX_QUEUE);
      }
    }
  }

  /** Reject headers that ask for offloads the driver did not negotiate (the host kernel would act on them). */
  private txHeaderOk(frame: Uint8Array): boolean {
    const f = this.negotiated;
    const flags = frame[0]!;
    const gso = frame[1]!;
    if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM && !(f & VIRTIO_NET_F_CSUM)) return false;
    if (flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) return false;
    const type = gso & ~VIRTIO_NET_HDR_GSO_ECN;
    if (type === VIRTIO_NET_HDR_GSO_NONE) return (gso & VIRTIO_NET_HDR_GSO_ECN) === 0;
    if (gso & VIRTIO_NET_HDR_GSO_ECN && !(f & VIRTIO_NET_F_HOST_ECN)) return false;
    if (type === VIRTIO_NET_HDR_GSO_TCPV4) return (f & VIRTIO_NET_F_HOST_TSO4) !== 0n;
    if (type === VIRTIO_NET_HDR_GSO_TCPV6) return (f & VIRTIO_NET_F_HOST_TSO6) !== 0n;
    return false;
  }

  private heldChain(i: number): DescChain {
    let c = this.held[i];
    if (c === undefined) {
      c = new DescChain();
      this.held[i] = c;
    }
    return c;
  }

  private processRx(): void {
    const ctx = this.ctx!;
    const q = ctx.queues[NET_RX_QUEUE];
    if (q === undefined || !q.ready) return;
    const mem = ctx.memory;
    const mergeable = (this.negotiated & VIRTIO_NET_F_MRG_RXBUF) !== 0n;
    let used = 0;
    try {
      for (let frame = this.backend.peek(); frame !== undefined; frame = this.backend.peek()) {
        if (frame.length < VNET_HDR_LEN || frame.length > MAX_NET_FRAME) {
          this.backend.pop();
          this.stats.rxDropped++;
          continue;
        }
        // Gather chains: one without MRG_RXBUF, as many as needed with it.
        let room = 0;
        for (let i = 0; i < this.heldCount; i++) room += this.held[i]!.writeBytes;
        let short = false;
        while (room < frame.length && (mergeable || this.heldCount === 0)) {
          if (this.heldCount >= q.size) break;
          const c = this.heldChain(this.heldCount);
          if (!q.pop(c)) {
            short = true;
            break;
          }
          this.heldCount++;
          room += c.writeBytes;
          if (c.writeBytes === 0) {
            // A buffer with no writable space: give it back empty.
            this.heldCount--;
            q.push(c.head, 0);
            used++;
          }
        }
        if (short) break; // wait for the driver to add buffers (it notifies the RX queue)
        if (room < frame.length) {
          if (!mergeable && this.heldCount === 1) {
            // The driver's buffer is too small for this frame: drop the frame, keep the buffer.
            this.backend.pop();
            this.stats.rxDropped++;
            continue;
          }
          if (this.heldCount >= q.size) {
            this.backend.pop();
            this.stats.rxDropped++;
            continue;
          }
          break;
        }
        // Copy the frame across the chains, then fix num_buffers in the first one.
        let off = 0;
        let n = 0;
        while (off < frame.length) {
          const c = this.held[n]!;
          const w = c.write(mem, 0, frame.subarray(off, off + c.writeBytes));
          off += w;
          n++;
          if (w === 0) break;
        }
        const first = this.held[0]!;
        this.u16[0] = n & 0xff;
        this.u16[1] = n >> 8;
        first.write(mem, 10, this.u16);
        let left = frame.length;
        for (let i = 0; i < n; i++) {
          const c = this.held[i]!;
          const w = Math.min(left, c.writeBytes);
          q.push(c.head, w);
          left -= w;
        }
        used += n;
        this.stats.rxBuffers += n;
        // Shift the unused held chains to the front (swap objects to keep the pool).
        const rest = this.held.splice(0, n);
        this.held.push(...rest);
        this.heldCount -= n;
        this.backend.pop();
        this.stats.rxFrames++;
      }
    } finally {
      if (used > 0) ctx.signalUsed(NET_RX_QUEUE);
    }
  }
}
