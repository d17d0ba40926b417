/**
 * Network backends: what a virtio-net device model talks to.
 *
 * A frame crossing this interface is always `virtio_net_hdr_v1` (12 bytes:
 * flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers)
 * followed by the Ethernet frame, in both directions, so offloads (partial
 * checksums, GSO) pass through untouched. A tap with IFF_VNET_HDR and
 * TUNSETVNETHDRSZ 12 speaks exactly this; a software switch (named virtual
 * networks) implements the same interface and must resolve offloads itself
 * for ports that did not negotiate them.
 *
 * Threads: the device model lives on the machine thread. A backend does its
 * I/O elsewhere (a worker thread) and exposes a pull interface here:
 *  - `send(frame)` queues a frame (copied) for the network; false = full,
 *    wait for `listener.txSpace()` and retry (the device keeps the buffer);
 *  - `peek()` / `pop()` give received frames in order; a frame stays in the
 *    backend until the device found guest buffers for it (back-pressure);
 *  - `pending()` / `poll()` are called by the machine thread's host poll;
 *    poll() fires `listener.rxReady()` / `txSpace()` when something changed.
 */

/** Size of virtio_net_hdr_v1, the header on every frame. */
export const VNET_HDR_LEN = 12;

/** Tap offload bits (TUNSETOFFLOAD, linux/if_tun.h). */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;
export const TUN_F_UFO = 0x10;

/** The largest frame (with header) any backend delivers: a 64 KiB GSO super-frame plus headers. */
export const MAX_NET_FRAME = 65536 + 256;

export interface NetBackendListener {
  /** Frames are waiting in peek(). */
  rxReady(): void;
  /** send() has room again after it returned false. */
  txSpace(): void;
}

export interface NetBackend {
  readonly name: string;
  /** Queue one frame (vnet hdr + Ethernet) for the network. The data is copied. False when full. */
  send(frame: Uint8Array): boolean;
  /** After a batch of send()s: hand the batch to the I/O thread (one wake-up per batch). */
  flush(): void;
  /** The oldest received frame (vnet hdr + Ethernet), valid until pop(); undefined when none. */
  peek(): Uint8Array | undefined;
  pop(): void;
  /**
   * What the guest can take (TUN_F_* bits), from its negotiated GUEST_* features:
   * the backend must not deliver partial checksums / GSO frames the guest did not accept.
   */
  setOffloads(flags: number): void;
  /** Set by the device model. */
  listener: NetBackendListener | undefined;
  /** Cheap check (atomics) whether poll() has work. */
  pending(): boolean;
  /** Machine thread: deliver notifications to the listener. */
  poll(): void;
  close(): void;
}

import type { WakeTarget } from '../vmm/host-link.js';
export type { WakeTarget } from '../vmm/host-link.js';

/** Wake the machine thread (any thread may call it). */
export function wakeMachine(t: WakeTarget, tgkill?: (tid: number, sig: number) => void): void {
  const w = new Int32Array(t.sab);
  Atomics.add(w, t.index, 1);
  Atomics.notify(w, t.index);
  if (t.tid !== undefined && t.signal !== undefined && tgkill) {
    try {
      tgkill(t.tid, t.signal);
    } catch {
      // the machine thread is gone
    }
  } else if (t.kick !== undefined && tgkill) {
    const k = new Int32Array(t.kick);
    const tid = Atomics.load(k, 0);
    if (tid !== 0) {
      try {
        tgkill(tid, Atomics.load(k, 1));
      } catch {
        // the machine thread is gone
      }
    }
  }
}

/** Options shared by backends (parsed from `--net tap=NAME,...`). */
export interface NetOptions {
  /** Backend kind: only 'tap' for now (a switch comes later). */
  kind: 'tap';
  /** Interface name of the tap. */
  ifname: string;
  /** Network namespace (a name under /var/run/netns) to create/attach the tap in. */
  netns?: string;
  /** MAC as "52:54:00:12:34:56"; generated when absent. */
  mac?: string;
}

/**
 * A locally administered unicast MAC. With a `seed` (VM name + NIC index) it is
 * stable across runs; otherwise random.
 */
export function generateMac(seed?: string, random: () => number = Math.random): Uint8Array {
  const mac = new Uint8Array(6);
  if (seed !== undefined) {
    // FNV-1a over the seed, spread into 5 bytes.
    let h = 0x811c9dc5;
    let h2 = 0x01000193;
    for (let i = 0; i < seed.length; i++) {
      h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ (seed.charCodeAt(i) + i), 0x5bd1e995) >>> 0;
    }
    mac[1] = h & 0xff;
    mac[2] = (h >>> 8) & 0xff;
    mac[3] = (h >>> 16) & 0xff;
    mac[4] = (h >>> 24) & 0xff;
    mac[5] = h2 & 0xff;
  } else {
    for (let i = 1; i < 6; i++) mac[i] = Math.floor(random() * 256) & 0xff;
  }
  mac[0] = 0x52; // 0b0101_0010: locally administered (bit 1), unicast (bit 0 clear)
  return mac;
}

export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-fA-F]{2})([:-][0-9a-fA-F]{2}){5}$/.exec(text);
  if (!m) throw new Error(`bad MAC address "${text}" (use aa:bb:cc:dd:ee:ff)`);
  const mac = new Uint8Array(text.split(/[:-]/).map((x) => parseInt(x, 16)));
  if (mac[0]! & 1) throw new Error(`MAC address ${text} is a multicast address`);
  return mac;
}

export function formatMac(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * An in-process backend pair for tests and for wiring two NICs together: what
 * one side sends the other receives. No threads; pending() is true while
 * frames are queued.
 */
export class MemoryNetBackend implements NetBackend {
  listener: NetBackendListener | undefined;
  readonly rx: Uint8Array[] = [];
  /** Frames sent by the device (when there is no peer). */
  readonly sent: Uint8Array[] = [];
  peer: MemoryNetBackend | undefined;
  offloads = 0;
  /** Send capacity in frames (to test back-pressure). */
  sendLimit = Infinity;
  private notified = false;
  private wasFull = false;

  constructor(readonly name = 'memory') {}

  static pair(): [MemoryNetBackend, MemoryNetBackend] {
    const a = new MemoryNetBackend('a');
    const b = new MemoryNetBackend('b');
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  send(frame: Uint8Array): boolean {
    if (this.sent.length >= this.sendLimit) {
      this.wasFull = true;
      return false;
    }
    const copy = frame.slice();
    if (this.peer) this.peer.inject(copy);
    else this.sent.push(copy);
    return true;
  }

  /** Test side: a frame arrives from the network. */
  inject(frame: Uint8Array): void {
    this.rx.push(frame);
    this.notified = false;
  }

  /** Test side: make room in the send queue. */
  drainSent(): Uint8Array[] {
    return this.sent.splice(0);
  }

  peek(): Uint8Array | undefined {
    return this.rx[0];
  }
  pop(): void {
    this.rx.shift();
  }
  setOffloads(flags: number): void {
    this.offloads = flags;
  }
  flush(): void {}
  pending(): boolean {
    return (this.rx.length > 0 && !this.notified) || (this.wasFull && this.sent.length < this.sendLimit);
  }
  poll(): void {
    if (this.rx.length > 0 && !this.notified) {
      this.notified = true;
      this.listener?.rxReady();
    }
    if (this.wasFull && this.sent.length < this.sendLimit) {
      this.wasFull = false;
      this.listener?.txSpace();
    }
  }
  close(): void {}
}
