/**
 * Block backend whose I/O runs on a worker thread (io-worker.ts), off the
 * machine thread that runs the guest.
 *
 * Shared memory (one SharedArrayBuffer per disk):
 *   ctl  Int32[8]: SQ_HEAD (machine), SQ_TAIL (worker), CQ_HEAD (worker), CQ_TAIL (machine), SUBMIT_SEQ, STOP
 *   sq, cq Int32[slots]: slot numbers (single-producer single-consumer rings; at most `slots` in flight so they never overflow)
 *   op Int32[slots], result Int32[slots], len Float64[slots], pos Float64[slots]
 *   staging: slots x slotBytes bytes (data of reads and writes; the device copies to/from guest memory)
 *
 * The machine thread acquires a free slot, fills it, `submit`s it (bump
 * SUBMIT_SEQ + notify); the worker executes requests in order (so a FLUSH
 * covers every write submitted before it) and posts completions. The machine
 * thread collects them with `poll()`, called from EngineHost.poll() via the
 * host link's poll sources; the worker also bumps the host link's wake word
 * so an idle engine wakes up. The sync methods (BlockBackend) go straight to
 * a second descriptor on the calling thread; VirtioBlk uses them only for
 * requests larger than a slot.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../sys/worker.js';
import type { WakeTarget } from '../vmm/host-link.js';
import { BlockFile, type BlockBackend, type BlockFileOptions } from './block-file.js';

export const OP_READ = 1;
export const OP_WRITE = 2;
export const OP_FLUSH = 3;
export const OP_ZEROES = 4;
export const OP_DISCARD = 5;

export interface IoWorkerInit {
  path: string;
  readOnly: boolean;
  direct: boolean;
  sab: SharedArrayBuffer;
  slots: number;
  slotBytes: number;
  /** How the worker wakes the machine thread after each completion (host link wake target). */
  wake?: WakeTarget;
}

export class IoLayout {
  static readonly SQ_HEAD = 0;
  static readonly SQ_TAIL = 1;
  static readonly CQ_HEAD = 2;
  static readonly CQ_TAIL = 3;
  static readonly SUBMIT_SEQ = 4;
  static readonly STOP = 5;
  readonly ctl: Int32Array;
  readonly sq: Int32Array;
  readonly cq: Int32Array;
  readonly op: Int32Array;
  readonly result: Int32Array;
  readonly len: Float64Array;
  readonly pos: Float64Array;
  readonly data: Uint8Array;

  static bytes(slots: number, slotBytes: number): number {
    return 32 + 16 * slots + 16 * slots + slots * slotBytes;
  }

  constructor(
    readonly sab: SharedArrayBuffer,
    readonly slots: number,
    readonly slotBytes: number,
  ) {
    let o = 0;
    this.ctl = new Int32Array(sab, o, 8);
    o += 32;
    this.sq = new Int32Array(sab, o, slots);
    o += 4 * slots;
    this.cq = new Int32Array(sab, o, slots);
    o += 4 * slots;
    this.op = new Int32Array(sab, o, slots);
    o += 4 * slots;
    this.result = new Int32Array(sab, o, slots);
    o += 4 * slots;
    this.len = new Float64Array(sab, o, slots);
    o += 8 * slots;
    this.pos = new Float64Array(sab, o, slots);
    o += 8 * slots;
    this.data = new Uint8Array(sab, o, slots * slotBytes);
  }

  staging(slot: number, len: number): Uint8Array {
    return this.data.subarray(slot * this.slotBytes, slot * this.slotBytes + len);
  }

  sqTail(): number {
    return Atomics.load(this.ctl, IoLayout.SQ_TAIL);
  }
}

export interface AsyncBlockOptions extends BlockFileOptions {
  slots?: number;
  slotBytes?: number;
  wake?: WakeTarget;
}

export type IoDone = (ok: boolean) => void;

export class AsyncBlockFile implements BlockBackend {
  readonly size: number;
  readonly readOnly: boolean;
  readonly slotBytes: number;
  private readonly layout: IoLayout;
  private readonly worker: Worker;
  private readonly sync: BlockFile;
  private readonly free: number[] = [];
  private readonly callbacks: Array<IoDone | undefined>;
  private inFlight = 0;
  private closed = false;

  constructor(
    readonly path: string,
    opts: AsyncBlockOptions = {},
  ) {
    const slots = opts.slots ?? 16;
    this.slotBytes = opts.slotBytes ?? 1280 * 1024;
    // The machine-thread descriptor also checks the file opens with these options.
    this.sync = new BlockFile(path, opts);
    this.size = this.sync.size;
    this.readOnly = this.sync.readOnly;
    const sab = new SharedArrayBuffer(IoLayout.bytes(slots, this.slotBytes));
    this.layout = new IoLayout(sab, slots, this.slotBytes);
    for (let i = slots - 1; i >= 0; i--) this.free.push(i);
    this.callbacks = new Array<IoDone | undefined>(slots);
    const init: IoWorkerInit = { path, readOnly: this.readOnly, direct: opts.direct === true, sab, slots, slotBytes: this.slotBytes, wake: opts.wake };
    this.worker = startWorker('./io-worker.js', import.meta.url, { workerData: init });
    this.worker.unref();
  }

  /** A free slot, or undefined when `slots` requests are in flight. */
  acquire(): number | undefined {
    return this.free.pop();
  }

  /** Give back a slot that was acquired but not submitted. */
  release(slot: number): void {
    this.free.push(slot);
  }

  /** The slot's staging bytes (fill before a write, read after a read completes). */
  staging(slot: number, len: number): Uint8Array {
    return this.layout.staging(slot, len);
  }

  submit(slot: number, op: number, pos: number, len: number, done: IoDone): void {
    const L = this.layout;
    L.op[slot] = op;
    L.pos[slot] = pos;
    L.len[slot] = len;
    this.callbacks[slot] = done;
    const head = Atomics.load(L.ctl, IoLayout.SQ_HEAD);
    L.sq[head % L.slots] = slot;
    Atomics.store(L.ctl, IoLayout.SQ_HEAD, (head + 1) | 0);
    Atomics.add(L.ctl, IoLayout.SUBMIT_SEQ, 1);
    Atomics.notify(L.ctl, IoLayout.SUBMIT_SEQ);
    this.inFlight++;
  }

  get slots(): number {
    return this.layout.slots;
  }

  get pendingCount(): number {
    return this.inFlight;
  }

  /** Completions are waiting to be collected. */
  hasCompletions(): boolean {
    const L = this.layout;
    return Atomics.load(L.ctl, IoLayout.CQ_HEAD) !== Atomics.load(L.ctl, IoLayout.CQ_TAIL);
  }

  /** Run the callbacks of finished requests (machine thread); returns how many. */
  poll(): number {
    const L = this.layout;
    let n = 0;
    for (;;) {
      const tail = Atomics.load(L.ctl, IoLayout.CQ_TAIL);
      if (tail === Atomics.load(L.ctl, IoLayout.CQ_HEAD)) break;
      const slot = L.cq[tail % L.slots]!;
      Atomics.store(L.ctl, IoLayout.CQ_TAIL, (tail + 1) | 0);
      const cb = this.callbacks[slot];
      this.callbacks[slot] = undefined;
      this.inFlight--;
      n++;
      // The callback reads the staging data before the slot is reused.
      try {
        cb?.(L.result[slot] === 0);
      } finally {
        this.free.push(slot);
      }
    }
    return n;
  }

  /** Wait at most `us` microseconds for every request in flight to complete (does not collect them). */
  waitCompletions(us: number): void {
    const L = this.layout;
    const end = performance.now() + us / 1000;
    for (;;) {
      const head = Atomics.load(L.ctl, IoLayout.CQ_HEAD);
      const done = (head - Atomics.load(L.ctl, IoLayout.CQ_TAIL)) | 0;
      if (done >= this.inFlight) return;
      const left = end - performance.now();
      if (left <= 0) return;
      Atomics.wait(L.ctl, IoLayout.CQ_HEAD, head, left);
    }
  }

  /** Wait (machine thread, tests) until every submitted request completed, collecting them; false on timeout. */
  drain(timeoutMs = 10_000): boolean {
    const end = Date.now() + timeoutMs;
    const L = this.layout;
    while (this.inFlight > 0) {
      this.poll();
      if (this.inFlight === 0) break;
      if (Date.now() > end) return false;
      const head = Atomics.load(L.ctl, IoLayout.CQ_HEAD);
      if (head === Atomics.load(L.ctl, IoLayout.CQ_TAIL)) Atomics.wait(L.ctl, IoLayout.CQ_HEAD, head, 5);
    }
    return true;
  }

  // Synchronous path (requests larger than a slot), on the calling thread.
  read(dst: Uint8Array, pos: number): void {
    this.sync.read(dst, pos);
  }
  write(src: Uint8Array, pos: number): void {
    this.sync.write(src, pos);
  }
  flush(): void {
    this.sync.flush();
  }
  discard(pos: number, len: number): void {
    this.sync.discard(pos, len);
  }
  writeZeroes(pos: number, len: number, unmap = false): void {
    this.sync.writeZeroes(pos, len, unmap);
  }
  // Non-blocking fast path on the calling thread (page-cache hits only; see BlockBackend).
  // A nowait write must not overtake a write still queued on the worker for an overlapping
  // range, so it is only tried while nothing is in flight.
  readNowait(buffer: ArrayBuffer, segs: Float64Array, count: number, pos: number, len: number): boolean {
    return this.inFlight === 0 && this.sync.readNowait(buffer, segs, count, pos, len);
  }
  writeNowait(buffer: ArrayBuffer, segs: Float64Array, count: number, pos: number, len: number): boolean {
    return this.inFlight === 0 && this.sync.writeNowait(buffer, segs, count, pos, len);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Let queued writes finish, then stop the worker (it closes its descriptor).
    this.drain(30_000);
    Atomics.store(this.layout.ctl, IoLayout.STOP, 1);
    Atomics.add(this.layout.ctl, IoLayout.SUBMIT_SEQ, 1);
    Atomics.notify(this.layout.ctl, IoLayout.SUBMIT_SEQ);
    this.sync.close();
  }
}
