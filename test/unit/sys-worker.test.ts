/** startWorker: a worker on a TypeScript module runs under tsx (where tsx does not register in workers by itself). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startWorker } from '../../src/sys/worker.js';

test('startWorker loads a .ts module named with .js and passes workerData', async () => {
  const w = startWorker('./sys-worker-echo.js', import.meta.url, { workerData: { n: 21 } });
  const [msg] = await once(w, 'message');
  assert.deepEqual(msg, { doubled: 42 });
  await once(w, 'exit');
});

test('startWorker: a missing module surfaces as an error event', async () => {
  const w = startWorker('./no-such-worker.js', import.meta.url);
  const [err] = await once(w, 'error');
  assert.match(String((err as Error).message), /no-such-worker/);
});
