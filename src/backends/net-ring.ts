/**
 * FrameRing: a single-producer single-consumer ring of variable-length frames
 * in a SharedArrayBuffer, so a backend worker thread and the machine thread
 * can hand packets to each other without either waiting for the other.
 *
 * Layout: Int32 header [HEAD, TAIL, PUSH_SEQ, POP_SEQ, FLAGS...] (32 bytes),
 * then `capacity` data bytes (a power of two). A record is a u32 length
 * followed by the payload, padded to 4 bytes; a record never wraps: when it
 * does not fit before the end, the producer writes a WRAP marker and starts
 * again at offset 0. HEAD/TAIL are free-running byte counters (mod 2^30).
 *
 * The producer can reserve() a contiguous view, fill it (e.g. read(2) from a
 * tap straight into shared memory) and commit() the real length.
 */

const HEAD = 0;
const TAIL = 1;
/** Bumped + notified on every commit / pop: waiters Atomics.wait on them. */
export const PUSH_SEQ = 2;
export const POP_SEQ = 3;
/** Free words for the users of a ring (flags). */
export const USER0 = 4;
export const USER1 = 5;
export const USER2 = 6;
const HEADER_BYTES = 32;
const WRAP = 0xffffffff;
const MOD = 0x3fffffff;

function pad4(n: number): number {
  return (n + 3) & ~3;
}

export class FrameRing {
  readonly sab: SharedArrayBuffer;
  readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  private readonly dv: DataView;
  readonly capacity: number;
  private reservedAt = -1;
  private reservedLen = 0;

  constructor(capacityOrSab: number | SharedArrayBuffer) {
    if (typeof capacityOrSab === 'number') {
      const cap = capacityOrSab;
      if (cap < 1024 || cap > 1 << 28 || (cap & (cap - 1)) !== 0) throw new RangeError('frame ring capacity must be a power of two in [1 KiB, 256 MiB]');
      this.sab = new SharedArrayBuffer(HEADER_BYTES + cap);
    } else {
      this.sab = capacityOrSab;
    }
    this.ctl = new Int32Array(this.sab, 0, HEADER_BYTES / 4);
    this.data = new Uint8Array(this.sab, HEADER_BYTES);
    this.dv = new DataView(this.sab, HEADER_BYTES);
    this.capacity = this.data.length;
  }

  /** Bytes in use (records, padding and wrap gaps). */
  used(): number {
    return (Atomics.load(this.ctl, HEAD) - Atomics.load(this.ctl, TAIL)) & MOD;
  }

  isEmpty(): boolean {
    return Atomics.load(this.ctl, HEAD) === Atomics.load(this.ctl, TAIL);
  }

  /** Largest payload a record may have (a record must fit in half the ring, so a wrap gap never starves it). */
  get maxFrame(): number {
    return this.capacity / 2 - 8;
  }

  /**
   * Producer: a contiguous writable view of `len` bytes, or undefined when the
   * ring has no room now. At most one reservation is open at a time.
   */
  reserve(len: number): Uint8Array | undefined {
    if (!Number.isInteger(len) || len < 0 || len > this.maxFrame) throw new RangeError(`frame of ${len} bytes does not fit the ring`);
    const head = Atomics.load(this.ctl, HEAD);
    const free = this.capacity - this.used();
    const pos = head & (this.capacity - 1);
    const need = 4 + pad4(len);
    let gap = 0;
    if (pos + need > this.capacity) gap = this.capacity - pos;
    if (gap + need > free) return undefined;
    if (gap > 0) {
      this.dv.setUint32(pos, WRAP, true);
      Atomics.store(this.ctl, HEAD, (head + gap) & MOD);
    }
    const at = gap > 0 ? 0 : pos;
    this.reservedAt = at;
    this.reservedLen = len;
    return this.data.subarray(at + 4, at + 4 + len);
  }

  /** Producer: publish the reserved record with its real length (<= the reserved length). */
  commit(len: number): void {
    if (this.reservedAt < 0) throw new Error('commit without reserve');
    if (!Number.isInteger(len) || len < 0 || len > this.reservedLen) throw new RangeError('commit length exceeds the reservation');
    this.dv.setUint32(this.reservedAt, len, true);
    const head = Atomics.load(this.ctl, HEAD);
    Atomics.store(this.ctl, HEAD, (head + 4 + pad4(len)) & MOD);
    this.reservedAt = -1;
    Atomics.add(this.ctl, PUSH_SEQ, 1);
    Atomics.notify(this.ctl, PUSH_SEQ);
  }

  /** Producer: copy a whole frame in; false when there is no room. */
  push(frame: Uint8Array): boolean {
    const v = this.reserve(frame.length);
    if (v === undefined) return false;
    v.set(frame);
    this.commit(frame.length);
    return true;
  }

  /** Consumer: a view of the oldest record (valid until pop()), or undefined when empty. */
  peek(): Uint8Array | undefined {
    for (;;) {
      const tail = Atomics.load(this.ctl, TAIL);
      if (tail === Atomics.load(this.ctl, HEAD)) return undefined;
      const pos = tail & (this.capacity - 1);
      const len = this.dv.getUint32(pos, true);
      if (len === WRAP) {
        Atomics.store(this.ctl, TAIL, (tail + this.capacity - pos) & MOD);
        continue;
      }
      return this.data.subarray(pos + 4, pos + 4 + len);
    }
  }

  /** Consumer: drop the record peek() returned. */
  pop(): void {
    const tail = Atomics.load(this.ctl, TAIL);
    if (tail === Atomics.load(this.ctl, HEAD)) return;
    const pos = tail & (this.capacity - 1);
    const len = this.dv.getUint32(pos, true);
    const step = len === WRAP ? this.capacity - pos : 4 + pad4(len);
    Atomics.store(this.ctl, TAIL, (tail + step) & MOD);
    Atomics.add(this.ctl, POP_SEQ, 1);
    Atomics.notify(this.ctl, POP_SEQ);
  }
}
