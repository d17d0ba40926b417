/**
 * Root disk image builder: the same busybox tree as the initramfs, as an
 * ext4 image made by `mkfs.ext4 -d` (e2fsprogs), for `root=/dev/vda` boots.
 * The initramfs loads virtio_blk + ext4 and switch_roots to it (init-script.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, type CpioEntry } from './cpio.js';
import { guestTree, type GuestTreeInput } from './tree.js';

/** Write entries into `dir` (must exist). Device nodes need root; without it they are skipped (devtmpfs supplies them). */
export function materializeTree(entries: readonly CpioEntry[], dir: string): void {
  const isRoot = process.getuid?.() === 0;
  for (const e of entries) {
    const p = join(dir, e.name);
    const perm = e.mode & 0o7777;
    switch (e.mode & S_IFMT) {
      case S_IFDIR:
        mkdirSync(p, { recursive: true });
        chmodSync(p, perm);
        break;
      case S_IFREG:
        writeFileSync(p, e.data ?? new Uint8Array());
        chmodSync(p, perm);
        break;
      case S_IFLNK:
        symlinkSync(Buffer.from(e.data ?? new Uint8Array()).toString('utf8'), p);
        break;
      case S_IFCHR:
        if (isRoot) execFileSync('mknod', ['-m', perm.toString(8), p, 'c', String(e.rdevMajor ?? 0), String(e.rdevMinor ?? 0)]);
        break;
      default:
        throw new Error(`unsupported tree entry type for ${e.name}: ${e.mode.toString(8)}`);
    }
  }
}

export interface RootfsOptions {
  /** Image size in MiB (default 64: busybox + modules use ~10 MiB, the rest is scratch space for tests). */
  sizeMiB?: number;
  label?: string;
}

/** Build an ext4 image at `imagePath` (overwritten) holding the guest tree (without the initramfs marker). */
export function buildRootfs(input: Omit<GuestTreeInput, 'initramfs'>, imagePath: string, opts: RootfsOptions = {}): void {
  const staging = mkdtempSync(join(tmpdir(), 'tsvisor-rootfs-'));
  try {
    materializeTree(guestTree({ ...input, initramfs: false }), staging);
    execFileSync(
      'mkfs.ext4',
      ['-q', '-F', '-L', opts.label ?? 'tsvisor-root', '-E', 'root_owner=0:0', '-d', staging, imagePath, `${opts.sizeMiB ?? 64}M`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
