/**
 * A single-producer single-consumer byte ring in a SharedArrayBuffer, used to
 * move console bytes between the main thread and the machine thread without
 * either of them waiting for the other's event loop (the machine thread is
 * usually blocked running guest code).
 *
 * Layout: Int32Array header [head, tail, seq] then `capacity` data bytes.
 * head = total bytes written, tail = total bytes read (both mod 2^31, the
 * capacity is a power of two so the difference stays correct). seq is bumped
 * and notified on every write so a reader can Atomics.wait/waitAsync on it.
 */

const HEAD = 0;
const TAIL = 1;
const SEQ = 2;
const HEADER_BYTES = 16;

export class ByteRing {
  readonly sab: SharedArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;

  constructor(capacityOrSab: number | SharedArrayBuffer) {
    if (typeof capacityOrSab === 'number') {
      const cap = capacityOrSab;
      if (cap < 16 || (cap & (cap - 1)) !== 0) throw new RangeError('ring capacity must be a power of two');
      this.sab = new SharedArrayBuffer(HEADER_BYTES + cap);
    } else {
      this.sab = capacityOrSab;
    }
    this.ctl = new Int32Array(this.sab, 0, 4);
    this.data = new Uint8Array(this.sab, HEADER_BYTES);
    this.mask = this.data.length - 1;
  }

  get capacity(): number {
    return this.data.length;
  }

  /** Bytes waiting to be read. */
  available(): number {
    return (Atomics.load(this.ctl, HEAD) - Atomics.load(this.ctl, TAIL)) & 0x7fffffff;
  }

  /** Current sequence number (changes on every write). */
  seq(): number {
    return Atomics.load(this.ctl, SEQ);
  }

  /** Write as many bytes as fit; returns the count written. */
  write(bytes: Uint8Array): number {
    const head = Atomics.load(this.ctl, HEAD);
    const tail = Atomics.load(this.ctl, TAIL);
    const free = this.data.length - ((head - tail) & 0x7fffffff);
    const n = Math.min(free, bytes.length);
    for (let i = 0; i < n; i++) this.data[(head + i) & this.mask] = bytes[i]!;
    Atomics.store(this.ctl, HEAD, (head + n) & 0x7fffffff);
    if (n > 0) {
      Atomics.add(this.ctl, SEQ, 1);
      Atomics.notify(this.ctl, SEQ);
    }
    return n;
  }

  /** Look at up to `max` waiting bytes without consuming them. */
  peek(max = Infinity): Uint8Array {
    const head = Atomics.load(this.ctl, HEAD);
    const tail = Atomics.load(this.ctl, TAIL);
    const n = Math.min((head - tail) & 0x7fffffff, max);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.data[(tail + i) & this.mask]!;
    return out;
  }

  /** Consume `n` bytes (after peek). */
  consume(n: number): void {
    const tail = Atomics.load(this.ctl, TAIL);
    Atomics.store(this.ctl, TAIL, (tail + n) & 0x7fffffff);
  }

  read(max = Infinity): Uint8Array {
    const b = this.peek(max);
    this.consume(b.length);
    return b;
  }

  /** Block (worker threads only) until seq differs from `seen` or the timeout passes. */
  waitForWrite(seen: number, timeoutMs: number): void {
    Atomics.wait(this.ctl, SEQ, seen, timeoutMs);
  }

  /** Promise that settles when seq differs from `seen` (main thread). */
  async waitForWriteAsync(seen: number, timeoutMs?: number): Promise<void> {
    const r = Atomics.waitAsync(this.ctl, SEQ, seen, timeoutMs);
    if (r.async) await r.value;
  }

  /** Wake anyone waiting on this ring without writing (used for control events). */
  bump(): void {
    Atomics.add(this.ctl, SEQ, 1);
    Atomics.notify(this.ctl, SEQ);
  }
}
