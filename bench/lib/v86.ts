/**
 * The JavaScript peer of issue 4: v86 (npm v86, x86-32 emulator with a wasm
 * JIT) booting Debian bookworm's i686 kernel (linux-image-686) with the same
 * busybox initramfs /init as the arm64 guest, to the same marker, with
 * Debian's SeaBIOS (bios.bin + vgabios-stdvga.bin). Assets are bench-only
 * and fetched on first use (progress on stderr) into ~/.cache/tsvisor/i386.
 * qemu-system-i386 TCG on the same kernel/initrd/command line is the
 * reference that puts v86's time in proportion.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ensureGuest, type GuestAssets } from '../../guest/assets.js';
import { ensureSeabios, type SeabiosImages } from '../../guest/seabios.js';

export const QEMU_I386 = 'qemu-system-i386';
export const V86_MEMORY_MIB = 512;
const child = fileURLToPath(new URL('./v86-child.mjs', import.meta.url));

export interface I686Peer {
  guest: GuestAssets;
  seabios: SeabiosImages;
  v86Version: string;
  append: string;
}

/** Why the v86 peer cannot run here (undefined when it can); never downloads. */
export function whyNoV86(): string | undefined {
  try {
    createRequire(import.meta.url).resolve('v86');
    return undefined;
  } catch {
    return 'npm package v86 not installed (npm install: it is a devDependency)';
  }
}

export function haveQemuI386(): boolean {
  return spawnSync(QEMU_I386, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The i686 guest and SeaBIOS, fetched and built on first use. */
export async function ensureI686Peer(extraAppend = ''): Promise<I686Peer> {
  const guest = await ensureGuest('i386', { rootfs: false });
  const seabios = await ensureSeabios();
  const req = createRequire(import.meta.url);
  const v86Version = (req('v86/package.json') as { version: string }).version;
  return { guest, seabios, v86Version, append: [guest.cmdlineDefaults, extraAppend].filter(Boolean).join(' ') };
}

/** Argv (program: process.execPath) that boots the peer on v86, COM1 on stdout. */
export function v86Argv(p: I686Peer): string[] {
  return [child, p.seabios.bios, p.seabios.vgabios, p.guest.kernel, p.guest.initrd, p.append, String(V86_MEMORY_MIB)];
}

/** Argv (program: QEMU_I386) of the same boot under QEMU TCG. */
export function qemuI386Argv(p: I686Peer): string[] {
  return ['-M', 'pc', '-accel', 'tcg', '-nic', 'none', '-m', String(V86_MEMORY_MIB), '-nographic', '-no-reboot',
    '-kernel', p.guest.kernel, '-initrd', p.guest.initrd, '-append', p.append];
}

export function describePeer(p: I686Peer): string {
  return `Debian ${p.guest.kernelPackage} ${p.guest.version} + busybox ${p.guest.busyboxVersion} initramfs, SeaBIOS ${p.seabios.version}, v86 ${p.v86Version}, ${V86_MEMORY_MIB} MiB`;
}
