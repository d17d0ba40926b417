import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { ByteRing } from '../../src/vmm/byte-ring.js';

test('moves bytes in order, wraps around, and refuses what does not fit', () => {
  const r = new ByteRing(16);
  assert.equal(r.write(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), 10);
  assert.deepEqual([...r.read(4)], [1, 2, 3, 4]);
  assert.equal(r.write(new Uint8Array(20).fill(0xaa)), 10, 'only the free space is written');
  assert.equal(r.available(), 16);
  const all = r.read();
  assert.deepEqual([...all.subarray(0, 6)], [5, 6, 7, 8, 9, 10]);
  assert.ok(all.subarray(6).every((b) => b === 0xaa));
  assert.equal(r.available(), 0);
});

test('a reader in another thread sees the writes and wakes on them', async () => {
  const r = new ByteRing(1024);
  const src = `
    const { workerData, parentPort } = require('node:worker_threads');
    const ctl = new Int32Array(workerData, 0, 4);
    const data = new Uint8Array(workerData, 16);
    let got = 0, sum = 0;
    while (got < 5000) {
      const seq = Atomics.load(ctl, 2);
      const head = Atomics.load(ctl, 0), tail = Atomics.load(ctl, 1);
      const n = (head - tail) & 0x7fffffff;
      if (n === 0) { Atomics.wait(ctl, 2, seq, 1000); continue; }
      for (let i = 0; i < n; i++) sum += data[(tail + i) & 1023];
      Atomics.store(ctl, 1, (tail + n) & 0x7fffffff);
      got += n;
    }
    parentPort.postMessage(sum);
  `;
  const w = new Worker(src, { eval: true, workerData: r.sab });
  const result = new Promise<number>((res) => w.once('message', res));
  let expected = 0;
  let sent = 0;
  while (sent < 5000) {
    const chunk = new Uint8Array(Math.min(300, 5000 - sent)).map((_, i) => (sent + i) & 0xff);
    let off = 0;
    while (off < chunk.length) {
      off += r.write(chunk.subarray(off));
      if (off < chunk.length) await new Promise((s) => setTimeout(s, 1));
    }
    for (const b of chunk) expected += b;
    sent += chunk.length;
  }
  assert.equal(await result, expected);
  await w.terminate();
});
