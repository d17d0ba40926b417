/**
 * virtio-blk DISCARD / WRITE_ZEROES+UNMAP really deallocate (fallocate
 * PUNCH_HOLE|KEEP_SIZE) on both backends; hostile ranges and read-only disks
 * never touch the image. Runs on a sparse image in the temp directory; skipped
 * only when that file system cannot punch holes at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncBlockFile } from '../../src/backends/block-async.js';
import { BlockFile, type BlockBackend } from '../../src/backends/block-file.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, isErrno, sys } from '../../src/sys/native.js';
import {
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
  VirtioBlk,
} from '../../src/virtio/blk.js';
import { BUF_AREA, TestDriver, type Buf } from '../fuzz/driver.js';

const SECTORS = 8192;
const DISK = SECTORS * 512; // 4 MiB
const WRITTEN = 2 << 20; // the first 2 MiB are written through the device
const CHUNK = 256 * 1024;
const HDR = BUF_AREA;
const STATUS = BUF_AREA + 0x800;
const SEGS = BUF_AREA + 0xc00;
const DATA = BUF_AREA + 0x1000;

const pattern = (pos: number): number => ((pos >>> 9) * 31 + (pos & 511) * 7 + 1) & 0xff || 1; // never 0

/** Can the temp directory's file system punch holes? (Otherwise the deallocation checks cannot run.) */
function punchSupported(dir: string): boolean {
  const p = join(dir, 'probe');
  const fd = openSync(p, 'w+');
  try {
    writeSync(fd, new Uint8Array(65536).fill(1), 0, 65536, 0);
    sys().fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 65536);
    return true;
  } catch (e) {
    if (isErrno(e, 'EOPNOTSUPP')) return false;
    throw e;
  } finally {
    closeSync(fd);
    rmSync(p);
  }
}

function sparseImage(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-discard-'));
  const path = join(dir, 'disk.img');
  closeSync(openSync(path, 'w'));
  truncateSync(path, DISK);
  return { dir, path };
}

const blocks = (path: string): number => statSync(path).blocks;

type Mode = 'sync' | 'worker';

/** A driven device; `req` issues one request and waits for its completion (either backend). */
async function setup(path: string, mode: Mode, opts: { readOnly?: boolean; maxDiscardSeg?: number } = {}) {
  const backend: BlockBackend =
    mode === 'sync' ? new BlockFile(path, { readOnly: opts.readOnly }) : new AsyncBlockFile(path, { readOnly: opts.readOnly, slots: 4, slotBytes: 512 * 1024 });
  const blk = new VirtioBlk(backend, { pollUs: 0, maxDiscardSeg: opts.maxDiscardSeg });
  const d = new TestDriver(blk);
  const features = d.init();
  const req = async (type: number, sector: bigint, data: Buf[]): Promise<number> => {
    d.memory.writeU32(HDR, type);
    d.memory.writeU32(HDR + 4, 0);
    d.memory.writeU64(HDR + 8, sector);
    d.memory.writeU8(STATUS, 0xff);
    d.addChain(0, [{ addr: HDR, len: 16 }, ...data, { addr: STATUS, len: 1, write: true }]);
    d.kick(0);
    const end = Date.now() + 10_000;
    for (;;) {
      if (blk.hasCompletions()) blk.pollCompletions();
      const used = d.takeUsed(0);
      if (used.length > 0) {
        assert.equal(used.length, 1);
        return d.memory.readU8(STATUS);
      }
      assert.ok(Date.now() < end, 'request did not complete');
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  /** DISCARD / WRITE_ZEROES with the given segments [sector, num, flags]. */
  const ranges = (type: number, segs: Array<[bigint, number, number?]>): Promise<number> => {
    segs.forEach(([sector, num, flags], i) => {
      d.memory.writeU64(SEGS + 16 * i, sector);
      d.memory.writeU32(SEGS + 16 * i + 8, num);
      d.memory.writeU32(SEGS + 16 * i + 12, flags ?? 0);
    });
    return req(type, 0n, [{ addr: SEGS, len: 16 * segs.length }]);
  };
  const writeAll = async (): Promise<void> => {
    for (let pos = 0; pos < WRITTEN; pos += CHUNK) {
      const buf = d.memory.slice(DATA, CHUNK);
      for (let i = 0; i < CHUNK; i++) buf[i] = pattern(pos + i);
      assert.equal(await req(VIRTIO_BLK_T_OUT, BigInt(pos / 512), [{ addr: DATA, len: CHUNK }]), VIRTIO_BLK_S_OK);
    }
    assert.equal(await req(VIRTIO_BLK_T_FLUSH, 0n, []), VIRTIO_BLK_S_OK);
  };
  /** Read [pos, pos+len) back through the device. */
  const readBack = async (pos: number, len: number): Promise<Uint8Array> => {
    const out = new Uint8Array(len);
    for (let off = 0; off < len; off += CHUNK) {
      const n = Math.min(CHUNK, len - off);
      d.memory.fill(DATA, n, 0xee);
      assert.equal(await req(VIRTIO_BLK_T_IN, BigInt((pos + off) / 512), [{ addr: DATA, len: n, write: true }]), VIRTIO_BLK_S_OK);
      out.set(d.memory.readBytes(DATA, n), off);
    }
    return out;
  };
  return { blk, d, features, req, ranges, writeAll, readBack };
}

/** Bytes [from, to) of the image hold the written pattern (or zeros past WRITTEN). */
function assertIntact(img: Uint8Array, from: number, to: number, what: string): void {
  for (let p = from; p < to; p++) {
    const want = p < WRITTEN ? pattern(p) : 0;
    if (img[p] !== want) assert.fail(`${what}: byte ${p} is ${img[p]}, want ${want}`);
  }
}

function assertZero(img: Uint8Array, from: number, to: number, what: string): void {
  for (let p = from; p < to; p++) if (img[p] !== 0) assert.fail(`${what}: byte ${p} is ${img[p]}, want 0`);
}

for (const mode of ['sync', 'worker'] as const) {
  test(`DISCARD punches a hole (${mode} backend): fewer blocks, range reads zeros, the rest intact, size kept`, async (t) => {
    const { dir, path } = sparseImage();
    try {
      if (!punchSupported(dir)) return t.skip('the temp file system cannot punch holes');
      const s = await setup(path, mode);
      assert.ok(s.features & VIRTIO_BLK_F_DISCARD);
      assert.equal(s.d.mmio.read(0x100 + 56, 1), 1, 'write_zeroes_may_unmap');
      await s.writeAll();
      const before = blocks(path);
      assert.ok(before * 512 >= WRITTEN, `written data is allocated (${before} blocks)`);
      // 512 KiB at 256 KiB (4 KiB aligned), then one unaligned sector (a partial block: zeroed, not freed).
      const from = 256 * 1024;
      const len = 512 * 1024;
      assert.equal(await s.ranges(VIRTIO_BLK_T_DISCARD, [[BigInt(from / 512), len / 512]]), VIRTIO_BLK_S_OK);
      assert.equal(await s.ranges(VIRTIO_BLK_T_DISCARD, [[3001n, 1]]), VIRTIO_BLK_S_OK);
      const after = blocks(path);
      assert.ok(before - after >= len / 512 - 16, `blocks went down by the discarded size: ${before} -> ${after}`);
      assert.equal(statSync(path).size, DISK, 'KEEP_SIZE');
      // Through the device and in the file.
      const dev = await s.readBack(0, WRITTEN);
      for (const img of [dev, readFileSync(path)]) {
        assertIntact(img, 0, from, 'before the hole');
        assertZero(img, from, from + len, 'discarded range');
        assertIntact(img, from + len, 3001 * 512, 'after the hole');
        assertZero(img, 3001 * 512, 3002 * 512, 'discarded sector');
        assertIntact(img, 3002 * 512, WRITTEN, 'after the sector');
      }
      s.blk.close();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test(`WRITE_ZEROES: with UNMAP it deallocates, without it writes zeros (${mode} backend)`, async (t) => {
    const { dir, path } = sparseImage();
    try {
      if (!punchSupported(dir)) return t.skip('the temp file system cannot punch holes');
      const s = await setup(path, mode);
      await s.writeAll();
      const b0 = blocks(path);
      assert.equal(await s.ranges(VIRTIO_BLK_T_WRITE_ZEROES, [[0n, 256, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP]]), VIRTIO_BLK_S_OK);
      const b1 = blocks(path);
      assert.ok(b0 - b1 >= 256 - 16, `UNMAP deallocated: ${b0} -> ${b1}`);
      assert.equal(await s.ranges(VIRTIO_BLK_T_WRITE_ZEROES, [[1024n, 256]]), VIRTIO_BLK_S_OK);
      assert.ok(blocks(path) >= b1 - 16, 'without UNMAP nothing is deallocated');
      const dev = await s.readBack(0, WRITTEN);
      for (const img of [dev, readFileSync(path)]) {
        assertZero(img, 0, 256 * 512, 'unmapped zeros');
        assertIntact(img, 256 * 512, 1024 * 512, 'between');
        assertZero(img, 1024 * 512, 1280 * 512, 'written zeros');
        assertIntact(img, 1280 * 512, WRITTEN, 'after');
      }
      s.blk.close();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test(`hostile ranges are IOERR and touch nothing; all segments are checked first (${mode} backend)`, async () => {
    const { dir, path } = sparseImage();
    try {
      const s = await setup(path, mode, { maxDiscardSeg: 2 });
      await s.writeAll();
      // Data at the very end of the disk too, so a punch past the end would show.
      const tail = s.d.memory.slice(DATA, 4096);
      tail.fill(0x5a);
      assert.equal(await s.req(VIRTIO_BLK_T_OUT, BigInt(SECTORS - 8), [{ addr: DATA, len: 4096 }]), VIRTIO_BLK_S_OK);
      const b0 = blocks(path);
      const bad: Array<[bigint, number, number?]> = [
        [BigInt(SECTORS - 1), 2], // crosses the end
        [BigInt(SECTORS), 1], // starts at the end
        [BigInt(SECTORS + 1), 0], // empty, but past the end
        [0xffff_ffff_ffff_fff0n, 32], // huge sector (wraps in 64 bits)
        [1n << 54n, 1], // beyond 2^53 bytes
        [0n, 0x3fffff + 1], // more than max_discard_sectors
        [0n, 0xffff_ffff], // num * 512 overflows 32 bits
      ];
      for (const type of [VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES]) {
        for (const seg of bad) assert.equal(await s.ranges(type, [seg]), VIRTIO_BLK_S_IOERR, `${type} ${seg}`);
        // A good segment followed by a bad one: nothing at all is done.
        assert.equal(await s.ranges(type, [[0n, 512], [BigInt(SECTORS - 4), 8]]), VIRTIO_BLK_S_IOERR);
        assert.equal(await s.ranges(type, [[0n, 512], [1n << 40n, 8]]), VIRTIO_BLK_S_IOERR);
      }
      assert.equal(await s.ranges(VIRTIO_BLK_T_WRITE_ZEROES, [[BigInt(SECTORS - 1), 2, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP]]), VIRTIO_BLK_S_IOERR);
      // Segment payload that is not whole segments, more segments than max_discard_seg.
      assert.equal(await s.req(VIRTIO_BLK_T_DISCARD, 0n, [{ addr: SEGS, len: 24 }]), VIRTIO_BLK_S_IOERR);
      assert.equal(await s.ranges(VIRTIO_BLK_T_DISCARD, [[0n, 1], [8n, 1], [16n, 1]]), VIRTIO_BLK_S_IOERR);
      assert.equal(blocks(path), b0, 'no block was freed');
      const st = statSync(path);
      assert.equal(st.size, DISK, 'the file did not grow or shrink');
      const img = readFileSync(path);
      assertIntact(img, 0, WRITTEN, 'data');
      assert.ok(img.subarray(DISK - 4096).every((b) => b === 0x5a), 'the last sectors are intact');
      // Exactly up to the end is fine (and really discards).
      assert.equal(await s.ranges(VIRTIO_BLK_T_DISCARD, [[BigInt(SECTORS - 8), 8]]), VIRTIO_BLK_S_OK);
      assert.ok(readFileSync(path).subarray(DISK - 4096).every((b) => b === 0));
      assert.equal(statSync(path).size, DISK);
      s.blk.close();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test(`read-only disk refuses DISCARD and WRITE_ZEROES, image untouched (${mode} backend)`, async () => {
    const { dir, path } = sparseImage();
    try {
      const fd = openSync(path, 'r+');
      writeSync(fd, new Uint8Array(65536).fill(0x77), 0, 65536, 0);
      closeSync(fd);
      const b0 = blocks(path);
      const s = await setup(path, mode, { readOnly: true });
      assert.equal(s.features & VIRTIO_BLK_F_DISCARD, 0n, 'DISCARD not offered');
      assert.equal(await s.ranges(VIRTIO_BLK_T_DISCARD, [[0n, 128]]), VIRTIO_BLK_S_IOERR);
      assert.equal(await s.ranges(VIRTIO_BLK_T_WRITE_ZEROES, [[0n, 128]]), VIRTIO_BLK_S_IOERR);
      assert.equal(await s.ranges(VIRTIO_BLK_T_WRITE_ZEROES, [[0n, 128, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP]]), VIRTIO_BLK_S_IOERR);
      s.blk.close();
      assert.equal(blocks(path), b0);
      assert.ok(readFileSync(path).subarray(0, 65536).every((b) => b === 0x77));
      // The backend itself refuses as well (defence in depth below the device checks).
      const f = new BlockFile(path, { readOnly: true });
      assert.throws(() => f.discard(0, 4096), /read-only/);
      assert.throws(() => f.writeZeroes(0, 4096, true), /read-only/);
      f.close();
      assert.equal(statSync(path).size, DISK);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
}

test('BlockFile refuses ranges outside the image before calling fallocate', () => {
  const { dir, path } = sparseImage();
  try {
    const f = new BlockFile(path);
    for (const [pos, len] of [
      [DISK - 512, 1024],
      [DISK, 512],
      [-512, 512],
      [0, Number.NaN],
      [0, 2 ** 60],
      [2 ** 60, 512],
    ] as const) {
      assert.throws(() => f.discard(pos, len), /past the end/, `discard ${pos} ${len}`);
      assert.throws(() => f.writeZeroes(pos, len, true), /past the end/, `writeZeroes ${pos} ${len}`);
    }
    f.close();
    assert.equal(statSync(path).size, DISK);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
