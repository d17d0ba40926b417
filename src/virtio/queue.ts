/**
 * Split virtqueue (virtio 1.2 §2.7), device side, through GuestMemory.
 *
 *   descriptor table  16 B each: addr u64, len u32, flags u16, next u16
 *   available ring    flags u16, idx u16, ring[size] u16, used_event u16
 *   used ring         flags u16, idx u16, ring[size] {id u32, len u32}, avail_event u16
 *
 * The transport fills in size/descAddr/driverAddr/deviceAddr from the driver's
 * register writes and calls `enable()`; the rings must then lie in guest RAM
 * (each wholly inside one region, naturally aligned), and their views are
 * cached so a pop is a handful of DataView reads with no allocation.
 *
 * Everything the guest writes is distrusted: a head index past the table, an
 * avail index more than `size` ahead, a chain longer than the table (loops), a
 * nested or chained indirect table, a readable descriptor after a writable
 * one, a buffer outside RAM (buffers that straddle two *adjacent* RAM regions
 * are split into two segments), a total length above 2^32-1 — each throws
 * VirtqueueError and marks the queue broken; the device turns that into
 * DEVICE_NEEDS_RESET (see device.ts `guard`). Nothing here touches memory
 * outside guest RAM: all access goes through GuestMemory regions.
 */
import type { GuestMemory } from '../memory/guest-memory.js';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VRING_AVAIL_F_NO_INTERRUPT = 1;
export const VRING_USED_F_NO_NOTIFY = 1;

/** Largest queue size (the spec's limit for split rings). */
export const MAX_QUEUE_SIZE = 32768;
/** Largest indirect table we follow (entries). Linux uses at most seg_max + 2. */
export const MAX_INDIRECT = 4096;

export class VirtqueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VirtqueueError';
  }
}

const TWO32 = 4294967296;

/**
 * One descriptor chain, popped from a queue: readable segments first (indices
 * 0..nRead-1), then writable ones (nRead..nRead+nWrite-1), in `addr`/`len`.
 * Reuse one DescChain per device to avoid allocation; its arrays grow as needed.
 */
export class DescChain {
  head = 0;
  nRead = 0;
  nWrite = 0;
  /** Total bytes in readable / writable segments. */
  readBytes = 0;
  writeBytes = 0;
  addr: Float64Array = new Float64Array(64);
  len: Uint32Array = new Uint32Array(64);

  get count(): number {
    return this.nRead + this.nWrite;
  }

  /** @internal */
  reset(head: number): void {
    this.head = head;
    this.nRead = 0;
    this.nWrite = 0;
    this.readBytes = 0;
    this.writeBytes = 0;
  }

  /** @internal */
  add(addr: number, len: number, writable: boolean): void {
    const n = this.nRead + this.nWrite;
    if (n === this.addr.length) {
      const a = new Float64Array(n * 2);
      a.set(this.addr);
      const l = new Uint32Array(n * 2);
      l.set(this.len);
      this.addr = a;
      this.len = l;
    }
    this.addr[n] = addr;
    this.len[n] = len;
    if (writable) {
      this.nWrite++;
      this.writeBytes += len;
      if (this.writeBytes >= TWO32) throw new VirtqueueError('descriptor chain: writable length overflows 32 bits');
    } else {
      this.nRead++;
      this.readBytes += len;
      if (this.readBytes >= TWO32) throw new VirtqueueError('descriptor chain: readable length overflows 32 bits');
    }
  }

  /** Copy up to dst.length readable bytes starting `offset` bytes into the readable data; returns bytes copied. */
  read(mem: GuestMemory, offset: number, dst: Uint8Array): number {
    let done = 0;
    let skip = offset;
    for (let i = 0; i < this.nRead && done < dst.length; i++) {
      const l = this.len[i]!;
      if (skip >= l) {
        skip -= l;
        continue;
      }
      const n = Math.min(l - skip, dst.length - done);
      dst.set(mem.slice(this.addr[i]! + skip, n), done);
      done += n;
      skip = 0;
    }
    return done;
  }

  /** Copy src into the writable segments starting `offset` bytes in; returns bytes copied. */
  write(mem: GuestMemory, offset: number, src: Uint8Array): number {
    let done = 0;
    let skip = offset;
    const end = this.nRead + this.nWrite;
    for (let i = this.nRead; i < end && done < src.length; i++) {
      const l = this.len[i]!;
      if (skip >= l) {
        skip -= l;
        continue;
      }
      const n = Math.min(l - skip, src.length - done);
      mem.slice(this.addr[i]! + skip, n).set(src.subarray(done, done + n));
      done += n;
      skip = 0;
    }
    return done;
  }
}

export class Virtqueue {
  /** Set by the transport from QueueNum (must be a power of two <= maxSize). */
  size: number;
  descAddr = 0;
  driverAddr = 0;
  deviceAddr = 0;
  ready = false;
  /** Free-running 16-bit index of the next avail entry to consume. */
  lastAvail = 0;
  /** Free-running 16-bit used index (what the device has published). */
  usedIdx = 0;
  /** Used index at the last interrupt decision (EVENT_IDX). */
  private signalledUsed = 0;
  broken = false;
  private eventIdx = false;
  private indirect = false;
  private mem: GuestMemory | undefined;
  private descView!: DataView;
  private descOff = 0;
  private availView!: DataView;
  private availOff = 0;
  private usedView!: DataView;
  private usedOff = 0;
  private mask = 0;

  constructor(
    readonly index: number,
    readonly maxSize: number,
  ) {
    this.size = maxSize;
  }

  /** Forget everything (device reset). */
  reset(): void {
    this.size = this.maxSize;
    this.descAddr = this.driverAddr = this.deviceAddr = 0;
    this.ready = false;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
    this.broken = false;
    this.mem = undefined;
  }

  /**
   * Validate the configured addresses and cache views. Returns an error message
   * (and leaves the queue not ready) when the driver's set-up is invalid.
   */
  enable(mem: GuestMemory, opts: { eventIdx: boolean; indirect: boolean }): string | undefined {
    const size = this.size;
    if (size < 1 || size > this.maxSize || (size & (size - 1)) !== 0) return `queue ${this.index}: size ${size} is not a power of two <= ${this.maxSize}`;
    const d = this.locate(mem, this.descAddr, 16 * size, 16, 'descriptor table');
    if (typeof d === 'string') return d;
    const a = this.locate(mem, this.driverAddr, 6 + 2 * size, 2, 'available ring');
    if (typeof a === 'string') return a;
    const u = this.locate(mem, this.deviceAddr, 6 + 8 * size, 4, 'used ring');
    if (typeof u === 'string') return u;
    [this.descView, this.descOff] = d;
    [this.availView, this.availOff] = a;
    [this.usedView, this.usedOff] = u;
    this.mem = mem;
    this.mask = size - 1;
    this.eventIdx = opts.eventIdx;
    this.indirect = opts.indirect;
    this.ready = true;
    this.broken = false;
    return undefined;
  }

  /** Called by the transport once features are known (DRIVER_OK) when the queue was enabled before. */
  setFeatures(opts: { eventIdx: boolean; indirect: boolean }): void {
    this.eventIdx = opts.eventIdx;
    this.indirect = opts.indirect;
  }

  private locate(mem: GuestMemory, gpa: number, len: number, align: number, what: string): [DataView, number] | string {
    if (!Number.isSafeInteger(gpa) || gpa % align !== 0) return `queue ${this.index}: ${what} at 0x${gpa.toString(16)} is not ${align}-byte aligned`;
    const r = mem.find(gpa, len);
    if (r === undefined || gpa < 0) return `queue ${this.index}: ${what} at 0x${gpa.toString(16)} (+${len}) is not in guest RAM`;
    return [r.view, gpa - r.gpa];
  }

  private fail(msg: string): never {
    this.broken = true;
    throw new VirtqueueError(`queue ${this.index}: ${msg}`);
  }

  /** The driver's avail.idx. */
  availIdx(): number {
    return this.availView.getUint16(this.availOff + 2, true);
  }

  /** Number of chains waiting (throws when the driver's index is impossible). */
  pending(): number {
    if (!this.ready || this.broken) return 0;
    const n = (this.availIdx() - this.lastAvail) & 0xffff;
    if (n > this.size) this.fail(`avail index ${this.availIdx()} is ${n} entries ahead of ${this.lastAvail} (size ${this.size})`);
    return n;
  }

  /**
   * Pop the next chain into `chain`. Returns false when the ring is empty (and,
   * with EVENT_IDX, publishes avail_event so the driver notifies on its next add).
   * Throws VirtqueueError on a malformed chain (the queue is then broken).
   */
  pop(chain: DescChain): boolean {
    if (!this.ready || this.broken) return false;
    const n = this.pending();
    if (n === 0) {
      if (this.eventIdx) this.usedView.setUint16(this.usedOff + 4 + 8 * this.size, this.lastAvail, true);
      return false;
    }
    const head = this.availView.getUint16(this.availOff + 4 + 2 * (this.lastAvail & this.mask), true);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (this.eventIdx) this.usedView.setUint16(this.usedOff + 4 + 8 * this.size, this.lastAvail, true);
    try {
      this.walk(head, chain);
    } catch (e) {
      this.broken = true;
      throw e;
    }
    return true;
  }

  private walk(head: number, chain: DescChain): void {
    const mem = this.mem!;
    chain.reset(head);
    if (head >= this.size) this.fail(`head index ${head} past the descriptor table (size ${this.size})`);
    let view = this.descView;
    let base = this.descOff;
    let tableSize = this.size;
    let inIndirect = false;
    let idx = head;
    let count = 0;
    for (;;) {
      if (idx >= tableSize) this.fail(`next index ${idx} past the ${inIndirect ? 'indirect ' : ''}descriptor table (size ${tableSize})`);
      const d = base + 16 * idx;
      const lo = view.getUint32(d, true);
      const hi = view.getUint32(d + 4, true);
      const len = view.getUint32(d + 8, true);
      const flags = view.getUint16(d + 12, true);
      const next = view.getUint16(d + 14, true);
      if (hi > 0x1fffff) this.fail(`descriptor address 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is beyond any RAM`);
      const addr = hi * TWO32 + lo;
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.indirect) this.fail('indirect descriptor without VIRTIO_F_RING_INDIRECT_DESC');
        if (inIndirect) this.fail('nested indirect descriptor table');
        if (flags & VIRTQ_DESC_F_NEXT) this.fail('indirect descriptor with NEXT set');
        if (len === 0 || len % 16 !== 0 || len / 16 > MAX_INDIRECT) this.fail(`indirect table length ${len} is invalid`);
        const r = mem.find(addr, len);
        if (r === undefined || addr % 16 !== 0) this.fail(`indirect table at 0x${addr.toString(16)} (+${len}) is not aligned guest RAM`);
        view = r.view;
        base = addr - r.gpa;
        tableSize = len / 16;
        inIndirect = true;
        idx = 0;
        count = 0;
        continue;
      }
      if (++count > tableSize) this.fail(`descriptor chain from head ${head} is longer than its table (${tableSize}): a loop`);
      const writable = (flags & VIRTQ_DESC_F_WRITE) !== 0;
      if (!writable && chain.nWrite > 0) this.fail('readable descriptor after a writable one');
      if (len > 0) this.addSegment(mem, chain, addr, len, writable);
      if ((flags & VIRTQ_DESC_F_NEXT) === 0) return;
      idx = next;
    }
  }

  private addSegment(mem: GuestMemory, chain: DescChain, addr: number, len: number, writable: boolean): void {
    if (mem.find(addr, len) !== undefined) {
      chain.add(addr, len, writable);
      return;
    }
    // Split across adjacent regions; anything not RAM is an error.
    let a = addr;
    let left = len;
    while (left > 0) {
      const r = mem.find(a, 1);
      if (r === undefined) this.fail(`buffer at 0x${addr.toString(16)} (+${len}) is not in guest RAM`);
      const take = Math.min(left, r.gpa + r.size - a);
      chain.add(a, take, writable);
      a += take;
      left -= take;
    }
  }

  /** Put a used element (chain head, bytes written) and publish the new used index. */
  push(head: number, written: number): void {
    if (!this.ready || this.broken) return;
    const e = this.usedOff + 4 + 8 * (this.usedIdx & this.mask);
    this.usedView.setUint32(e, head, true);
    this.usedView.setUint32(e + 4, written >>> 0, true);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.usedView.setUint16(this.usedOff + 2, this.usedIdx, true);
  }

  /**
   * Should the driver be interrupted for the used entries published since the
   * last call? Applies VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX
   * (vring_need_event). Records the decision point.
   */
  needsInterrupt(): boolean {
    if (!this.ready) return false;
    const newIdx = this.usedIdx;
    const old = this.signalledUsed;
    this.signalledUsed = newIdx;
    if (newIdx === old) return false;
    if (this.eventIdx) {
      const ev = this.availView.getUint16(this.availOff + 4 + 2 * this.size, true);
      return ((newIdx - ev - 1) & 0xffff) < ((newIdx - old) & 0xffff);
    }
    return (this.availView.getUint16(this.availOff, true) & VRING_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /** Ask the driver not to notify (non-EVENT_IDX), or to notify again. */
  setNotify(enabled: boolean): void {
    if (!this.ready || this.eventIdx) return;
    this.usedView.setUint16(this.usedOff, enabled ? 0 : VRING_USED_F_NO_NOTIFY, true);
  }
}
