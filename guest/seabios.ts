/**
 * Debian's SeaBIOS images (package seabios, arch all) for the v86 peer
 * benchmark: bios.bin and vgabios-stdvga.bin, fetched with the private i386
 * apt set-up (apt.ts) and cached under <cache>/i386/seabios_<version>/.
 * Bench-only: npm run setup does not fetch them.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { aptDownload, aptEnv, aptUpdate, haveLists, packageInfo } from './apt.js';
import { atomicDir, atomicWrite, cacheRoot, cleanStaleTemps, safeName, withLock } from './cache.js';
import { stderrLog, step, type Log } from './progress.js';

export interface SeabiosImages {
  bios: string;
  vgabios: string;
  version: string;
}

const FILES = ['bios.bin', 'vgabios-stdvga.bin'] as const;
const POINTER = 'current-seabios.json';

function fromDir(dir: string, version: string): SeabiosImages | undefined {
  if (!FILES.every((f) => existsSync(join(dir, f)))) return undefined;
  return { bios: join(dir, 'bios.bin'), vgabios: join(dir, 'vgabios-stdvga.bin'), version };
}

/** Cached images, or undefined. Never downloads. */
export function findSeabios(): SeabiosImages | undefined {
  const p = join(cacheRoot(), 'i386', POINTER);
  if (!existsSync(p)) return undefined;
  const { dir, version } = JSON.parse(readFileSync(p, 'utf8')) as { dir: string; version: string };
  return fromDir(dir, version);
}

/** Cached images, fetched (progress on stderr) when missing. */
export async function ensureSeabios(log: Log = stderrLog): Promise<SeabiosImages> {
  const found = findSeabios();
  if (found) return found;
  const arch = join(cacheRoot(), 'i386');
  mkdirSync(arch, { recursive: true });
  return withLock(join(arch, '.seabios.lock'), async () => {
    const again = findSeabios();
    if (again) return again;
    const env = aptEnv(cacheRoot(), 'i386');
    if (!haveLists(env)) await step(log, `i386: apt-get update (private lists in ${env.dir})`, () => aptUpdate(env, log));
    const pkg = packageInfo(env, 'seabios');
    const dir = join(arch, `seabios_${safeName(pkg.version)}`);
    if (!fromDir(dir, pkg.version)) {
      cleanStaleTemps(arch);
      const dl = join(arch, `.download.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
      mkdirSync(dl);
      try {
        const debs = await step(log, `i386: downloading seabios ${pkg.version}`, () => aptDownload(env, [pkg], dl, log));
        await atomicDir(dir, (tmp) => {
          const x = join(tmp, '.deb');
          mkdirSync(x);
          execFileSync('dpkg-deb', ['-x', debs.get('seabios')!, x]);
          for (const f of FILES) copyFileSync(join(x, 'usr', 'share', 'seabios', f), join(tmp, f));
          rmSync(x, { recursive: true, force: true });
        });
      } finally {
        rmSync(dl, { recursive: true, force: true });
      }
    }
    atomicWrite(join(arch, POINTER), JSON.stringify({ dir, version: pkg.version }, null, 2) + '\n');
    return fromDir(dir, pkg.version)!;
  }, (pid) => log(`i386: waiting for another seabios fetch (pid ${pid})`));
}
