import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHeapMemory, type GuestMemory } from '../../src/memory/guest-memory.js';
import {
  DescChain,
  VIRTQ_DESC_F_INDIRECT as IND,
  VIRTQ_DESC_F_NEXT as NEXT,
  VIRTQ_DESC_F_WRITE as WR,
  VRING_AVAIL_F_NO_INTERRUPT,
  Virtqueue,
  VirtqueueError,
} from '../../src/virtio/queue.js';

const RAM = 0x40000000;
const SIZE = 8;
const DESC = RAM;
const AVAIL = RAM + 0x1000;
const USED = RAM + 0x2000;
const BUF = RAM + 0x10000;

function setup(opts: { eventIdx?: boolean; indirect?: boolean; mem?: GuestMemory; size?: number } = {}): { mem: GuestMemory; q: Virtqueue } {
  const mem = opts.mem ?? createHeapMemory([{ gpa: RAM, size: 1 << 20 }]);
  const q = new Virtqueue(0, 256);
  q.size = opts.size ?? SIZE;
  q.descAddr = DESC;
  q.driverAddr = AVAIL;
  q.deviceAddr = USED;
  const err = q.enable(mem, { eventIdx: opts.eventIdx ?? false, indirect: opts.indirect ?? true });
  assert.equal(err, undefined);
  return { mem, q };
}

function desc(mem: GuestMemory, table: number, i: number, addr: number, len: number, flags: number, next = 0): void {
  mem.writeU64(table + 16 * i, BigInt(addr));
  mem.writeU32(table + 16 * i + 8, len);
  mem.writeU16(table + 16 * i + 12, flags);
  mem.writeU16(table + 16 * i + 14, next);
}

function offer(mem: GuestMemory, heads: number[], start = 0, size = SIZE): void {
  let idx = start;
  for (const h of heads) {
    mem.writeU16(AVAIL + 4 + 2 * (idx % size), h);
    idx = (idx + 1) & 0xffff;
  }
  mem.writeU16(AVAIL + 2, idx);
}

function popErr(q: Virtqueue, re: RegExp): void {
  const c = new DescChain();
  assert.throws(() => q.pop(c), (e: unknown) => e instanceof VirtqueueError && re.test(e.message));
  assert.equal(q.broken, true);
  assert.equal(q.pop(c), false, 'a broken queue pops nothing');
}

test('a direct chain: readable then writable segments, totals, copy helpers', () => {
  const { mem, q } = setup();
  desc(mem, DESC, 0, BUF, 16, NEXT, 3);
  desc(mem, DESC, 3, BUF + 100, 4, NEXT, 5);
  desc(mem, DESC, 5, BUF + 200, 32, WR);
  mem.writeBytes(BUF, new Uint8Array([...Array(16).keys()]));
  mem.writeBytes(BUF + 100, new Uint8Array([16, 17, 18, 19]));
  offer(mem, [0]);
  const c = new DescChain();
  assert.equal(q.pending(), 1);
  assert.equal(q.pop(c), true);
  assert.equal(c.head, 0);
  assert.equal(c.nRead, 2);
  assert.equal(c.nWrite, 1);
  assert.equal(c.readBytes, 20);
  assert.equal(c.writeBytes, 32);
  const dst = new Uint8Array(6);
  assert.equal(c.read(mem, 14, dst), 6);
  assert.deepEqual([...dst], [14, 15, 16, 17, 18, 19]);
  assert.equal(c.write(mem, 30, new Uint8Array([7, 8, 9])), 2, 'writes stop at the end of the writable space');
  assert.deepEqual([...mem.readBytes(BUF + 230, 2)], [7, 8]);
  assert.equal(q.pop(c), false);
  q.push(0, 2);
  assert.equal(mem.readU16(USED + 2), 1);
  assert.equal(mem.readU32(USED + 4), 0);
  assert.equal(mem.readU32(USED + 8), 2);
});

test('indirect table', () => {
  const { mem, q } = setup();
  const T = RAM + 0x3000;
  desc(mem, T, 0, BUF, 16, NEXT, 1);
  desc(mem, T, 1, BUF + 16, 512, NEXT | WR, 2);
  desc(mem, T, 2, BUF + 600, 1, WR);
  desc(mem, DESC, 2, T, 48, IND);
  offer(mem, [2]);
  const c = new DescChain();
  assert.equal(q.pop(c), true);
  assert.equal(c.head, 2);
  assert.deepEqual([c.nRead, c.nWrite, c.readBytes, c.writeBytes], [1, 2, 16, 513]);
});

test('16-bit index wraparound of avail and used', () => {
  const { mem, q } = setup();
  q.lastAvail = 0xfffe;
  q.usedIdx = 0xfffe;
  for (let i = 0; i < 3; i++) desc(mem, DESC, i, BUF + 64 * i, 8, WR);
  offer(mem, [0, 1, 2], 0xfffe);
  assert.equal(mem.readU16(AVAIL + 2), 1);
  assert.equal(q.pending(), 3);
  const c = new DescChain();
  const heads: number[] = [];
  while (q.pop(c)) {
    heads.push(c.head);
    q.push(c.head, 8);
  }
  assert.deepEqual(heads, [0, 1, 2]);
  assert.equal(q.lastAvail, 1);
  assert.equal(mem.readU16(USED + 2), 1);
  // used ring slots (0xfffe % 8 = 6, 7, then 0)
  assert.equal(mem.readU32(USED + 4 + 8 * 6), 0);
  assert.equal(mem.readU32(USED + 4 + 8 * 7), 1);
  assert.equal(mem.readU32(USED + 4 + 8 * 0), 2);
});

test('interrupt suppression: NO_INTERRUPT flag, and EVENT_IDX used_event', () => {
  {
    const { mem, q } = setup();
    desc(mem, DESC, 0, BUF, 8, WR);
    offer(mem, [0, 0]);
    const c = new DescChain();
    q.pop(c);
    q.push(0, 1);
    assert.equal(q.needsInterrupt(), true);
    assert.equal(q.needsInterrupt(), false, 'nothing new since the last decision');
    mem.writeU16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
    q.pop(c);
    q.push(0, 1);
    assert.equal(q.needsInterrupt(), false);
  }
  {
    const { mem, q } = setup({ eventIdx: true });
    desc(mem, DESC, 0, BUF, 8, WR);
    offer(mem, [0, 0, 0, 0]);
    const c = new DescChain();
    const USED_EVENT = AVAIL + 4 + 2 * SIZE;
    const AVAIL_EVENT = USED + 4 + 8 * SIZE;
    mem.writeU16(USED_EVENT, 2); // interrupt when used idx passes 2 (i.e. reaches 3)
    q.pop(c);
    assert.equal(mem.readU16(AVAIL_EVENT), 1, 'avail_event follows the consumed index');
    q.push(0, 1); // used 1
    assert.equal(q.needsInterrupt(), false);
    q.pop(c);
    q.push(0, 1); // used 2
    assert.equal(q.needsInterrupt(), false);
    q.pop(c);
    q.push(0, 1); // used 3
    assert.equal(q.needsInterrupt(), true);
    q.pop(c);
    q.push(0, 1); // used 4: event 2 already passed
    assert.equal(q.needsInterrupt(), false);
    assert.equal(q.pop(c), false);
    assert.equal(mem.readU16(AVAIL_EVENT), 4);
    // used_event wraps: event 0xffff with indices around the wrap
    mem.writeU16(USED_EVENT, 4);
    offer(mem, [0], 4);
    q.pop(c);
    q.push(0, 1); // used 5 passes event 4
    assert.equal(q.needsInterrupt(), true);
  }
});

test('EVENT_IDX wraparound: used_event just below 0x10000', () => {
  const { mem, q } = setup({ eventIdx: true });
  q.lastAvail = q.usedIdx = 0xfffd;
  (q as unknown as { signalledUsed: number }).signalledUsed = 0xfffd;
  desc(mem, DESC, 0, BUF, 8, WR);
  offer(mem, [0, 0, 0, 0], 0xfffd);
  mem.writeU16(AVAIL + 4 + 2 * SIZE, 0xffff);
  const c = new DescChain();
  const got: boolean[] = [];
  for (let i = 0; i < 4; i++) {
    q.pop(c);
    q.push(0, 1);
    got.push(q.needsInterrupt());
  }
  // used goes fffe, ffff, 0 (passes event ffff), 1
  assert.deepEqual(got, [false, false, true, false]);
});

test('buffers that straddle two adjacent RAM regions are split; a gap is an error', () => {
  const mem = createHeapMemory([
    { gpa: RAM, size: 1 << 20 },
    { gpa: RAM + (1 << 20), size: 1 << 20 },
  ]);
  const { q } = setup({ mem });
  const edge = RAM + (1 << 20) - 8;
  desc(mem, DESC, 0, edge, 24, WR);
  offer(mem, [0]);
  const c = new DescChain();
  assert.equal(q.pop(c), true);
  assert.equal(c.nWrite, 2);
  assert.deepEqual([c.len[0], c.len[1]], [8, 16]);
  assert.equal(c.write(mem, 0, new Uint8Array(24).fill(0xab)), 24);
  assert.equal(mem.readU8(edge + 23), 0xab);
  desc(mem, DESC, 1, RAM + (2 << 20) - 8, 16, WR);
  offer(mem, [0, 1]);
  popErr(q, /not in guest RAM/);
});

test('hostile chains: each is a VirtqueueError and breaks the queue', () => {
  const cases: Array<[string, (mem: GuestMemory) => void, RegExp, { indirect?: boolean }?]> = [
    ['loop', (m) => (desc(m, DESC, 0, BUF, 8, NEXT, 1), desc(m, DESC, 1, BUF, 8, NEXT, 0), offer(m, [0])), /loop/],
    ['self loop', (m) => (desc(m, DESC, 3, BUF, 8, NEXT, 3), offer(m, [3])), /loop/],
    ['head past the table', (m) => offer(m, [SIZE]), /head index/],
    ['next past the table', (m) => (desc(m, DESC, 0, BUF, 8, NEXT, 200), offer(m, [0])), /next index/],
    ['avail idx too far ahead', (m) => m.writeU16(AVAIL + 2, SIZE + 1), /ahead/],
    ['buffer outside RAM', (m) => (desc(m, DESC, 0, 0x1000, 8, 0), offer(m, [0])), /not in guest RAM/],
    ['buffer running off the end of RAM', (m) => (desc(m, DESC, 0, RAM + (1 << 20) - 4, 8, 0), offer(m, [0])), /not in guest RAM/],
    ['address beyond 2^53', (m) => (m.writeU64(DESC, 0xffff_ffff_ffff_f000n), m.writeU32(DESC + 8, 8), m.writeU16(DESC + 12, 0), offer(m, [0])), /beyond/],
    ['length overflow', (m) => {
      // 2^32-1 + 2 bytes writable: the sum overflows u32 (both buffers are in RAM only if we fake a big region: use 0-length + split)
      desc(m, DESC, 0, BUF, 0xffffffff, WR | NEXT, 1);
      desc(m, DESC, 1, BUF, 8, WR);
      offer(m, [0]);
    }, /not in guest RAM|overflows/],
    ['readable after writable', (m) => (desc(m, DESC, 0, BUF, 8, WR | NEXT, 1), desc(m, DESC, 1, BUF, 8, 0), offer(m, [0])), /readable descriptor after/],
    ['indirect not negotiated', (m) => (desc(m, DESC, 0, RAM + 0x3000, 16, IND), offer(m, [0])), /without VIRTIO_F_RING_INDIRECT_DESC/, { indirect: false }],
    ['indirect with NEXT', (m) => (desc(m, DESC, 0, RAM + 0x3000, 16, IND | NEXT, 1), offer(m, [0])), /NEXT/],
    ['indirect length not a multiple of 16', (m) => (desc(m, DESC, 0, RAM + 0x3000, 24, IND), offer(m, [0])), /length/],
    ['indirect length 0', (m) => (desc(m, DESC, 0, RAM + 0x3000, 0, IND), offer(m, [0])), /length/],
    ['indirect table outside RAM', (m) => (desc(m, DESC, 0, 0x2000, 32, IND), offer(m, [0])), /indirect table/],
    ['nested indirect', (m) => (desc(m, RAM + 0x3000, 0, RAM + 0x3100, 16, IND), desc(m, DESC, 0, RAM + 0x3000, 16, IND), offer(m, [0])), /nested/],
    ['loop inside an indirect table', (m) => (desc(m, RAM + 0x3000, 0, BUF, 8, NEXT, 1), desc(m, RAM + 0x3000, 1, BUF, 8, NEXT, 0), desc(m, DESC, 0, RAM + 0x3000, 32, IND), offer(m, [0])), /loop/],
    ['indirect next past its table', (m) => (desc(m, RAM + 0x3000, 0, BUF, 8, NEXT, 2), desc(m, DESC, 0, RAM + 0x3000, 32, IND), offer(m, [0])), /next index/],
  ];
  for (const [name, make, re, o] of cases) {
    const { mem, q } = setup({ indirect: o?.indirect ?? true });
    make(mem);
    try {
      popErr(q, re);
    } catch (e) {
      throw new Error(`case "${name}": ${(e as Error).message}`);
    }
  }
});

test('a chain of exactly the queue size is fine; one more is a loop', () => {
  const { mem, q } = setup();
  for (let i = 0; i < SIZE; i++) desc(mem, DESC, i, BUF + 8 * i, 8, i < SIZE - 1 ? NEXT : 0, i + 1);
  offer(mem, [0]);
  const c = new DescChain();
  assert.equal(q.pop(c), true);
  assert.equal(c.nRead, SIZE);
  desc(mem, DESC, SIZE - 1, BUF, 8, NEXT, 0);
  offer(mem, [0, 0]);
  popErr(q, /loop/);
});

test('enable() rejects rings outside RAM, misaligned, or a bad size', () => {
  const mem = createHeapMemory([{ gpa: RAM, size: 1 << 20 }]);
  const bad: Array<[Partial<Virtqueue>, RegExp]> = [
    [{ descAddr: 0x1000 }, /descriptor table .* not in guest RAM/],
    [{ descAddr: RAM + 8 }, /aligned/],
    [{ driverAddr: RAM + (1 << 20) - 4 }, /available ring/],
    [{ deviceAddr: RAM + 2 }, /aligned/],
    [{ deviceAddr: 2 ** 60 }, /used ring/],
    [{ size: 6 }, /power of two/],
    [{ size: 512 }, /power of two/],
    [{ size: 0 }, /power of two/],
  ];
  for (const [over, re] of bad) {
    const q = new Virtqueue(0, 256);
    Object.assign(q, { size: 8, descAddr: DESC, driverAddr: AVAIL, deviceAddr: USED }, over);
    assert.match(q.enable(mem, { eventIdx: true, indirect: true }) ?? 'ok', re);
    assert.equal(q.ready, false);
  }
});

test('pop allocates nothing in steady state (segment arrays are reused)', () => {
  const { mem, q } = setup({ size: 256 });
  const c = new DescChain();
  for (let i = 0; i < 4; i++) desc(mem, DESC, i, BUF + 64 * i, 64, i < 3 ? NEXT : WR, i + 1);
  const arr = c.addr;
  for (let round = 0; round < 1000; round++) {
    offer(mem, [0], round, 256);
    assert.equal(q.pop(c), true);
    q.push(0, 64);
  }
  assert.equal(c.addr, arr);
  const t0 = process.hrtime.bigint();
  const N = 200000;
  for (let round = 1000; round < 1000 + N; round++) {
    mem.writeU16(AVAIL + 4 + 2 * (round % 256), 0);
    mem.writeU16(AVAIL + 2, (round + 1) & 0xffff);
    q.pop(c);
    q.push(0, 64);
  }
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`# pop+push of a 4-descriptor chain: ${ns.toFixed(0)} ns`);
  assert.ok(ns < 20000);
});

test('total length above 2^32-1 (4096 indirect entries of 1 MiB) is an overflow error', () => {
  const mem = createHeapMemory([{ gpa: RAM, size: 2 << 20 }]);
  const { q } = setup({ mem });
  const T = RAM + 0x10000;
  for (let i = 0; i < 4096; i++) desc(mem, T, i, RAM + (1 << 20), 1 << 20, WR | (i < 4095 ? NEXT : 0), i + 1);
  desc(mem, DESC, 0, T, 4096 * 16, IND);
  offer(mem, [0]);
  popErr(q, /overflows 32 bits/);
});
