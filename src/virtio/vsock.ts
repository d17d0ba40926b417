/**
 * virtio-vsock (virtio 1.2 §5.10), stream sockets only, between the guest
 * (CID `guestCid`) and the host (CID 2). Queues: 0 rx (device -> guest),
 * 1 tx (guest -> device), 2 event.
 *
 * The device speaks the vsock packet protocol with the guest; host-side
 * connections are a VsockBackend's business (unix-vsock.ts maps them to Unix
 * sockets with Firecracker's conventions). Between the two, connections are
 * identified by a number: ids >= 0x8000_0000 are created by the device
 * (guest-initiated), the others by the backend (host-initiated).
 *
 * Flow control (§5.10.6.3): every packet to the guest carries our buf_alloc
 * and fwd_cnt (bytes the host socket has really taken, from
 * backend `written` reports), so a guest can never have more than buf_alloc
 * bytes buffered in the VMM per connection. Host data for the guest waits
 * here until the guest's credit (peer buf_alloc - (tx_cnt - peer fwd_cnt)) and
 * RX buffers allow; the backend is told what was delivered (`consumed`) so it
 * stops reading a socket whose data the guest does not take.
 *
 * Hostile guest: packet headers are validated (type, CIDs, op, lengths); a
 * packet for an unknown connection is answered with RST; a guest that sends
 * more than its credit is reset. Ring/descriptor errors put the device in
 * DEVICE_NEEDS_RESET.
 */
import { ConfigSpace, guardQuiet, VIRTIO_ID_VSOCK, type VirtioDevice, type VirtioDeviceContext } from './device.js';
import { DescChain } from './queue.js';

export const VSOCK_HOST_CID = 2;
export const VSOCK_HDR_LEN = 44;
export const VSOCK_TYPE_STREAM = 1;

export const OP_INVALID = 0;
export const OP_REQUEST = 1;
export const OP_RESPONSE = 2;
export const OP_RST = 3;
export const OP_SHUTDOWN = 4;
export const OP_RW = 5;
export const OP_CREDIT_UPDATE = 6;
export const OP_CREDIT_REQUEST = 7;

export const SHUTDOWN_RCV = 1;
export const SHUTDOWN_SEND = 2;

export const VSOCK_EVENT_TRANSPORT_RESET = 0;

export const VSOCK_RX_QUEUE = 0;
export const VSOCK_TX_QUEUE = 1;
export const VSOCK_EVENT_QUEUE = 2;

/** Largest payload we accept from / give to the guest in one packet. */
export const VSOCK_MAX_PKT = 64 * 1024;
/** Our receive buffer per connection (what the guest may have in flight to the host). */
export const VSOCK_BUF_ALLOC = 256 * 1024;
/** Connections per device at most (a guest flooding REQUESTs gets RST): with buf_alloc this bounds what the VMM buffers for the guest (256 x 256 KiB). */
export const VSOCK_MAX_CONNS = 256;
/** First id the device assigns (guest-initiated connections). */
export const DEVICE_ID_BASE = 0x8000_0000;

/** What the device calls on its backend (machine thread). */
export interface VsockBackend {
  listener: VsockBackendListener | undefined;
  /** Guest connects to host port `port`: answer with listener.connectResult(id, ok). */
  guestConnect(id: number, port: number): void;
  /** Guest accepted host-initiated connection `id`; hostPort is the host-side port it sees. */
  accept(id: number, hostPort: number): void;
  /** Guest data for the host socket (copy it). Report progress with listener.written(). */
  send(id: number, data: Uint8Array): void;
  /** The guest will send no more (SHUTDOWN with SEND): half-close the host socket. */
  shutdown(id: number): void;
  /** The connection is gone (RST, full shutdown, guest refused, device reset). */
  close(id: number): void;
  /** `n` bytes of host data for `id` were delivered into the guest. */
  consumed(id: number, n: number): void;
  pending(): boolean;
  poll(): void;
  dispose(): void;
}

/** What a backend reports to the device (from its poll()). */
export interface VsockBackendListener {
  /** A host program wants guest port `port` (id chosen by the backend, < DEVICE_ID_BASE). */
  hostConnect(id: number, port: number): void;
  connectResult(id: number, ok: boolean): void;
  /** Host bytes for the guest. */
  data(id: number, bytes: Uint8Array): void;
  /** Host side sent EOF. */
  hostShutdown(id: number): void;
  /** Host side is gone. */
  hostClose(id: number): void;
  /** `n` more bytes of guest data reached the host socket. */
  written(id: number, n: number): void;
}

type ConnState = 'host-connecting' | 'guest-connecting' | 'established' | 'closed';

interface Conn {
  id: number;
  /** Port on the host (CID 2) side. */
  hostPort: number;
  /** Port on the guest side. */
  guestPort: number;
  state: ConnState;
  /** Guest's credit info. */
  peerBufAlloc: number;
  peerFwdCnt: number;
  /** Bytes we sent to the guest (RW payload). */
  txCnt: number;
  /** Bytes the guest sent us (RW payload). */
  rxCnt: number;
  /** Bytes the host socket has taken (our fwd_cnt). */
  fwdCnt: number;
  /** fwd_cnt last told to the guest. */
  fwdCntSent: number;
  /** Host data waiting for credit / RX buffers. */
  out: Uint8Array[];
  outBytes: number;
  /** The host sent EOF; send SHUTDOWN once `out` is drained. */
  hostEof: boolean;
  /** The host socket is gone: after the drain, a full SHUTDOWN. */
  hostGone: boolean;
  /** The guest said it sends no more. */
  guestEof: boolean;
  creditUpdate: boolean;
}

interface Ctl {
  op: number;
  srcPort: number;
  dstPort: number;
  flags: number;
  conn: Conn | undefined;
}

function key(guestPort: number, hostPort: number): string {
  return `${guestPort}:${hostPort}`;
}

export class VirtioVsock implements VirtioDevice, VsockBackendListener {
  readonly name = 'virtio-vsock';
  readonly deviceType = VIRTIO_ID_VSOCK;
  readonly features = 0n;
  readonly queueSizes = [128, 128, 16] as const;
  readonly configSize = 8;
  readonly guestCid: number;
  readonly backend: VsockBackend;
  private readonly config = new ConfigSpace(8);
  private ctx: VirtioDeviceContext | undefined;
  private broken = false;
  private readonly conns = new Map<number, Conn>();
  private readonly byKey = new Map<string, Conn>();
  /** Control packets for the guest, in order. */
  private ctl: Ctl[] = [];
  /** Connections with data to send. */
  private readonly ready = new Set<Conn>();
  private nextId = DEVICE_ID_BASE;
  private nextHostPort = 1 << 30;
  private readonly chain = new DescChain();
  private readonly hdr = new Uint8Array(VSOCK_HDR_LEN);
  private readonly hv = new DataView(this.hdr.buffer);
  private readonly pkt = new Uint8Array(VSOCK_HDR_LEN + VSOCK_MAX_PKT);
  /** Separate RX chain/buffer: a backend may call back into the device while a TX packet is handled. */
  private readonly rxChain = new DescChain();
  private readonly rxPkt = new Uint8Array(VSOCK_HDR_LEN + VSOCK_MAX_PKT);
  readonly stats = { rxPackets: 0, txPackets: 0, resets: 0, badPackets: 0 };

  constructor(opts: { guestCid: number; backend: VsockBackend }) {
    if (!Number.isSafeInteger(opts.guestCid) || opts.guestCid < 3 || opts.guestCid > 0xffff_fffe) throw new RangeError(`guest CID ${opts.guestCid} must be 3..2^32-2`);
    this.guestCid = opts.guestCid;
    this.backend = opts.backend;
    this.backend.listener = this;
    this.config.view.setUint32(0, opts.guestCid, true);
    this.config.view.setUint32(4, 0, true);
  }

  readConfig(offset: number, size: number): number {
    return this.config.read(offset, size);
  }
  writeConfig(): void {}

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
    this.broken = false;
    this.run(() => {
      this.processTx();
      this.processRx();
    });
  }

  reset(): void {
    this.ctx = undefined;
    this.broken = false;
    this.dropAll();
  }

  close(): void {
    this.ctx = undefined;
    this.dropAll();
    this.backend.dispose();
  }

  private dropAll(): void {
    for (const c of this.conns.values()) this.backend.close(c.id);
    this.conns.clear();
    this.byKey.clear();
    this.ctl = [];
    this.ready.clear();
  }

  /** Connections open now (tests, stats). */
  get connectionCount(): number {
    return this.conns.size;
  }

  queueNotify(q: number): void {
    if (q === VSOCK_TX_QUEUE) this.run(() => this.processTx());
    else if (q === VSOCK_RX_QUEUE) this.run(() => this.processRx());
    // The event queue only holds buffers for TRANSPORT_RESET events; nothing to do.
  }

  private run(fn: () => void): void {
    const ctx = this.ctx;
    if (ctx === undefined || this.broken) return;
    guardQuiet(ctx, 'virtio-vsock', fn, () => (this.broken = true));
  }

  // ---- guest -> device ----

  private processTx(): void {
    const ctx = this.ctx!;
    const q = ctx.queues[VSOCK_TX_QUEUE];
    if (q === undefined || !q.ready) return;
    const chain = this.chain;
    let done = 0;
    try {
      while (q.pop(chain)) {
        const total = Math.min(chain.readBytes, this.pkt.length);
        const n = chain.read(ctx.memory, 0, this.pkt.subarray(0, total));
        q.push(chain.head, 0);
        done++;
        this.stats.txPackets++;
        if (n < VSOCK_HDR_LEN) {
          this.stats.badPackets++;
          continue;
        }
        this.handlePacket(this.pkt.subarray(0, n));
      }
    } finally {
      if (done > 0) ctx.signalUsed(VSOCK_TX_QUEUE);
    }
    this.processRx();
  }

  private handlePacket(p: Uint8Array): void {
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const srcCid = v.getBigUint64(0, true);
    const dstCid = v.getBigUint64(8, true);
    const srcPort = v.getUint32(16, true);
    const dstPort = v.getUint32(20, true);
    const len = v.getUint32(24, true);
    const type = v.getUint16(28, true);
    const op = v.getUint16(30, true);
    const flags = v.getUint32(32, true);
    const bufAlloc = v.getUint32(36, true);
    const fwdCnt = v.getUint32(40, true);
    if (srcCid !== BigInt(this.guestCid) || dstCid !== BigInt(VSOCK_HOST_CID) || type !== VSOCK_TYPE_STREAM) {
      // Wrong addressing: answer with RST unless it is one.
      this.stats.badPackets++;
      if (op !== OP_RST && type === VSOCK_TYPE_STREAM) this.queueCtl({ op: OP_RST, srcPort: dstPort, dstPort: srcPort, flags: 0, conn: undefined });
      return;
    }
    const payload = p.subarray(VSOCK_HDR_LEN, VSOCK_HDR_LEN + Math.min(len, p.length - VSOCK_HDR_LEN));
    const c = this.byKey.get(key(srcPort, dstPort));
    if (c !== undefined) {
      c.peerBufAlloc = bufAlloc;
      c.peerFwdCnt = fwdCnt;
      if (c.outBytes > 0 || c.hostEof) this.ready.add(c);
    }
    switch (op) {
      case OP_REQUEST: {
        if (c !== undefined) {
          // A second REQUEST on a live connection: reset it.
          this.resetConn(c, true);
          return;
        }
        if (this.conns.size >= VSOCK_MAX_CONNS) {
          this.queueCtl({ op: OP_RST, srcPort: dstPort, dstPort: srcPort, flags: 0, conn: undefined });
          return;
        }
        const id = this.allocId();
        const n = this.newConn(id, dstPort, srcPort, 'guest-connecting');
        n.peerBufAlloc = bufAlloc;
        n.peerFwdCnt = fwdCnt;
        this.backend.guestConnect(id, dstPort);
        return;
      }
      case OP_RESPONSE:
        if (c === undefined || c.state !== 'host-connecting') return this.rstUnknown(srcPort, dstPort, c);
        c.state = 'established';
        if (c.outBytes > 0 || c.hostEof) this.ready.add(c);
        this.backend.accept(c.id, c.hostPort);
        return;
      case OP_RW: {
        if (c === undefined || c.state !== 'established') return this.rstUnknown(srcPort, dstPort, c);
        if (c.guestEof) return this.resetConn(c, true);
        if (payload.length === 0) return;
        c.rxCnt = (c.rxCnt + payload.length) >>> 0;
        // The guest may not exceed the credit we gave: buf_alloc beyond what the host took.
        if (((c.rxCnt - c.fwdCnt) >>> 0) > VSOCK_BUF_ALLOC) {
          this.stats.badPackets++;
          return this.resetConn(c, true);
        }
        this.backend.send(c.id, payload);
        return;
      }
      case OP_CREDIT_UPDATE:
        if (c === undefined) return this.rstUnknown(srcPort, dstPort, c);
        return;
      case OP_CREDIT_REQUEST:
        if (c === undefined) return this.rstUnknown(srcPort, dstPort, c);
        this.queueCtl({ op: OP_CREDIT_UPDATE, srcPort: c.hostPort, dstPort: c.guestPort, flags: 0, conn: c });
        return;
      case OP_SHUTDOWN:
        if (c === undefined) return this.rstUnknown(srcPort, dstPort, c);
        if (flags & SHUTDOWN_SEND && !c.guestEof) {
          c.guestEof = true;
          this.backend.shutdown(c.id);
        }
        if ((flags & (SHUTDOWN_SEND | SHUTDOWN_RCV)) === (SHUTDOWN_SEND | SHUTDOWN_RCV)) {
          // Full shutdown: we complete the close with RST (§5.10.6.6).
          this.resetConn(c, true);
        }
        return;
      case OP_RST:
        if (c !== undefined) this.resetConn(c, false);
        return;
      default:
        this.stats.badPackets++;
        if (c !== undefined) this.resetConn(c, true);
        else this.rstUnknown(srcPort, dstPort, c);
    }
  }

  private rstUnknown(guestPort: number, hostPort: number, c: Conn | undefined): void {
    if (c !== undefined) {
      this.resetConn(c, true);
      return;
    }
    this.queueCtl({ op: OP_RST, srcPort: hostPort, dstPort: guestPort, flags: 0, conn: undefined });
  }

  private allocId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = this.nextId >= 0xffff_fffe ? DEVICE_ID_BASE : this.nextId + 1;
      if (!this.conns.has(id)) return id;
    }
  }

  private newConn(id: number, hostPort: number, guestPort: number, state: ConnState): Conn {
    const c: Conn = {
      id,
      hostPort,
      guestPort,
      state,
      peerBufAlloc: 0,
      peerFwdCnt: 0,
      txCnt: 0,
      rxCnt: 0,
      fwdCnt: 0,
      fwdCntSent: 0,
      out: [],
      outBytes: 0,
      hostEof: false,
      hostGone: false,
      guestEof: false,
      creditUpdate: false,
    };
    this.conns.set(id, c);
    this.byKey.set(key(guestPort, hostPort), c);
    return c;
  }

  /** Forget a connection; `sendRst` tells the guest. */
  private resetConn(c: Conn, sendRst: boolean): void {
    if (c.state === 'closed') return;
    c.state = 'closed';
    this.conns.delete(c.id);
    this.byKey.delete(key(c.guestPort, c.hostPort));
    this.ready.delete(c);
    this.backend.close(c.id);
    this.stats.resets++;
    if (sendRst) this.queueCtl({ op: OP_RST, srcPort: c.hostPort, dstPort: c.guestPort, flags: 0, conn: undefined });
  }

  private queueCtl(ctl: Ctl): void {
    // Bound the control queue: a guest flooding bogus packets while giving no RX buffers cannot grow it forever.
    if (this.ctl.length >= 4096) return;
    this.ctl.push(ctl);
  }

  // ---- backend -> device ----

  hostConnect(id: number, port: number): void {
    if (this.ctx === undefined || this.conns.has(id) || this.conns.size >= VSOCK_MAX_CONNS) {
      this.backend.close(id);
      return;
    }
    let hostPort = this.nextHostPort;
    while (this.byKey.has(key(port, hostPort))) hostPort = hostPort >= 0xffff_fffe ? 1 << 30 : hostPort + 1;
    this.nextHostPort = hostPort >= 0xffff_fffe ? 1 << 30 : hostPort + 1;
    const c = this.newConn(id, hostPort, port, 'host-connecting');
    this.queueCtl({ op: OP_REQUEST, srcPort: c.hostPort, dstPort: c.guestPort, flags: 0, conn: c });
    this.run(() => this.processRx());
  }

  connectResult(id: number, ok: boolean): void {
    const c = this.conns.get(id);
    if (c === undefined || c.state !== 'guest-connecting') {
      if (ok) this.backend.close(id);
      return;
    }
    if (ok) {
      c.state = 'established';
      if (c.outBytes > 0 || c.hostEof) this.ready.add(c);
      this.queueCtl({ op: OP_RESPONSE, srcPort: c.hostPort, dstPort: c.guestPort, flags: 0, conn: c });
    } else {
      this.resetConn(c, true);
    }
    this.run(() => this.processRx());
  }

  data(id: number, bytes: Uint8Array): void {
    const c = this.conns.get(id);
    if (c === undefined || c.state === 'closed' || bytes.length === 0) return;
    c.out.push(bytes);
    c.outBytes += bytes.length;
    this.ready.add(c);
    this.run(() => this.processRx());
  }

  hostShutdown(id: number): void {
    const c = this.conns.get(id);
    if (c === undefined) return;
    c.hostEof = true;
    this.ready.add(c);
    this.run(() => this.processRx());
  }

  hostClose(id: number): void {
    const c = this.conns.get(id);
    if (c === undefined) return;
    if (c.outBytes > 0 && c.state === 'established') {
      // Let the guest have what the host sent before it went away.
      c.hostEof = true;
      c.hostGone = true;
      this.ready.add(c);
    } else {
      this.resetConn(c, true);
    }
    this.run(() => this.processRx());
  }

  written(id: number, n: number): void {
    const c = this.conns.get(id);
    if (c === undefined) return;
    c.fwdCnt = (c.fwdCnt + n) >>> 0;
    // Tell the guest about freed credit once a quarter of the buffer was taken.
    if (((c.fwdCnt - c.fwdCntSent) >>> 0) >= VSOCK_BUF_ALLOC / 4 && !c.creditUpdate) {
      c.creditUpdate = true;
      this.queueCtl({ op: OP_CREDIT_UPDATE, srcPort: c.hostPort, dstPort: c.guestPort, flags: 0, conn: c });
      this.run(() => this.processRx());
    }
  }

  // ---- device -> guest ----

  private writeHdr(srcPort: number, dstPort: number, len: number, op: number, flags: number, c: Conn | undefined): void {
    const v = this.hv;
    v.setBigUint64(0, BigInt(VSOCK_HOST_CID), true);
    v.setBigUint64(8, BigInt(this.guestCid), true);
    v.setUint32(16, srcPort, true);
    v.setUint32(20, dstPort, true);
    v.setUint32(24, len, true);
    v.setUint16(28, VSOCK_TYPE_STREAM, true);
    v.setUint16(30, op, true);
    v.setUint32(32, flags, true);
    v.setUint32(36, c ? VSOCK_BUF_ALLOC : 0, true);
    v.setUint32(40, c ? c.fwdCnt : 0, true);
    if (c) {
      c.fwdCntSent = c.fwdCnt;
      c.creditUpdate = false;
    }
  }

  private processRx(): void {
    const ctx = this.ctx;
    if (ctx === undefined || this.broken) return;
    const q = ctx.queues[VSOCK_RX_QUEUE];
    if (q === undefined || !q.ready) return;
    const mem = ctx.memory;
    const chain = this.rxChain;
    let used = 0;
    try {
      for (;;) {
        const ctl = this.ctl[0];
        let conn: Conn | undefined;
        let take = 0;
        if (ctl === undefined) {
          // Data (or a pending EOF) for some connection with credit.
          for (const c of this.ready) {
            if (c.state !== 'established') {
              this.ready.delete(c);
              continue;
            }
            const credit = c.peerBufAlloc - ((c.txCnt - c.peerFwdCnt) >>> 0);
            if (c.outBytes > 0 && credit > 0) {
              conn = c;
              take = Math.min(credit, c.outBytes, VSOCK_MAX_PKT);
              break;
            }
            if (c.outBytes === 0) {
              this.ready.delete(c);
              if (c.hostEof) {
                c.hostEof = false;
                const flags = c.hostGone ? SHUTDOWN_SEND | SHUTDOWN_RCV : SHUTDOWN_SEND;
                this.queueCtl({ op: OP_SHUTDOWN, srcPort: c.hostPort, dstPort: c.guestPort, flags, conn: c });
              }
            }
          }
          if (conn === undefined && this.ctl.length === 0) break;
          if (conn === undefined) continue;
        }
        if (!q.pop(chain)) break;
        if (chain.writeBytes < VSOCK_HDR_LEN) {
          q.push(chain.head, 0);
          used++;
          continue;
        }
        if (ctl !== undefined) {
          this.ctl.shift();
          const c = ctl.conn !== undefined && ctl.conn.state !== 'closed' ? ctl.conn : undefined;
          if (ctl.conn !== undefined && c === undefined && ctl.op !== OP_RST) {
            // The connection died after this packet was queued.
            q.push(chain.head, 0);
            used++;
            continue;
          }
          this.writeHdr(ctl.srcPort, ctl.dstPort, 0, ctl.op, ctl.flags, c);
          chain.write(mem, 0, this.hdr);
          q.push(chain.head, VSOCK_HDR_LEN);
        } else {
          const c = conn!;
          take = Math.min(take, chain.writeBytes - VSOCK_HDR_LEN);
          const body = this.rxPkt.subarray(VSOCK_HDR_LEN, VSOCK_HDR_LEN + take);
          let got = 0;
          while (got < take) {
            const b = c.out[0]!;
            const n = Math.min(b.length, take - got);
            body.set(b.subarray(0, n), got);
            got += n;
            if (n === b.length) c.out.shift();
            else c.out[0] = b.subarray(n);
          }
          c.outBytes -= take;
          c.txCnt = (c.txCnt + take) >>> 0;
          this.writeHdr(c.hostPort, c.guestPort, take, OP_RW, 0, c);
          this.rxPkt.set(this.hdr, 0);
          chain.write(mem, 0, this.rxPkt.subarray(0, VSOCK_HDR_LEN + take));
          q.push(chain.head, VSOCK_HDR_LEN + take);
          this.backend.consumed(c.id, take);
        }
        used++;
        this.stats.rxPackets++;
      }
    } finally {
      if (used > 0) ctx.signalUsed(VSOCK_RX_QUEUE);
    }
  }
}
