/**
 * Fuzz harness for the virtio layer: every device model (blk on an in-memory
 * backend, rng, console) behind the virtio-mmio transport, driven with random
 * and structured-random queue memory, register writes and notifications.
 *
 * Invariants checked after every step:
 *  - nothing throws out of the transport (register reads/writes, notify, console input);
 *  - no non-guest error was caught at the device boundary (mmio.internalErrors == 0:
 *    those would be VMM bugs, e.g. a TypeError);
 *  - a queue the device found broken (a GuestMemoryError / VirtqueueError) implies
 *    DEVICE_NEEDS_RESET is set: the device caught the error and reported it;
 *  - the backing disk never sees an access past its end.
 * GuestMemory throws on every access outside guest RAM, so "no access outside
 * RAM" is the same as "every such attempt was caught and turned into an error".
 *
 *   import { runFuzz } from './virtio-fuzz.js';
 *   const stats = runFuzz({ seconds: 3, seed: 1 });
 */
import { createHeapMemory } from '../../src/memory/guest-memory.js';
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockIoError, type BlockBackend } from '../../src/backends/block-file.js';
import { AsyncBlockFile } from '../../src/backends/block-async.js';
import { STATUS_DEVICE_NEEDS_RESET, type VirtioDevice } from '../../src/virtio/device.js';
import { VirtioBlk } from '../../src/virtio/blk.js';
import { VirtioConsole } from '../../src/virtio/console.js';
import { R } from '../../src/virtio/mmio.js';
import { VirtioRng } from '../../src/virtio/rng.js';
import { BUF_AREA, RAM_BASE, TestDriver } from './driver.js';
import { makeNetFuzzDevice } from '../unit/vsock-fuzz-devices.js';

/** xorshift128+ style PRNG on 32-bit halves: reproducible from a seed. */
export class Rand {
  private a: number;
  private b: number;
  constructor(seed: number) {
    this.a = (seed ^ 0x9e3779b9) | 0 || 1;
    this.b = (seed * 0x85ebca6b) | 0 || 2;
  }
  u32(): number {
    let x = this.a;
    const y = this.b;
    this.a = y;
    x ^= x << 23;
    x ^= x >>> 17;
    x ^= y ^ (y >>> 26);
    this.b = x;
    return (x + y) >>> 0;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
}

/** In-memory block backend that checks every access is in range. */
export class MemBlock implements BlockBackend {
  readonly data: Uint8Array;
  violations = 0;
  constructor(
    readonly size: number,
    readonly readOnly: boolean,
  ) {
    this.data = new Uint8Array(size);
  }
  private check(pos: number, len: number): void {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos + len > this.size) {
      this.violations++;
      throw new BlockIoError(`out of range ${pos}+${len}`);
    }
  }
  read(dst: Uint8Array, pos: number): void {
    this.check(pos, dst.length);
    dst.set(this.data.subarray(pos, pos + dst.length));
  }
  write(src: Uint8Array, pos: number): void {
    if (this.readOnly) {
      this.violations++;
      throw new BlockIoError('read-only');
    }
    this.check(pos, src.length);
    this.data.set(src, pos);
  }
  flush(): void {}
  discard(pos: number, len: number): void {
    this.check(pos, len);
  }
  writeZeroes(pos: number, len: number): void {
    this.check(pos, len);
    this.data.fill(0, pos, pos + len);
  }
  close(): void {}
}

export interface FuzzStats {
  iterations: number;
  steps: number;
  needsReset: number;
  usedEntries: number;
  failures: string[];
}

const RAM_HALF = 2 * 1024 * 1024;

function makeDevice(rand: Rand, ios: AsyncBlockFile[]): { dev: VirtioDevice; blk?: MemBlock; console?: VirtioConsole; io?: AsyncBlockFile } {
  if (ios.length > 0 && rand.chance(0.1)) {
    // The I/O-worker path on a real file (workers shared across machines: starting one costs ~0.1 s).
    const io = rand.pick(ios);
    return { dev: new VirtioBlk(io, { queueSize: rand.pick([4, 16, 256]) }), io };
  }
  switch (rand.int(5)) {
    case 3:
    case 4:
      return { dev: makeNetFuzzDevice(rand) }; // virtio-net / virtio-vsock
    case 0: {
      const blk = new MemBlock(rand.pick([512, 4096, 64 * 1024, 1 << 20]), rand.chance(0.3));
      return { dev: new VirtioBlk(blk, { serial: 'fuzz', queueSize: rand.pick([4, 16, 256]) }), blk };
    }
    case 1:
      return { dev: new VirtioRng({ queueSize: rand.pick([1, 8, 64]) }) };
    default: {
      const c = new VirtioConsole(() => {}, { queueSize: rand.pick([2, 16, 64]) });
      return { dev: c, console: c };
    }
  }
}

/** An address biased toward interesting places. */
function addr(rand: Rand, d: TestDriver): number {
  const end = RAM_BASE + 2 * RAM_HALF;
  if (rand.chance(0.85)) return BUF_AREA + rand.int(RAM_HALF);
  switch (rand.int(10)) {
    case 0:
      return rand.u32() * 4294967296 + rand.u32();
    case 1:
      return rand.u32();
    case 2:
      return end - rand.int(64); // straddling the end of RAM
    case 3:
      return RAM_BASE + RAM_HALF - rand.int(64); // straddling the two adjacent regions
    case 4: {
      const q = d.queues.length > 0 ? rand.pick(d.queues) : undefined;
      return q ? rand.pick([q.desc, q.avail, q.used]) + rand.int(64) : RAM_BASE;
    }
    case 5:
      return 0;
    default:
      return BUF_AREA + rand.int(RAM_HALF);
  }
}

function len(rand: Rand): number {
  if (rand.chance(0.8)) return rand.pick([1, 16, 512, 1024, 4096]);
  switch (rand.int(8)) {
    case 0:
      return rand.u32();
    case 1:
      return 0;
    case 2:
      return 0xffffffff;
    case 3:
      return rand.pick([1, 15, 16, 17, 512, 4096]);
    default:
      return rand.int(8192);
  }
}

function step(rand: Rand, d: TestDriver, console: VirtioConsole | undefined): void {
  const mem = d.memory;
  const q = d.queues.length > 0 ? rand.pick(d.queues) : undefined;
  const qi = q ? d.queues.indexOf(q) : 0;
  switch (rand.int(12)) {
    case 0: {
      // Random bytes over some queue structure.
      if (!q) return;
      const base = rand.pick([q.desc, q.avail, q.used]);
      const n = 1 + rand.int(64);
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = rand.u32() & 0xff;
      try {
        mem.writeBytes(base + rand.int(16 * q.size), bytes);
      } catch {
        // outside RAM: the fuzzer's own write, ignore
      }
      return;
    }
    case 1:
    case 2:
    case 3: {
      // A structured-random chain, direct or indirect.
      if (!q) return;
      const n = 1 + rand.int(rand.chance(0.1) ? 300 : 6);
      const bufs = [];
      let writable = false;
      for (let i = 0; i < n; i++) {
        if (rand.chance(0.3)) writable = true;
        bufs.push({ addr: addr(rand, d), len: len(rand), write: rand.chance(0.05) ? !writable : writable });
      }
      // Mostly sane first descriptor for blk: a header.
      if (rand.chance(0.7)) {
        bufs[0] = { addr: BUF_AREA, len: 16, write: false };
        mem.writeU32(BUF_AREA, rand.pick([0, 1, 4, 8, 11, 13, rand.u32()]));
        mem.writeU64(BUF_AREA + 8, BigInt(rand.pick([0, 1, 2047, rand.u32(), rand.u32() * 65536])));
      }
      if (rand.chance(0.2) && n <= 256) {
        d.addIndirect(qi, BUF_AREA + 0x10000 + 16 * rand.int(64), bufs.map((b) => ({ ...b, len: b.len })));
      } else if (n <= q.size) {
        d.addChain(qi, bufs);
      }
      if (rand.chance(0.05)) {
        // Corrupt a next pointer into a loop.
        const i = rand.int(q.size);
        mem.writeU16(q.desc + 16 * i + 12, 1);
        mem.writeU16(q.desc + 16 * i + 14, i);
      }
      return;
    }
    case 4:
      if (q) mem.writeU16(q.avail + 2, rand.chance(0.5) ? rand.u32() & 0xffff : (q.availIdx + rand.int(3)) & 0xffff);
      return;
    case 5:
    case 6:
      d.kick(rand.chance(0.95) ? qi : rand.int(70000));
      return;
    case 7: {
      // Random register write.
      const off = rand.pick([R.STATUS, R.QUEUE_SEL, R.QUEUE_NUM, R.QUEUE_READY, R.QUEUE_DESC_LOW, R.QUEUE_DESC_HIGH, R.QUEUE_DRIVER_LOW, R.QUEUE_DEVICE_LOW, R.INTERRUPT_ACK, R.DRIVER_FEATURES, R.DRIVER_FEATURES_SEL, 0x100 + rand.int(64), rand.int(0x200)]);
      d.mmio.write(off, rand.pick([1, 2, 4] as const), rand.u32());
      return;
    }
    case 8:
      d.mmio.read(rand.int(0x200), rand.pick([1, 2, 4] as const));
      return;
    case 9:
      if (console) console.receive(new Uint8Array(1 + rand.int(300)).fill(0x41));
      return;
    case 10:
      if (q) mem.writeU16(q.avail + 4 + 2 * q.size, rand.u32() & 0xffff); // used_event
      return;
    default:
      if (rand.chance(d.mmio.status & STATUS_DEVICE_NEEDS_RESET ? 0.5 : 0.05)) {
        try {
          d.init({ size: rand.pick([1, 2, 4, 8, 16, 64, 256]), eventIdx: rand.chance(0.5), indirect: rand.chance(0.8) });
        } catch {
          // FEATURES_OK refused etc.
        }
      }
  }
}

export function runFuzz(opts: { seconds: number; seed?: number; log?: (s: string) => void; worker?: boolean }): FuzzStats {
  const dir = opts.worker === false ? undefined : mkdtempSync(join(tmpdir(), 'tsvisor-fuzz-'));
  const ios: AsyncBlockFile[] = [];
  if (dir !== undefined) {
    const image = join(dir, 'disk.img');
    closeSync(openSync(image, 'w'));
    truncateSync(image, 1 << 20);
    ios.push(new AsyncBlockFile(image, { slots: 2, slotBytes: 4096 }));
    ios.push(new AsyncBlockFile(image, { slots: 16, slotBytes: 65536 }));
    ios.push(new AsyncBlockFile(image, { readOnly: true, slots: 4, slotBytes: 65536 }));
  }
  try {
    return fuzzLoop(opts, ios);
  } finally {
    for (const io of ios) io.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function fuzzLoop(opts: { seconds: number; seed?: number; log?: (s: string) => void }, ios: AsyncBlockFile[]): FuzzStats {
  const seed0 = opts.seed ?? Date.now() & 0x7fffffff;
  const stats: FuzzStats = { iterations: 0, steps: 0, needsReset: 0, usedEntries: 0, failures: [] };
  const deadline = Date.now() + opts.seconds * 1000;
  while (Date.now() < deadline && stats.failures.length === 0) {
    const seed = (seed0 + stats.iterations * 7919) | 0;
    const rand = new Rand(seed);
    const mem = createHeapMemory([
      { gpa: RAM_BASE, size: RAM_HALF },
      { gpa: RAM_BASE + RAM_HALF, size: RAM_HALF },
    ]);
    const { dev, blk, console, io } = makeDevice(rand, ios);
    const d = new TestDriver(dev, mem);
    try {
      d.init({ size: rand.pick([1, 2, 4, 8, 16, 256]), eventIdx: rand.chance(0.5), indirect: rand.chance(0.8) });
    } catch (e) {
      stats.failures.push(`seed ${seed}: init threw ${String(e)}`);
      break;
    }
    const n = 50 + rand.int(400);
    for (let i = 0; i < n; i++) {
      stats.steps++;
      const before = d.mmio.queues.map((q) => q.usedIdx);
      try {
        step(rand, d, console);
        if (io && dev instanceof VirtioBlk && (rand.chance(0.3) || io.pendingCount >= io.slots)) {
          if (rand.chance(0.5)) io.drain(2000);
          if (dev.hasCompletions()) dev.pollCompletions();
        }
        d.mmio.queues.forEach((q, k) => {
          const delta = (q.usedIdx - before[k]!) & 0xffff;
          if (delta <= q.size) stats.usedEntries += delta;
        });
      } catch (e) {
        stats.failures.push(`seed ${seed} step ${i} (${dev.name}): threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        break;
      }
      if (d.mmio.internalErrors > 0) {
        stats.failures.push(`seed ${seed} step ${i} (${dev.name}): internal error: ${d.logs.join(' | ')}`);
        break;
      }
      const st = d.mmio.status;
      if (d.mmio.queues.some((q) => q.broken) && !(st & STATUS_DEVICE_NEEDS_RESET)) {
        stats.failures.push(`seed ${seed} step ${i} (${dev.name}): a queue is broken but DEVICE_NEEDS_RESET is not set`);
        break;
      }
      if (blk && blk.violations > 0) {
        stats.failures.push(`seed ${seed} step ${i}: the disk saw ${blk.violations} out-of-range or read-only access(es)`);
        break;
      }
    }
    if (io) {
      try {
        io.drain(5000);
        if (dev instanceof VirtioBlk) dev.pollCompletions();
        if (io.pendingCount !== 0) stats.failures.push(`seed ${seed}: ${io.pendingCount} I/O requests never completed`);
      } catch (e) {
        stats.failures.push(`seed ${seed}: I/O worker drain/close threw ${String(e)}`);
      }
    }
    if (d.mmio.status & STATUS_DEVICE_NEEDS_RESET) stats.needsReset++;
    stats.iterations++;
  }
  opts.log?.(`virtio fuzz: seed ${seed0}, ${stats.iterations} machines, ${stats.steps} steps, ${stats.needsReset} ended in DEVICE_NEEDS_RESET, ${stats.usedEntries} used entries, ${stats.failures.length} failures`);
  return stats;
}
