import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingIrq } from '../../src/devices/device.js';
import { Pl031 } from '../../src/devices/pl031.js';

test('pl031: counter follows the host clock and RTCLR sets an offset', () => {
  let now = 1_795_000_000_500;
  const rtc = new Pl031(new RecordingIrq(), () => now);
  assert.equal(rtc.read(0x00, 4), 1_795_000_000);
  assert.equal(rtc.read(0x0c, 4), 1, 'started');
  rtc.write(0x08, 4, 1000);
  assert.equal(rtc.read(0x00, 4), 1000);
  now += 5000;
  assert.equal(rtc.read(0x00, 4), 1005);
  rtc.write(0x00, 4, 7); // DR is read-only
  assert.equal(rtc.read(0x00, 4), 1005);
});

test('pl031: match interrupt fires once when the counter reaches RTCMR', () => {
  let now = 10_000;
  const irq = new RecordingIrq();
  const rtc = new Pl031(irq, () => now);
  rtc.write(0x04, 4, 12);
  rtc.write(0x10, 4, 1);
  now = 11_000;
  rtc.poll();
  assert.equal(rtc.read(0x14, 4), 0);
  now = 12_500;
  rtc.poll();
  assert.equal(rtc.read(0x14, 4), 1);
  assert.equal(rtc.read(0x18, 4), 1);
  assert.equal(irq.level, true);
  rtc.write(0x1c, 4, 1);
  assert.equal(irq.level, false);
  rtc.poll();
  assert.equal(irq.level, false, 'does not re-fire within the same second');
});

test('pl031: PrimeCell IDs', () => {
  const rtc = new Pl031(new RecordingIrq(), () => 0);
  const ids = [];
  for (let o = 0xfe0; o < 0x1000; o += 4) ids.push(rtc.read(o, 4));
  assert.deepEqual(ids, [0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
});

test('pl031: stray accesses never throw and the counter stays a u32', () => {
  const rtc = new Pl031(new RecordingIrq(), () => 4_000_000_000_000);
  for (let o = 0; o < 0x1000; o++) {
    rtc.write(o, 4, 0xffffffff);
    const v = rtc.read(o, 4);
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, `offset ${o}`);
  }
  rtc.write(0x08, 4, 0xfffffffe);
  assert.equal(rtc.read(0x00, 4), 0xfffffffe);
});
