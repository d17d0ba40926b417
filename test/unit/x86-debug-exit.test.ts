import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DebugExit, debugExitCode } from '../../src/devices/debug-exit.js';
import type { ExitStatus } from '../../src/vmm/engine.js';

test('debug-exit reports QEMU-compatible (value << 1) | 1, once', () => {
  const seen: ExitStatus[] = [];
  const d = new DebugExit((s) => seen.push(s));
  d.write(0, 1, 0x10);
  d.write(0, 1, 0x00);
  assert.deepEqual(seen, [{ kind: 'debug-exit', code: 33 }]);
  assert.equal(debugExitCode(0), 1);
  assert.equal(debugExitCode(0xffff), 0x1ffff);
});

test('debug-exit masks the written value to the access size', () => {
  const seen: ExitStatus[] = [];
  new DebugExit((s) => seen.push(s)).write(0, 1, 0x1ff);
  assert.deepEqual(seen, [{ kind: 'debug-exit', code: 0x1ff }]);
});
