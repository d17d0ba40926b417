import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingIrq } from '../../src/devices/device.js';
import { I8042, PortB, STATUS_OBF, STATUS_AUXDATA, SELF_TEST_OK } from '../../src/devices/i8042.js';

function make() {
  let resets = 0;
  const kbd = new RecordingIrq();
  const aux = new RecordingIrq();
  const c = new I8042({ onReset: () => resets++, kbdIrq: kbd, auxIrq: aux });
  const cmd = (v: number) => c.commandPort.write(0, 1, v);
  const data = (v: number) => c.dataPort.write(0, 1, v);
  const st = () => c.commandPort.read(0, 1);
  const rd = () => c.dataPort.read(0, 1);
  return { c, cmd, data, st, rd, kbd, aux, resets: () => resets };
}

test('empty controller: no output, status without OBF (Linux flush terminates)', () => {
  const { st } = make();
  assert.equal(st() & STATUS_OBF, 0);
  assert.notEqual(st(), 0xff, '0xFF would mean "no controller"');
});

test('self-test answers 0x55; interface tests answer 0', () => {
  const { cmd, st, rd } = make();
  cmd(0xaa);
  assert.equal(st() & STATUS_OBF, STATUS_OBF);
  assert.equal(rd(), SELF_TEST_OK);
  assert.equal(st() & STATUS_OBF, 0);
  cmd(0xab);
  assert.equal(rd(), 0);
});

test('command byte read/write round-trips, with the keyboard IRQ following OBF and CTR bit 0', () => {
  const { cmd, data, rd, kbd } = make();
  cmd(0x60);
  data(0x00); // interrupts off
  cmd(0x20);
  assert.equal(kbd.level, false);
  assert.equal(rd(), 0x00);
  cmd(0x60);
  data(0x47);
  cmd(0x20);
  assert.equal(kbd.level, true);
  assert.equal(rd(), 0x47);
  assert.equal(kbd.level, false);
});

test('AUX loopback (0xD3) returns the byte as aux data with IRQ 12', () => {
  const { cmd, data, st, rd, aux } = make();
  cmd(0xd3);
  data(0xa5);
  assert.equal(st() & (STATUS_OBF | STATUS_AUXDATA), STATUS_OBF | STATUS_AUXDATA);
  assert.equal(aux.level, true);
  assert.equal(rd(), 0xa5);
  assert.equal(aux.level, false);
});

test('keyboard commands get no answer; 0xFE and an output-port write with bit 0 clear reset', () => {
  const { cmd, data, st, resets } = make();
  data(0xff);
  data(0xf2);
  assert.equal(st() & STATUS_OBF, 0);
  assert.equal(resets(), 0);
  cmd(0xfe);
  assert.equal(resets(), 1);
  cmd(0xd1);
  data(0x02);
  assert.equal(resets(), 2);
  cmd(0xff); // pulse nothing (bit 0 set)
  assert.equal(resets(), 2);
});

test('port 0x61 toggles the refresh bit', () => {
  const p = new PortB();
  const a = p.read() & 0x10;
  const b = p.read() & 0x10;
  assert.notEqual(a, b);
});
