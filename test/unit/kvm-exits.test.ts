/** handleIo / handleMmio against a Bus, without KVM: sizes, string I/O, unmapped accesses, odd lengths. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import type { AccessSize, BusDevice } from '../../src/devices/device.js';
import { handleIo, handleMmio } from '../../src/engines/kvm/exits.js';

class Dev implements BusDevice {
  readonly name = 'dev';
  log: string[] = [];
  read(off: number, size: AccessSize): number {
    this.log.push(`r${size}@${off}`);
    return [0, 0x11, 0x2222, 0, 0x44444444][size === 8 ? 0 : size]! + off;
  }
  write(off: number, size: AccessSize, v: number): void {
    this.log.push(`w${size}@${off}=${v.toString(16)}`);
  }
}

test('handleIo: OUT of each size, string OUT, IN fills data, unmapped IN reads all-ones', () => {
  const pio = new Bus('pio');
  const dev = new Dev();
  pio.register(0x60, 4, dev);
  const data = new DataView(new ArrayBuffer(64));
  data.setUint32(8, 0xaabbccdd, true);
  handleIo(pio, true, 4, 0x60, 1, data, 8);
  handleIo(pio, true, 2, 0x61, 1, data, 8);
  handleIo(pio, true, 1, 0x62, 3, data, 8); // rep outsb: bytes dd cc bb
  assert.deepEqual(dev.log, ['w4@0=aabbccdd', 'w2@1=ccdd', 'w1@2=dd', 'w1@2=cc', 'w1@2=bb']);
  handleIo(pio, false, 2, 0x60, 2, data, 16);
  assert.equal(data.getUint16(16, true), 0x2222);
  assert.equal(data.getUint16(18, true), 0x2222);
  handleIo(pio, false, 4, 0x70, 1, data, 20);
  handleIo(pio, false, 2, 0x70, 1, data, 24);
  handleIo(pio, false, 1, 0x70, 1, data, 26);
  assert.equal(data.getUint32(20, true), 0xffffffff);
  assert.equal(data.getUint16(24, true), 0xffff);
  assert.equal(data.getUint8(26), 0xff);
  dev.log = [];
  handleIo(pio, true, 3, 0x60, 1, data, 0); // not an x86 port size: ignored
  assert.deepEqual(dev.log, []);
});

test('handleMmio: sizes 1-8, unmapped reads all-ones and writes dropped, odd lengths byte by byte', () => {
  const mmio = new Bus('mmio');
  const dev = new Dev();
  mmio.register(0x1000, 0x100, dev);
  const data = new DataView(new ArrayBuffer(16));
  data.setBigUint64(0, 0x0102030405060708n, true);
  handleMmio(mmio, true, 0x1008, 8, data, 0);
  assert.deepEqual(dev.log, ['w4@8=5060708', 'w4@12=1020304']);
  handleMmio(mmio, false, 0x1010, 4, data, 8);
  assert.equal(data.getUint32(8, true), 0x44444444 + 0x10);
  handleMmio(mmio, false, 0x5000, 8, data, 8);
  assert.equal(data.getBigUint64(8, true), 0xffffffffffffffffn);
  dev.log = [];
  handleMmio(mmio, true, 0x5000, 4, data, 0);
  assert.deepEqual(dev.log, []);
  handleMmio(mmio, true, 0x1020, 3, data, 0);
  assert.deepEqual(dev.log, ['w1@32=8', 'w1@33=7', 'w1@34=6']);
  handleMmio(mmio, false, 0x10fe, 16, data, 0); // clamped to 8 bytes; the last 6 are unmapped
  assert.deepEqual([...new Uint8Array(data.buffer, 0, 8)], [0x11 + 0xfe, 0x11 + 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff].map((x) => x & 0xff));
});
