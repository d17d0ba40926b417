import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetBackend, generateMac, parseMac, formatMac, TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, VNET_HDR_LEN } from '../../src/backends/net.js';
import {
  VirtioNet,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_GUEST_TSO4,
  VIRTIO_NET_F_GUEST_TSO6,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_STATUS,
  tunOffloadsFor,
} from '../../src/virtio/net.js';
import { VIRTIO_F_VERSION_1 } from '../../src/virtio/device.js';
import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/virtio/queue.js';
import { FakeDriver } from './virtio-net-driver.js';

const MAC = Uint8Array.from([0x52, 0x54, 0, 1, 2, 3]);
const BASE = VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS;

function frameOf(len: number, seed: number, hdr: number[] = []): Uint8Array {
  const f = new Uint8Array(len);
  f.set(hdr);
  for (let i = VNET_HDR_LEN; i < len; i++) f[i] = (i * 7 + seed) & 0xff;
  return f;
}

function setup(features = BASE, opts: { sendLimit?: number; queueSize?: number } = {}) {
  const be = new MemoryNetBackend();
  if (opts.sendLimit !== undefined) be.sendLimit = opts.sendLimit;
  const dev = new VirtioNet({ backend: be, mac: MAC });
  const drv = new FakeDriver(dev, features, { queueSize: opts.queueSize });
  drv.activate();
  return { be, dev, drv, rx: drv.rings[0]!, tx: drv.rings[1]! };
}

function postTx(drv: FakeDriver, frame: Uint8Array, split = VNET_HDR_LEN): number {
  const a = drv.alloc(frame.length);
  drv.mem.writeBytes(a, frame);
  const bufs = split > 0 && split < frame.length
    ? [{ addr: a, len: split, write: false }, { addr: a + split, len: frame.length - split, write: false }]
    : [{ addr: a, len: frame.length, write: false }];
  return drv.rings[1]!.add(bufs);
}

function postRx(drv: FakeDriver, len: number): { head: number; addr: number } {
  const addr = drv.alloc(len);
  return { head: drv.rings[0]!.add([{ addr, len, write: true }]), addr };
}

test('config space: MAC and link up; features offered', () => {
  const dev = new VirtioNet({ backend: new MemoryNetBackend(), mac: MAC });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => dev.readConfig(i, 1)), [...MAC]);
  assert.equal(dev.readConfig(6, 2), 1);
  assert.equal(dev.readConfig(100, 4), 0);
  for (const f of [VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS]) assert.ok(dev.features & f);
  assert.equal(dev.acceptFeatures(VIRTIO_NET_F_GUEST_TSO4), false, 'TSO without checksum offload is refused');
  assert.equal(dev.acceptFeatures(VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_CSUM), true);
  const plain = new VirtioNet({ backend: new MemoryNetBackend(), mac: MAC, offloads: false, mergeable: false });
  assert.equal(plain.features & (VIRTIO_NET_F_CSUM | VIRTIO_NET_F_MRG_RXBUF), 0n);
});

test('MACs: generated ones are locally administered unicast, stable per seed; parse/format', () => {
  const a = generateMac('vm1/0');
  assert.equal(a[0]! & 3, 2);
  assert.deepEqual(generateMac('vm1/0'), a);
  assert.notDeepEqual(generateMac('vm1/1'), a);
  assert.equal(generateMac()[0]! & 3, 2);
  assert.equal(formatMac(parseMac('52:54:00:AB:cd:01')), '52:54:00:ab:cd:01');
  assert.throws(() => parseMac('01:00:5e:00:00:01'), /multicast/);
  assert.throws(() => parseMac('52:54:00'), /bad MAC/);
});

test('offloads: guest features become TUN_F_* on activation', () => {
  assert.equal(tunOffloadsFor(VIRTIO_NET_F_GUEST_TSO4), 0);
  assert.equal(tunOffloadsFor(VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
  const { be, dev } = setup(BASE | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4);
  assert.equal(be.offloads, TUN_F_CSUM | TUN_F_TSO4);
  dev.reset();
  assert.equal(be.offloads, 0);
});

test('TX: header + frame in two descriptors reach the backend intact, completed with len 0', () => {
  const { be, drv, tx } = setup();
  const f1 = frameOf(60 + VNET_HDR_LEN, 1);
  const f2 = frameOf(1514 + VNET_HDR_LEN, 2);
  const h1 = postTx(drv, f1);
  const h2 = postTx(drv, f2, 0);
  drv.dev.queueNotify(1);
  assert.deepEqual(be.sent, [f1, f2]);
  assert.deepEqual(tx.takeUsed(), [{ id: h1, len: 0 }, { id: h2, len: 0 }]);
  assert.equal(drv.signals[1], 1, 'one interrupt per batch');
});

test('TX: short chains, unnegotiated offloads and bogus GSO are dropped but completed', () => {
  const { be, drv, tx, dev } = setup(BASE | VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4);
  postTx(drv, new Uint8Array(8), 0);
  postTx(drv, frameOf(100, 3, [0, 4 /* TCPV6 not negotiated */]));
  postTx(drv, frameOf(100, 3, [0, 3 /* UDP (UFO) never offered */]));
  postTx(drv, frameOf(100, 3, [0x80 /* unknown flag */]));
  const good = frameOf(3000, 4, [1, 1, 54, 0, 0xb4, 0x05, 34, 0, 16, 0]);
  postTx(drv, good);
  dev.queueNotify(1);
  assert.equal(tx.takeUsed().length, 5);
  assert.equal(be.sent.length, 1);
  assert.deepEqual(be.sent[0], good);
  assert.equal(dev.stats.txDropped, 4);
  assert.equal(drv.resetReason, undefined);
  // Without CSUM negotiated a NEEDS_CSUM header is refused.
  const s2 = setup();
  postTx(s2.drv, frameOf(100, 1, [1]));
  s2.dev.queueNotify(1);
  assert.equal(s2.be.sent.length, 0);
});

test('RX without MRG_RXBUF: one buffer per frame, num_buffers = 1, too-small buffer drops the frame only', () => {
  const { be, drv, rx, dev } = setup();
  const b1 = postRx(drv, 2048);
  const b2 = postRx(drv, 2048);
  const f = frameOf(1000, 5);
  be.inject(f);
  be.inject(frameOf(3000, 6)); // does not fit one 2048-byte buffer
  be.inject(frameOf(200, 7));
  be.poll();
  const used = rx.takeUsed();
  assert.deepEqual(used, [{ id: b1.head, len: 1000 }, { id: b2.head, len: 200 }]);
  const got = drv.mem.readBytes(b1.addr, 1000);
  assert.equal(got[10], 1);
  assert.deepEqual(got.subarray(12), f.subarray(12));
  assert.equal(dev.stats.rxDropped, 1);
  assert.equal(be.rx.length, 0);
});

test('RX with MRG_RXBUF: a 64 KiB GSO frame spans several buffers; leftovers are kept for the next frame', () => {
  const { be, drv, rx } = setup(BASE | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4);
  const bufs = Array.from({ length: 40 }, () => postRx(drv, 4096));
  const big = frameOf(65000, 9, [1, 1]);
  const small = frameOf(100, 10);
  be.inject(big);
  be.inject(small);
  be.poll();
  const used = rx.takeUsed();
  const n = Math.ceil(65000 / 4096);
  assert.equal(used.length, n + 1);
  assert.equal(drv.mem.readU16(bufs[0]!.addr + 10), n);
  const joined = new Uint8Array(65000);
  let off = 0;
  for (let i = 0; i < n; i++) {
    assert.equal(used[i]!.id, bufs[i]!.head);
    joined.set(drv.mem.readBytes(bufs[i]!.addr, used[i]!.len), off);
    off += used[i]!.len;
  }
  assert.equal(off, 65000);
  assert.deepEqual(joined.subarray(12), big.subarray(12));
  assert.equal(joined[0], 1);
  assert.equal(used[n]!.id, bufs[n]!.head);
  assert.equal(drv.mem.readU16(bufs[n]!.addr + 10), 1);
});

test('RX back-pressure: frames wait in the backend until the driver posts buffers', () => {
  const { be, drv, rx, dev } = setup(BASE | VIRTIO_NET_F_MRG_RXBUF);
  be.inject(frameOf(3000, 1));
  be.poll();
  assert.equal(be.rx.length, 1);
  postRx(drv, 2048);
  dev.queueNotify(0);
  assert.equal(rx.takeUsed().length, 0, 'half a frame is never published');
  assert.equal(be.rx.length, 1);
  postRx(drv, 2048);
  dev.queueNotify(0);
  const used = rx.takeUsed();
  assert.deepEqual(used.map((u) => u.len), [2048, 952]);
  assert.equal(be.rx.length, 0);
});

test('TX back-pressure: a full backend holds the chain until txSpace', () => {
  const { be, drv, tx, dev } = setup(BASE, { sendLimit: 1 });
  postTx(drv, frameOf(100, 1));
  postTx(drv, frameOf(100, 2));
  dev.queueNotify(1);
  assert.equal(be.sent.length, 1);
  assert.equal(tx.takeUsed().length, 1);
  be.drainSent();
  assert.equal(be.pending(), true);
  be.poll();
  assert.equal(be.sent.length, 1);
  assert.equal(be.sent[0]![VNET_HDR_LEN + 1], (13 * 7 + 2) & 0xff);
  assert.equal(tx.takeUsed().length, 1);
});

test('two NICs wired back to back exchange frames', () => {
  const [a, b] = MemoryNetBackend.pair();
  const na = new VirtioNet({ backend: a, mac: MAC });
  const nb = new VirtioNet({ backend: b, mac: generateMac('peer') });
  const da = new FakeDriver(na, BASE);
  const db = new FakeDriver(nb, BASE);
  da.activate();
  db.activate();
  const r = postRx(db, 2048);
  const f = frameOf(500, 42);
  postTx(da, f);
  na.queueNotify(1);
  b.poll();
  const used = db.rings[0]!.takeUsed();
  assert.deepEqual(used, [{ id: r.head, len: 500 }]);
  assert.deepEqual(db.mem.readBytes(r.addr + 12, 488), f.subarray(12));
});

test('hostile guest: descriptor loop / buffer outside RAM / readable RX buffer -> needs reset, no throw', () => {
  {
    const { drv, dev, be } = setup();
    const tx = drv.rings[1]!;
    tx.rawDesc(0, drv.alloc(64), 64, VIRTQ_DESC_F_NEXT, 1);
    tx.rawDesc(1, drv.alloc(64), 64, VIRTQ_DESC_F_NEXT, 0);
    tx.rawAvail(0);
    dev.queueNotify(1);
    assert.match(drv.resetReason ?? '', /loop/);
    assert.equal(be.sent.length, 0);
    // Further notifications are ignored quietly.
    dev.queueNotify(1);
    dev.queueNotify(0);
  }
  {
    const { drv, dev, be } = setup();
    drv.rings[0]!.rawDesc(0, 0x1000, 2048, VIRTQ_DESC_F_WRITE, 0);
    drv.rings[0]!.rawAvail(0);
    be.inject(frameOf(100, 1));
    be.poll();
    assert.match(drv.resetReason ?? '', /guest RAM/);
  }
  {
    const { drv, dev } = setup();
    drv.rings[1]!.rawDesc(0, drv.alloc(16), 0xffff_ffff, 0, 0);
    drv.rings[1]!.rawAvail(0);
    dev.queueNotify(1);
    assert.ok(drv.resetReason);
  }
  {
    // A RX buffer with no writable part is returned empty, frame kept for a proper buffer.
    const { drv, dev, be } = setup();
    const a = drv.alloc(2048);
    drv.rings[0]!.add([{ addr: a, len: 2048, write: false }]);
    be.inject(frameOf(100, 1));
    be.poll();
    assert.deepEqual(drv.rings[0]!.takeUsed().map((u) => u.len), [0]);
    assert.equal(be.rx.length, 1);
    postRx(drv, 2048);
    dev.queueNotify(0);
    assert.equal(be.rx.length, 0);
  }
});

test('random queue memory never crashes the device (mini fuzz)', () => {
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let iter = 0; iter < 200; iter++) {
    const { drv, dev, be } = setup(BASE | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4, { queueSize: 16 });
    for (const ring of drv.rings) {
      const bytes = new Uint8Array(16 * 16 + 64);
      for (let i = 0; i < bytes.length; i++) bytes[i] = rnd() * 256;
      // Keep some addresses plausible.
      drv.mem.writeBytes(ring.desc, bytes.subarray(0, 256));
      for (let i = 0; i < 16; i++) if (rnd() < 0.6) drv.mem.writeU32(ring.desc + 16 * i, 0x4010_0000 + Math.floor(rnd() * 0x10000));
      for (let i = 0; i < 16; i++) if (rnd() < 0.6) drv.mem.writeU32(ring.desc + 16 * i + 4, 0);
      for (let i = 0; i < 16; i++) if (rnd() < 0.6) drv.mem.writeU32(ring.desc + 16 * i + 8, Math.floor(rnd() * 5000));
      drv.mem.writeBytes(ring.avail, bytes.subarray(256, 256 + 38));
    }
    be.inject(frameOf(1 + Math.floor(rnd() * 5000), iter));
    dev.queueNotify(1);
    be.poll();
    dev.queueNotify(0);
  }
});
