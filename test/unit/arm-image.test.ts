import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { fakeImage } from './arm-image-fixture.js';
import { parseArm64Image, planArmLoad, maybeDecompress, ImageError, DTB_MAX_SIZE } from '../../src/boards/arm-virt/image.js';

const MIB = 1048576;

test('image: header fields are decoded', () => {
  const h = parseArm64Image(fakeImage({ textOffset: 0x80000, imageSize: 3 * MIB, flags: 0xa }));
  assert.equal(h.textOffset, 0x80000);
  assert.equal(h.imageSize, 3 * MIB);
  assert.equal(h.pageSizeKiB, 4);
  assert.equal(h.anyBase, true);
  assert.equal(h.bigEndian, false);
  assert.equal(h.efiStub, false);
  assert.equal(parseArm64Image(fakeImage({ imageSize: 0, length: 8192 })).imageSize, 8192, 'image_size 0: file length');
});

test('image: clear errors for things that are not an arm64 Image', () => {
  assert.throws(() => parseArm64Image(new Uint8Array(10)), /too small/);
  const elf = new Uint8Array(4096);
  elf.set([0x7f, 0x45, 0x4c, 0x46]);
  assert.throws(() => parseArm64Image(elf), /not an arm64 Image.*ELF/);
  assert.throws(() => parseArm64Image(fakeImage({ flags: 1 })), /big-endian/);
  assert.throws(() => parseArm64Image(fakeImage({ textOffset: 123 })), /text_offset/);
  assert.throws(() => parseArm64Image(fakeImage({ imageSize: 100 })), ImageError);
});

test('image: gzip-compressed Images are inflated', () => {
  const img = fakeImage();
  assert.deepEqual(maybeDecompress(gzipSync(img)), img);
  assert.equal(maybeDecompress(img), img);
  assert.throws(() => maybeDecompress(new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2])), /gzip/);
});

test('image: layout puts kernel at base+text_offset, DTB in its own 2 MiB slot, initrd after it', () => {
  const h = parseArm64Image(fakeImage({ textOffset: 0x80000, imageSize: 33 * MIB + 5 }));
  const l = planArmLoad(h, 12345, 0x40000000, 256 * MIB);
  assert.equal(l.kernelBase, 0x40080000);
  assert.equal(l.entry, 0x40080000);
  assert.ok(l.dtbAddr >= l.kernelEnd);
  assert.equal(l.dtbAddr % 8, 0);
  assert.equal(Math.floor(l.dtbAddr / (2 * MIB)), Math.floor((l.dtbAddr + DTB_MAX_SIZE - 1) / (2 * MIB)), 'DTB never crosses a 2 MiB boundary');
  assert.ok(l.initrdStart! >= l.dtbAddr + DTB_MAX_SIZE);
  assert.equal(l.initrdStart! % 4096, 0);
  assert.equal(l.initrdEnd! - l.initrdStart!, 12345);
});

test('image: refuses layouts that do not fit in RAM', () => {
  const h = parseArm64Image(fakeImage({ imageSize: 61 * MIB }));
  assert.throws(() => planArmLoad(h, undefined, 0x40000000, 62 * MIB), /RAM is 62\.0 MiB/);
  assert.throws(() => planArmLoad(h, 10 * MIB, 0x40000000, 70 * MIB), /initrd/);
  assert.doesNotThrow(() => planArmLoad(h, 2 * MIB, 0x40000000, 66 * MIB));
});
