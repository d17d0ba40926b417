import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHeapMemory, GuestMemory, GuestMemoryError } from '../../src/memory/guest-memory.js';

test('reads and writes little-endian values inside a region', () => {
  const m = createHeapMemory([{ gpa: 0x1000, size: 0x1000 }]);
  m.writeU32(0x1004, 0xdeadbeef);
  assert.equal(m.readU8(0x1004), 0xef);
  assert.equal(m.readU16(0x1006), 0xdead);
  assert.equal(m.readU32(0x1004), 0xdeadbeef);
  m.writeU64(0x1008, 0x0123456789abcdefn);
  assert.equal(m.readU64(0x1008), 0x0123456789abcdefn);
  assert.equal(m.readU32(0x100c), 0x01234567);
});

test('rejects accesses outside RAM, straddling regions, and nonsense addresses', () => {
  const m = createHeapMemory([
    { gpa: 0, size: 0x1000 },
    { gpa: 0x1000, size: 0x1000 },
  ]);
  assert.throws(() => m.readU32(0x2000), GuestMemoryError);
  assert.throws(() => m.readU32(0xffe), GuestMemoryError, 'straddles two regions');
  assert.throws(() => m.slice(0x1f00, 0x200), GuestMemoryError);
  assert.throws(() => m.slice(-1, 4), GuestMemoryError);
  assert.throws(() => m.slice(0, -4), GuestMemoryError);
  assert.throws(() => m.readU8(2 ** 60), GuestMemoryError);
  assert.throws(() => m.readU8(NaN), GuestMemoryError);
  assert.throws(() => m.writeBytes(0x1ffc, new Uint8Array(8)), GuestMemoryError);
  assert.equal(m.isRam(0xffc, 4), true);
  assert.equal(m.isRam(0xffe, 4), false);
});

test('slice is a zero-copy view and readBytes a copy', () => {
  const m = createHeapMemory([{ gpa: 0x40000000, size: 4096 }]);
  const v = m.slice(0x40000010, 4);
  v[0] = 7;
  assert.equal(m.readU8(0x40000010), 7);
  const c = m.readBytes(0x40000010, 4);
  c[0] = 9;
  assert.equal(m.readU8(0x40000010), 7);
});

test('overlapping regions are refused', () => {
  const m = new GuestMemory();
  m.addRegion(0, new ArrayBuffer(0x2000));
  assert.throws(() => m.addRegion(0x1000, new ArrayBuffer(0x1000)), RangeError);
  assert.equal(m.totalSize, 0x2000);
});
