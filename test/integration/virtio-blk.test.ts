/**
 * virtio-blk with real guests under the emu engine (Debian arm64 kernel,
 * busybox initramfs): mkfs + mount + write in the guest, the host finds the
 * files with debugfs (e2fsprogs), a second boot reads them back; a read-only
 * disk refuses writes; a disk-to-disk copy of host-made random data with
 * matching sha256 on both sides and after a reboot (TSVISOR_BLK_BIG_MB,
 * default 8; 256 works but takes minutes: the emu CPU is slow); serial (GET_ID);
 * root filesystem on /dev/vda.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync, closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assets, bootEmu, noAssets, notBooted } from './virtio-blk-guest.js';

const haveDebugfs = spawnSync('debugfs', ['-V']).status === 0;
const skip = noAssets ?? (haveDebugfs ? undefined : 'debugfs not installed (apt-get install e2fsprogs)');
const BIG_MB = Number(process.env.TSVISOR_BLK_BIG_MB ?? 8);
// The guest's sha256sum runs at emu speed: allow time per MiB for big runs.
const TIMEOUT = 600_000 + BIG_MB * 6_000;

function debugfs(image: string, cmd: string): string {
  const r = spawnSync('debugfs', ['-R', cmd, image], { encoding: 'utf8' });
  return r.stdout;
}

function sparse(path: string, bytes: number): void {
  closeSync(openSync(path, 'w'));
  truncateSync(path, bytes);
}

function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

test('emu: mkfs, mount, write, read back across boots; read-only disk; raw sha256; serial', { skip, timeout: 2 * TIMEOUT }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-vblk-'));
  try {
    const data = join(dir, 'data.img');
    const ro = join(dir, 'ro.img');
    const src = join(dir, 'src.img');
    const raw = join(dir, 'raw.img');
    sparse(data, 64 << 20);
    sparse(raw, BIG_MB << 20);
    // Random source data made on the host: the guest copies it disk to disk (a big read and a big write).
    const fd = openSync(src, 'w');
    for (let i = 0; i < BIG_MB; i++) writeSync(fd, randomBytes(1 << 20));
    closeSync(fd);
    const srcSha = sha256(readFileSync(src));
    const scratch = join(dir, 'scratch.img');
    writeFileSync(scratch, new Uint8Array(1 << 20));
    const roSrc = join(dir, 'ro-src');
    mkdirSync(roSrc);
    writeFileSync(join(roSrc, 'ro.txt'), 'read-only-content\n');
    assert.equal(spawnSync('mke2fs', ['-q', '-t', 'ext2', '-d', roSrc, ro, '8M']).status, 0);
    const roBefore = sha256(readFileSync(ro));

    const script1 = [
      'echo "serial=$(cat /sys/block/vda/serial)"',
      'echo "vdb-ro=$(cat /sys/block/vdb/ro)"',
      'echo "sizes=$(cat /sys/block/vda/size),$(cat /sys/block/vdc/size)"',
      'mke2fs -L tsvdata /dev/vda >/dev/null 2>&1; echo "mkfs=$?"',
      'mkdir -p /mnt/a /mnt/b',
      'mount -t ext2 /dev/vda /mnt/a || mount -t ext4 /dev/vda /mnt/a; echo "mount=$?"',
      'echo hello-virtio-blk > /mnt/a/hello.txt',
      'mkdir /mnt/a/dir && seq 1 2000 > /mnt/a/dir/numbers.txt',
      'sync; umount /mnt/a; echo "umount=$?"',
      'mount -o ro /dev/vdb /mnt/b && cat /mnt/b/ro.txt',
      'dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/dev/null; echo "ro-dd=$?"',
      'umount /mnt/b',
      `dd if=/dev/vdd of=/dev/vdc bs=1M count=${BIG_MB} conv=fsync 2>/dev/null; echo "raw-dd=$?"`,
      'echo "max-discard=$(cat /sys/block/vde/queue/discard_max_bytes) max-wz=$(cat /sys/block/vde/queue/write_zeroes_max_bytes)"; blkdiscard -o 4096 -l 65536 /dev/vde; echo "discard=$?"',
      'sync; echo 3 > /proc/sys/vm/drop_caches',
      'echo "sha1=$(sha256sum /dev/vdc | cut -d" " -f1)"',
    ].join('\n');
    const disks = [
      { path: data, serial: 'tsv-data-1' },
      { path: ro, readOnly: true },
      { path: raw },
      { path: src, readOnly: true },
      { path: scratch },
    ];
    const r1 = await bootEmu({ script: script1, disks, timeoutMs: TIMEOUT, signal: t.signal });
    const why = notBooted(r1);
    if (why) return t.skip(why);
    assert.ok(!r1.timedOut, `boot 1 timed out:\n${r1.output.slice(-3000)}`);
    const o1 = r1.output;
    assert.match(o1, /^serial=tsv-data-1\r?$/m);
    assert.match(o1, /^vdb-ro=1\r?$/m);
    assert.match(o1, new RegExp(`^sizes=131072,${BIG_MB * 2048}\\r?$`, 'm'));
    assert.match(o1, /^mkfs=0\r?$/m);
    assert.match(o1, /^umount=0\r?$/m);
    assert.match(o1, /^read-only-content\r?$/m);
    assert.match(o1, /^ro-dd=[1-9]\d*\r?$/m, 'writing the read-only disk fails');
    assert.match(o1, /^raw-dd=0\r?$/m);
    assert.match(o1, /^discard=0\r?$/m, 'DISCARD');
    assert.match(o1, /^max-discard=[1-9]\d* max-wz=[1-9]\d*\r?$/m, 'the guest sees discard support');
    assert.equal(r1.exit, 0);
    assert.deepEqual(r1.status, { kind: 'poweroff' });

    // The host reads what the guest wrote.
    assert.match(debugfs(data, 'cat /hello.txt'), /^hello-virtio-blk$/m);
    const numbers = debugfs(data, 'cat /dir/numbers.txt').split('\n');
    assert.equal(numbers[0], '1');
    assert.equal(numbers[1999], '2000');
    assert.equal(sha256(readFileSync(ro)), roBefore, 'read-only image unchanged');
    const guestSha = /^sha1=([0-9a-f]{64})\r?$/m.exec(o1)?.[1];
    assert.equal(sha256(readFileSync(raw)), srcSha, 'the guest copied the random disk exactly');
    assert.equal(guestSha, srcSha, 'guest and host sha256 agree');

    // Second boot: read back.
    const script2 = [
      'mkdir -p /mnt/a',
      'mount -t ext2 /dev/vda /mnt/a || mount -t ext4 /dev/vda /mnt/a',
      'cat /mnt/a/hello.txt',
      'echo "lines=$(wc -l < /mnt/a/dir/numbers.txt)"',
      'echo "sha2=$(sha256sum /dev/vdb | cut -d" " -f1)"',
      'echo second-boot > /mnt/a/second.txt; umount /mnt/a',
    ].join('\n');
    const r2 = await bootEmu({ script: script2, disks: [{ path: data }, { path: raw, readOnly: true }], timeoutMs: TIMEOUT, signal: t.signal });
    assert.ok(!r2.timedOut, `boot 2 timed out:\n${r2.output.slice(-3000)}`);
    assert.match(r2.output, /^hello-virtio-blk\r?$/m);
    assert.match(r2.output, /^lines=2000\r?$/m);
    assert.equal(/^sha2=([0-9a-f]{64})\r?$/m.exec(r2.output)?.[1], guestSha, 'read back equal');
    assert.match(debugfs(data, 'cat /second.txt'), /^second-boot$/m);
    console.log(`# boot 1 ${r1.seconds.toFixed(1)} s, boot 2 ${r2.seconds.toFixed(1)} s (raw ${BIG_MB} MiB)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('emu: root filesystem on /dev/vda', { skip, timeout: TIMEOUT }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-vblk-root-'));
  try {
    const root = join(dir, 'rootfs.ext4');
    copyFileSync(assets!.rootfs!, root);
    const r = await bootEmu({
      append: 'root=/dev/vda',
      script: 'grep " / " /proc/mounts; test -e /etc/tsvisor-initramfs || echo ON-DISK; echo written-on-root > /rootfile; sync',
      disks: [{ path: root }],
      timeoutMs: TIMEOUT,
      signal: t.signal,
    });
    const why = notBooted(r);
    if (why) return t.skip(why);
    assert.ok(!r.timedOut, `timed out:\n${r.output.slice(-3000)}`);
    assert.match(r.output, /^\/dev\/vda \/ ext4 rw/m);
    assert.match(r.output, /^ON-DISK\r?$/m);
    assert.equal(r.exit, 0);
    assert.match(debugfs(root, 'cat /rootfile'), /^written-on-root$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
