import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRootfs } from '../../guest/rootfs.js';

const have = (cmd: string): boolean => spawnSync(cmd, ['-V']).error === undefined;

test('buildRootfs: ext4 image with the guest tree (checked with debugfs)', (t) => {
  if (!have('mkfs.ext4') || !have('debugfs')) return t.skip('e2fsprogs not installed');
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-rootfs-test-'));
  try {
    const img = join(dir, 'root.ext4');
    buildRootfs(
      {
        busybox: Buffer.from('\x7fELF not really busybox'),
        applets: ['bin/busybox', 'bin/sh', 'sbin/poweroff'],
        modules: { release: '6.1.0-9-test', files: [{ path: 'kernel/fs/x.ko', data: Buffer.from('ko') }] },
      },
      img,
      { sizeMiB: 16, label: 'unit' },
    );
    const dbg = (req: string): string => spawnSync('debugfs', ['-R', req, img], { encoding: 'utf8' }).stdout;
    assert.match(spawnSync('dumpe2fs', ['-h', img], { encoding: 'utf8' }).stdout, /Filesystem volume name:\s+unit/);
    assert.equal(dbg('cat /bin/busybox'), '\x7fELF not really busybox');
    assert.match(dbg('stat /bin/sh'), /Type: symlink/);
    assert.match(dbg('stat /sbin/poweroff'), /Fast link dest: "\/bin\/busybox"/);
    assert.match(dbg('stat /init'), /Mode:\s+0755/);
    assert.equal(dbg('cat /lib/modules/6.1.0-9-test/tsvisor.order'), 'kernel/fs/x.ko\n');
    // The disk is a root= target, not an initramfs: no marker (so its /init does not switch_root again).
    const etc = dbg('ls /etc');
    assert.match(etc, /passwd/);
    assert.doesNotMatch(etc, /tsvisor-initramfs/);
    if (process.getuid?.() === 0) assert.match(dbg('stat /dev/console'), /Type: character special/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
