/**
 * TapBackend: a NetBackend on a Linux tap device (/dev/net/tun with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, vnet header size 12 = virtio_net_hdr_v1).
 *
 * I/O runs in a worker thread (tap-worker.ts) that blocks in poll(2) on the
 * tap fd and a doorbell eventfd. Frames cross in two FrameRings in shared
 * memory: the worker read(2)s received frames straight into the RX ring and
 * writes the TX ring's frames to the tap. The worker wakes the machine thread
 * with a WakeTarget (atomics notify + kick signal) after each batch; the
 * machine thread rings the doorbell after a batch of send()s, or after it
 * freed RX space the worker was waiting for.
 *
 * With `netns`, the tap is created in (or attached from) that network
 * namespace: the calling thread enters it with setns(2) just for the open.
 */
import type { Worker } from 'node:worker_threads';
import { sys, O_RDWR, O_CLOEXEC, O_NONBLOCK, EFD_NONBLOCK, CLONE_NEWNET } from '../sys/native.js';
import { startWorker } from '../sys/worker.js';
import { FrameRing, PUSH_SEQ, USER0, USER1, USER2 } from './net-ring.js';
import { MAX_NET_FRAME, VNET_HDR_LEN, type NetBackend, type NetBackendListener, type WakeTarget } from './net.js';

export const TUNSETIFF = 0x400454ca;
export const TUNSETOFFLOAD = 0x400454d0;
export const TUNSETVNETHDRSZ = 0x400454d8;
export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
const IFNAMSIZ = 16;

/** Flags in the rings' user words. */
export const RX_STOP = USER0; // rx.ctl: the machine thread asks the worker to exit
export const RX_WAITING = USER1; // rx.ctl: the worker waits for RX space
export const TX_WAITING = USER0; // tx.ctl: the machine thread waits for TX space
export const TX_SPACE = USER1; // tx.ctl: counter bumped by the worker when space was freed for a waiter
export const RX_DONE = USER2; // rx.ctl: the worker has left its loop (no more syscalls on the fds)

export interface TapWorkerData {
  fd: number;
  doorbell: number;
  rx: SharedArrayBuffer;
  tx: SharedArrayBuffer;
  wake: WakeTarget;
}

export interface TapOptions {
  ifname: string;
  netns?: string;
  /** Where the worker wakes the machine thread. Without it (tests), pending() must be polled. */
  wake?: WakeTarget;
  rxRingBytes?: number;
  txRingBytes?: number;
}

export class TapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TapError';
  }
}

/** Open (creating if needed) tap `ifname`, optionally inside netns `netns`. Returns the non-blocking fd. */
export function openTap(ifname: string, netns?: string): number {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname)) throw new TapError(`bad tap name "${ifname}" (1-15 letters, digits, _ . -)`);
  const s = sys();
  let orig = -1;
  let ns = -1;
  if (netns !== undefined) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(netns)) throw new TapError(`bad network namespace name "${netns}"`);
    try {
      ns = s.open(`/var/run/netns/${netns}`, 0 | O_CLOEXEC);
    } catch (e) {
      throw new TapError(`network namespace ${netns} not found (ip netns add ${netns}): ${(e as Error).message}`);
    }
    orig = s.open('/proc/thread-self/ns/net', 0 | O_CLOEXEC);
    s.setns(ns, CLONE_NEWNET);
  }
  try {
    let fd: number;
    try {
      fd = s.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC);
    } catch (e) {
      throw new TapError(`cannot open /dev/net/tun: ${(e as Error).message}`);
    }
    try {
      const ifr = new Uint8Array(40);
      ifr.set(new TextEncoder().encode(ifname).subarray(0, IFNAMSIZ - 1));
      new DataView(ifr.buffer).setUint16(IFNAMSIZ, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, true);
      s.ioctl(fd, TUNSETIFF, ifr);
      s.ioctl(fd, TUNSETVNETHDRSZ, new Int32Array([VNET_HDR_LEN]));
      s.ioctl(fd, TUNSETOFFLOAD, 0);
    } catch (e) {
      s.close(fd);
      throw new TapError(`cannot attach tap ${ifname}: ${(e as Error).message}`);
    }
    return fd;
  } finally {
    if (orig >= 0) {
      s.setns(orig, CLONE_NEWNET);
      s.close(orig);
    }
    if (ns >= 0) s.close(ns);
  }
}

export class TapBackend implements NetBackend {
  readonly name: string;
  listener: NetBackendListener | undefined;
  readonly fd: number;
  private readonly doorbell: number;
  private readonly rx: FrameRing;
  private readonly tx: FrameRing;
  private readonly worker: Worker;
  private seenPush = 0;
  private seenTxSpace = 0;
  private txDirty = false;
  private closed = false;
  /** Frames the worker reported dropped / counters for tests. */
  readonly stats = { sent: 0, received: 0, txFull: 0 };

  constructor(opts: TapOptions) {
    this.name = `tap:${opts.ifname}`;
    this.fd = openTap(opts.ifname, opts.netns);
    this.doorbell = sys().eventfd(0, EFD_NONBLOCK);
    this.rx = new FrameRing(opts.rxRingBytes ?? 4 << 20);
    this.tx = new FrameRing(opts.txRingBytes ?? 2 << 20);
    const wake = opts.wake ?? { sab: new SharedArrayBuffer(4), index: 0 };
    const data: TapWorkerData = { fd: this.fd, doorbell: this.doorbell, rx: this.rx.sab, tx: this.tx.sab, wake };
    this.worker = startWorker('./tap-worker.js', import.meta.url, { workerData: data });
    this.worker.on('error', (e) => console.error(`tsvisor: ${this.name} worker failed: ${e.message}`));
    this.worker.unref();
  }

  setOffloads(flags: number): void {
    if (!this.closed) sys().ioctl(this.fd, TUNSETOFFLOAD, flags);
  }

  send(frame: Uint8Array): boolean {
    if (this.closed) return true;
    if (frame.length > this.tx.maxFrame || frame.length > MAX_NET_FRAME) return true; // cannot ever fit: drop
    if (this.tx.push(frame)) {
      this.stats.sent++;
      this.txDirty = true;
      return true;
    }
    this.stats.txFull++;
    Atomics.store(this.tx.ctl, TX_WAITING, 1);
    this.ring();
    // Re-check: the worker may have drained the ring between push and the flag.
    if (this.tx.push(frame)) {
      this.stats.sent++;
      return true;
    }
    return false;
  }

  /** Ring the worker's doorbell for the frames sent since the last flush. */
  flush(): void {
    if (this.txDirty) {
      this.txDirty = false;
      this.ring();
    }
  }

  private ring(): void {
    try {
      sys().eventfdWrite(this.doorbell, 1);
    } catch {
      // closed
    }
  }

  peek(): Uint8Array | undefined {
    return this.rx.peek();
  }

  pop(): void {
    this.rx.pop();
    this.stats.received++;
    if (Atomics.load(this.rx.ctl, RX_WAITING) !== 0) {
      Atomics.store(this.rx.ctl, RX_WAITING, 0);
      this.ring();
    }
  }

  pending(): boolean {
    return Atomics.load(this.rx.ctl, PUSH_SEQ) !== this.seenPush || Atomics.load(this.tx.ctl, TX_SPACE) !== this.seenTxSpace;
  }

  poll(): void {
    const push = Atomics.load(this.rx.ctl, PUSH_SEQ);
    const space = Atomics.load(this.tx.ctl, TX_SPACE);
    const rxNew = push !== this.seenPush;
    const txNew = space !== this.seenTxSpace;
    this.seenPush = push;
    this.seenTxSpace = space;
    if (rxNew && !this.rx.isEmpty()) this.listener?.rxReady();
    if (txNew) this.listener?.txSpace();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.rx.ctl, RX_STOP, 1);
    this.ring();
    // Wait (briefly) until the worker is out of poll/read, then close the fds here, so the
    // tap goes away with the VM even if this thread exits right after.
    const end = Date.now() + 2000;
    while (Atomics.load(this.rx.ctl, RX_DONE) === 0 && Date.now() < end) Atomics.wait(this.rx.ctl, RX_DONE, 0, 50);
    if (Atomics.load(this.rx.ctl, RX_DONE) === 0) void this.worker.terminate();
    for (const f of [this.fd, this.doorbell]) {
      try {
        sys().close(f);
      } catch {
        // already closed
      }
    }
  }
}
