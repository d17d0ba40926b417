/**
 * A cached busybox-static of one architecture plus its applet list. The list
 * comes from running the binary (`--list-full`): natively when the arch
 * matches the host, else under qemu-user (qemu-aarch64-static / qemu-x86_64-static).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { safeName } from './cache.js';
import type { DebArch } from './apt.js';
import { fmtSize, type Log } from './progress.js';

export interface BusyboxInfo {
  version: string;
  applets: string[];
  size: number;
}

export const busyboxDirName = (version: string): string => `busybox_${safeName(version)}`;
export const BUSYBOX_JSON = 'busybox.json';
export const busyboxPath = (dir: string): string => join(dir, 'busybox');

export function readBusyboxDir(dir: string): BusyboxInfo | undefined {
  const f = join(dir, BUSYBOX_JSON);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as BusyboxInfo) : undefined;
}

const HOST_ARCH: Record<string, DebArch> = { x64: 'amd64', arm64: 'arm64' };
const QEMU_USER: Record<DebArch, string> = { arm64: 'qemu-aarch64-static', amd64: 'qemu-x86_64-static', i386: 'qemu-i386-static' };

/** Argv prefix to run a static binary of `arch` on this host. */
export function runnerFor(arch: DebArch): string[] {
  return HOST_ARCH[process.arch] === arch ? [] : [QEMU_USER[arch]];
}

/** Applet install paths ("bin/sh", "sbin/poweroff", ...) of a busybox binary. */
export function listApplets(busybox: string, arch: DebArch): string[] {
  const [cmd, ...pre] = [...runnerFor(arch), busybox];
  let out: string;
  try {
    out = execFileSync(cmd!, [...pre, '--list-full'], { encoding: 'utf8' });
  } catch (e) {
    throw new Error(`cannot run ${arch} busybox to list its applets (${cmd}: ${(e as Error).message}); install qemu-user-static`);
  }
  return out.split('\n').map((l) => l.trim()).filter(Boolean);
}

export function buildBusyboxDir(out: string, deb: string, version: string, arch: DebArch, log: Log): BusyboxInfo {
  const x = join(out, '.deb'); // inside the temp dir, like kernel.ts
  mkdirSync(x);
  try {
    execFileSync('dpkg-deb', ['-x', deb, x]);
    copyFileSync(join(x, 'bin', 'busybox'), busyboxPath(out));
    const applets = listApplets(busyboxPath(out), arch);
    const info: BusyboxInfo = { version, applets, size: statSync(busyboxPath(out)).size };
    writeFileSync(join(out, BUSYBOX_JSON), JSON.stringify(info, null, 2) + '\n');
    log(`busybox ${version} (${arch}): ${fmtSize(info.size)}, ${applets.length} applets`);
    return info;
  } finally {
    rmSync(x, { recursive: true, force: true });
  }
}
