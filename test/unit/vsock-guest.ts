/** A fake guest vsock driver for unit tests: builds packets into the TX ring and parses RX buffers. */
import { FakeDriver } from './virtio-net-driver.js';
import { VirtioVsock, VSOCK_HDR_LEN, VSOCK_HOST_CID, VSOCK_TYPE_STREAM } from '../../src/virtio/vsock.js';
import { VIRTIO_F_VERSION_1 } from '../../src/virtio/device.js';
import type { VsockBackend } from '../../src/virtio/vsock.js';

export const GUEST_CID = 3;

export interface Pkt {
  srcCid: number;
  dstCid: number;
  srcPort: number;
  dstPort: number;
  len: number;
  type: number;
  op: number;
  flags: number;
  bufAlloc: number;
  fwdCnt: number;
  data: Uint8Array;
}

export function encode(p: Partial<Pkt> & { op: number }): Uint8Array {
  const data = p.data ?? new Uint8Array(0);
  const b = new Uint8Array(VSOCK_HDR_LEN + data.length);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(p.srcCid ?? GUEST_CID), true);
  v.setBigUint64(8, BigInt(p.dstCid ?? VSOCK_HOST_CID), true);
  v.setUint32(16, p.srcPort ?? 0, true);
  v.setUint32(20, p.dstPort ?? 0, true);
  v.setUint32(24, p.len ?? data.length, true);
  v.setUint16(28, p.type ?? VSOCK_TYPE_STREAM, true);
  v.setUint16(30, p.op, true);
  v.setUint32(32, p.flags ?? 0, true);
  v.setUint32(36, p.bufAlloc ?? 65536, true);
  v.setUint32(40, p.fwdCnt ?? 0, true);
  b.set(data, VSOCK_HDR_LEN);
  return b;
}

export function decode(b: Uint8Array): Pkt {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const len = v.getUint32(24, true);
  return {
    srcCid: Number(v.getBigUint64(0, true)),
    dstCid: Number(v.getBigUint64(8, true)),
    srcPort: v.getUint32(16, true),
    dstPort: v.getUint32(20, true),
    len,
    type: v.getUint16(28, true),
    op: v.getUint16(30, true),
    flags: v.getUint32(32, true),
    bufAlloc: v.getUint32(36, true),
    fwdCnt: v.getUint32(40, true),
    data: b.slice(VSOCK_HDR_LEN, VSOCK_HDR_LEN + len),
  };
}

export class FakeVsockGuest {
  readonly dev: VirtioVsock;
  readonly drv: FakeDriver;
  private rxBufs = new Map<number, number>();
  readonly received: Pkt[] = [];

  constructor(backend: VsockBackend, rxBuffers = 32, rxSize = 4096 + VSOCK_HDR_LEN) {
    this.dev = new VirtioVsock({ guestCid: GUEST_CID, backend });
    this.drv = new FakeDriver(this.dev, VIRTIO_F_VERSION_1, { ramBytes: 32 << 20 });
    this.drv.activate();
    this.rxSize = rxSize;
    this.postRx(rxBuffers);
  }
  private rxSize: number;

  postRx(n: number): void {
    for (let i = 0; i < n; i++) {
      const a = this.drv.alloc(this.rxSize);
      this.rxBufs.set(this.drv.rings[0]!.add([{ addr: a, len: this.rxSize, write: true }]), a);
    }
  }

  send(p: Partial<Pkt> & { op: number }): void {
    const b = encode(p);
    const a = this.drv.alloc(b.length);
    this.drv.mem.writeBytes(a, b);
    this.drv.rings[1]!.add([{ addr: a, len: b.length, write: false }]);
    this.dev.queueNotify(1);
    this.drv.rings[1]!.takeUsed();
  }

  /** Collect packets the device put in RX buffers (re-posting as many buffers). */
  collect(): Pkt[] {
    const out: Pkt[] = [];
    for (const u of this.drv.rings[0]!.takeUsed()) {
      const a = this.rxBufs.get(u.id)!;
      this.rxBufs.delete(u.id);
      if (u.len >= VSOCK_HDR_LEN) out.push(decode(this.drv.mem.readBytes(a, u.len)));
    }
    if (out.length > 0) {
      this.postRx(out.length);
      this.dev.queueNotify(0);
    }
    this.received.push(...out);
    return out;
  }
}
