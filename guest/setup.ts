/**
 * `npm run setup [-- options]`: fetch and build the guest kernels, initramfs
 * and root disks (arm64 first: it is the default guest on hosts without
 * hardware KVM), then print where everything is.
 *
 *   --arch=arm64|amd64   only this arch (repeatable; default both)
 *   --cloud              also the amd64 cloud kernel flavour (kept once set up)
 *   --offline            cache only; fail with what is missing
 *   --update             refresh package lists, move to newer packages
 *   --no-rootfs          skip the ext4 root disk
 *   --print-paths        print shell assignments (TSVISOR_ARM64_KERNEL=...) on stdout
 *   --json               print the GuestAssets objects as JSON on stdout
 */
import { ensureGuest, findGuest, type Flavour, type GuestArch, type GuestAssets } from './assets.js';
import { cacheRoot } from './cache.js';
import { quietLog, stderrLog } from './progress.js';

function usage(msg: string): never {
  process.stderr.write(`setup: ${msg}\nusage: npm run setup -- [--arch=arm64|amd64] [--cloud] [--offline] [--update] [--no-rootfs] [--print-paths|--json]\n`);
  process.exit(2);
}

function shellQuote(s: string): string {
  return /^[\w./+:=@%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function printPaths(a: GuestAssets): void {
  const p = `TSVISOR_${a.arch.toUpperCase()}${a.flavour === 'cloud' ? '_CLOUD' : ''}_`;
  const vars: Record<string, string | undefined> = {
    KERNEL: a.kernel,
    INITRD: a.initrd,
    ROOTFS: a.rootfs,
    BUSYBOX: a.busybox,
    MODULES: a.modulesDir,
    VERSION: a.version,
    RELEASE: a.release,
    CMDLINE: a.cmdlineDefaults,
  };
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) process.stdout.write(`${p}${k}=${shellQuote(v)}\n`);
}

async function main(): Promise<void> {
  const arches: GuestArch[] = [];
  let cloud = false;
  const opts = { offline: false, update: false, rootfs: true };
  let output: 'human' | 'paths' | 'json' = 'human';
  for (const a of process.argv.slice(2)) {
    const m = /^--arch=(.*)$/.exec(a);
    if (m) {
      if (m[1] !== 'arm64' && m[1] !== 'amd64') usage(`unknown arch ${m[1]}`);
      arches.push(m[1]);
    } else if (a === '--cloud') cloud = true;
    else if (a === '--offline') opts.offline = true;
    else if (a === '--update') opts.update = true;
    else if (a === '--no-rootfs') opts.rootfs = false;
    else if (a === '--print-paths') output = 'paths';
    else if (a === '--json') output = 'json';
    else usage(`unknown option ${a}`);
  }
  const targets: [GuestArch, Flavour][] = (arches.length ? arches : (['arm64', 'amd64'] as GuestArch[])).map((a) => [a, 'generic']);
  // Keep an amd64 cloud guest that was set up before current too (rebuilds after /init changes).
  if (cloud || (!arches.length || arches.includes('amd64')) && findGuest('amd64', 'cloud')) targets.push(['amd64', 'cloud']);

  // Shell/JSON output must stay parseable: progress goes to stderr either way, but only when building.
  const log = stderrLog;
  const results: GuestAssets[] = [];
  let failed = false;
  for (const [arch, flavour] of targets) {
    try {
      results.push(await ensureGuest(arch, { ...opts, flavour, log: output === 'human' ? log : opts.offline ? quietLog : log }));
    } catch (e) {
      failed = true;
      process.stderr.write(`setup: ${arch}${flavour === 'cloud' ? ' (cloud)' : ''} failed: ${(e as Error).message}\n`);
    }
  }
  if (output === 'paths') results.forEach(printPaths);
  else if (output === 'json') process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else {
    process.stderr.write(`\nguest assets in ${cacheRoot()}:\n`);
    for (const a of results) {
      process.stderr.write(
        `  ${a.arch}${a.flavour === 'cloud' ? ' (cloud)' : ''}: ${a.kernelPackage} ${a.version}, busybox ${a.busyboxVersion}\n` +
          `    kernel  ${a.kernel}\n    initrd  ${a.initrd}\n` +
          (a.rootfs ? `    rootfs  ${a.rootfs}\n` : '') +
          `    modules ${a.modulesDir} (${a.modules.join(' ')})\n    append  "${a.cmdlineDefaults}"\n`,
      );
    }
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
