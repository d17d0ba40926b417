/**
 * Private apt-get/apt-cache set-up for fetching guest packages of any
 * architecture without touching the host's dpkg configuration: our own
 * sources list, package lists, download cache and (empty) dpkg status, all
 * under <cache>/apt/<arch>/. Only Debian's mirrors are used (the host may
 * list other repositories that are unreachable here).
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture, fmtSize, runStreamed, type Log } from './progress.js';

/** i386 is for the v86 peer benchmark only (bench/v86-boot.ts), not for npm run setup. */
export type DebArch = 'arm64' | 'amd64' | 'i386';

export interface AptEnv {
  arch: DebArch;
  dir: string;
  options: string[];
}

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

function sourcesList(): string {
  const mirror = process.env.TSVISOR_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
  const security = process.env.TSVISOR_DEBIAN_SECURITY ?? 'http://deb.debian.org/debian-security';
  // bookworm: its 6.1 kernels are the ones tsvisor is built and measured against.
  const suite = process.env.TSVISOR_DEBIAN_SUITE ?? 'bookworm';
  const signed = existsSync(KEYRING) ? ` [signed-by=${KEYRING}]` : '';
  return [
    `deb${signed} ${mirror} ${suite} main`,
    `deb${signed} ${mirror} ${suite}-updates main`,
    `deb${signed} ${security} ${suite}-security main`,
    '',
  ].join('\n');
}

export function aptEnv(cacheRoot: string, arch: DebArch): AptEnv {
  const dir = join(cacheRoot, 'apt', arch);
  mkdirSync(join(dir, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  mkdirSync(join(dir, 'sources.list.d'), { recursive: true });
  writeFileSync(join(dir, 'sources.list'), sourcesList());
  // An empty dpkg status: resolution must not depend on what the host has installed.
  if (!existsSync(join(dir, 'status'))) writeFileSync(join(dir, 'status'), '');
  const o = (kv: string): string[] => ['-o', kv];
  const options = [
    ...o(`APT::Architecture=${arch}`),
    ...o(`APT::Architectures=${arch}`),
    ...o(`Dir::State::Lists=${join(dir, 'lists')}`),
    ...o(`Dir::Cache=${join(dir, 'cache')}`),
    ...o(`Dir::Etc::SourceList=${join(dir, 'sources.list')}`),
    ...o(`Dir::Etc::SourceParts=${join(dir, 'sources.list.d')}`),
    ...o(`Dir::State::status=${join(dir, 'status')}`),
    // Downloads land in root-owned cache dirs the _apt sandbox user cannot write.
    ...(process.getuid?.() === 0 ? o('APT::Sandbox::User=root') : []),
  ];
  return { arch, dir, options };
}

/** True once `apt-get update` has produced Packages lists for this env. */
export function haveLists(env: AptEnv): boolean {
  return readdirSync(join(env.dir, 'lists')).some((f) => f.includes('_Packages'));
}

export function aptUpdate(env: AptEnv, log: Log): Promise<void> {
  return runStreamed('apt-get', [...env.options, '-q', 'update'], log, { prefix: `apt-get update (${env.arch})` });
}

export interface PackageInfo {
  name: string;
  version: string;
  size: number;
}

/** The candidate version of a package (apt-cache show of the candidate only). */
export function packageInfo(env: AptEnv, name: string): PackageInfo {
  const out = capture('apt-cache', [...env.options, 'show', '--no-all-versions', name]);
  const field = (f: string): string | undefined => new RegExp(`^${f}: (.*)$`, 'm').exec(out)?.[1]?.trim();
  const version = field('Version');
  if (!version) throw new Error(`apt-cache show ${name} (${env.arch}) gave no Version`);
  return { name, version, size: Number(field('Size') ?? 0) };
}

/**
 * Resolve a kernel metapackage (linux-image-arm64) to the versioned image
 * package it depends on (linux-image-6.1.0-N-arm64), so the cache key is exact.
 */
export function resolveMeta(env: AptEnv, meta: string): PackageInfo {
  const out = capture('apt-cache', [...env.options, 'depends', meta]);
  const m = /Depends: (linux-image-\d[^\s]*)/.exec(out);
  if (!m) throw new Error(`cannot resolve ${meta} (${env.arch}) to an image package:\n${out}`);
  return packageInfo(env, m[1]!);
}

/** `apt-get download` the candidate versions into `dir`; returns the .deb path per package. */
export async function aptDownload(env: AptEnv, pkgs: PackageInfo[], dir: string, log: Log): Promise<Map<string, string>> {
  const spec = pkgs.map((p) => `${p.name}=${p.version}`);
  // apt-get shows no progress bar without a tty: report the bytes on disk every 2 s instead.
  const total = pkgs.reduce((s, p) => s + p.size, 0);
  let last = -1;
  const timer = setInterval(() => {
    const got = dirBytes(dir);
    if (got !== last && got < total) log(`apt-get download (${env.arch}): ${fmtSize(got)} of ${fmtSize(total)} (${Math.floor((got / total) * 100)}%)`);
    last = got;
  }, 2000);
  try {
    await runStreamed('apt-get', [...env.options, '-q', 'download', ...spec], log, { cwd: dir, prefix: `apt-get download (${env.arch})` });
  } finally {
    clearInterval(timer);
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.deb'));
  const result = new Map<string, string>();
  for (const p of pkgs) {
    const f = files.find((x) => x.startsWith(`${p.name}_`));
    if (!f) throw new Error(`apt-get download ${p.name} left no .deb in ${dir}`);
    result.set(p.name, join(dir, f));
  }
  return result;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += statSync(join(e.parentPath ?? e.path, e.name)).size;
  }
  return n;
}
