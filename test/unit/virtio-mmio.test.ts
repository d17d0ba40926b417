import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  STATUS_ACKNOWLEDGE as ACK,
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER as DRV,
  STATUS_DRIVER_OK as OK,
  STATUS_FEATURES_OK as FOK,
  VIRTIO_F_VERSION_1,
} from '../../src/virtio/device.js';
import { INT_CONFIG, INT_USED_RING, R, VIRTIO_MMIO_MAGIC } from '../../src/virtio/mmio.js';
import { VirtioRng } from '../../src/virtio/rng.js';
import { BUF_AREA, RAM_BASE, TestDriver } from '../fuzz/driver.js';

const rngWith = (fill?: (b: Uint8Array) => void): VirtioRng => new VirtioRng({ fill: fill ?? ((b) => b.fill(0x5a)) });

test('identification registers', () => {
  const d = new TestDriver(rngWith());
  assert.equal(d.r(R.MAGIC), VIRTIO_MMIO_MAGIC);
  assert.equal(d.r(R.VERSION), 2);
  assert.equal(d.r(R.DEVICE_ID), 4);
  assert.notEqual(d.r(R.VENDOR_ID), 0);
  const f = d.deviceFeatures();
  assert.ok(f & VIRTIO_F_VERSION_1);
  assert.ok(f & (1n << 28n), 'INDIRECT_DESC');
  assert.ok(f & (1n << 29n), 'EVENT_IDX');
  d.w(R.QUEUE_SEL, 0);
  assert.equal(d.r(R.QUEUE_NUM_MAX), 64);
  d.w(R.QUEUE_SEL, 1);
  assert.equal(d.r(R.QUEUE_NUM_MAX), 0, 'no queue 1');
  assert.equal(d.mmio.read(R.MAGIC, 1), 0, 'registers need 32-bit accesses');
});

test('full init, a request, a used-ring interrupt, ack', () => {
  const d = new TestDriver(rngWith());
  d.init({ eventIdx: false });
  assert.equal(d.status(), ACK | DRV | FOK | OK);
  assert.equal(d.mmio.isActive, true);
  d.addChain(0, [{ addr: BUF_AREA, len: 32, write: true }]);
  d.kick(0);
  assert.deepEqual(d.takeUsed(0), [{ id: 0, len: 32 }]);
  assert.equal(d.memory.readU8(BUF_AREA + 31), 0x5a);
  assert.equal(d.irq.pulses, 1);
  assert.equal(d.r(R.INTERRUPT_STATUS), INT_USED_RING);
  d.w(R.INTERRUPT_ACK, INT_USED_RING);
  assert.equal(d.r(R.INTERRUPT_STATUS), 0);
});

test('FEATURES_OK is refused for unoffered features and without VERSION_1', () => {
  const d = new TestDriver(rngWith());
  d.w(R.STATUS, ACK | DRV);
  d.w(R.DRIVER_FEATURES_SEL, 0);
  d.w(R.DRIVER_FEATURES, 1 << 5); // not offered by rng
  d.w(R.DRIVER_FEATURES_SEL, 1);
  d.w(R.DRIVER_FEATURES, 1);
  d.w(R.STATUS, ACK | DRV | FOK);
  assert.equal(d.status() & FOK, 0);
  d.w(R.STATUS, 0);
  d.w(R.STATUS, ACK | DRV);
  d.w(R.DRIVER_FEATURES_SEL, 1);
  d.w(R.DRIVER_FEATURES, 0); // legacy driver: no VERSION_1
  d.w(R.STATUS, ACK | DRV | FOK);
  assert.equal(d.status() & FOK, 0);
  d.w(R.DRIVER_FEATURES, 1);
  d.w(R.STATUS, ACK | DRV | FOK);
  assert.equal(d.status() & FOK, FOK);
  // features are frozen after FEATURES_OK
  d.w(R.DRIVER_FEATURES, 0);
  assert.equal(d.mmio.driverFeatures, VIRTIO_F_VERSION_1);
});

test('DRIVER_OK without FEATURES_OK sets DEVICE_NEEDS_RESET; only a reset clears it', () => {
  const d = new TestDriver(rngWith());
  d.w(R.STATUS, ACK | DRV | OK);
  assert.ok(d.status() & STATUS_DEVICE_NEEDS_RESET);
  assert.equal(d.mmio.isActive, false);
  d.w(R.STATUS, ACK | DRV | FOK | OK);
  assert.ok(d.status() & STATUS_DEVICE_NEEDS_RESET);
  d.w(R.STATUS, 0);
  assert.equal(d.status(), 0);
  d.init();
  assert.equal(d.status() & STATUS_DEVICE_NEEDS_RESET, 0);
});

test('notifications: before FEATURES_OK -> needs reset; before DRIVER_OK -> deferred; bad queue -> needs reset', () => {
  {
    const d = new TestDriver(rngWith());
    d.w(R.STATUS, ACK | DRV);
    d.kick(0);
    assert.ok(d.status() & STATUS_DEVICE_NEEDS_RESET);
    assert.match(d.mmio.lastError!, /before FEATURES_OK/);
  }
  {
    const d = new TestDriver(rngWith());
    d.init({ driverOk: false });
    d.addChain(0, [{ addr: BUF_AREA, len: 8, write: true }]);
    d.kick(0);
    assert.equal(d.usedIdx(0), 0, 'nothing processed before DRIVER_OK');
    d.w(R.STATUS, ACK | DRV | FOK | OK);
    assert.equal(d.usedIdx(0), 1, 'processed at DRIVER_OK');
  }
  {
    const d = new TestDriver(rngWith());
    d.init();
    d.kick(7);
    assert.ok(d.status() & STATUS_DEVICE_NEEDS_RESET);
    assert.equal(d.r(R.INTERRUPT_STATUS) & INT_CONFIG, INT_CONFIG, 'config interrupt after DRIVER_OK');
  }
});

test('a malformed chain sets DEVICE_NEEDS_RESET with a config interrupt; the device stays quiet until reset', () => {
  const d = new TestDriver(rngWith());
  d.init();
  d.addChain(0, [{ addr: 0x1000, len: 8, write: true }]); // not RAM
  d.kick(0);
  assert.ok(d.status() & STATUS_DEVICE_NEEDS_RESET);
  assert.match(d.mmio.lastError!, /not in guest RAM/);
  assert.equal(d.r(R.INTERRUPT_STATUS), INT_CONFIG);
  assert.equal(d.mmio.internalErrors, 0);
  d.addChain(0, [{ addr: BUF_AREA, len: 8, write: true }]);
  d.kick(0);
  assert.equal(d.usedIdx(0), 0);
  d.init();
  d.addChain(0, [{ addr: BUF_AREA, len: 8, write: true }]);
  d.kick(0);
  assert.equal(d.usedIdx(0), 1, 'works again after reset + re-init');
});

test('queue set-up: rings outside RAM -> needs reset; registers frozen while ready; QueueReady reads back', () => {
  const d = new TestDriver(rngWith());
  d.w(R.STATUS, ACK | DRV);
  d.w(R.DRIVER_FEATURES_SEL, 1);
  d.w(R.DRIVER_FEATURES, 1);
  d.w(R.STATUS, ACK | DRV | FOK);
  d.w(R.QUEUE_SEL, 0);
  d.w(R.QUEUE_NUM, 16);
  d.w(R.QUEUE_DESC_LOW, 0x1000);
  d.w(R.QUEUE_DRIVER_LOW, RAM_BASE + 0x1000);
  d.w(R.QUEUE_DEVICE_LOW, RAM_BASE + 0x2000);
  d.w(R.QUEUE_READY, 1);
  assert.equal(d.r(R.QUEUE_READY), 0);
  assert.ok(d.status() & STATUS_DEVICE_NEEDS_RESET);
  d.w(R.STATUS, 0);
  d.init({ size: 16 });
  d.w(R.QUEUE_SEL, 0);
  assert.equal(d.r(R.QUEUE_READY), 1);
  d.w(R.QUEUE_DESC_LOW, 0x1000);
  assert.equal(d.mmio.queues[0]!.descAddr, RAM_BASE, 'ignored while ready');
  // high halves: an address above 4 GiB that is not RAM
  d.w(R.STATUS, 0);
  d.w(R.QUEUE_SEL, 0);
  d.w(R.QUEUE_DESC_HIGH, 0xffffffff);
  assert.ok(d.mmio.queues[0]!.descAddr > Number.MAX_SAFE_INTEGER);
});

test('status 0 resets device state, interrupt status and queues', () => {
  const d = new TestDriver(rngWith());
  d.init();
  d.addChain(0, [{ addr: BUF_AREA, len: 8, write: true }]);
  d.kick(0);
  assert.notEqual(d.r(R.INTERRUPT_STATUS), 0);
  d.w(R.STATUS, 0);
  assert.equal(d.r(R.INTERRUPT_STATUS), 0);
  assert.equal(d.mmio.isActive, false);
  assert.equal(d.mmio.queues[0]!.ready, false);
  assert.equal(d.mmio.queues[0]!.lastAvail, 0);
});

test('a device that throws a non-guest error is contained (needs reset, counted as internal error)', () => {
  const d = new TestDriver(
    rngWith(() => {
      throw new TypeError('boom');
    }),
  );
  d.init();
  d.addChain(0, [{ addr: BUF_AREA, len: 8, write: true }]);
  assert.doesNotThrow(() => d.kick(0));
  assert.ok(d.status() & STATUS_DEVICE_NEEDS_RESET);
  assert.equal(d.mmio.internalErrors, 1);
});

test('config generation and SHM registers', () => {
  const d = new TestDriver(rngWith());
  assert.equal(d.r(R.CONFIG_GENERATION), 0);
  assert.equal(d.r(R.SHM_LEN_LOW), 0xffffffff);
  assert.equal(d.r(R.SHM_LEN_HIGH), 0xffffffff);
});
