/**
 * Block backend on a raw image file.
 *
 * I/O is positional (pread/pwrite semantics through fs.readSync/writeSync),
 * issued from the machine thread. It reads straight into / writes straight
 * from guest memory (zero copy) unless O_DIRECT is asked for: then every
 * transfer bounces through a page-aligned anonymous mapping, because O_DIRECT
 * needs aligned buffers, offsets and lengths (virtio-blk requests are
 * 512-byte multiples; when the host file system refuses them with EINVAL the
 * transfer is retried on a second, buffered descriptor so the guest never
 * sees the difference).
 *
 * readNowait()/writeNowait() are the vectored, zero-copy fast path the
 * device may try on the machine thread: preadv2/pwritev2 with RWF_NOWAIT move
 * data only when the host page cache has it (no waiting on a disk), else
 * they report failure and the request goes the usual way.
 *
 * flush() is fdatasync(2): data is on stable storage when it returns.
 * discard() deallocates the range with fallocate(2) PUNCH_HOLE|KEEP_SIZE
 * (the native addon's wrapper; Node has none), after which it reads as zeros.
 * When the host file system cannot punch holes (EOPNOTSUPP) discard() does
 * nothing: a discard is only a hint, and virtio-blk never promises that
 * discarded sectors read as zeros. writeZeroes() writes zeros, or with
 * `unmap` punches a hole (falling back to writing zeros when it cannot).
 */
import { closeSync, constants, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { EOPNOTSUPP, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, RWF_NOWAIT, isErrno, sys } from '../sys/native.js';

const EINVAL = 22;
const ENOSYS = 38;

export class BlockIoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockIoError';
  }
}

export interface BlockBackend {
  /** Bytes; the device exposes floor(size / 512) sectors. */
  readonly size: number;
  readonly readOnly: boolean;
  /** Read dst.length bytes at pos (bytes past the end of the file read as zeros). Throws BlockIoError. */
  read(dst: Uint8Array, pos: number): void;
  write(src: Uint8Array, pos: number): void;
  flush(): void;
  /** A hint: deallocate the range if the host can (afterwards it may read as zeros or as old data). */
  discard(pos: number, len: number): void;
  /** The range reads as zeros afterwards; with `unmap` the backend may deallocate it. */
  writeZeroes(pos: number, len: number, unmap?: boolean): void;
  /**
   * Move `len` bytes at `pos` into (read) / out of (write) segments of `buffer`
   * (`count` [offset, length] pairs in `segs`, at most SEGS_MAX) in one syscall,
   * but only when that needs no waiting (preadv2/pwritev2 RWF_NOWAIT: host
   * page-cache hits). True when all of it moved; false when it would block, was
   * short, or the host cannot (then nothing is promised about the segments or,
   * for a write, the file range: do the request another way). Never throws for I/O.
   */
  readNowait?(buffer: ArrayBuffer, segs: Float64Array, count: number, pos: number, len: number): boolean;
  writeNowait?(buffer: ArrayBuffer, segs: Float64Array, count: number, pos: number, len: number): boolean;
  close(): void;
}

/** Most segments readNowait/writeNowait take (the native addon's iovec limit). */
export const SEGS_MAX = 1024;

export interface BlockFileOptions {
  readOnly?: boolean;
  /** Open with O_DIRECT (bypass the host page cache). */
  direct?: boolean;
}

const BOUNCE = 1 << 20;
const ZEROES = new Uint8Array(BOUNCE);

function ioError(what: string, path: string, e: unknown): BlockIoError {
  return new BlockIoError(`${what} ${path}: ${e instanceof Error ? e.message : String(e)}`);
}

export class BlockFile implements BlockBackend {
  readonly size: number;
  readonly readOnly: boolean;
  readonly direct: boolean;
  private fd: number;
  /** Buffered descriptor for transfers O_DIRECT refuses. */
  private fallbackFd = -1;
  private bounce: Uint8Array | undefined;
  private closed = false;
  /** fallocate(PUNCH_HOLE) failed with EOPNOTSUPP once: the file system cannot punch holes, do not ask again. */
  private noPunch = false;
  /** RWF_NOWAIT reads / writes were refused (EOPNOTSUPP/EINVAL/ENOSYS) once: do not ask again. */
  private noNowaitRead = false;
  private noNowaitWrite = false;

  constructor(
    readonly path: string,
    opts: BlockFileOptions = {},
  ) {
    this.readOnly = opts.readOnly === true;
    this.direct = opts.direct === true;
    const base = this.readOnly ? constants.O_RDONLY : constants.O_RDWR;
    this.fd = openSync(path, base | (this.direct ? constants.O_DIRECT : 0));
    try {
      const st = fstatSync(this.fd);
      if (!st.isFile() && !st.isBlockDevice()) throw new BlockIoError(`${path} is not a regular file or block device`);
      this.size = st.size;
      if (this.direct) {
        this.fallbackFd = openSync(path, base);
        const m = sys().mmap(BOUNCE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        this.bounce = new Uint8Array(m.buffer);
      }
    } catch (e) {
      closeSync(this.fd);
      if (this.fallbackFd >= 0) closeSync(this.fallbackFd);
      throw e;
    }
  }

  private check(pos: number, len: number): void {
    if (this.closed) throw new BlockIoError(`${this.path} is closed`);
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0 || pos + len > this.size) {
      throw new BlockIoError(`${this.path}: access at ${pos} (+${len}) is past the end (${this.size})`);
    }
  }

  private preadFull(fd: number, dst: Uint8Array, pos: number): void {
    let off = 0;
    while (off < dst.length) {
      const n = readSync(fd, dst, off, dst.length - off, pos + off);
      if (n <= 0) {
        dst.fill(0, off);
        return;
      }
      off += n;
    }
  }

  private pwriteFull(fd: number, src: Uint8Array, pos: number): void {
    let off = 0;
    while (off < src.length) {
      const n = writeSync(fd, src, off, src.length - off, pos + off);
      if (n <= 0) throw new BlockIoError(`${this.path}: short write at ${pos + off}`);
      off += n;
    }
  }

  private directOk(pos: number, len: number): boolean {
    return (pos & 511) === 0 && (len & 511) === 0;
  }

  read(dst: Uint8Array, pos: number): void {
    this.check(pos, dst.length);
    try {
      if (!this.bounce) return this.preadFull(this.fd, dst, pos);
      for (let off = 0; off < dst.length; off += BOUNCE) {
        const n = Math.min(BOUNCE, dst.length - off);
        const b = this.bounce.subarray(0, n);
        this.directIo(() => this.preadFull(this.fd, b, pos + off), () => this.preadFull(this.fallbackFd, b, pos + off), pos + off, n);
        dst.set(b, off);
      }
    } catch (e) {
      throw e instanceof BlockIoError ? e : ioError('read', this.path, e);
    }
  }

  write(src: Uint8Array, pos: number): void {
    if (this.readOnly) throw new BlockIoError(`${this.path} is read-only`);
    this.check(pos, src.length);
    try {
      if (!this.bounce) return this.pwriteFull(this.fd, src, pos);
      for (let off = 0; off < src.length; off += BOUNCE) {
        const n = Math.min(BOUNCE, src.length - off);
        const b = this.bounce.subarray(0, n);
        b.set(src.subarray(off, off + n));
        this.directIo(() => this.pwriteFull(this.fd, b, pos + off), () => this.pwriteFull(this.fallbackFd, b, pos + off), pos + off, n);
      }
    } catch (e) {
      throw e instanceof BlockIoError ? e : ioError('write', this.path, e);
    }
  }

  readNowait(buffer: ArrayBuffer, segs: Float64Array, count: number, pos: number, len: number): boolean {
    if (this.noNowaitRead || this.direct || this.closed || count < 1 || count > SEGS_MAX || pos < 0 || len <= 0 || pos + len > this.size) return false;
    const n = sys().preadv(this.fd, buffer, segs, count, pos, RWF_NOWAIT);
    if (n === len) return true;
    if (n === -EOPNOTSUPP || n === -EINVAL || n === -ENOSYS) this.noNowaitRead = true;
    return false;
  }

  writeNowait(buffer: ArrayBuffer, segs: Float64Array, count: number, pos: number, len: number): boolean {
    if (this.noNowaitWrite || this.readOnly || this.direct || this.closed || count < 1 || count > SEGS_MAX || pos < 0 || len <= 0 || pos + len > this.size) return false;
    const n = sys().pwritev(this.fd, buffer, segs, count, pos, RWF_NOWAIT);
    if (n === len) return true;
    if (n === -EOPNOTSUPP || n === -EINVAL || n === -ENOSYS) this.noNowaitWrite = true;
    // A short write left part of the range written: the caller writes all of it again, the same data.
    return false;
  }

  private directIo(direct: () => void, buffered: () => void, pos: number, len: number): void {
    if (!this.directOk(pos, len)) return buffered();
    try {
      direct();
    } catch (e) {
      if ((e as { code?: string }).code === 'EINVAL') buffered();
      else throw e;
    }
  }

  flush(): void {
    if (this.closed) throw new BlockIoError(`${this.path} is closed`);
    if (this.readOnly) return;
    try {
      fdatasyncSync(this.fd);
      if (this.fallbackFd >= 0) fdatasyncSync(this.fallbackFd);
    } catch (e) {
      throw ioError('flush', this.path, e);
    }
  }

  /**
   * fallocate(PUNCH_HOLE | KEEP_SIZE) over [pos, pos+len), which must be inside
   * the image (checked by the caller). Afterwards the range reads as zeros.
   * False when the file system (or block device) cannot punch holes.
   */
  private punchHole(pos: number, len: number): boolean {
    if (len === 0) return true;
    if (this.noPunch) return false;
    for (;;) {
      try {
        sys().fallocate(this.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pos, len);
        return true;
      } catch (e) {
        if (isErrno(e, 'EINTR')) continue;
        if (isErrno(e, 'EOPNOTSUPP') || isErrno(e, 'ENOSYS')) {
          this.noPunch = true;
          return false;
        }
        throw ioError('punch hole', this.path, e);
      }
    }
  }

  discard(pos: number, len: number): void {
    if (this.readOnly) throw new BlockIoError(`${this.path} is read-only`);
    this.check(pos, len);
    // Not supported: nothing to do (a discard is a hint and virtio-blk has no "discard zeroes data").
    this.punchHole(pos, len);
  }

  writeZeroes(pos: number, len: number, unmap = false): void {
    if (this.readOnly) throw new BlockIoError(`${this.path} is read-only`);
    this.check(pos, len);
    if (unmap && this.punchHole(pos, len)) return;
    try {
      const fd = this.fallbackFd >= 0 ? this.fallbackFd : this.fd;
      for (let off = 0; off < len; off += BOUNCE) this.pwriteFull(fd, ZEROES.subarray(0, Math.min(BOUNCE, len - off)), pos + off);
    } catch (e) {
      throw e instanceof BlockIoError ? e : ioError('write zeroes', this.path, e);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    if (this.fallbackFd >= 0) closeSync(this.fallbackFd);
    if (this.bounce) {
      try {
        sys().munmap(this.bounce.buffer as ArrayBuffer);
      } catch {
        // collected with the buffer anyway
      }
      this.bounce = undefined;
    }
  }
}
