import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseCpio, writeCpio, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, S_IFMT, TRAILER } from '../../guest/cpio.js';
import { initramfsCpio } from '../../guest/initramfs.js';
import { INIT_SCRIPT } from '../../guest/init-script.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

const sample = [
  { name: 'dev', mode: S_IFDIR | 0o755 },
  { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
  { name: 'a', mode: S_IFREG | 0o644, data: bytes('x') }, // 1-byte data: 3 bytes of padding
  { name: 'bb', mode: S_IFREG | 0o755, data: bytes('12345') },
  { name: 'link', mode: S_IFLNK | 0o777, data: bytes('/bin/busybox') },
];

test('newc header layout, name and data padding', () => {
  const buf = writeCpio(sample);
  assert.equal(buf.length % 4, 0);
  assert.equal(buf.toString('ascii', 0, 6), '070701');
  // Header field 11 (namesize) of the first entry: "dev\0" = 4.
  assert.equal(buf.toString('ascii', 6 + 11 * 8, 6 + 12 * 8), '00000004');
  // 110 + 4 = 114 -> name padded to 116; a directory has no data, so the next header follows.
  assert.equal(buf.toString('ascii', 116, 122), '070701');
  const parsed = parseCpio(buf);
  assert.deepEqual(parsed.map((e) => e.name), sample.map((e) => e.name));
  for (const e of parsed) assert.equal(e.offset % 4, 0, `${e.name} header aligned`);
  const con = parsed[1]!;
  assert.equal(con.mode & S_IFMT, S_IFCHR);
  assert.deepEqual([con.rdevMajor, con.rdevMinor], [5, 1]);
  assert.equal(parsed[2]!.data.toString(), 'x');
  assert.equal(parsed[3]!.data.toString(), '12345');
  assert.equal(parsed[4]!.data.toString(), '/bin/busybox');
  assert.equal(parsed[0]!.nlink, 2);
  // Distinct inode numbers (the kernel links entries with equal ino+nlink>1 as hard links).
  assert.equal(new Set(parsed.map((e) => e.ino)).size, parsed.length);
  // The archive ends with the trailer entry.
  assert.ok(buf.includes(bytes(TRAILER + '\0')));
});

test('Debian cpio -t lists the archive', (t) => {
  const r = spawnSync('cpio', ['-t', '--quiet'], { input: writeCpio(sample) });
  if (r.error) return t.skip(`cpio not runnable: ${r.error.message}`);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.deepEqual(r.stdout.toString().trim().split('\n'), sample.map((e) => e.name));
  const v = spawnSync('cpio', ['-tv', '--quiet'], { input: writeCpio(sample) }).stdout.toString();
  assert.match(v, /^crw-------.*5,\s*1.*dev\/console$/m);
  assert.match(v, /^lrwxrwxrwx.*link -> \/bin\/busybox$/m);
});

test('parseCpio rejects garbage', () => {
  assert.throws(() => parseCpio(Buffer.from('070707' + '0'.repeat(200))), /bad cpio magic/);
  assert.throws(() => parseCpio(writeCpio(sample).subarray(0, 200)), /truncated|bad cpio/);
});

test('initramfs tree: busybox binary kept, applets linked, console node, /init', () => {
  const busybox = Buffer.from('\x7fELF fake busybox');
  const cpio = initramfsCpio({
    busybox,
    applets: ['bin/busybox', 'busybox', 'bin/sh', 'sbin/poweroff', 'usr/bin/env', 'ls'],
    modules: { release: '6.1.0-1-test', files: [{ path: 'kernel/a.ko', data: bytes('A') }, { path: 'kernel/b.ko', data: bytes('B') }] },
  });
  const entries = parseCpio(cpio);
  const by = new Map(entries.map((e) => [e.name, e]));
  const bb = by.get('bin/busybox')!;
  assert.equal(bb.mode & S_IFMT, S_IFREG, 'busybox stays a regular file despite appearing in --list');
  assert.deepEqual(bb.data, busybox);
  for (const a of ['bin/sh', 'sbin/poweroff', 'usr/bin/env', 'bin/ls']) {
    assert.equal(by.get(a)!.mode & S_IFMT, S_IFLNK, a);
    assert.equal(by.get(a)!.data.toString(), '/bin/busybox');
  }
  assert.ok(!by.has('busybox'));
  assert.equal(by.get('dev/console')!.rdevMajor, 5);
  assert.equal(by.get('init')!.data.toString(), INIT_SCRIPT);
  assert.equal(by.get('init')!.mode & 0o777, 0o755);
  assert.equal(by.get('tmp')!.mode & 0o7777, 0o1777);
  assert.equal(by.get('lib/modules/6.1.0-1-test/tsvisor.order')!.data.toString(), 'kernel/a.ko\nkernel/b.ko\n');
  assert.ok(by.has('etc/tsvisor-initramfs'));
  assert.match(by.get('etc/passwd')!.data.toString(), /^root:x:0:0:/);
  // Every entry's parent directory comes before it.
  const seen = new Set<string>();
  for (const e of entries) {
    const parent = e.name.includes('/') ? e.name.slice(0, e.name.lastIndexOf('/')) : '';
    if (parent) assert.ok(seen.has(parent), `${parent} before ${e.name}`);
    seen.add(e.name);
  }
  assert.equal(new Set(entries.map((e) => e.name)).size, entries.length, 'no duplicate names');
});

test('overlayInitramfs: gzip cpio with parent dirs, default mode 0755, rejects ..', async () => {
  const { overlayInitramfs } = await import('../../guest/initramfs.js');
  const { gunzipSync } = await import('node:zlib');
  const e = parseCpio(gunzipSync(overlayInitramfs([{ path: '/opt/t/a', data: 'A' }, { path: 'opt/t/b', data: bytes('B'), mode: 0o600 }])));
  assert.deepEqual(e.map((x) => x.name), ['opt', 'opt/t', 'opt/t/a', 'opt/t/b']);
  assert.equal(e[0]!.mode & S_IFMT, S_IFDIR);
  assert.equal(e[2]!.mode, S_IFREG | 0o755);
  assert.equal(e[3]!.mode, S_IFREG | 0o600);
  assert.equal(e[3]!.data.toString(), 'B');
  assert.throws(() => overlayInitramfs([{ path: '/../etc/x', data: '' }]), /bad guest path/);
});
