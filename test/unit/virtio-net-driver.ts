/**
 * A fake virtio driver for device-model unit tests: split rings laid out in
 * heap guest memory, a Virtqueue per ring as the transport would configure it,
 * and a VirtioDeviceContext that records interrupts and needs-reset.
 */
import { createHeapMemory, type GuestMemory } from '../../src/memory/guest-memory.js';
import { Virtqueue, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/virtio/queue.js';
import type { VirtioDevice, VirtioDeviceContext } from '../../src/virtio/device.js';

export const RAM_BASE = 0x4000_0000;

export interface Buf {
  addr: number;
  len: number;
  write: boolean;
}

export class FakeRing {
  readonly q: Virtqueue;
  private free: number[] = [];
  private availIdx = 0;
  private lastUsed = 0;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;

  constructor(
    readonly mem: GuestMemory,
    index: number,
    readonly size: number,
    base: number,
    features: { eventIdx?: boolean; indirect?: boolean } = {},
  ) {
    this.desc = base;
    this.avail = base + 16 * size;
    this.used = (this.avail + 6 + 2 * size + 4095) & ~4095;
    this.q = new Virtqueue(index, size);
    this.q.size = size;
    this.q.descAddr = this.desc;
    this.q.driverAddr = this.avail;
    this.q.deviceAddr = this.used;
    const err = this.q.enable(mem, { eventIdx: features.eventIdx ?? false, indirect: features.indirect ?? false });
    if (err) throw new Error(err);
    for (let i = size - 1; i >= 0; i--) this.free.push(i);
  }

  /** Post a chain; returns its head. */
  add(bufs: Buf[]): number {
    const ids = bufs.map(() => {
      const d = this.free.pop();
      if (d === undefined) throw new Error('fake ring full');
      return d;
    });
    bufs.forEach((b, i) => {
      const d = this.desc + 16 * ids[i]!;
      this.mem.writeU64(d, b.addr);
      this.mem.writeU32(d + 8, b.len);
      this.mem.writeU16(d + 12, (b.write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < bufs.length ? VIRTQ_DESC_F_NEXT : 0));
      this.mem.writeU16(d + 14, i + 1 < bufs.length ? ids[i + 1]! : 0);
    });
    this.mem.writeU16(this.avail + 4 + 2 * (this.availIdx % this.size), ids[0]!);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem.writeU16(this.avail + 2, this.availIdx);
    this.chains.set(ids[0]!, ids);
    return ids[0]!;
  }

  private chains = new Map<number, number[]>();

  /** Raw descriptor write, for hostile tests. */
  rawDesc(i: number, addr: number, len: number, flags: number, next: number): void {
    const d = this.desc + 16 * i;
    this.mem.writeU64(d, addr);
    this.mem.writeU32(d + 8, len);
    this.mem.writeU16(d + 12, flags);
    this.mem.writeU16(d + 14, next);
  }

  rawAvail(head: number): void {
    this.mem.writeU16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem.writeU16(this.avail + 2, this.availIdx);
  }

  /** New used entries since the last call; frees their descriptors. */
  takeUsed(): Array<{ id: number; len: number }> {
    const out: Array<{ id: number; len: number }> = [];
    const idx = this.mem.readU16(this.used + 2);
    while (this.lastUsed !== idx) {
      const e = this.used + 4 + 8 * (this.lastUsed % this.size);
      const id = this.mem.readU32(e);
      out.push({ id, len: this.mem.readU32(e + 4) });
      for (const d of this.chains.get(id) ?? []) this.free.push(d);
      this.chains.delete(id);
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }
}

export class FakeDriver {
  readonly mem: GuestMemory;
  readonly rings: FakeRing[] = [];
  readonly signals: number[] = [];
  configSignals = 0;
  resetReason: string | undefined;
  /** Bump allocator for buffers (above the rings). */
  private next = RAM_BASE + 0x10_0000;
  readonly ctx: VirtioDeviceContext;

  constructor(
    readonly dev: VirtioDevice,
    features: bigint,
    opts: { ramBytes?: number; queueSize?: number; eventIdx?: boolean } = {},
  ) {
    this.mem = createHeapMemory([{ gpa: RAM_BASE, size: opts.ramBytes ?? 16 << 20 }]);
    dev.queueSizes.forEach((max, i) => {
      this.rings.push(new FakeRing(this.mem, i, Math.min(max, opts.queueSize ?? max), RAM_BASE + i * 0x8000, { eventIdx: opts.eventIdx }));
      this.signals.push(0);
    });
    const self = this;
    this.ctx = {
      memory: this.mem,
      queues: this.rings.map((r) => r.q),
      features,
      signalUsed(q: number) {
        if (self.rings[q]!.q.needsInterrupt()) self.signals[q]!++;
      },
      signalConfig() {
        self.configSignals++;
      },
      needsReset(reason: string) {
        self.resetReason = reason;
      },
    };
  }

  alloc(len: number): number {
    const a = this.next;
    this.next += (len + 63) & ~63;
    if (this.next > RAM_BASE + this.mem.totalSize) throw new Error('fake driver out of memory');
    return a;
  }

  activate(): void {
    this.dev.activate(this.ctx);
  }
}
