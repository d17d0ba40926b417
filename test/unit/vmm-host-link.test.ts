import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHostLinkBuffers, HostLinkMain, HostLinkWorker } from '../../src/vmm/host-link.js';

test('console input flows with back-pressure; refused input does not keep the engine busy', () => {
  const buffers = createHostLinkBuffers();
  const main = new HostLinkMain(buffers);
  const worker = new HostLinkWorker(buffers);
  let room = 4;
  const got: number[] = [];
  worker.consoleInput = (bytes) => {
    const n = Math.min(room, bytes.length);
    got.push(...bytes.subarray(0, n));
    room -= n;
    return n;
  };
  assert.equal(worker.pending(), false);
  main.sendInput(Uint8Array.from([1, 2, 3, 4, 5, 6]));
  assert.equal(worker.pending(), true);
  assert.equal(worker.poll(), undefined);
  assert.deepEqual(got, [1, 2, 3, 4]);
  // The device is full: the rest waits, and is not reported as pending work.
  assert.equal(worker.pending(), false);
  room = 8;
  worker.rxSpace();
  assert.equal(worker.pending(), true);
  worker.poll();
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
  assert.equal(worker.pending(), false);
});

test('new input while blocked is retried; a stop request always gets through', () => {
  const buffers = createHostLinkBuffers();
  const main = new HostLinkMain(buffers);
  const worker = new HostLinkWorker(buffers);
  worker.consoleInput = () => 0;
  main.sendInput(Uint8Array.from([1]));
  worker.poll();
  assert.equal(worker.pending(), false);
  main.sendInput(Uint8Array.from([2]));
  assert.equal(worker.pending(), true, 'new bytes: try again');
  worker.poll();
  assert.equal(worker.pending(), false);
  main.requestStop();
  assert.equal(worker.pending(), true);
  assert.deepEqual(worker.poll(), { kind: 'stopped', reason: 'stop requested' });
});
