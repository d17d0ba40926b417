/**
 * Guest assets for tsvisor: a Debian kernel, a busybox initramfs and an ext4
 * root disk per architecture, fetched and built on demand and cached under
 * cacheRoot() (cache.ts). Layout:
 *
 *   <root>/apt/<arch>/                        private apt lists and config (apt.ts)
 *   <root>/<arch>/linux-<release>_<version>/  vmlinuz, config, lib/modules/<release>/ (kernel.ts)
 *   <root>/<arch>/busybox_<version>/          busybox, busybox.json (busybox.ts)
 *   <root>/<arch>/guest_<release>_<hash>/     initrd.cpio.gz, rootfs.ext4, guest.json
 *   <root>/<arch>/current-<flavour>.json      which of the above ensureGuest last produced
 *
 * The guest dir's hash covers the package versions and what the tree/init/
 * cpio builders produce (builderHash), so editing /init rebuilds the
 * initramfs (offline: the kernel and busybox dirs are enough).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aptDownload, aptEnv, aptUpdate, haveLists, packageInfo, resolveMeta, type DebArch, type PackageInfo } from './apt.js';
import { BUSYBOX_JSON, buildBusyboxDir, busyboxDirName, busyboxPath, readBusyboxDir, type BusyboxInfo } from './busybox.js';
import { atomicDir, atomicWrite, cacheRoot, cleanStaleTemps, withLock } from './cache.js';
import { buildInitramfs, overlayInitramfs, type ExtraFile } from './initramfs.js';
import { buildKernelDir, kernelDirName, modulesDirPath, readKernelDir, vmlinuzPath, type KernelInfo } from './kernel.js';
import { moduleName, stripModuleSignature, WANTED_MODULES } from './modules.js';
import { writeCpio } from './cpio.js';
import { guestTree } from './tree.js';
import { fmtSize, stderrLog, step, type Log } from './progress.js';
import { buildRootfs } from './rootfs.js';

export { cmdParam, parseExitStatus, BOOT_MARKER, EXIT_MARKER } from './init-script.js';
export type { ExtraFile } from './initramfs.js';

export type GuestArch = DebArch;
/** Debian kernel flavour: generic (linux-image-<arch>) or cloud (linux-image-cloud-amd64, amd64 only). */
export type Flavour = 'generic' | 'cloud';

export interface GuestAssets {
  arch: GuestArch;
  flavour: Flavour;
  /** Kernel image: arm64 an uncompressed `Image` (PE/EFI stub header), amd64 a bzImage. */
  kernel: string;
  /** gzip'd cpio initramfs with busybox, /init and the virtio/ext4 modules. */
  initrd: string;
  /** ext4 image of the same tree, for `root=/dev/vda` (plus the initrd, which loads virtio_blk). */
  rootfs?: string;
  /** The static busybox binary of the guest's architecture. */
  busybox: string;
  /** lib/modules/<release>/ with the selected .ko files, modules.dep and tsvisor.order. */
  modulesDir: string;
  /** Debian kernel package version (e.g. 6.1.192-2). */
  version: string;
  /** Kernel release, `uname -r` in the guest (e.g. 6.1.0-56-arm64). */
  release: string;
  kernelPackage: string;
  busyboxVersion: string;
  /** Module names in /init's load order; built-ins are not loaded. */
  modules: string[];
  builtinModules: string[];
  /** Serial console device of the reference machine (ttyAMA0 on arm64 virt, ttyS0 on x86). */
  console: string;
  /** Kernel command line for a quiet, fast boot to the busybox /init. */
  cmdlineDefaults: string;
  /** The guest cache directory holding initrd/rootfs. */
  dir: string;
}

export interface EnsureOptions {
  flavour?: Flavour;
  /** Use the cache only; throw (with what is missing) instead of downloading. */
  offline?: boolean;
  /** Refresh the package lists and move to newer packages if there are any. */
  update?: boolean;
  /** Also build the ext4 root disk (default true). */
  rootfs?: boolean;
  log?: Log;
}

const CMDLINE: Record<GuestArch, { console: string; cmdline: string }> = {
  // cryptomgr.notests skips the crypto self-tests (the largest boot step); nokaslr avoids forced KPTI.
  arm64: { console: 'ttyAMA0', cmdline: 'console=ttyAMA0 nokaslr cryptomgr.notests quiet' },
  amd64: { console: 'ttyS0', cmdline: 'console=ttyS0 nokaslr cryptomgr.notests quiet' },
  // Debian's i686 kernel, for the v86 peer benchmark (bench/v86-boot.ts) only.
  i386: { console: 'ttyS0', cmdline: 'console=ttyS0 nokaslr cryptomgr.notests quiet' },
};

function metaPackage(arch: GuestArch, flavour: Flavour): string {
  if (flavour === 'cloud' && arch !== 'amd64') throw new Error('the cloud kernel flavour exists for amd64 only');
  if (arch === 'i386') return 'linux-image-686'; // no linux-image-i386; 686 is the non-PAE flavour
  return flavour === 'cloud' ? `linux-image-cloud-${arch}` : `linux-image-${arch}`;
}

/**
 * Bump when the initramfs/rootfs builders change in a way the sample tree
 * below does not show (gzip level, mkfs.ext4 options, ...).
 */
const BUILD_REVISION = 2; // 2: module signatures stripped (stripModuleSignature)

/**
 * Identifies what the tree builders produce: a hash of a sample guest tree
 * (so /init, the file list and the cpio layout are covered) plus
 * BUILD_REVISION. Content-based so the tsx sources and the compiled dist/
 * agree on it.
 */
let builderHashMemo: string | undefined;
function builderHash(): string {
  if (builderHashMemo) return builderHashMemo;
  const sample = writeCpio(
    guestTree({
      busybox: Buffer.from('busybox'),
      applets: ['bin/sh', 'sbin/poweroff'],
      modules: { release: 'r', files: [{ path: 'kernel/a.ko', data: Buffer.from('a') }] },
      initramfs: true,
    }),
  );
  builderHashMemo = createHash('sha256').update(`rev${BUILD_REVISION}|${WANTED_MODULES.join(',')}|`).update(sample).digest('hex').slice(0, 10);
  return builderHashMemo;
}

interface Pointer {
  kernelDir: string;
  busyboxDir: string;
  /** Last guest dir built; findGuest falls back to it when the builder sources changed since. */
  guestDir?: string;
}

const archDir = (arch: GuestArch): string => join(cacheRoot(), arch);
const pointerPath = (arch: GuestArch, flavour: Flavour): string => join(archDir(arch), `current-${flavour}.json`);
const guestDirFor = (arch: GuestArch, k: KernelInfo, bb: BusyboxInfo): string =>
  join(archDir(arch), `guest_${k.release}_${createHash('sha256').update(`${k.version}|${bb.version}|${builderHash()}`).digest('hex').slice(0, 10)}`);

function readPointer(arch: GuestArch, flavour: Flavour): Pointer | undefined {
  const p = pointerPath(arch, flavour);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Pointer) : undefined;
}

function assetsOf(arch: GuestArch, flavour: Flavour, ptr: Pointer, k: KernelInfo, bb: BusyboxInfo, dir: string): GuestAssets {
  const rootfs = join(dir, 'rootfs.ext4');
  return {
    arch,
    flavour,
    kernel: vmlinuzPath(ptr.kernelDir),
    initrd: join(dir, 'initrd.cpio.gz'),
    rootfs: existsSync(rootfs) ? rootfs : undefined,
    busybox: busyboxPath(ptr.busyboxDir),
    modulesDir: modulesDirPath(ptr.kernelDir, k.release),
    version: k.version,
    release: k.release,
    kernelPackage: k.package,
    busyboxVersion: bb.version,
    modules: k.order.map(moduleName),
    builtinModules: k.builtin,
    console: CMDLINE[arch].console,
    cmdlineDefaults: CMDLINE[arch].cmdline,
    dir,
  };
}

type Lookup = { ok: true; stale?: boolean; assets: GuestAssets } | { ok: false; reason: string; ptr?: Pointer; k?: KernelInfo; bb?: BusyboxInfo };

function lookup(arch: GuestArch, flavour: Flavour): Lookup {
  const ptr = readPointer(arch, flavour);
  const setup = 'run `npm run setup`';
  if (!ptr) return { ok: false, reason: `no ${arch} (${flavour}) guest in ${cacheRoot()}; ${setup}` };
  const k = readKernelDir(ptr.kernelDir);
  if (!k) return { ok: false, reason: `kernel cache ${ptr.kernelDir} is missing or stale; ${setup} (needs the network)` };
  const bb = readBusyboxDir(ptr.busyboxDir);
  if (!bb) return { ok: false, reason: `busybox cache ${ptr.busyboxDir} is missing; ${setup} (needs the network)`, ptr, k };
  const dir = guestDirFor(arch, k, bb);
  if (!existsSync(join(dir, 'guest.json'))) {
    // Built by an older /init or tree builder: still a complete, bootable guest. Tests and
    // tools use it rather than skip; ensureGuest/setup rebuilds for the current sources.
    if (ptr.guestDir && existsSync(join(ptr.guestDir, 'guest.json'))) {
      return { ok: true, stale: true, assets: assetsOf(arch, flavour, ptr, k, bb, ptr.guestDir) };
    }
    return { ok: false, reason: `${arch} initramfs for the current builder is not built (${dir}); ${setup} (works offline)`, ptr, k, bb };
  }
  return { ok: true, assets: assetsOf(arch, flavour, ptr, k, bb, dir) };
}

/** Paths of an already-built guest, or undefined (see whyNoGuest). Never downloads or builds. */
export function findGuest(arch: GuestArch, flavour: Flavour = 'generic'): GuestAssets | undefined {
  const r = lookup(arch, flavour);
  return r.ok ? r.assets : undefined;
}

/** Why findGuest returns undefined (for t.skip messages); undefined when the guest is there. */
export function whyNoGuest(arch: GuestArch, flavour: Flavour = 'generic'): string | undefined {
  const r = lookup(arch, flavour);
  return r.ok ? undefined : r.reason;
}

async function buildGuestDir(arch: GuestArch, ptr: Pointer, k: KernelInfo, bb: BusyboxInfo, withRootfs: boolean, log: Log): Promise<string> {
  const dir = guestDirFor(arch, k, bb);
  await atomicDir(dir, async (tmp) => {
    const busybox = readFileSync(busyboxPath(ptr.busyboxDir));
    const modDir = modulesDirPath(ptr.kernelDir, k.release);
    const input = {
      busybox,
      applets: bb.applets,
      modules: { release: k.release, files: k.order.map((path) => ({ path, data: stripModuleSignature(readFileSync(join(modDir, path))) })) },
    };
    const initrd = join(tmp, 'initrd.cpio.gz');
    await step(log, `${arch}: building initramfs`, () => writeFileSync(initrd, buildInitramfs(input)), () => fmtSize(statSync(initrd).size));
    if (withRootfs) {
      const img = join(tmp, 'rootfs.ext4');
      await step(log, `${arch}: building ext4 root disk`, () => buildRootfs(input, img), () => `${fmtSize(statSync(img).size)} (sparse)`);
    }
    writeFileSync(join(tmp, 'guest.json'), JSON.stringify({ kernel: k.package, version: k.version, busybox: bb.version, builder: builderHash() }, null, 2) + '\n');
  });
  return dir;
}

/** Download (into a temp dir) and unpack whichever of kernel/busybox is not cached yet. */
async function fetchMissing(arch: GuestArch, kpkg: PackageInfo, bbpkg: PackageInfo, log: Log): Promise<Pointer> {
  const ptr: Pointer = { kernelDir: join(archDir(arch), kernelDirName(kpkg.name, kpkg.version)), busyboxDir: join(archDir(arch), busyboxDirName(bbpkg.version)) };
  const staleKernel = existsSync(ptr.kernelDir) && !readKernelDir(ptr.kernelDir);
  if (staleKernel) rmSync(ptr.kernelDir, { recursive: true, force: true });
  const want = [
    ...(existsSync(ptr.kernelDir) ? [] : [kpkg]),
    ...(existsSync(join(ptr.busyboxDir, BUSYBOX_JSON)) ? [] : [bbpkg]),
  ];
  if (!want.length) return ptr;
  mkdirSync(archDir(arch), { recursive: true });
  cleanStaleTemps(archDir(arch));
  // Named like atomicDir's temps so a killed run's download is cleaned up by the next one.
  const dl = join(archDir(arch), `.download.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dl);
  try {
    const total = want.reduce((s, p) => s + p.size, 0);
    const debs = await step(log, `${arch}: downloading ${want.map((p) => `${p.name} ${p.version}`).join(', ')} (${fmtSize(total)})`, () =>
      aptDownload(aptEnv(cacheRoot(), arch), want, dl, log),
    );
    if (debs.has(kpkg.name)) {
      await step(log, `${arch}: unpacking ${kpkg.name}`, () =>
        atomicDir(ptr.kernelDir, (tmp) => void buildKernelDir(tmp, debs.get(kpkg.name)!, kpkg.name, kpkg.version, log)),
      );
    }
    if (debs.has(bbpkg.name)) {
      await step(log, `${arch}: unpacking busybox-static`, () =>
        atomicDir(ptr.busyboxDir, (tmp) => void buildBusyboxDir(tmp, debs.get(bbpkg.name)!, bbpkg.version, arch, log)),
      );
    }
  } finally {
    rmSync(dl, { recursive: true, force: true });
  }
  return ptr;
}

/**
 * Make sure the guest for `arch` exists, fetching/building what is missing
 * (progress on stderr, or opts.log), and return absolute paths. When a guest
 * was set up before, this neither touches the network nor rebuilds anything
 * unless `update` is set.
 */
export async function ensureGuest(arch: GuestArch, opts: EnsureOptions = {}): Promise<GuestAssets> {
  const flavour = opts.flavour ?? 'generic';
  const withRootfs = opts.rootfs ?? true;
  const isDone = (r: Lookup): r is Lookup & { ok: true } => r.ok && !r.stale && !opts.update && (!withRootfs || !!r.assets.rootfs);
  const found = lookup(arch, flavour);
  if (isDone(found)) return found.assets;
  const log = opts.log ?? stderrLog;
  return withLock(
    join(archDir(arch), '.setup.lock'),
    async () => {
      // Another process may have finished the job while we waited.
      const again = lookup(arch, flavour);
      return isDone(again) ? again.assets : ensureLocked(arch, flavour, again, withRootfs, opts, log);
    },
    (pid) => log(`${arch}: waiting for another setup (pid ${pid}) to finish`),
  );
}

async function ensureLocked(arch: GuestArch, flavour: Flavour, found: Lookup, withRootfs: boolean, opts: EnsureOptions, log: Log): Promise<GuestAssets> {
  let ptr: Pointer;
  if (!opts.update && !found.ok && found.ptr && found.k && found.bb) {
    ptr = found.ptr; // kernel and busybox are cached: only the initramfs/rootfs need (re)building
  } else if (found.ok && !opts.update) {
    // Cached, but stale or without a rootfs: rebuild from the cached kernel and busybox.
    ptr = readPointer(arch, flavour)!;
  } else {
    if (opts.offline) throw new Error(`offline: ${found.ok ? 'cannot --update offline' : found.reason}`);
    const env = aptEnv(cacheRoot(), arch);
    if (opts.update || !haveLists(env)) await step(log, `${arch}: apt-get update (private lists in ${env.dir})`, () => aptUpdate(env, log));
    const kpkg = resolveMeta(env, metaPackage(arch, flavour));
    const bbpkg = packageInfo(env, 'busybox-static');
    log(`${arch}: ${metaPackage(arch, flavour)} -> ${kpkg.name} ${kpkg.version}; busybox-static ${bbpkg.version}`);
    ptr = await fetchMissing(arch, kpkg, bbpkg, log);
  }
  const k = readKernelDir(ptr.kernelDir);
  const bb = readBusyboxDir(ptr.busyboxDir);
  if (!k || !bb) throw new Error(`${arch}: cache incomplete after fetch (${ptr.kernelDir}, ${ptr.busyboxDir})`);
  const existing = guestDirFor(arch, k, bb);
  if (withRootfs && existsSync(existing) && !existsSync(join(existing, 'rootfs.ext4'))) {
    rmSync(existing, { recursive: true, force: true }); // built without a rootfs before: rebuild both, atomically
  }
  const dir = await buildGuestDir(arch, ptr, k, bb, withRootfs, log);
  atomicWrite(pointerPath(arch, flavour), JSON.stringify({ ...ptr, guestDir: dir }, null, 2) + '\n');
  pruneGuestDirs(arch);
  return assetsOf(arch, flavour, ptr, k, bb, dir);
}

/**
 * Remove guest dirs that no current-*.json points at and that are over an
 * hour old (a test started just before a rebuild may still be reading one).
 */
function pruneGuestDirs(arch: GuestArch): void {
  const keep = new Set<string>();
  for (const f of (['generic', 'cloud'] as Flavour[]).map((fl) => readPointer(arch, fl))) if (f?.guestDir) keep.add(f.guestDir);
  for (const name of readdirSync(archDir(arch))) {
    const dir = join(archDir(arch), name);
    if (!/^guest_[^.]+$/.test(name) || keep.has(dir)) continue;
    if (Date.now() - statSync(dir).mtimeMs > 3600_000) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The guest's initramfs with `files` added (or replacing existing ones), for
 * tests that need their own programs in the guest: a second gzip'd cpio is
 * appended, which the kernel unpacks over the first. Write it to a temp file
 * for -initrd / the engine's initrd option.
 */
export function initrdWith(assets: GuestAssets, files: readonly ExtraFile[]): Buffer {
  return Buffer.concat([readFileSync(assets.initrd), overlayInitramfs(files)]);
}
