import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CmosRtc, RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_CENTURY, RTC_REG_A, RTC_REG_B, RTC_REG_D } from '../../src/devices/cmos-rtc.js';

// 2026-11-25 (a Wednesday) 15:07:09 UTC
const T = Date.UTC(2026, 10, 25, 15, 7, 9);

function make(now = () => T) {
  const rtc = new CmosRtc({ now });
  const rd = (i: number) => {
    rtc.write(0, 1, i);
    return rtc.read(1, 1);
  };
  const wr = (i: number, v: number) => {
    rtc.write(0, 1, i);
    rtc.write(1, 1, v);
  };
  return { rtc, rd, wr };
}

test('BCD 24-hour time by default', () => {
  const { rd } = make();
  assert.deepEqual(
    [RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_CENTURY].map(rd),
    [0x09, 0x07, 0x15, 0x04, 0x25, 0x11, 0x26, 0x20],
  );
  assert.equal(rd(RTC_REG_D) & 0x80, 0x80, 'valid RAM and time');
});

test('binary mode and 12-hour mode follow register B', () => {
  const { rd, wr } = make();
  wr(RTC_REG_B, 0x06); // binary, 24h
  assert.equal(rd(RTC_HOURS), 15);
  assert.equal(rd(RTC_DAY_OF_MONTH), 25);
  wr(RTC_REG_B, 0x04); // binary, 12h
  assert.equal(rd(RTC_HOURS), 0x80 | 3);
  wr(RTC_REG_B, 0x00); // BCD, 12h
  assert.equal(rd(RTC_HOURS), 0x83);
});

test('UIP never set, even if the guest writes it', () => {
  const { rd, wr } = make();
  for (let i = 0; i < 5; i++) assert.equal(rd(RTC_REG_A) & 0x80, 0);
  wr(RTC_REG_A, 0xa6);
  assert.equal(rd(RTC_REG_A), 0x26);
});

test('NMI mask bit in the index write selects the same register and is recorded', () => {
  const { rtc } = make();
  rtc.write(0, 1, 0x80 | RTC_MINUTES);
  assert.equal(rtc.nmiMasked, true);
  assert.equal(rtc.read(1, 1), 0x07);
  rtc.write(0, 1, RTC_MINUTES);
  assert.equal(rtc.nmiMasked, false);
});

test('writing a time field moves the guest clock, which keeps running with the host', () => {
  let now = T;
  const { rd, wr } = make(() => now);
  wr(RTC_YEAR, 0x30);
  assert.equal(rd(RTC_YEAR), 0x30);
  assert.equal(rd(RTC_MONTH), 0x11);
  now += 2000;
  assert.equal(rd(RTC_SECONDS), 0x11);
});

test('NVRAM bytes are read/write', () => {
  const { rd, wr } = make();
  wr(0x40, 0x5a);
  assert.equal(rd(0x40), 0x5a);
});
