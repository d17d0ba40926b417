import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import type { AccessSize, BusDevice } from '../../src/devices/device.js';

class Recorder implements BusDevice {
  log: string[] = [];
  constructor(readonly name: string) {}
  read(offset: number, size: AccessSize): number {
    this.log.push(`r${size}@${offset}`);
    return 0x1000 + offset;
  }
  write(offset: number, size: AccessSize, value: number): void {
    this.log.push(`w${size}@${offset}=${value.toString(16)}`);
  }
}

test('dispatches to the device with the offset relative to its base', () => {
  const bus = new Bus('pio');
  const a = new Recorder('a');
  const b = new Recorder('b');
  bus.register(0x3f8, 8, a);
  bus.register(0x60, 1, b);
  assert.equal(bus.read(0x3fd, 1), 0x1005);
  assert.equal(bus.write(0x60, 1, 0xfe), true);
  assert.deepEqual(a.log, ['r1@5']);
  assert.deepEqual(b.log, ['w1@0=fe']);
  assert.equal(bus.read(0x400, 1), undefined);
  assert.equal(bus.write(0x3f7, 1, 0), false);
  assert.equal(bus.lookup(0x3ff)?.device, a);
  assert.equal(bus.lookup(0x400), undefined);
});

test('splits 8-byte accesses for 32-bit devices, low half first', () => {
  const bus = new Bus('mmio');
  const d = new Recorder('d');
  bus.register(0x1000, 0x100, d);
  assert.equal(bus.read(0x1008, 8), (0x100cn << 32n) | 0x1008n);
  bus.write(0x1010, 8, 0x1122334455667788n);
  assert.deepEqual(d.log.slice(2), ['w4@16=55667788', 'w4@20=11223344']);
});

test('refuses overlapping registrations', () => {
  const bus = new Bus('mmio');
  bus.register(0x1000, 0x100, new Recorder('x'));
  assert.throws(() => bus.register(0x10ff, 2, new Recorder('y')), /overlaps/);
  bus.register(0x1100, 0x100, new Recorder('z'));
  assert.equal(bus.lookup(0x1150)?.device.name, 'z');
});
