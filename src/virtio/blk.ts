/**
 * virtio-blk (virtio 1.2 §5.2) over a BlockBackend.
 *
 * One request queue. A request is: a 16-byte readable header {type u32,
 * reserved u32, sector u64}, data segments, and a final writable status byte.
 * IN reads straight into the guest's writable segments, OUT writes straight
 * from its readable ones (zero copy unless the backend bounces for O_DIRECT).
 * FLUSH is fdatasync. GET_ID returns the user's serial (20 bytes, NUL
 * padded). DISCARD and WRITE_ZEROES take 16-byte segments {sector u64,
 * num_sectors u32, flags u32}; their limits are in config space. Segments
 * are read from guest memory once and every range is checked against the
 * disk before any is acted on. DISCARD punches holes in the image
 * (fallocate PUNCH_HOLE|KEEP_SIZE; a silent no-op where the host file system
 * cannot: discard is a hint). WRITE_ZEROES writes zeros, or punches a hole
 * when the guest set UNMAP (write_zeroes_may_unmap = 1); either way the range
 * reads as zeros. A read-only disk refuses both (IOERR).
 *
 * Errors: a request past the end of the disk, a length that is not a whole
 * number of sectors, a write to a read-only disk, a host I/O error -> IOERR;
 * an unknown type or a feature that was not negotiated -> UNSUPP. A chain
 * too short to hold a header and a status byte cannot be answered: the device
 * needs reset.
 */
import type { BlockBackend } from '../backends/block-file.js';
import { BlockIoError, SEGS_MAX } from '../backends/block-file.js';
import { AsyncBlockFile, OP_DISCARD, OP_FLUSH, OP_READ, OP_WRITE, OP_ZEROES } from '../backends/block-async.js';
import { ConfigSpace, VIRTIO_ID_BLOCK, guard, type VirtioDevice, type VirtioDeviceContext } from './device.js';
import { DescChain, VirtqueueError } from './queue.js';
import type { GuestMemory } from '../memory/guest-memory.js';

export const VIRTIO_BLK_F_SIZE_MAX = 1n << 1n;
export const VIRTIO_BLK_F_SEG_MAX = 1n << 2n;
export const VIRTIO_BLK_F_RO = 1n << 5n;
export const VIRTIO_BLK_F_BLK_SIZE = 1n << 6n;
export const VIRTIO_BLK_F_FLUSH = 1n << 9n;
export const VIRTIO_BLK_F_DISCARD = 1n << 13n;
export const VIRTIO_BLK_F_WRITE_ZEROES = 1n << 14n;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;

/** WRITE_ZEROES segment flag: the device may deallocate the range. */
export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;

export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

export const VIRTIO_BLK_ID_BYTES = 20;
export const SECTOR = 512;

export interface VirtioBlkOptions {
  /** Serial returned by GET_ID (at most 20 bytes of UTF-8). */
  serial?: string;
  queueSize?: number;
  /** Max data segments per request (config seg_max). */
  segMax?: number;
  /** Max bytes per segment (config size_max). */
  sizeMax?: number;
  maxDiscardSectors?: number;
  maxDiscardSeg?: number;
  /**
   * With an I/O-worker backend: how long (µs) to wait for the worker right
   * after submitting, plus ~1 µs per KB submitted, so fast (page-cache) I/O
   * completes before the guest resumes. Default 300; 0 = always asynchronous.
   */
  pollUs?: number;
  /**
   * Try reads/writes first as one non-blocking vectored syscall between the
   * image and guest memory (page-cache hits; BlockBackend.readNowait/writeNowait),
   * before handing them to the I/O worker. Default false: it cuts the device's
   * time per request, but on the oversubscribed 2-core bench host the guest got
   * through fewer requests per second with it (see src/virtio/README.md).
   */
  inline?: boolean;
}

export interface BlkStats {
  requests: number;
  readBytes: number;
  writeBytes: number;
  flushes: number;
  errors: number;
}

const CONFIG_SIZE = 60;

export class VirtioBlk implements VirtioDevice {
  readonly name = 'virtio-blk';
  readonly deviceType = VIRTIO_ID_BLOCK;
  readonly features: bigint;
  readonly queueSizes: number[];
  readonly configSize = CONFIG_SIZE;
  readonly capacity: number;
  readonly stats: BlkStats = { requests: 0, readBytes: 0, writeBytes: 0, flushes: 0, errors: 0 };
  private readonly config = new ConfigSpace(CONFIG_SIZE);
  private readonly serial = new Uint8Array(VIRTIO_BLK_ID_BYTES);
  private readonly chain = new DescChain();
  private readonly hdr = new Uint8Array(16);
  private readonly hdrView = new DataView(this.hdr.buffer);
  private readonly seg = new Uint8Array(16);
  private readonly segView = new DataView(this.seg.buffer);
  private readonly status = new Uint8Array(1);
  private readonly segMax: number;
  private readonly maxDiscardSectors: number;
  private readonly maxDiscardSeg: number;
  /** The ranges of the current DISCARD / WRITE_ZEROES request (bytes), parsed once by parseRanges(). */
  private nRanges = 0;
  private readonly rangePos: number[] = [];
  private readonly rangeLen: number[] = [];
  private readonly rangeUnmap: boolean[] = [];
  private ctx: VirtioDeviceContext | undefined;
  private negotiated = 0n;
  /** Set when the backend runs I/O on a worker thread: requests complete later, in pollCompletions(). */
  private readonly async: AsyncBlockFile | undefined;
  /** One chain per I/O slot (requests in flight keep theirs). */
  private readonly slotChains: DescChain[] = [];
  /** The queue was left with requests because every I/O slot was busy. */
  private stalled = false;
  private completedSinceSignal = 0;
  /** Microseconds the machine thread waits for the I/O worker after submitting (0: never). */
  private readonly pollUs: number;
  /** Bytes submitted in the current round (the wait budget grows ~1 µs per KB, i.e. ~1 GB/s). */
  private submittedBytes = 0;
  /** [offset, length] pairs of the current request's data inside one guest memory region (inline I/O). */
  private readonly segs = new Float64Array(2 * SEGS_MAX);
  private readonly inlineOn: boolean;
  /** Requests completed inline (page-cache hits moved straight between the image and guest memory). */
  readonly inline = { reads: 0, writes: 0 };

  constructor(
    readonly backend: BlockBackend,
    opts: VirtioBlkOptions = {},
  ) {
    const qsize = opts.queueSize ?? 256;
    this.queueSizes = [qsize];
    this.segMax = opts.segMax ?? qsize - 2;
    this.maxDiscardSectors = opts.maxDiscardSectors ?? 0x3fffff;
    this.maxDiscardSeg = opts.maxDiscardSeg ?? 1;
    this.capacity = Math.floor(backend.size / SECTOR);
    if (backend instanceof AsyncBlockFile) this.async = backend;
    this.pollUs = opts.pollUs ?? 300;
    this.inlineOn = opts.inline === true;
    let f = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_SIZE_MAX;
    if (backend.readOnly) f |= VIRTIO_BLK_F_RO;
    else f |= VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES;
    this.features = f;
    const c = this.config.view;
    c.setBigUint64(0, BigInt(this.capacity), true);
    c.setUint32(8, opts.sizeMax ?? 1 << 20, true); // size_max
    c.setUint32(12, this.segMax, true); // seg_max
    c.setUint32(20, SECTOR, true); // blk_size
    c.setUint32(36, this.maxDiscardSectors, true);
    c.setUint32(40, this.maxDiscardSeg, true);
    c.setUint32(44, 1, true); // discard_sector_alignment
    c.setUint32(48, this.maxDiscardSectors, true); // max_write_zeroes_sectors
    c.setUint32(52, this.maxDiscardSeg, true); // max_write_zeroes_seg
    c.setUint8(56, 1); // write_zeroes_may_unmap: WRITE_ZEROES with UNMAP may punch a hole
    if (opts.serial !== undefined) {
      const b = new TextEncoder().encode(opts.serial);
      this.serial.set(b.subarray(0, VIRTIO_BLK_ID_BYTES));
    }
  }

  readConfig(offset: number, size: number): number {
    return this.config.read(offset, size);
  }
  writeConfig(): void {
    // Only `writeback` is writable, and only with CONFIG_WCE, which we do not offer.
  }

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
    this.negotiated = ctx.features;
  }

  reset(): void {
    this.ctx = undefined;
    this.negotiated = 0n;
  }

  close(): void {
    this.backend.close();
  }

  queueNotify(q: number): void {
    const ctx = this.ctx;
    if (ctx === undefined || q !== 0) return;
    const queue = ctx.queues[0]!;
    let done = 0;
    const io = this.async;
    guard(ctx, () => {
      if (io === undefined) {
        while (queue.pop(this.chain)) {
          const written = this.handle(ctx, this.chain, -1);
          queue.push(this.chain.head, written);
          done++;
        }
        return;
      }
      this.completedSinceSignal = 0;
      for (let round = 0; round < 64; round++) {
        this.stalled = false;
        let submitted = 0;
        this.submittedBytes = 0;
        for (;;) {
          const slot = io.acquire();
          if (slot === undefined) {
            this.stalled = queue.pending() > 0;
            break;
          }
          const chain = (this.slotChains[slot] ??= new DescChain());
          let popped = false;
          try {
            popped = queue.pop(chain);
          } finally {
            if (!popped) io.release(slot);
          }
          if (!popped) break;
          let written: number;
          try {
            written = this.handle(ctx, chain, slot);
          } catch (e) {
            io.release(slot);
            throw e;
          }
          if (written >= 0) {
            io.release(slot);
            queue.push(chain.head, written);
            done++;
          } else submitted++;
        }
        if (submitted === 0 || this.pollUs <= 0) break;
        // Give the worker a short, bounded time: page-cache hits complete within it and the
        // guest sees them at once (no idle/wake-up round trip); slower I/O completes later.
        io.waitCompletions(this.pollUs + this.submittedBytes / 1000);
        this.submittedBytes = 0;
        const before = this.completedSinceSignal;
        io.poll();
        if (!this.stalled || this.completedSinceSignal === before) break;
      }
      done += this.completedSinceSignal;
      this.completedSinceSignal = 0;
    });
    if (done > 0) ctx.signalUsed(0);
  }

  /** True when the I/O worker has finished requests that pollCompletions() has not collected yet. */
  hasCompletions(): boolean {
    return this.async !== undefined && this.async.hasCompletions();
  }

  /** Collect finished worker I/O (machine thread; the host link calls this from EngineHost.poll). */
  pollCompletions(): void {
    const io = this.async;
    if (io === undefined) return;
    this.completedSinceSignal = 0;
    io.poll();
    const ctx = this.ctx;
    if (ctx === undefined) return;
    if (this.completedSinceSignal > 0) ctx.signalUsed(0);
    if (this.stalled) this.queueNotify(0);
  }

  /** Submit to the I/O worker; the completion writes the status, pushes the used entry. Returns -1 (pending). */
  private submit(ctx: VirtioDeviceContext, chain: DescChain, slot: number, op: number, pos: number, len: number, dataIn: number): number {
    const io = this.async!;
    if (op === OP_READ || op === OP_WRITE) this.submittedBytes += len;
    io.submit(slot, op, pos, len, (ok) => {
      if (this.ctx !== ctx) return; // the device was reset meanwhile: drop it
      guard(ctx, () => {
        let written = 0;
        if (ok && op === OP_READ) {
          chain.write(ctx.memory, 0, io.staging(slot, len));
          written = len;
          this.stats.readBytes += len;
        } else if (ok && op === OP_WRITE) this.stats.writeBytes += len;
        else if (ok && op === OP_FLUSH) this.stats.flushes++;
        if (!ok) this.stats.errors++;
        this.status[0] = ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
        chain.write(ctx.memory, dataIn, this.status);
        ctx.queues[0]!.push(chain.head, written + 1);
        this.completedSinceSignal++;
      });
    });
    return -1;
  }

  /** Handle one request; returns the bytes written into the chain (used.len), or -1 when it went to the I/O worker (slot >= 0). */
  private handle(ctx: VirtioDeviceContext, chain: DescChain, slot: number): number {
    const mem = ctx.memory;
    this.stats.requests++;
    if (chain.readBytes < 16 || chain.writeBytes < 1) {
      throw new VirtqueueError(`virtio-blk: request without header or status byte (${chain.readBytes} readable, ${chain.writeBytes} writable)`);
    }
    chain.read(mem, 0, this.hdr);
    const type = this.hdrView.getUint32(0, true);
    const sectorLo = this.hdrView.getUint32(8, true);
    const sectorHi = this.hdrView.getUint32(12, true);
    // Sectors beyond 2^53/512 cannot be on any disk: make them an out-of-range sector.
    const sector = sectorHi >= 0x200000 / SECTOR ? Number.MAX_SAFE_INTEGER : sectorHi * 4294967296 + sectorLo;
    const dataIn = chain.writeBytes - 1;
    let status = VIRTIO_BLK_S_OK;
    let written = 0;
    const io = this.async;
    if (io !== undefined && slot >= 0) {
      // Reads and writes the host page cache can serve at once complete here, zero-copy
      // (no hand-off to the worker and back); everything else that touches the file goes to
      // the worker when it fits a slot.
      if (type === VIRTIO_BLK_T_IN && this.inRange(sector, dataIn)) {
        if (this.inlineIo(mem, chain, false, sector * SECTOR, dataIn)) return this.inlineDone(mem, chain, dataIn, dataIn);
        if (dataIn <= io.slotBytes) return this.submit(ctx, chain, slot, OP_READ, sector * SECTOR, dataIn, dataIn);
      }
      const outLen = chain.readBytes - 16;
      if (type === VIRTIO_BLK_T_OUT && !this.backend.readOnly && this.inRange(sector, outLen)) {
        if (this.inlineIo(mem, chain, true, sector * SECTOR, outLen)) return this.inlineDone(mem, chain, dataIn, 0);
        if (outLen <= io.slotBytes) {
          chain.read(mem, 16, io.staging(slot, outLen));
          return this.submit(ctx, chain, slot, OP_WRITE, sector * SECTOR, outLen, dataIn);
        }
      }
      if (type === VIRTIO_BLK_T_FLUSH && (this.negotiated & VIRTIO_BLK_F_FLUSH) !== 0n) {
        return this.submit(ctx, chain, slot, OP_FLUSH, 0, 0, dataIn);
      }
      if (type === VIRTIO_BLK_T_WRITE_ZEROES || type === VIRTIO_BLK_T_DISCARD) {
        let st = this.parseRanges(ctx, chain, type);
        // One range (the validated, parsed values): the worker discards or writes zeros.
        if (st === VIRTIO_BLK_S_OK && this.nRanges === 1 && !this.rangeUnmap[0]) {
          const op = type === VIRTIO_BLK_T_DISCARD ? OP_DISCARD : OP_ZEROES;
          return this.submit(ctx, chain, slot, op, this.rangePos[0]!, this.rangeLen[0]!, dataIn);
        }
        // Several ranges, or WRITE_ZEROES+UNMAP (the worker op has no flags): here; hole punching is cheap.
        if (st === VIRTIO_BLK_S_OK) st = this.runRanges(type);
        if (st !== VIRTIO_BLK_S_OK) this.stats.errors++;
        this.status[0] = st;
        chain.write(mem, dataIn, this.status);
        return 1;
      }
    }
    try {
      switch (type) {
        case VIRTIO_BLK_T_IN:
          status = this.doIn(ctx, chain, sector, dataIn);
          if (status === VIRTIO_BLK_S_OK) written = dataIn;
          break;
        case VIRTIO_BLK_T_OUT:
          status = this.doOut(ctx, chain, sector);
          break;
        case VIRTIO_BLK_T_FLUSH:
          if ((this.negotiated & VIRTIO_BLK_F_FLUSH) === 0n) status = VIRTIO_BLK_S_UNSUPP;
          else {
            this.backend.flush();
            this.stats.flushes++;
          }
          break;
        case VIRTIO_BLK_T_GET_ID: {
          const n = Math.min(VIRTIO_BLK_ID_BYTES, dataIn);
          chain.write(mem, 0, this.serial.subarray(0, n));
          written = n;
          break;
        }
        case VIRTIO_BLK_T_DISCARD:
        case VIRTIO_BLK_T_WRITE_ZEROES:
          status = this.parseRanges(ctx, chain, type);
          if (status === VIRTIO_BLK_S_OK) status = this.runRanges(type);
          break;
        default:
          status = VIRTIO_BLK_S_UNSUPP;
      }
    } catch (e) {
      if (!(e instanceof BlockIoError)) throw e;
      status = VIRTIO_BLK_S_IOERR;
      written = 0;
    }
    if (status !== VIRTIO_BLK_S_OK) this.stats.errors++;
    this.status[0] = status;
    chain.write(mem, dataIn, this.status);
    return written + 1;
  }

  /**
   * Try a request's data transfer as one non-blocking vectored syscall between
   * the image and guest memory (BlockBackend.readNowait/writeNowait: page-cache
   * hits only). The data segments come from the validated chain (an OUT's after
   * its 16-byte header, an IN's writable ones up to `len`, leaving the status
   * byte); they must all lie in one memory region. False: do it another way.
   */
  private inlineIo(mem: GuestMemory, chain: DescChain, out: boolean, pos: number, len: number): boolean {
    const be = this.backend;
    if (!this.inlineOn || len === 0 || (out ? be.writeNowait === undefined : be.readNowait === undefined)) return false;
    const segs = this.segs;
    let buffer: ArrayBuffer | undefined;
    let n = 0;
    let left = len;
    let skip = out ? 16 : 0;
    const first = out ? 0 : chain.nRead;
    const end = out ? chain.nRead : chain.nRead + chain.nWrite;
    for (let i = first; i < end && left > 0; i++) {
      let a = chain.addr[i]!;
      let l = chain.len[i]!;
      if (skip > 0) {
        const s = Math.min(skip, l);
        a += s;
        l -= s;
        skip -= s;
        if (l === 0) continue;
      }
      const take = Math.min(l, left);
      const r = mem.find(a, take);
      if (r === undefined) return false;
      if (buffer === undefined) buffer = r.buffer;
      else if (r.buffer !== buffer) return false;
      const off = a - r.gpa;
      if (n > 0 && segs[2 * n - 2]! + segs[2 * n - 1]! === off) segs[2 * n - 1]! += take;
      else {
        if (n === SEGS_MAX) return false;
        segs[2 * n] = off;
        segs[2 * n + 1] = take;
        n++;
      }
      left -= take;
    }
    if (left !== 0 || buffer === undefined) return false;
    return out ? be.writeNowait!(buffer, segs, n, pos, len) : be.readNowait!(buffer, segs, n, pos, len);
  }

  /** Status OK after an inline transfer of `bytes` (read: `written` = bytes put in the chain). */
  private inlineDone(mem: GuestMemory, chain: DescChain, dataIn: number, written: number): number {
    if (written > 0) {
      this.stats.readBytes += written;
      this.inline.reads++;
    } else {
      this.stats.writeBytes += chain.readBytes - 16;
      this.inline.writes++;
    }
    this.status[0] = VIRTIO_BLK_S_OK;
    chain.write(mem, dataIn, this.status);
    return written + 1;
  }

  private inRange(sector: number, bytes: number): boolean {
    return bytes % SECTOR === 0 && sector <= this.capacity && bytes / SECTOR <= this.capacity - sector;
  }

  private doIn(ctx: VirtioDeviceContext, chain: DescChain, sector: number, len: number): number {
    if (!this.inRange(sector, len)) return VIRTIO_BLK_S_IOERR;
    const mem = ctx.memory;
    if (this.inlineIo(mem, chain, false, sector * SECTOR, len)) {
      this.stats.readBytes += len;
      this.inline.reads++;
      return VIRTIO_BLK_S_OK;
    }
    let pos = sector * SECTOR;
    let left = len;
    const end = chain.nRead + chain.nWrite;
    for (let i = chain.nRead; i < end && left > 0; i++) {
      const n = Math.min(chain.len[i]!, left);
      this.backend.read(mem.slice(chain.addr[i]!, n), pos);
      pos += n;
      left -= n;
    }
    this.stats.readBytes += len;
    return VIRTIO_BLK_S_OK;
  }

  private doOut(ctx: VirtioDeviceContext, chain: DescChain, sector: number): number {
    const len = chain.readBytes - 16;
    if (this.backend.readOnly) return VIRTIO_BLK_S_IOERR;
    if (!this.inRange(sector, len)) return VIRTIO_BLK_S_IOERR;
    const mem = ctx.memory;
    let pos = sector * SECTOR;
    let skip = 16;
    for (let i = 0; i < chain.nRead; i++) {
      let a = chain.addr[i]!;
      let l = chain.len[i]!;
      if (skip > 0) {
        const s = Math.min(skip, l);
        a += s;
        l -= s;
        skip -= s;
      }
      if (l === 0) continue;
      this.backend.write(mem.slice(a, l), pos);
      pos += l;
    }
    this.stats.writeBytes += len;
    return VIRTIO_BLK_S_OK;
  }

  /**
   * Read and validate the segments of a DISCARD / WRITE_ZEROES request into
   * rangePos/rangeLen/rangeUnmap (each read from guest memory once, so the
   * guest cannot change a range after it was checked). Every range must lie
   * inside the disk. Returns the status (OK: nRanges ranges ready).
   */
  private parseRanges(ctx: VirtioDeviceContext, chain: DescChain, type: number): number {
    this.nRanges = 0;
    if (this.backend.readOnly) return VIRTIO_BLK_S_IOERR;
    const feature = type === VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
    if ((this.negotiated & feature) === 0n) return VIRTIO_BLK_S_UNSUPP;
    const payload = chain.readBytes - 16;
    if (payload === 0 || payload % 16 !== 0) return VIRTIO_BLK_S_IOERR;
    const n = payload / 16;
    if (n > this.maxDiscardSeg) return VIRTIO_BLK_S_IOERR;
    for (let i = 0; i < n; i++) {
      chain.read(ctx.memory, 16 + 16 * i, this.seg);
      const lo = this.segView.getUint32(0, true);
      const hi = this.segView.getUint32(4, true);
      const num = this.segView.getUint32(8, true);
      const flags = this.segView.getUint32(12, true);
      const sector = hi >= 0x200000 / SECTOR ? Number.MAX_SAFE_INTEGER : hi * 4294967296 + lo;
      if (num > this.maxDiscardSectors || !this.inRange(sector, num * SECTOR)) return VIRTIO_BLK_S_IOERR;
      if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) !== 0) return VIRTIO_BLK_S_UNSUPP;
      if (type === VIRTIO_BLK_T_DISCARD && flags !== 0) return VIRTIO_BLK_S_UNSUPP;
      this.rangePos[i] = sector * SECTOR;
      this.rangeLen[i] = num * SECTOR;
      this.rangeUnmap[i] = flags !== 0;
    }
    this.nRanges = n;
    return VIRTIO_BLK_S_OK;
  }

  /** Act on the ranges parseRanges() accepted, on this thread. */
  private runRanges(type: number): number {
    try {
      for (let i = 0; i < this.nRanges; i++) {
        if (type === VIRTIO_BLK_T_DISCARD) this.backend.discard(this.rangePos[i]!, this.rangeLen[i]!);
        else this.backend.writeZeroes(this.rangePos[i]!, this.rangeLen[i]!, this.rangeUnmap[i]);
      }
    } catch (e) {
      if (!(e instanceof BlockIoError)) throw e;
      return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
  }
}
