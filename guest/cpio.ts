/**
 * cpio "newc" (SVR4, no CRC) archives: the format the Linux kernel unpacks
 * from an initramfs. Written by hand so the guest build needs no cpio binary.
 *
 * Layout per entry: a 110-byte ASCII header ("070701" + 13 fields of 8 hex
 * digits), the NUL-terminated name padded so header+name is a multiple of 4,
 * then the data padded to a multiple of 4. The archive ends with an entry
 * named "TRAILER!!!".
 */

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

const MAGIC = '070701';
const HEADER_LEN = 110;
export const TRAILER = 'TRAILER!!!';

export interface CpioEntry {
  /** Path inside the archive, without a leading "/" (the kernel accepts both; GNU cpio prefers none). */
  name: string;
  /** Full st_mode: file type bits | permission bits. */
  mode: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch; default 0 so archives are reproducible. */
  mtime?: number;
  nlink?: number;
  /** Contents for regular files; the link target (as bytes) for symlinks. */
  data?: Uint8Array;
  /** Device number for character/block nodes. */
  rdevMajor?: number;
  rdevMinor?: number;
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

/** Encode entries (in order: parents before children) plus the trailer. */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (e: CpioEntry, inode: number): void => {
    const name = Buffer.from(e.name + '\0', 'utf8');
    const data = e.data ? Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength) : Buffer.alloc(0);
    const isDir = (e.mode & S_IFMT) === S_IFDIR;
    const fields = [
      inode,
      e.mode,
      e.uid ?? 0,
      e.gid ?? 0,
      e.nlink ?? (isDir ? 2 : 1),
      e.mtime ?? 0,
      data.length,
      0, // devmajor
      0, // devminor
      e.rdevMajor ?? 0,
      e.rdevMinor ?? 0,
      name.length,
      0, // check: only used by the "070702" CRC format
    ];
    const header = Buffer.from(MAGIC + fields.map(hex8).join(''), 'ascii');
    parts.push(header, name, Buffer.alloc(pad4(HEADER_LEN + name.length)));
    if (data.length) parts.push(data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) {
    if (e.name === TRAILER) throw new Error('entry name collides with the cpio trailer');
    push(e, ino++);
  }
  push({ name: TRAILER, mode: 0, nlink: 1 }, 0);
  return Buffer.concat(parts);
}

export interface ParsedCpioEntry extends Required<Omit<CpioEntry, 'data'>> {
  ino: number;
  data: Buffer;
  /** Byte offset of the header in the archive (tests check alignment). */
  offset: number;
}

/** Decode a newc archive (uncompressed); stops at the trailer, which is not returned. */
export function parseCpio(buf: Buffer): ParsedCpioEntry[] {
  const out: ParsedCpioEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + HEADER_LEN > buf.length) throw new Error(`cpio truncated at ${off}`);
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== MAGIC) throw new Error(`bad cpio magic ${JSON.stringify(magic)} at ${off}`);
    const f = (i: number): number => {
      const s = buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8);
      if (!/^[0-9a-fA-F]{8}$/.test(s)) throw new Error(`bad cpio field ${i} at ${off}: ${s}`);
      return parseInt(s, 16);
    };
    const namesize = f(11);
    const filesize = f(6);
    const nameStart = off + HEADER_LEN;
    const name = buf.toString('utf8', nameStart, nameStart + namesize - 1);
    if (buf[nameStart + namesize - 1] !== 0) throw new Error(`cpio name not NUL-terminated at ${off}`);
    const dataStart = nameStart + namesize + pad4(HEADER_LEN + namesize);
    if (name === TRAILER) return out;
    out.push({
      offset: off,
      ino: f(0),
      mode: f(1),
      uid: f(2),
      gid: f(3),
      nlink: f(4),
      mtime: f(5),
      rdevMajor: f(9),
      rdevMinor: f(10),
      name,
      data: buf.subarray(dataStart, dataStart + filesize),
    });
    off = dataStart + filesize + pad4(filesize);
  }
}
