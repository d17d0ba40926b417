import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtioConsole } from '../../src/virtio/console.js';
import { BUF_AREA, TestDriver } from '../fuzz/driver.js';

test('virtio-console: transmitq bytes reach the sink; receive() fills posted buffers and reports what fitted', () => {
  const out: string[] = [];
  const c = new VirtioConsole((b) => out.push(Buffer.from(b).toString()));
  const d = new TestDriver(c);
  assert.equal(c.receive(new Uint8Array([1])), 0, 'not active yet: nothing accepted');
  d.init();
  d.memory.writeBytes(BUF_AREA, Buffer.from('hello '));
  d.memory.writeBytes(BUF_AREA + 0x100, Buffer.from('world\n'));
  d.addChain(1, [{ addr: BUF_AREA, len: 6 }, { addr: BUF_AREA + 0x100, len: 6 }]);
  d.kick(1);
  assert.deepEqual(out, ['hello world\n']);
  assert.deepEqual(d.takeUsed(1), [{ id: 0, len: 0 }]);

  assert.equal(c.receive(Buffer.from('abc')), 0, 'no receive buffers posted');
  d.addChain(0, [{ addr: BUF_AREA + 0x1000, len: 4, write: true }]);
  d.addChain(0, [{ addr: BUF_AREA + 0x2000, len: 4, write: true }]);
  d.kick(0);
  assert.equal(c.receive(Buffer.from('0123456789')), 8);
  assert.deepEqual(d.takeUsed(0), [
    { id: 0, len: 4 },
    { id: 1, len: 4 },
  ]);
  assert.equal(Buffer.from(d.memory.readBytes(BUF_AREA + 0x1000, 4)).toString(), '0123');
  assert.equal(Buffer.from(d.memory.readBytes(BUF_AREA + 0x2000, 4)).toString(), '4567');
  assert.equal(c.rxBytes, 8);
  assert.equal(c.txBytes, 12);
  d.w(0x70, 0);
  assert.equal(c.active, false, 'reset deactivates');
});

test('virtio-console: a receive buffer outside RAM makes the device need reset, receive() does not throw', () => {
  const c = new VirtioConsole(() => {});
  const d = new TestDriver(c);
  d.init();
  d.addChain(0, [{ addr: 0x10, len: 4, write: true }]);
  assert.doesNotThrow(() => c.receive(Buffer.from('x')));
  assert.ok(d.status() & 0x40);
});
