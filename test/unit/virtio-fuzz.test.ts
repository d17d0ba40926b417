import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz } from '../fuzz/virtio-fuzz.js';

test('virtio fuzz (bounded run): devices never throw, errors become DEVICE_NEEDS_RESET, disks stay in range', () => {
  const seed = Number(process.env.TSVISOR_FUZZ_SEED ?? 12345);
  const stats = runFuzz({ seconds: Number(process.env.TSVISOR_FUZZ_SECONDS ?? 3), seed, log: (s) => console.log(`# ${s}`) });
  assert.deepEqual(stats.failures, []);
  assert.ok(stats.iterations > 10, `only ${stats.iterations} machines in the time`);
  assert.ok(stats.usedEntries > 0, 'some requests completed');
  assert.ok(stats.needsReset > 0, 'some machines were driven into DEVICE_NEEDS_RESET');
});
