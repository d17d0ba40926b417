/**
 * virtio-pci under the kvm engine:
 *  - MSI-X vectors: one GSI per vector with an MSI route (KVM_SET_GSI_ROUTING)
 *    and an irqfd, so raising a vector is one eventfd write;
 *  - INTx: a KVM_IRQ_LINE GSI;
 *  - queue notifications: an ioeventfd per queue on its notify address, so
 *    the guest's notify write completes inside KVM with no exit to userspace.
 *    A watcher thread (pci-notify-worker.ts) blocks in poll(2) on those
 *    eventfds, records which fired in a shared bitmap and wakes the machine
 *    thread, which calls the transport's notify(q) from its host poll
 *    (KvmNotifier is a host-link source).
 */
import type { Worker } from 'node:worker_threads';
import { sys, EFD_NONBLOCK } from '../sys/native.js';
import { startWorker } from '../sys/worker.js';
import type { WakeTarget } from '../backends/net.js';
import type { IrqLine } from '../devices/device.js';
import type { MsiVector, NotifyHook, PciInterrupts, MsiMessage } from './pci-virtio.js';

/** What pci-kvm needs from KvmEngine (kept structural so tests can fake it). */
export interface KvmIrqApi {
  irqLine(gsi: number): IrqLine;
  irqfd(gsi: number, fd?: number): { fd: number; line: IrqLine; close(): void };
  ioeventfd(addr: number, opts: { pio: boolean; length: number; fd?: number }): { fd: number; remove(): void };
  allocMsiGsi(): number;
  setMsiRoute(gsi: number, msg: MsiMessage | undefined): void;
}

/** Interrupts of one function: INTx on `gsi`, MSI-X vectors on fresh routed GSIs. */
export function kvmPciInterrupts(kvm: () => KvmIrqApi, intxGsi: number): PciInterrupts {
  let line: IrqLine | undefined;
  return {
    intx: {
      set: (level) => (line ??= kvm().irqLine(intxGsi)).set(level),
      pulse: () => (line ??= kvm().irqLine(intxGsi)).pulse(),
    },
    intxGsi,
    msi: (): MsiVector => {
      const k = kvm();
      const gsi = k.allocMsiGsi();
      const irqfd = k.irqfd(gsi);
      let routed = false;
      return {
        route(msg) {
          k.setMsiRoute(gsi, msg);
          routed = msg !== undefined;
        },
        fire() {
          if (routed) irqfd.line.pulse();
        },
        close() {
          try {
            irqfd.close();
          } catch {
            // VM gone
          }
        },
      };
    },
  };
}

export const WATCH_PER_WORKER = 30;

export interface NotifyWorkerData {
  fds: number[];
  stopFd: number;
  bits: SharedArrayBuffer;
  /** Index of this worker's first bit. */
  base: number;
  stop: SharedArrayBuffer;
  wake: WakeTarget;
}

interface Slot {
  fd: number;
  notify: () => void;
  reg: { remove(): void } | undefined;
  /** Where it should be registered (applied at start() when the VM did not exist yet). */
  want: { gpa: number; len: number } | undefined;
}

/**
 * NotifyHook + host-link source for kvm: ioeventfds, the watcher threads, and
 * dispatch of fired notifications on the machine thread.
 */
export class KvmNotifier implements NotifyHook {
  private readonly slots: Slot[] = [];
  private readonly byOwner = new Map<object, Map<number, number>>();
  private bits = new Int32Array(new SharedArrayBuffer(4 * 64));
  /** [stop requested, watchers that have exited] */
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(8));
  private readonly stopFd: number;
  private readonly workers: Worker[] = [];
  private watched = 0;
  private live = false;
  /** Notifications delivered (stats/tests). */
  delivered = 0;

  constructor(
    private readonly kvm: () => KvmIrqApi,
    private readonly wake: () => WakeTarget,
  ) {
    this.stopFd = sys().eventfd(0, EFD_NONBLOCK);
  }

  register(owner: object, queue: number, gpa: number, len: number, notify: () => void): { remove(): void } {
    let m = this.byOwner.get(owner);
    if (m === undefined) this.byOwner.set(owner, (m = new Map()));
    let idx = m.get(queue);
    if (idx === undefined) {
      if (this.slots.length >= this.bits.length * 32) throw new RangeError('too many notify eventfds');
      idx = this.slots.length;
      this.slots.push({ fd: sys().eventfd(0, EFD_NONBLOCK), notify, reg: undefined, want: undefined });
      m.set(queue, idx);
    }
    const slot = this.slots[idx]!;
    slot.notify = notify;
    slot.reg?.remove();
    slot.reg = undefined;
    const want = { gpa, len };
    slot.want = want;
    if (this.live) slot.reg = this.kvm().ioeventfd(gpa, { pio: false, length: len, fd: slot.fd });
    return {
      remove: () => {
        if (slot.want !== want) return;
        slot.want = undefined;
        slot.reg?.remove();
        slot.reg = undefined;
      },
    };
  }

  /**
   * Once the VM exists: register the ioeventfds asked for so far and start
   * watcher threads for every eventfd (call again after adding more).
   */
  start(): void {
    if (!this.live) {
      this.live = true;
      for (const s of this.slots) if (s.want && !s.reg) s.reg = this.kvm().ioeventfd(s.want.gpa, { pio: false, length: s.want.len, fd: s.fd });
    }
    while (this.watched < this.slots.length) {
      const base = this.watched;
      const fds = this.slots.slice(base, base + WATCH_PER_WORKER).map((s) => s.fd);
      const data: NotifyWorkerData = { fds, stopFd: this.stopFd, bits: this.bits.buffer as SharedArrayBuffer, base, stop: this.stopFlag.buffer as SharedArrayBuffer, wake: this.wake() };
      const w = startWorker('./pci-notify-worker.js', import.meta.url, { workerData: data });
      w.on('error', (e) => console.error(`tsvisor: virtio-pci notify watcher failed: ${e.message}`));
      w.unref();
      this.workers.push(w);
      this.watched += fds.length;
    }
  }

  pending(): boolean {
    const b = this.bits;
    for (let i = 0, n = (this.slots.length + 31) >> 5; i < n; i++) if (Atomics.load(b, i) !== 0) return true;
    return false;
  }

  poll(): void {
    const b = this.bits;
    for (let i = 0, n = (this.slots.length + 31) >> 5; i < n; i++) {
      let w = Atomics.exchange(b, i, 0);
      while (w !== 0) {
        const bit = 31 - Math.clz32(w);
        w &= ~(1 << bit);
        const s = this.slots[i * 32 + bit];
        if (s) {
          this.delivered++;
          s.notify();
        }
      }
    }
  }

  close(): void {
    Atomics.store(this.stopFlag, 0, 1);
    try {
      sys().eventfdWrite(this.stopFd, 1);
    } catch {
      // closed
    }
    for (const s of this.slots) {
      try {
        s.reg?.remove();
      } catch {
        // VM gone
      }
      s.reg = undefined;
    }
    // Wait (briefly) for the watchers to leave poll(2), then close the eventfds here.
    const end = Date.now() + 2000;
    for (let seen = Atomics.load(this.stopFlag, 1); seen < this.workers.length && Date.now() < end; seen = Atomics.load(this.stopFlag, 1)) {
      Atomics.wait(this.stopFlag, 1, seen, 50);
    }
    if (Atomics.load(this.stopFlag, 1) < this.workers.length) for (const w of this.workers) void w.terminate();
    for (const fd of [this.stopFd, ...this.slots.map((s) => s.fd)]) {
      try {
        sys().close(fd);
      } catch {
        // already closed
      }
    }
  }
}
