import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RNG_MAX_PER_REQUEST, VirtioRng } from '../../src/virtio/rng.js';
import { BUF_AREA, TestDriver } from '../fuzz/driver.js';

test('virtio-rng fills every writable segment from the host random source', () => {
  const rng = new VirtioRng();
  const d = new TestDriver(rng);
  d.init();
  d.memory.fill(BUF_AREA, 0x3000, 0);
  d.addChain(0, [
    { addr: BUF_AREA, len: 4096, write: true },
    { addr: BUF_AREA + 0x2000, len: 100, write: true },
  ]);
  d.kick(0);
  assert.deepEqual(d.takeUsed(0), [{ id: 0, len: 4196 }]);
  const a = d.memory.readBytes(BUF_AREA, 4096);
  assert.ok(new Set(a).size > 200, 'random-looking');
  assert.ok(d.memory.readBytes(BUF_AREA + 0x2000, 100).some((b) => b !== 0));
  assert.equal(d.memory.readU8(BUF_AREA + 0x2000 + 100), 0, 'nothing past the buffer');
  assert.equal(rng.bytesserved, 4196);
  assert.equal(d.irq.pulses, 1);
});

test('virtio-rng caps a single request and gives nothing to readable-only chains', () => {
  const d = new TestDriver(new VirtioRng({ fill: (b) => b.fill(1) }));
  d.init();
  d.addChain(0, [{ addr: BUF_AREA, len: 1 << 20, write: true }]);
  d.addChain(0, [{ addr: BUF_AREA, len: 64 }]);
  d.kick(0);
  assert.deepEqual(d.takeUsed(0), [
    { id: 0, len: RNG_MAX_PER_REQUEST },
    { id: 1, len: 0 },
  ]);
});
