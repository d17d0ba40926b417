import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockFile } from '../../src/backends/block-file.js';
import { STATUS_DEVICE_NEEDS_RESET } from '../../src/virtio/device.js';
import {
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  VirtioBlk,
} from '../../src/virtio/blk.js';
import { BUF_AREA, TestDriver, type Buf } from '../fuzz/driver.js';

const DISK = 1 << 20; // 2048 sectors
const HDR = BUF_AREA;
const DATA = BUF_AREA + 0x1000;
const STATUS = BUF_AREA + 0x800;

function tmpImage(fill = 0): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-blk-'));
  const path = join(dir, 'disk.img');
  writeFileSync(path, new Uint8Array(DISK).fill(fill));
  return { dir, path };
}

function blkDriver(path: string, opts: { readOnly?: boolean; direct?: boolean; serial?: string; want?: bigint } = {}) {
  const blk = new VirtioBlk(new BlockFile(path, { readOnly: opts.readOnly, direct: opts.direct }), { serial: opts.serial });
  const d = new TestDriver(blk);
  const features = d.init({ want: opts.want });
  return { blk, d, features };
}

/** Issue one request; returns {status, len}. */
function req(d: TestDriver, type: number, sector: bigint, data: Buf[]): { status: number; len: number } {
  d.memory.writeU32(HDR, type);
  d.memory.writeU32(HDR + 4, 0);
  d.memory.writeU64(HDR + 8, sector);
  d.memory.writeU8(STATUS, 0xff);
  d.addChain(0, [{ addr: HDR, len: 16 }, ...data, { addr: STATUS, len: 1, write: true }]);
  d.kick(0);
  const used = d.takeUsed(0);
  assert.equal(used.length, 1);
  return { status: d.memory.readU8(STATUS), len: used[0]!.len };
}

test('config space: capacity, seg_max, blk_size, discard limits; features', () => {
  const { path, dir } = tmpImage();
  try {
    const { blk, d, features } = blkDriver(path);
    assert.equal(d.mmio.read(0x100, 4), 2048);
    assert.equal(d.mmio.read(0x104, 4), 0);
    assert.equal(d.mmio.read(0x100 + 12, 4), 254, 'seg_max');
    assert.equal(d.mmio.read(0x100 + 20, 4), 512, 'blk_size');
    assert.ok(d.mmio.read(0x100 + 36, 4) > 0, 'max_discard_sectors');
    assert.ok(features & VIRTIO_BLK_F_FLUSH && features & VIRTIO_BLK_F_DISCARD && features & VIRTIO_BLK_F_WRITE_ZEROES);
    assert.equal(features & VIRTIO_BLK_F_RO, 0n);
    assert.equal(d.mmio.read(0x100 + 200, 4), 0, 'past config space reads 0');
    blk.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('IN/OUT round trip through several segments, file contents, used length', () => {
  const { path, dir } = tmpImage();
  try {
    const { blk, d } = blkDriver(path);
    const pattern = new Uint8Array(1536).map((_, i) => (i * 7) & 0xff);
    d.memory.writeBytes(DATA, pattern.subarray(0, 1000));
    d.memory.writeBytes(DATA + 0x2000, pattern.subarray(1000));
    let r = req(d, VIRTIO_BLK_T_OUT, 5n, [{ addr: DATA, len: 1000 }, { addr: DATA + 0x2000, len: 536 }]);
    assert.deepEqual(r, { status: VIRTIO_BLK_S_OK, len: 1 });
    assert.deepEqual(new Uint8Array(readFileSync(path).subarray(5 * 512, 5 * 512 + 1536)), pattern);
    d.memory.fill(DATA + 0x10000, 0x1000, 0);
    r = req(d, VIRTIO_BLK_T_IN, 5n, [{ addr: DATA + 0x10000, len: 512, write: true }, { addr: DATA + 0x10800, len: 1024, write: true }]);
    assert.deepEqual(r, { status: VIRTIO_BLK_S_OK, len: 1537 });
    assert.deepEqual(d.memory.readBytes(DATA + 0x10000, 512), pattern.subarray(0, 512));
    assert.deepEqual(d.memory.readBytes(DATA + 0x10800, 1024), pattern.subarray(512));
    assert.equal(blk.stats.readBytes, 1536);
    assert.equal(blk.stats.writeBytes, 1536);
    blk.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('requests past the end, partial sectors and huge sectors get IOERR', () => {
  const { path, dir } = tmpImage();
  try {
    const { blk, d } = blkDriver(path);
    assert.equal(req(d, VIRTIO_BLK_T_IN, 2047n, [{ addr: DATA, len: 512, write: true }]).status, VIRTIO_BLK_S_OK);
    assert.equal(req(d, VIRTIO_BLK_T_IN, 2047n, [{ addr: DATA, len: 1024, write: true }]).status, VIRTIO_BLK_S_IOERR);
    assert.equal(req(d, VIRTIO_BLK_T_OUT, 2048n, [{ addr: DATA, len: 512 }]).status, VIRTIO_BLK_S_IOERR);
    assert.equal(req(d, VIRTIO_BLK_T_IN, 0xffff_ffff_ffff_ffffn, [{ addr: DATA, len: 512, write: true }]).status, VIRTIO_BLK_S_IOERR);
    assert.equal(req(d, VIRTIO_BLK_T_IN, (1n << 44n) - 1n, [{ addr: DATA, len: 512, write: true }]).status, VIRTIO_BLK_S_IOERR);
    assert.equal(req(d, VIRTIO_BLK_T_OUT, 0n, [{ addr: DATA, len: 100 }]).status, VIRTIO_BLK_S_IOERR, 'not a sector multiple');
    assert.equal(req(d, 99, 0n, []).status, VIRTIO_BLK_S_UNSUPP);
    assert.equal(d.status() & STATUS_DEVICE_NEEDS_RESET, 0, 'error statuses, not a reset');
    assert.equal(readFileSync(path).every((b) => b === 0), true, 'nothing written');
    blk.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('FLUSH, GET_ID (20 bytes, NUL padded, truncated to the buffer)', () => {
  const { path, dir } = tmpImage();
  try {
    const { blk, d } = blkDriver(path, { serial: 'disk-serial-1' });
    assert.equal(req(d, VIRTIO_BLK_T_FLUSH, 0n, []).status, VIRTIO_BLK_S_OK);
    assert.equal(blk.stats.flushes, 1);
    d.memory.fill(DATA, 32, 0xee);
    const r = req(d, VIRTIO_BLK_T_GET_ID, 0n, [{ addr: DATA, len: 20, write: true }]);
    assert.deepEqual(r, { status: VIRTIO_BLK_S_OK, len: 21 });
    assert.equal(Buffer.from(d.memory.readBytes(DATA, 20)).toString('latin1'), 'disk-serial-1\0\0\0\0\0\0\0');
    const r2 = req(d, VIRTIO_BLK_T_GET_ID, 0n, [{ addr: DATA, len: 4, write: true }]);
    assert.deepEqual(r2, { status: VIRTIO_BLK_S_OK, len: 5 });
    blk.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('WRITE_ZEROES writes zeros; DISCARD succeeds; bad ranges are IOERR; not negotiated is UNSUPP', () => {
  const { path, dir } = tmpImage(0xaa);
  try {
    const { blk, d } = blkDriver(path);
    const seg = (sector: bigint, num: number, flags = 0): void => {
      d.memory.writeU64(DATA, sector);
      d.memory.writeU32(DATA + 8, num);
      d.memory.writeU32(DATA + 12, flags);
    };
    seg(10n, 3);
    assert.equal(req(d, VIRTIO_BLK_T_WRITE_ZEROES, 0n, [{ addr: DATA, len: 16 }]).status, VIRTIO_BLK_S_OK);
    const img = readFileSync(path);
    assert.equal(img.subarray(10 * 512, 13 * 512).every((b) => b === 0), true);
    assert.equal(img[10 * 512 - 1], 0xaa);
    assert.equal(img[13 * 512], 0xaa);
    seg(0n, 8);
    assert.equal(req(d, VIRTIO_BLK_T_DISCARD, 0n, [{ addr: DATA, len: 16 }]).status, VIRTIO_BLK_S_OK);
    seg(2040n, 9);
    assert.equal(req(d, VIRTIO_BLK_T_WRITE_ZEROES, 0n, [{ addr: DATA, len: 16 }]).status, VIRTIO_BLK_S_IOERR);
    assert.equal(req(d, VIRTIO_BLK_T_WRITE_ZEROES, 0n, [{ addr: DATA, len: 8 }]).status, VIRTIO_BLK_S_IOERR, 'partial segment');
    seg(0n, 1, 4);
    assert.equal(req(d, VIRTIO_BLK_T_WRITE_ZEROES, 0n, [{ addr: DATA, len: 16 }]).status, VIRTIO_BLK_S_UNSUPP, 'unknown flag');
    blk.close();
    const { blk: b2, d: d2 } = blkDriver(path, { want: ~(VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_FLUSH) });
    d2.memory.writeU64(DATA, 0n);
    d2.memory.writeU32(DATA + 8, 1);
    assert.equal(req(d2, VIRTIO_BLK_T_DISCARD, 0n, [{ addr: DATA, len: 16 }]).status, VIRTIO_BLK_S_UNSUPP);
    assert.equal(req(d2, VIRTIO_BLK_T_FLUSH, 0n, []).status, VIRTIO_BLK_S_UNSUPP);
    b2.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('read-only disk: RO feature, writes/zeroes IOERR, reads fine, file untouched', () => {
  const { path, dir } = tmpImage(0x11);
  try {
    const { blk, d, features } = blkDriver(path, { readOnly: true });
    assert.ok(features & VIRTIO_BLK_F_RO);
    assert.equal(features & VIRTIO_BLK_F_DISCARD, 0n);
    assert.equal(req(d, VIRTIO_BLK_T_OUT, 0n, [{ addr: DATA, len: 512 }]).status, VIRTIO_BLK_S_IOERR);
    assert.equal(req(d, VIRTIO_BLK_T_IN, 0n, [{ addr: DATA, len: 512, write: true }]).status, VIRTIO_BLK_S_OK);
    assert.equal(d.memory.readU8(DATA + 511), 0x11);
    assert.equal(req(d, VIRTIO_BLK_T_FLUSH, 0n, []).status, VIRTIO_BLK_S_OK);
    assert.equal(readFileSync(path).every((b) => b === 0x11), true);
    blk.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('O_DIRECT: unaligned guest buffers bounce through an aligned buffer', (t) => {
  const { path, dir } = tmpImage();
  try {
    let drv;
    try {
      drv = blkDriver(path, { direct: true });
    } catch (e) {
      t.skip(`O_DIRECT not available on ${tmpdir()}: ${(e as Error).message}`);
      return;
    }
    const { blk, d } = drv;
    const data = new Uint8Array(4096).map((_, i) => (i * 13) & 0xff);
    d.memory.writeBytes(DATA + 3, data);
    assert.equal(req(d, VIRTIO_BLK_T_OUT, 8n, [{ addr: DATA + 3, len: 4096 }]).status, VIRTIO_BLK_S_OK);
    assert.equal(req(d, VIRTIO_BLK_T_FLUSH, 0n, []).status, VIRTIO_BLK_S_OK);
    assert.deepEqual(new Uint8Array(readFileSync(path).subarray(8 * 512, 8 * 512 + 4096)), data);
    assert.equal(req(d, VIRTIO_BLK_T_IN, 8n, [{ addr: DATA + 0x5001, len: 4096, write: true }]).status, VIRTIO_BLK_S_OK);
    assert.deepEqual(d.memory.readBytes(DATA + 0x5001, 4096), data);
    blk.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('hostile blk chains: no status byte, header too short, status byte not writable -> needs reset, no throw', () => {
  const { path, dir } = tmpImage();
  try {
    const cases: Buf[][] = [
      [{ addr: HDR, len: 16 }],
      [{ addr: HDR, len: 8 }, { addr: STATUS, len: 1, write: true }],
      [{ addr: HDR, len: 16 }, { addr: STATUS, len: 1 }],
    ];
    for (const c of cases) {
      const { blk, d } = blkDriver(path);
      d.addChain(0, c);
      assert.doesNotThrow(() => d.kick(0));
      assert.ok(d.status() & STATUS_DEVICE_NEEDS_RESET);
      assert.equal(d.mmio.internalErrors, 0);
      blk.close();
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('throughput of the synchronous path: 4 KiB reads and 1 MiB reads from the page cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-blk-'));
  const path = join(dir, 'big.img');
  writeFileSync(path, new Uint8Array(64 << 20));
  try {
    const blk = new VirtioBlk(new BlockFile(path), {});
    const d = new TestDriver(blk);
    d.init();
    const run = (len: number, n: number): number => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const sector = BigInt(((i * 8) % ((64 << 20) / 512 - len / 512)) | 0);
        req(d, VIRTIO_BLK_T_IN, sector, [{ addr: DATA, len, write: true }]);
      }
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    run(4096, 200);
    const s4 = run(4096, 5000);
    const s1m = run(1 << 20, 100);
    console.log(`# sync 4 KiB read: ${((s4 / 5000) * 1e6).toFixed(1)} us/request (${(5000 / s4).toFixed(0)} IOPS); 1 MiB read: ${(100 / s1m).toFixed(0)} MiB/s`);
    blk.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('I/O worker backend: requests complete off-thread, in pollCompletions(); stalls when slots are busy; reset drops in-flight', async () => {
  const { AsyncBlockFile } = await import('../../src/backends/block-async.js');
  const { path, dir } = tmpImage(0x22);
  try {
    const io = new AsyncBlockFile(path, { slots: 2, slotBytes: 64 * 1024 });
    const blk = new VirtioBlk(io, { pollUs: 0, inline: false });
    const d = new TestDriver(blk);
    d.init();
    const waitAll = async (n: number): Promise<Array<{ id: number; len: number }>> => {
      const got: Array<{ id: number; len: number }> = [];
      const end = Date.now() + 10_000;
      while (got.length < n && Date.now() < end) {
        if (blk.hasCompletions()) blk.pollCompletions();
        got.push(...d.takeUsed(0));
        if (got.length < n) await new Promise((r) => setTimeout(r, 1));
      }
      return got;
    };
    // 5 writes of distinct sectors with 2 slots: 2 go at once, the rest after completions.
    const hdrs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const h = BUF_AREA + 0x100 * i;
      d.memory.writeU32(h, 1);
      d.memory.writeU64(h + 8, BigInt(i));
      d.memory.fill(DATA + 0x1000 * i, 512, 0x30 + i);
      d.memory.writeU8(h + 0x80, 0xff);
      d.addChain(0, [{ addr: h, len: 16 }, { addr: DATA + 0x1000 * i, len: 512 }, { addr: h + 0x80, len: 1, write: true }]);
      hdrs.push(h);
    }
    d.kick(0);
    assert.equal(d.usedIdx(0), 0, 'nothing completes synchronously');
    assert.equal(io.pendingCount, 2);
    const used = await waitAll(5);
    assert.equal(used.length, 5);
    for (const h of hdrs) assert.equal(d.memory.readU8(h + 0x80), 0);
    assert.ok(d.irq.pulses >= 1);
    const img = readFileSync(path);
    for (let i = 0; i < 5; i++) assert.equal(img[i * 512 + 100], 0x30 + i);
    // Read back + flush.
    d.memory.fill(DATA, 1024, 0);
    req2(d, VIRTIO_BLK_T_IN, 3n, [{ addr: DATA, len: 1024, write: true }]);
    req2(d, VIRTIO_BLK_T_FLUSH, 0n, []);
    const u2 = await waitAll(2);
    assert.equal(u2.length, 2);
    assert.equal(d.memory.readU8(DATA + 10), 0x33);
    assert.equal(d.memory.readU8(DATA + 600), 0x34);
    assert.equal(blk.stats.flushes, 1);
    // Out of range is answered at once with IOERR.
    req2(d, VIRTIO_BLK_T_IN, 5000n, [{ addr: DATA, len: 512, write: true }]);
    assert.equal(d.takeUsed(0).length, 1);
    assert.equal(d.memory.readU8(STATUS), VIRTIO_BLK_S_IOERR);
    // Reset with a request in flight: its completion is dropped, the slot comes back.
    req2(d, VIRTIO_BLK_T_IN, 0n, [{ addr: DATA, len: 512, write: true }]);
    d.w(0x70, 0);
    assert.ok(io.drain(5000));
    assert.equal(io.pendingCount, 0);
    d.init();
    req2(d, VIRTIO_BLK_T_IN, 1n, [{ addr: DATA, len: 512, write: true }]);
    assert.equal((await waitAll(1)).length, 1);
    assert.equal(d.memory.readU8(DATA), 0x31);
    blk.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('I/O worker backend: page-cache reads complete inline, zero-copy, across segments; never over the status byte; not past queued writes', async () => {
  const { AsyncBlockFile } = await import('../../src/backends/block-async.js');
  const { path, dir } = tmpImage(0);
  try {
    const pattern = new Uint8Array(DISK).map((_, i) => (i * 13 + (i >> 9)) & 0xff);
    writeFileSync(path, pattern);
    const io = new AsyncBlockFile(path, { slots: 2, slotBytes: 64 * 1024 });
    const blk = new VirtioBlk(io, { pollUs: 0, inline: true });
    const d = new TestDriver(blk);
    d.init();
    // Three segments, two of them adjacent in guest memory (merged into one iovec).
    d.memory.fill(DATA, 0x3000, 0);
    req2(d, VIRTIO_BLK_T_IN, 7n, [
      { addr: DATA, len: 512, write: true },
      { addr: DATA + 512, len: 1024, write: true },
      { addr: DATA + 0x2000, len: 512, write: true },
    ]);
    let used = d.takeUsed(0);
    assert.equal(used.length, 1, 'completed in queueNotify');
    assert.equal(used[0]!.len, 2049);
    assert.equal(d.memory.readU8(STATUS), VIRTIO_BLK_S_OK);
    assert.deepEqual(d.memory.readBytes(DATA, 1536), pattern.subarray(7 * 512, 10 * 512));
    assert.deepEqual(d.memory.readBytes(DATA + 0x2000, 512), pattern.subarray(10 * 512, 11 * 512));
    assert.equal(blk.inline.reads, 1);
    assert.equal(io.pendingCount, 0);
    // Data and status byte in one writable descriptor: the data stops before the status byte.
    d.memory.writeU32(HDR, VIRTIO_BLK_T_IN);
    d.memory.writeU64(HDR + 8, 1n);
    d.memory.writeU8(DATA + 512, 0xee);
    d.addChain(0, [{ addr: HDR, len: 16 }, { addr: DATA, len: 513, write: true }]);
    d.kick(0);
    used = d.takeUsed(0);
    assert.equal(used.length, 1);
    assert.equal(d.memory.readU8(DATA + 512), VIRTIO_BLK_S_OK);
    assert.deepEqual(d.memory.readBytes(DATA, 512), pattern.subarray(512, 1024));
    assert.equal(blk.inline.reads, 2);
    // While a write is queued on the worker, a read goes to the worker too (after it, in order).
    d.memory.fill(DATA + 0x1000, 512, 0x77);
    d.memory.writeU32(BUF_AREA + 0x400, VIRTIO_BLK_T_OUT);
    d.memory.writeU64(BUF_AREA + 0x408, 20n);
    d.addChain(0, [{ addr: BUF_AREA + 0x400, len: 16 }, { addr: DATA + 0x1000, len: 512 }, { addr: BUF_AREA + 0x480, len: 1, write: true }]);
    d.memory.writeU32(HDR, VIRTIO_BLK_T_IN);
    d.memory.writeU64(HDR + 8, 20n);
    d.addChain(0, [{ addr: HDR, len: 16 }, { addr: DATA, len: 512, write: true }, { addr: STATUS, len: 1, write: true }]);
    d.kick(0);
    const end = Date.now() + 10_000;
    used = [];
    while (used.length < 2 && Date.now() < end) {
      if (blk.hasCompletions()) blk.pollCompletions();
      used.push(...d.takeUsed(0));
      if (used.length < 2) await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal(used.length, 2);
    assert.equal(blk.inline.reads, 2, 'the read did not overtake the queued write');
    assert.equal(d.memory.readU8(DATA + 100), 0x77);
    blk.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

/** Post one request without waiting for it. */
function req2(d: TestDriver, type: number, sector: bigint, data: Buf[]): void {
  d.memory.writeU32(HDR, type);
  d.memory.writeU64(HDR + 8, sector);
  d.memory.writeU8(STATUS, 0xff);
  d.addChain(0, [{ addr: HDR, len: 16 }, ...data, { addr: STATUS, len: 1, write: true }]);
  d.kick(0);
}
