/**
 * virtio-pci modern transport through the PCI bus's 0xCF8/0xCFC ports, as a
 * driver sees it: enumerate, size the BAR, walk the capabilities, negotiate,
 * set up queues, program MSI-X, notify; plus INTx and hostile accesses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import { RecordingIrq } from '../../src/devices/device.js';
import { createHeapMemory } from '../../src/memory/guest-memory.js';
import { PciBus, PCI_MMIO_WINDOW_BASE, PCI_MMIO_WINDOW_SIZE } from '../../src/virtio/pci.js';
import { VirtioPci, C, BAR_SIZE, NOTIFY_OFF, MSIX_TABLE_OFF, MSIX_PBA_OFF, ISR_OFF, DEVICE_CFG_OFF, type MsiMessage, type MsiVector } from '../../src/virtio/pci-virtio.js';
import { VirtioNet } from '../../src/virtio/net.js';
import { MemoryNetBackend, VNET_HDR_LEN } from '../../src/backends/net.js';
import { VIRTIO_F_VERSION_1, STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_FEATURES_OK, STATUS_DRIVER_OK, STATUS_DEVICE_NEEDS_RESET } from '../../src/virtio/device.js';
import { VIRTQ_DESC_F_WRITE } from '../../src/virtio/queue.js';

class RecVector implements MsiVector {
  msg: MsiMessage | undefined;
  fired = 0;
  route(m: MsiMessage | undefined) {
    this.msg = m;
  }
  fire() {
    this.fired++;
  }
}

function machine(withMsi = true) {
  const mem = createHeapMemory([{ gpa: 0, size: 16 << 20 }]);
  const pio = new Bus('pio');
  const mmio = new Bus('mmio');
  const pci = new PciBus();
  pio.register(0xcf8, 8, pci.ports);
  mmio.register(PCI_MMIO_WINDOW_BASE, PCI_MMIO_WINDOW_SIZE, pci.window);
  const be = new MemoryNetBackend();
  const net = new VirtioNet({ backend: be, mac: Uint8Array.from([0x52, 0, 0, 0, 0, 1]) });
  const intx = new RecordingIrq();
  const vectors: RecVector[] = [];
  const notified: Array<{ gpa: number; len: number; fn: () => void; removed: boolean }> = [];
  const fn = new VirtioPci(net, mem, pci.allocBar(BAR_SIZE), {
    intx,
    intxGsi: 10,
    ...(withMsi ? { msi: () => {
      const v = new RecVector();
      vectors.push(v);
      return v;
    } } : {}),
  }, {
    register(_owner, _q, gpa, len, f) {
      const r = { gpa, len, fn: f, removed: false };
      notified.push(r);
      return { remove: () => (r.removed = true) };
    },
  });
  const slot = pci.add(fn);
  const cfg = (dev: number, reg: number, size: 1 | 2 | 4 = 4, value?: number): number => {
    pio.write(0xcf8, 4, 0x80000000 | (dev << 11) | (reg & 0xfc));
    if (value === undefined) return pio.read(0xcfc + (reg & 3), size) as number;
    pio.write(0xcfc + (reg & 3), size, value);
    return 0;
  };
  return { mem, pio, mmio, pci, be, net, fn, slot, cfg, intx, vectors, notified };
}

test('enumeration: host bridge at 00.0, virtio-net at its slot with modern ids; empty slots read all ones', () => {
  const { cfg, slot } = machine();
  assert.equal(cfg(0, 0), (0x29c0 << 16) | 0x8086);
  assert.equal(cfg(0, 8) >>> 8, 0x060000);
  assert.equal(cfg(slot, 0), ((0x1040 + 1) << 16) | 0x1af4);
  assert.equal(cfg(slot, 8) & 0xff, 1, 'revision 1');
  assert.equal(cfg(slot, 8) >>> 8, 0x020000);
  assert.equal(cfg(slot, 0x2c) >>> 16, 0x1100);
  assert.equal(cfg(slot, 0x3c, 1), 10);
  assert.equal(cfg(slot, 0x3d, 1), 1);
  assert.equal(cfg(7, 0) >>> 0, 0xffffffff);
  // Linux's type-1 probe: write 0x80000000, read it back.
  const { pio } = machine();
  pio.write(0xcfb, 1, 1); // ignored byte write
  pio.write(0xcf8, 4, 0x80000000);
  assert.equal(pio.read(0xcf8, 4), 0x80000000);
});

test('BAR sizing protocol and relocation', () => {
  const { cfg, slot, fn, mmio, notified } = machine();
  const bar = fn.bar0.addr;
  assert.equal(cfg(slot, 0x10) >>> 0, (bar | 4) >>> 0);
  assert.equal(cfg(slot, 0x14), 0);
  cfg(slot, 0x10, 4, 0xffffffff);
  cfg(slot, 0x14, 4, 0xffffffff);
  assert.equal(cfg(slot, 0x10) >>> 0, (~(BAR_SIZE - 1) | 4) >>> 0);
  assert.equal(cfg(slot, 0x14) >>> 0, 0xffffffff);
  // Move it elsewhere in the window.
  const nb = PCI_MMIO_WINDOW_BASE + 0x100000;
  cfg(slot, 0x10, 4, nb);
  cfg(slot, 0x14, 4, 0);
  assert.equal(fn.bar0.addr, nb);
  assert.equal(mmio.read(nb + C.NUMQ, 2), 2);
  assert.equal(mmio.read(bar + C.NUMQ, 2), 0xffff, 'old place is empty');
  const live = notified.filter((n) => !n.removed);
  assert.deepEqual(live.map((n) => n.gpa), [nb + NOTIFY_OFF, nb + NOTIFY_OFF + 4]);
  // Memory decoding off: BAR not decoded.
  cfg(slot, 4, 2, 0);
  assert.equal(mmio.read(nb + C.NUMQ, 2), 0xffff);
  assert.equal(notified.filter((n) => !n.removed).length, 0);
});

test('capabilities: common, notify (multiplier 4), ISR, device, MSI-X', () => {
  const { cfg, slot } = machine();
  assert.ok(cfg(slot, 6, 2) & 0x10);
  const caps = new Map<number, number[]>();
  let p = cfg(slot, 0x34, 1);
  let guard = 0;
  while (p !== 0 && guard++ < 48) {
    const id = cfg(slot, p, 1);
    if (id === 9) caps.set(cfg(slot, p + 3, 1), [cfg(slot, p + 4, 1), cfg(slot, p + 8), cfg(slot, p + 12), cfg(slot, p + 16)]);
    if (id === 0x11) caps.set(0x11, [cfg(slot, p + 2, 2), cfg(slot, p + 4), cfg(slot, p + 8)]);
    p = cfg(slot, p + 1, 1);
  }
  assert.deepEqual(caps.get(1)!.slice(0, 3), [0, 0, 0x38]);
  assert.deepEqual(caps.get(2), [0, NOTIFY_OFF, 8, 4]);
  assert.deepEqual(caps.get(3)!.slice(0, 3), [0, ISR_OFF, 4]);
  assert.deepEqual(caps.get(4)!.slice(0, 3), [0, DEVICE_CFG_OFF, 12]);
  assert.deepEqual(caps.get(0x11), [2, MSIX_TABLE_OFF, MSIX_PBA_OFF]);
});

function driverUp(m: ReturnType<typeof machine>, msix: boolean) {
  const { mmio, fn, cfg, slot, mem } = m;
  const b = fn.bar0.addr;
  const w = (off: number, size: 1 | 2 | 4, v: number) => mmio.write(b + off, size, v);
  const r = (off: number, size: 1 | 2 | 4) => mmio.read(b + off, size) as number;
  cfg(slot, 4, 2, 0x6); // memory + bus master
  if (msix) {
    cfg(slot, 0x86, 2, 0x8000 | 0x4000); // enable + function mask while programming
    for (let i = 0; i < 3; i++) {
      mmio.write(b + MSIX_TABLE_OFF + 16 * i, 4, 0xfee00000);
      mmio.write(b + MSIX_TABLE_OFF + 16 * i + 4, 4, 0);
      mmio.write(b + MSIX_TABLE_OFF + 16 * i + 8, 4, 0x40 + i);
      mmio.write(b + MSIX_TABLE_OFF + 16 * i + 12, 4, 0);
    }
    cfg(slot, 0x86, 2, 0x8000);
  }
  w(C.STATUS, 1, 0);
  assert.equal(r(C.STATUS, 1), 0);
  w(C.STATUS, 1, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
  w(C.DFSELECT, 4, 1);
  assert.equal(r(C.DF, 4) & 1, 1, 'VERSION_1 offered');
  w(C.GFSELECT, 4, 1);
  w(C.GF, 4, 1);
  w(C.GFSELECT, 4, 0);
  w(C.GF, 4, 1 << 5); // MAC only
  w(C.STATUS, 1, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  assert.ok(r(C.STATUS, 1) & STATUS_FEATURES_OK);
  if (msix) {
    w(C.MSIX, 2, 2);
    assert.equal(r(C.MSIX, 2), 2);
  }
  const rings: Array<{ desc: number; avail: number; used: number }> = [];
  for (let q = 0; q < 2; q++) {
    w(C.Q_SELECT, 2, q);
    assert.equal(r(C.Q_SIZE, 2), 256);
    w(C.Q_SIZE, 2, 16);
    const base = 0x100000 + q * 0x10000;
    const ring = { desc: base, avail: base + 0x1000, used: base + 0x2000 };
    rings.push(ring);
    w(C.Q_DESCLO, 4, ring.desc);
    w(C.Q_DESCHI, 4, 0);
    w(C.Q_AVAILLO, 4, ring.avail);
    w(C.Q_AVAILHI, 4, 0);
    w(C.Q_USEDLO, 4, ring.used);
    w(C.Q_USEDHI, 4, 0);
    if (msix) {
      w(C.Q_MSIX, 2, q);
      assert.equal(r(C.Q_MSIX, 2), q);
    }
    assert.equal(r(C.Q_NOFF, 2), q);
    w(C.Q_ENABLE, 2, 1);
    assert.equal(r(C.Q_ENABLE, 2), 1);
  }
  w(C.STATUS, 1, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  assert.ok(fn.isActive);
  return { rings, b, w, r, mem };
}

test('driver bring-up with MSI-X: TX by MMIO notify, RX raises the queue vector with the programmed message', () => {
  const m = machine();
  const { rings, b, mem } = driverUp(m, true);
  // TX: one chain with header + 60 bytes.
  const frame = new Uint8Array(VNET_HDR_LEN + 60).fill(7, VNET_HDR_LEN);
  mem.writeBytes(0x200000, frame);
  mem.writeU64(rings[1]!.desc, 0x200000);
  mem.writeU32(rings[1]!.desc + 8, frame.length);
  mem.writeU16(rings[1]!.desc + 12, 0);
  mem.writeU16(rings[1]!.avail + 4, 0);
  mem.writeU16(rings[1]!.avail + 2, 1);
  m.mmio.write(b + NOTIFY_OFF + 4, 2, 1);
  assert.equal(m.be.sent.length, 1);
  assert.deepEqual(m.be.sent[0], frame);
  assert.equal(m.vectors.length, 1);
  assert.deepEqual(m.vectors[0]!.msg, { addressLo: 0xfee00000, addressHi: 0, data: 0x41 });
  assert.equal(m.vectors[0]!.fired, 1);
  // RX via the notify hook (what an ioeventfd delivers under kvm).
  mem.writeU64(rings[0]!.desc, 0x300000);
  mem.writeU32(rings[0]!.desc + 8, 2048);
  mem.writeU16(rings[0]!.desc + 12, VIRTQ_DESC_F_WRITE);
  mem.writeU16(rings[0]!.avail + 4, 0);
  mem.writeU16(rings[0]!.avail + 2, 1);
  m.notified.find((n) => !n.removed && n.gpa === b + NOTIFY_OFF)!.fn();
  m.be.inject(new Uint8Array(100).fill(9));
  m.be.poll();
  assert.equal(mem.readU16(rings[0]!.used + 2), 1);
  assert.equal(mem.readU32(rings[0]!.used + 8), 100);
  const rxv = m.vectors.find((v) => v.msg?.data === 0x40)!;
  assert.equal(rxv.fired, 1);
  assert.equal(m.intx.level, false, 'no INTx with MSI-X');
  // Masked vector: pending bit, delivered on unmask.
  m.mmio.write(b + MSIX_TABLE_OFF + 12, 4, 1);
  mem.writeU16(rings[0]!.avail + 4 + 2, 1);
  mem.writeU64(rings[0]!.desc + 16, 0x310000);
  mem.writeU32(rings[0]!.desc + 24, 2048);
  mem.writeU16(rings[0]!.desc + 28, VIRTQ_DESC_F_WRITE);
  mem.writeU16(rings[0]!.avail + 2, 2);
  m.be.inject(new Uint8Array(100).fill(9));
  m.be.poll();
  assert.equal(rxv.fired, 1);
  assert.equal(m.mmio.read(b + MSIX_PBA_OFF, 4), 1);
  m.mmio.write(b + MSIX_TABLE_OFF + 12, 4, 0);
  assert.equal(rxv.fired, 2);
  assert.equal(m.mmio.read(b + MSIX_PBA_OFF, 4), 0);
});

test('INTx fallback: level while ISR is set, cleared by reading ISR', () => {
  const m = machine(false);
  const { rings, b, mem } = driverUp(m, false);
  mem.writeU64(rings[1]!.desc, 0x200000);
  mem.writeU32(rings[1]!.desc + 8, 80);
  mem.writeU16(rings[1]!.avail + 4, 0);
  mem.writeU16(rings[1]!.avail + 2, 1);
  m.mmio.write(b + NOTIFY_OFF + 4, 2, 1);
  assert.equal(m.intx.level, true);
  assert.ok(m.cfg(m.slot, 6, 2) & 0x08, 'status.interrupt');
  assert.equal(m.mmio.read(b + ISR_OFF, 1), 1);
  assert.equal(m.intx.level, false);
  assert.equal(m.mmio.read(b + ISR_OFF, 1), 0);
});

test('hostile driver: bad sizes/offsets, notify before FEATURES_OK, bogus queue, bad ring address, huge vectors', () => {
  const m = machine();
  const b = m.fn.bar0.addr;
  const w = (off: number, size: 1 | 2 | 4, v: number) => m.mmio.write(b + off, size, v);
  // Junk everywhere in the BAR and config space: nothing throws.
  for (let off = 0; off < BAR_SIZE; off += 0x1f3) for (const s of [1, 2, 4] as const) w(off, s, 0xdeadbeef);
  for (let reg = 0; reg < 256; reg++) m.cfg(m.slot, reg, 1, 0xff);
  for (let reg = 256; reg < 300; reg++) m.cfg(m.slot, reg & 0xff, 4);
  // Config writes past the end through 0xCFC+3 with size 4: ignored.
  m.pio.write(0xcf8, 4, 0x80000000 | (m.slot << 11) | 0xfc);
  m.pio.write(0xcff, 4, 0xffffffff);
  // Reset and go through a bad sequence.
  const m2 = machine();
  const b2 = m2.fn.bar0.addr;
  m2.mmio.write(b2 + C.STATUS, 1, 0);
  m2.mmio.write(b2 + C.STATUS, 1, STATUS_ACKNOWLEDGE);
  m2.mmio.write(b2 + NOTIFY_OFF, 2, 0);
  assert.ok(((m2.mmio.read(b2 + C.STATUS, 1) as number) & STATUS_DEVICE_NEEDS_RESET) !== 0);
  m2.mmio.write(b2 + C.STATUS, 1, 0);
  assert.equal(m2.mmio.read(b2 + C.STATUS, 1), 0);
  // Features not offered -> FEATURES_OK refused.
  m2.mmio.write(b2 + C.GFSELECT, 4, 1);
  m2.mmio.write(b2 + C.GF, 4, 0xffffffff);
  m2.mmio.write(b2 + C.STATUS, 1, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  assert.equal((m2.mmio.read(b2 + C.STATUS, 1) as number) & STATUS_FEATURES_OK, 0);
  // Ring outside RAM -> needs reset when enabled.
  m2.mmio.write(b2 + C.STATUS, 1, 0);
  m2.mmio.write(b2 + C.Q_SELECT, 2, 0);
  m2.mmio.write(b2 + C.Q_DESCLO, 4, 0xfff00000);
  m2.mmio.write(b2 + C.Q_DESCHI, 4, 0xffffffff);
  m2.mmio.write(b2 + C.Q_ENABLE, 2, 1);
  assert.ok(m2.fn.lastError);
  // Vector numbers beyond the table read back as NO_VECTOR.
  m2.mmio.write(b2 + C.STATUS, 1, 0);
  m2.mmio.write(b2 + C.MSIX, 2, 999);
  assert.equal(m2.mmio.read(b2 + C.MSIX, 2), 0xffff);
  m2.mmio.write(b2 + C.Q_SELECT, 2, 77);
  assert.equal(m2.mmio.read(b2 + C.Q_SIZE, 2), 0);
  m2.mmio.write(b2 + C.Q_ENABLE, 2, 1);
  assert.equal(m2.fn.internalErrors, 0);
  void VIRTIO_F_VERSION_1;
});
