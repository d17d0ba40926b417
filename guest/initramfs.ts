/**
 * Initramfs builder: the guest tree (tree.ts) as a gzip-compressed cpio
 * "newc" archive, the format every Linux kernel we boot can unpack
 * (CONFIG_RD_GZIP is set on Debian's arm64 and amd64 kernels).
 */
import { gzipSync } from 'node:zlib';
import { S_IFDIR, S_IFREG, writeCpio, type CpioEntry } from './cpio.js';
import { guestTree, type GuestTreeInput } from './tree.js';

export { writeCpio, parseCpio } from './cpio.js';

/** Uncompressed cpio of the guest tree (with the initramfs marker set). */
export function initramfsCpio(input: Omit<GuestTreeInput, 'initramfs'>): Buffer {
  return writeCpio(guestTree({ ...input, initramfs: true }));
}

/** gzip(cpio). Level 9: built once and cached, and the guest unpacks a smaller image faster. */
export function buildInitramfs(input: Omit<GuestTreeInput, 'initramfs'>): Buffer {
  return gzipSync(initramfsCpio(input), { level: 9 });
}

export interface ExtraFile {
  /** Path in the guest, e.g. "/opt/test/prog" (parent directories are created). */
  path: string;
  data: Uint8Array | string;
  /** Permission bits; default 0o755 (test programs and scripts are the usual payload). */
  mode?: number;
}

/**
 * A gzip'd cpio holding only `files`, to append to a built initramfs: the
 * kernel unpacks concatenated archives in order, later entries replacing
 * earlier ones, so this adds (or overrides) files without a rebuild.
 */
export function overlayInitramfs(files: readonly ExtraFile[]): Buffer {
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  for (const f of files) {
    const name = f.path.replace(/^\/+/, '');
    if (!name || name.split('/').includes('..')) throw new Error(`bad guest path ${JSON.stringify(f.path)}`);
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ name: d, mode: S_IFDIR | 0o755 });
      }
    }
    const data = typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : f.data;
    entries.push({ name, mode: S_IFREG | (f.mode ?? 0o755), data });
  }
  return gzipSync(writeCpio(entries), { level: 6 });
}
