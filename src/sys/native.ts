/**
 * Loader and types for the tsvisor_sys N-API addon (native/tsvisor.c).
 *
 * The addon wraps single syscalls only; everything else is TypeScript. Every
 * failing call throws an Error with `.code` (errno name, e.g. 'EINTR') and
 * `.errno` (number): use `isErrno(e, 'EINTR')` to test for one.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A buffer argument: its data pointer is what the syscall receives. */
export type BufferArg = ArrayBuffer | ArrayBufferView;

export interface NativeSys {
  open(path: string, flags: number): number;
  close(fd: number): void;
  /** ioctl(fd, request, arg): a number/bigint arg is passed by value, a buffer by pointer. Returns the int result. */
  ioctl(fd: number, request: number, arg?: number | bigint | BufferArg): number;
  /** KVM_RUN on a vCPU fd: returns 0 or -errno (never throws: EINTR is routine). */
  kvmRun(vcpuFd: number): number;
  /** The returned ArrayBuffer views the mapping; the mapping is released by munmap(buffer) or when the buffer is collected. */
  mmap(len: number, prot: number, flags: number, fd: number, offset: number): { buffer: ArrayBuffer; addr: bigint };
  /** Detaches `buffer` (all views become empty) then unmaps it. */
  munmap(buffer: ArrayBuffer): void;
  madvise(buffer: BufferArg, offset: number, length: number, advice: number): void;
  eventfd(initval: number, flags: number): number;
  /** Reads and resets the counter; 0n when a non-blocking eventfd is empty. */
  eventfdRead(fd: number): bigint;
  eventfdWrite(fd: number, value: number | bigint): void;
  gettid(): number;
  tgkill(tid: number, sig: number): void;
  /** No-op handler without SA_RESTART (so a blocked KVM_RUN gets EINTR); unblocks the signal on the calling thread. */
  installKickSignal(signo: number): void;
  /** Block the signal on the calling thread. */
  blockSignal(signo: number): void;
  /** Take a pending blocked signal off the calling thread without waiting; true when one was pending. */
  consumeSignal(signo: number): boolean;
  /** A POSIX timer sending `signo` to thread `tid` every intervalMs; returns its handle. */
  startKickTimer(tid: number, signo: number, intervalMs: number): bigint;
  stopKickTimer(handle: bigint): void;
  /** Host address of a buffer's first byte. Only stable for off-heap buffers (mmap'd or >= 64 bytes). */
  addressOf(view: BufferArg): bigint;
  /** read(2) into view[offset, offset+length): bytes read, or -errno (never throws for I/O errors). */
  readFd(fd: number, view: ArrayBufferView, offset: number, length: number): number;
  /** write(2) from view[offset, offset+length): bytes written, or -errno. */
  writeFd(fd: number, view: ArrayBufferView, offset: number, length: number): number;
  /** poll(2) on 1..31 fds for `events`: bitmask of fds with revents, 0 on timeout, -errno on failure. */
  pollFds(fds: Int32Array, events: number, timeoutMs: number): number;
  /** setns(2) for the calling thread only. */
  setns(fd: number, nstype: number): void;
  /** fallocate(2), e.g. FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE to deallocate a range (reads of it then return zeros). */
  fallocate(fd: number, mode: number, offset: number, length: number): void;
  /**
   * preadv2(2) into segments of one buffer: `segs` holds [offset, length] pairs (byte offsets
   * inside `buffer`), `count` of them (1..1024); `flags` e.g. RWF_NOWAIT. Bytes read, or -errno.
   */
  preadv(fd: number, buffer: BufferArg, segs: Float64Array, count: number, pos: number, flags: number): number;
  /** pwritev2(2) from segments of one buffer (as preadv). Bytes written, or -errno. */
  pwritev(fd: number, buffer: BufferArg, segs: Float64Array, count: number, pos: number, flags: number): number;
}

export interface SysError extends Error {
  code: string;
  errno: number;
}

export function isErrno(e: unknown, code: string): e is SysError {
  return e instanceof Error && (e as Partial<SysError>).code === code;
}

/** Where the addon is relative to this file: src/sys (tsx) or dist/src/sys (compiled). */
function findAddon(): string {
  const candidates = ['../../build/Release/tsvisor_sys.node', '../../../build/Release/tsvisor_sys.node'];
  for (const rel of candidates) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('tsvisor_sys.node not built: run `npm run install` (node-gyp rebuild) in the package root');
}

let loaded: NativeSys | undefined;

/** The addon, loaded on first use (so modules that merely import this file work without it). */
export function sys(): NativeSys {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    loaded = require(findAddon()) as NativeSys;
  }
  return loaded;
}

/** Linux constants used with the addon (x86-64 / generic values). */
export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MADV_DONTNEED = 4;
export const MADV_DONTFORK = 10;
export const MADV_HUGEPAGE = 14;
export const EFD_NONBLOCK = 0o4000;
export const SIGUSR2 = 12;
export const EINTR = 4;
export const EAGAIN = 11;
export const O_NONBLOCK = 0o4000;
export const POLLIN = 1;
export const POLLOUT = 4;
export const CLONE_NEWNET = 0x40000000;
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const EOPNOTSUPP = 95;
/** preadv2/pwritev2 flag: only what needs no waiting (page-cache hits), else -EAGAIN. */
export const RWF_NOWAIT = 0x08;
/** The signal tsvisor uses to kick a thread out of KVM_RUN (SIGUSR1 belongs to Node's inspector). */
export const KICK_SIGNAL = SIGUSR2;
