/**
 * A cached kernel: vmlinuz, its config, and only the modules tsvisor guests
 * load (modules.ts), extracted from a Debian linux-image .deb. The full
 * package is ~60 MB compressed / ~350 MB extracted; what we keep is ~7 MB.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { safeName } from './cache.js';
import { MODULE_ORDER_FILE } from './init-script.js';
import { WANTED_MODULES, loadOrder, moduleName, parseModulesBuiltin, parseModulesDep } from './modules.js';
import { fmtSize, type Log } from './progress.js';

export interface KernelInfo {
  /** Debian package, e.g. linux-image-6.1.0-56-arm64. */
  package: string;
  /** Debian package version, e.g. 6.1.192-2. */
  version: string;
  /** Kernel release (`uname -r`), e.g. 6.1.0-56-arm64. */
  release: string;
  /** Module names tsvisor asked for (to notice when WANTED_MODULES changes). */
  wanted: string[];
  /** Paths relative to lib/modules/<release>/ in load order (stored uncompressed). */
  order: string[];
  builtin: string[];
  missing: string[];
  sizes: { vmlinuz: number; modules: number };
}

export function kernelDirName(pkg: string, version: string): string {
  return `${pkg.replace(/^linux-image-/, 'linux-')}_${safeName(version)}`;
}

export const KERNEL_JSON = 'kernel.json';

export function readKernelDir(dir: string): KernelInfo | undefined {
  const f = join(dir, KERNEL_JSON);
  if (!existsSync(f)) return undefined;
  const info = JSON.parse(readFileSync(f, 'utf8')) as KernelInfo;
  // Selected for an older module list: the .deb is gone, so this needs a rebuild.
  if (info.wanted.join(',') !== WANTED_MODULES.join(',')) return undefined;
  return info;
}

export const vmlinuzPath = (dir: string): string => join(dir, 'vmlinuz');
export const modulesDirPath = (dir: string, release: string): string => join(dir, 'lib', 'modules', release);

/** Uncompressed bytes of a module file (Debian 6.1 ships plain .ko, later kernels .ko.xz/.ko.zst). */
function readModule(path: string): Buffer {
  if (path.endsWith('.ko')) return readFileSync(path);
  if (path.endsWith('.gz')) return gunzipSync(readFileSync(path));
  if (path.endsWith('.xz')) return execFileSync('xz', ['-dc', path], { maxBuffer: 256 << 20 });
  if (path.endsWith('.zst')) return execFileSync('zstd', ['-dc', path], { maxBuffer: 256 << 20 });
  throw new Error(`unknown module format: ${path}`);
}

/** Extract `deb` and fill `out` (an empty temp dir that atomicDir will rename). */
export function buildKernelDir(out: string, deb: string, pkg: string, version: string, log: Log): KernelInfo {
  // Unpack inside `out` (~350 MB): an interrupted run's leftovers go with its temp dir (cleanStaleTemps).
  const x = join(out, '.deb');
  mkdirSync(x);
  try {
    execFileSync('dpkg-deb', ['-x', deb, x]);
    const releases = readdirSync(join(x, 'lib', 'modules'));
    if (releases.length !== 1) throw new Error(`expected one kernel release in ${deb}, found ${releases.join(', ')}`);
    const release = releases[0]!;
    copyFileSync(join(x, 'boot', `vmlinuz-${release}`), vmlinuzPath(out));
    copyFileSync(join(x, 'boot', `config-${release}`), join(out, 'config'));

    // The .deb carries no modules.dep; depmod -b writes it into the extracted tree.
    const src = join(x, 'lib', 'modules', release);
    execFileSync('depmod', ['-b', x, release]);
    const dep = parseModulesDep(readFileSync(join(src, 'modules.dep'), 'utf8'));
    const builtin = parseModulesBuiltin(readFileSync(join(src, 'modules.builtin'), 'utf8'));
    const plan = loadOrder(dep, WANTED_MODULES, builtin);
    if (plan.missing.length) log(`${release}: not available as module or built-in: ${plan.missing.join(', ')}`);

    const dst = modulesDirPath(out, release);
    mkdirSync(dst, { recursive: true });
    const order: string[] = [];
    let modBytes = 0;
    for (const p of plan.order) {
      const data = readModule(join(src, p));
      const stored = p.replace(/\.ko\.(xz|gz|zst)$/, '.ko');
      mkdirSync(dirname(join(dst, stored)), { recursive: true });
      writeFileSync(join(dst, stored), data);
      order.push(stored);
      modBytes += data.length;
    }
    for (const f of ['modules.dep', 'modules.builtin', 'modules.softdep', 'modules.order']) {
      if (existsSync(join(src, f))) copyFileSync(join(src, f), join(dst, f));
    }
    writeFileSync(join(dst, MODULE_ORDER_FILE), order.join('\n') + '\n');
    const info: KernelInfo = {
      package: pkg,
      version,
      release,
      wanted: [...WANTED_MODULES],
      order,
      builtin: plan.builtin,
      missing: plan.missing,
      sizes: { vmlinuz: statSync(vmlinuzPath(out)).size, modules: modBytes },
    };
    writeFileSync(join(out, KERNEL_JSON), JSON.stringify(info, null, 2) + '\n');
    log(
      `${release}: vmlinuz ${fmtSize(info.sizes.vmlinuz)}, ${order.length} modules ${fmtSize(modBytes)} ` +
        `(${order.map(moduleName).join(' ')}); built in: ${plan.builtin.join(' ') || 'none'}`,
    );
    return info;
  } finally {
    rmSync(x, { recursive: true, force: true });
  }
}
