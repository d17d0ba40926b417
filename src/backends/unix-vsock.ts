/**
 * UnixVsockBackend: host side of virtio-vsock on Unix sockets, with
 * Firecracker's conventions:
 *  - host -> guest: a host program connects to the VM's socket `path`, writes
 *    `CONNECT <port>\n`, and gets `OK <hostport>\n` once the guest accepted
 *    (the connection is closed if the guest refuses); after that the socket is
 *    a byte stream to the guest's AF_VSOCK socket;
 *  - guest -> host: a guest connection to CID 2 port P is connected to the
 *    Unix socket `<path>_<P>`, which a host program listens on.
 *
 * The sockets live in a worker thread with its own event loop
 * (unix-vsock-worker.ts). Messages cross in two FrameRings; the worker wakes
 * the machine thread with a WakeTarget, the machine thread's ring commits
 * notify the worker (Atomics.waitAsync). Nothing here blocks the machine thread.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../sys/worker.js';
import { FrameRing } from './net-ring.js';
import type { WakeTarget } from './net.js';
import type { VsockBackend, VsockBackendListener } from '../virtio/vsock.js';

/** Message types, machine -> worker. */
export const M_GUEST_CONNECT = 1;
export const M_ACCEPT = 2;
export const M_SEND = 3;
export const M_SHUTDOWN = 4;
export const M_CLOSE = 5;
export const M_CONSUMED = 6;
export const M_STOP = 7;
/** Message types, worker -> machine. */
export const W_HOST_CONNECT = 11;
export const W_CONNECT_RESULT = 12;
export const W_DATA = 13;
export const W_HOST_SHUTDOWN = 14;
export const W_HOST_CLOSE = 15;
export const W_WRITTEN = 16;
export const W_LISTENING = 17;
export const W_ERROR = 18;

export const MSG_HDR = 12;

export interface UnixVsockWorkerData {
  path: string;
  toWorker: SharedArrayBuffer;
  fromWorker: SharedArrayBuffer;
  wake: WakeTarget;
}

export function encodeMsg(ring: FrameRing, type: number, id: number, arg: number, payload?: Uint8Array): boolean {
  const len = MSG_HDR + (payload?.length ?? 0);
  const v = ring.reserve(len);
  if (v === undefined) return false;
  const dv = new DataView(v.buffer, v.byteOffset, MSG_HDR);
  dv.setUint32(0, type, true);
  dv.setUint32(4, id >>> 0, true);
  dv.setUint32(8, arg >>> 0, true);
  if (payload) v.set(payload, MSG_HDR);
  ring.commit(len);
  return true;
}

export class UnixVsockBackend implements VsockBackend {
  listener: VsockBackendListener | undefined;
  readonly path: string;
  private readonly toWorker: FrameRing;
  private readonly fromWorker: FrameRing;
  private readonly worker: Worker;
  private overflow: Array<{ type: number; id: number; arg: number; payload?: Uint8Array }> = [];
  private disposed = false;
  /** Set once the worker listens on `path` (or failed to). */
  listening = false;
  error: string | undefined;

  constructor(opts: { path: string; wake?: WakeTarget; ringBytes?: number }) {
    if (opts.path.length > 100) throw new Error(`vsock socket path is too long for a Unix socket: ${opts.path}`);
    this.path = opts.path;
    this.toWorker = new FrameRing(opts.ringBytes ?? 4 << 20);
    this.fromWorker = new FrameRing(opts.ringBytes ?? 4 << 20);
    const wake = opts.wake ?? { sab: new SharedArrayBuffer(4), index: 0 };
    const data: UnixVsockWorkerData = { path: opts.path, toWorker: this.toWorker.sab, fromWorker: this.fromWorker.sab, wake };
    this.worker = startWorker('./unix-vsock-worker.js', import.meta.url, { workerData: data });
    this.worker.on('error', (e) => console.error(`tsvisor: vsock worker for ${opts.path} failed: ${e.message}`));
    this.worker.unref();
  }

  private post(type: number, id: number, arg: number, payload?: Uint8Array): void {
    if (this.disposed) return;
    if (this.overflow.length === 0 && encodeMsg(this.toWorker, type, id, arg, payload)) return;
    this.overflow.push({ type, id, arg, payload: payload?.slice() });
  }

  private flushOverflow(): void {
    while (this.overflow.length > 0) {
      const m = this.overflow[0]!;
      if (!encodeMsg(this.toWorker, m.type, m.id, m.arg, m.payload)) return;
      this.overflow.shift();
    }
  }

  guestConnect(id: number, port: number): void {
    this.post(M_GUEST_CONNECT, id, port);
  }
  accept(id: number, hostPort: number): void {
    this.post(M_ACCEPT, id, hostPort);
  }
  send(id: number, data: Uint8Array): void {
    // Split so every message fits the ring comfortably.
    for (let off = 0; off < data.length; off += 65536) this.post(M_SEND, id, 0, data.subarray(off, off + 65536));
  }
  shutdown(id: number): void {
    this.post(M_SHUTDOWN, id, 0);
  }
  close(id: number): void {
    this.post(M_CLOSE, id, 0);
  }
  consumed(id: number, n: number): void {
    this.post(M_CONSUMED, id, n);
  }

  pending(): boolean {
    return !this.fromWorker.isEmpty() || this.overflow.length > 0;
  }

  poll(): void {
    this.flushOverflow();
    const l = this.listener;
    // Bounded per poll so a chatty host cannot starve the guest.
    for (let i = 0; i < 1024; i++) {
      const m = this.fromWorker.peek();
      if (m === undefined) break;
      const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
      const type = dv.getUint32(0, true);
      const id = dv.getUint32(4, true);
      const arg = dv.getUint32(8, true);
      const payload = type === W_DATA || type === W_ERROR ? m.slice(MSG_HDR) : undefined;
      this.fromWorker.pop();
      switch (type) {
        case W_HOST_CONNECT:
          l?.hostConnect(id, arg);
          break;
        case W_CONNECT_RESULT:
          l?.connectResult(id, arg !== 0);
          break;
        case W_DATA:
          l?.data(id, payload!);
          break;
        case W_HOST_SHUTDOWN:
          l?.hostShutdown(id);
          break;
        case W_HOST_CLOSE:
          l?.hostClose(id);
          break;
        case W_WRITTEN:
          l?.written(id, arg);
          break;
        case W_LISTENING:
          this.listening = true;
          break;
        case W_ERROR:
          this.error = new TextDecoder().decode(payload);
          console.error(`tsvisor: vsock ${this.path}: ${this.error}`);
          break;
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.flushOverflow();
    encodeMsg(this.toWorker, M_STOP, 0, 0);
    this.disposed = true;
    setTimeout(() => void this.worker.terminate(), 2000).unref();
  }
}
