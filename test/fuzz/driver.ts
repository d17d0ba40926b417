/**
 * A tiny virtio driver for tests and the fuzzer: lays out split virtqueues in
 * heap guest memory and talks to a VirtioMmio transport through its
 * registers, like Linux's virtio_mmio + virtio_ring would.
 */
import { RecordingIrq } from '../../src/devices/device.js';
import { createHeapMemory, type GuestMemory } from '../../src/memory/guest-memory.js';
import {
  STATUS_ACKNOWLEDGE,
  STATUS_DRIVER,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  VIRTIO_F_RING_EVENT_IDX,
  VIRTIO_F_RING_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  type VirtioDevice,
} from '../../src/virtio/device.js';
import { R, VirtioMmio } from '../../src/virtio/mmio.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/virtio/queue.js';

export const RAM_BASE = 0x40000000;
export const RAM_SIZE = 8 * 1024 * 1024;
/** Queue structures live in the first MiB; buffers above. */
export const QUEUE_AREA = RAM_BASE;
export const BUF_AREA = RAM_BASE + 0x100000;

export interface Buf {
  addr: number;
  len: number;
  write?: boolean;
}

export interface QueueLayout {
  size: number;
  desc: number;
  avail: number;
  used: number;
  nextDesc: number;
  availIdx: number;
  lastUsed: number;
}

export class TestDriver {
  readonly memory: GuestMemory;
  readonly irq = new RecordingIrq();
  readonly mmio: VirtioMmio;
  readonly queues: QueueLayout[] = [];
  logs: string[] = [];

  constructor(
    readonly device: VirtioDevice,
    memory?: GuestMemory,
  ) {
    this.memory = memory ?? createHeapMemory([{ gpa: RAM_BASE, size: RAM_SIZE }]);
    this.mmio = new VirtioMmio(device, this.irq, this.memory, (m) => this.logs.push(m));
  }

  r(off: number): number {
    return this.mmio.read(off, 4);
  }
  w(off: number, v: number): void {
    this.mmio.write(off, 4, v);
  }

  deviceFeatures(): bigint {
    this.w(R.DEVICE_FEATURES_SEL, 0);
    const lo = BigInt(this.r(R.DEVICE_FEATURES));
    this.w(R.DEVICE_FEATURES_SEL, 1);
    const hi = BigInt(this.r(R.DEVICE_FEATURES));
    return (hi << 32n) | lo;
  }

  /** Negotiate (all offered features & `want`), set up every queue with `size`, DRIVER_OK. Returns the features. */
  init(opts: { want?: bigint; size?: number; eventIdx?: boolean; indirect?: boolean; driverOk?: boolean } = {}): bigint {
    this.w(R.STATUS, 0);
    this.w(R.STATUS, STATUS_ACKNOWLEDGE);
    this.w(R.STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    let f = this.deviceFeatures() & (opts.want ?? ~0n);
    f |= VIRTIO_F_VERSION_1;
    if (opts.eventIdx === false) f &= ~VIRTIO_F_RING_EVENT_IDX;
    if (opts.indirect === false) f &= ~VIRTIO_F_RING_INDIRECT_DESC;
    this.w(R.DRIVER_FEATURES_SEL, 0);
    this.w(R.DRIVER_FEATURES, Number(f & 0xffffffffn));
    this.w(R.DRIVER_FEATURES_SEL, 1);
    this.w(R.DRIVER_FEATURES, Number(f >> 32n));
    this.w(R.STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(this.r(R.STATUS) & STATUS_FEATURES_OK)) throw new Error('FEATURES_OK refused');
    this.queues.length = 0;
    let at = QUEUE_AREA;
    for (let q = 0; q < this.device.queueSizes.length; q++) {
      this.w(R.QUEUE_SEL, q);
      const max = this.r(R.QUEUE_NUM_MAX);
      const size = Math.min(max, opts.size ?? max);
      const desc = at;
      const avail = desc + 16 * size;
      const used = (avail + 6 + 2 * size + 3) & ~3;
      at = (used + 6 + 8 * size + 4095) & ~4095;
      this.memory.fill(desc, at - desc, 0);
      this.w(R.QUEUE_NUM, size);
      this.w(R.QUEUE_DESC_LOW, desc);
      this.w(R.QUEUE_DESC_HIGH, 0);
      this.w(R.QUEUE_DRIVER_LOW, avail);
      this.w(R.QUEUE_DRIVER_HIGH, 0);
      this.w(R.QUEUE_DEVICE_LOW, used);
      this.w(R.QUEUE_DEVICE_HIGH, 0);
      this.w(R.QUEUE_READY, 1);
      this.queues.push({ size, desc, avail, used, nextDesc: 0, availIdx: 0, lastUsed: 0 });
    }
    if (opts.driverOk !== false) this.w(R.STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    return f;
  }

  writeDesc(table: number, i: number, addr: number, len: number, flags: number, next: number): void {
    const d = table + 16 * i;
    this.memory.writeU64(d, BigInt(addr));
    this.memory.writeU32(d + 8, len);
    this.memory.writeU16(d + 12, flags);
    this.memory.writeU16(d + 14, next);
  }

  /** Put a direct chain in the descriptor table (indices allocated round-robin); returns the head. */
  addChain(qi: number, bufs: Buf[], publish = true): number {
    const q = this.queues[qi]!;
    const idx = bufs.map(() => {
      const i = q.nextDesc;
      q.nextDesc = (q.nextDesc + 1) % q.size;
      return i;
    });
    bufs.forEach((b, k) => {
      const last = k === bufs.length - 1;
      this.writeDesc(q.desc, idx[k]!, b.addr, b.len, (b.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT), last ? 0 : idx[k + 1]!);
    });
    if (publish) this.publish(qi, idx[0]!);
    return idx[0]!;
  }

  /** One descriptor pointing at an indirect table at `table` holding `bufs`. */
  addIndirect(qi: number, table: number, bufs: Buf[]): number {
    bufs.forEach((b, k) => {
      const last = k === bufs.length - 1;
      this.writeDesc(table, k, b.addr, b.len, (b.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT), last ? 0 : k + 1);
    });
    const q = this.queues[qi]!;
    const head = q.nextDesc;
    q.nextDesc = (q.nextDesc + 1) % q.size;
    this.writeDesc(q.desc, head, table, 16 * bufs.length, VIRTQ_DESC_F_INDIRECT, 0);
    this.publish(qi, head);
    return head;
  }

  publish(qi: number, head: number): void {
    const q = this.queues[qi]!;
    this.memory.writeU16(q.avail + 4 + 2 * (q.availIdx % q.size), head);
    q.availIdx = (q.availIdx + 1) & 0xffff;
    this.memory.writeU16(q.avail + 2, q.availIdx);
  }

  kick(qi: number): void {
    this.w(R.QUEUE_NOTIFY, qi);
  }

  usedIdx(qi: number): number {
    return this.memory.readU16(this.queues[qi]!.used + 2);
  }

  /** New used elements since the last call. */
  takeUsed(qi: number): Array<{ id: number; len: number }> {
    const q = this.queues[qi]!;
    const out: Array<{ id: number; len: number }> = [];
    const idx = this.usedIdx(qi);
    while (q.lastUsed !== idx) {
      const e = q.used + 4 + 8 * (q.lastUsed % q.size);
      out.push({ id: this.memory.readU32(e), len: this.memory.readU32(e + 4) });
      q.lastUsed = (q.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  setUsedEvent(qi: number, v: number): void {
    const q = this.queues[qi]!;
    this.memory.writeU16(q.avail + 4 + 2 * q.size, v);
  }
  availEvent(qi: number): number {
    const q = this.queues[qi]!;
    return this.memory.readU16(q.used + 4 + 8 * q.size);
  }

  status(): number {
    return this.r(R.STATUS);
  }
}
