import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PanicWatch } from '../../src/vmm/panic-watch.js';

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');

test('reports the reason once the kernel has finished panicking, across split writes', () => {
  const got: string[] = [];
  const w = new PanicWatch((r) => got.push(r));
  w.feed(enc('[   12.1] Kernel panic - not syncing: sysrq trig'));
  w.feed(enc('gered crash\r\n[   12.2] CPU: 0 PID: 1\r\n'));
  assert.deepEqual(got, [], 'not before the end marker');
  w.feed(enc('[   12.3] ---[ end Kernel panic - not syncing: sysrq triggered crash ]---\r\n'));
  w.feed(enc('[   12.3] ---[ end Kernel panic - not syncing: again ]---\r\n'));
  assert.deepEqual(got, ['sysrq triggered crash']);
});

test('ordinary output and overlong lines do not trigger it', () => {
  let fired = false;
  const w = new PanicWatch(() => (fired = true));
  w.feed(enc('panic: not really\nKernel panic\n' + 'x'.repeat(5000) + '\n'));
  assert.equal(fired, false);
});
