/** x86 RAM layout (32-bit hole, 4 GiB regions) and mmap-backed guest memory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { x86RamLayout, createMmapMemory } from '../../src/engines/kvm/memory.js';
import { sys } from '../../src/sys/native.js';

const GiB = 1024 ** 3;

test('x86RamLayout: below the hole in one region, the rest from 4 GiB in regions of at most 4 GiB', () => {
  assert.deepEqual(x86RamLayout(64 << 20), [{ gpa: 0, size: 64 << 20 }]);
  assert.deepEqual(x86RamLayout(3 * GiB), [{ gpa: 0, size: 3 * GiB }]);
  assert.deepEqual(x86RamLayout(4 * GiB), [
    { gpa: 0, size: 3 * GiB },
    { gpa: 4 * GiB, size: 1 * GiB },
  ]);
  assert.deepEqual(x86RamLayout(12 * GiB), [
    { gpa: 0, size: 3 * GiB },
    { gpa: 4 * GiB, size: 4 * GiB },
    { gpa: 8 * GiB, size: 4 * GiB },
    { gpa: 12 * GiB, size: 1 * GiB },
  ]);
  assert.throws(() => x86RamLayout(0), RangeError);
  assert.throws(() => x86RamLayout(4097), RangeError);
});

test('createMmapMemory: regions carry their host address and view the mapping itself', () => {
  const mem = createMmapMemory([
    { gpa: 0, size: 1 << 20 },
    { gpa: 4 * GiB, size: 1 << 20 },
  ]);
  assert.equal(mem.regions.length, 2);
  for (const r of mem.regions) {
    assert.equal(typeof r.hostAddr, 'bigint');
    assert.equal(sys().addressOf(r.u8), r.hostAddr);
  }
  mem.writeU32(4 * GiB + 16, 0xdeadbeef);
  assert.equal(mem.readU32(4 * GiB + 16), 0xdeadbeef);
  assert.equal(mem.regions[1]!.view.getUint32(16, true), 0xdeadbeef);
  assert.throws(() => createMmapMemory([{ gpa: 0, size: 100 }]), RangeError);
});

test('createMmapMemory with MAP_NORESERVE: a 4 GiB region costs nothing until touched', () => {
  const mem = createMmapMemory([{ gpa: 4 * GiB, size: 4 * GiB }]);
  mem.writeU8(4 * GiB + 4 * GiB - 1, 7);
  assert.equal(mem.readU8(8 * GiB - 1), 7);
});
