/**
 * Initramfs builder: the guest tree (tree.ts) as a gzip-compressed cpio
 * "newc" archive, the format every Linux kernel we boot can unpack
 * (CONFIG_RD_GZIP is set on Debian's arm64 and amd64 kernels).
 */
import { gzipSync } from 'node:zlib';
import { writeCpio } from './cpio.js';
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
