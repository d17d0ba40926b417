/**
 * Where one emu boot's CPU time goes (issue 4's profile breakdown): boots
 * Debian arm64 + the busybox initramfs once per mode with the real CLI under
 * `node --cpu-prof` (every thread profiled), lets /init power off right after
 * the marker, and classifies the machine thread's self time into translate /
 * execute (translated code, dispatch, interpreter) / helpers / engine loop /
 * devices / VMM / GC / other by the source file and function of each sample
 * (rules: bench/lib/profile.ts).
 *
 * usage: npm run build && node --import tsx bench/emu-profile.ts [off|on|both=both] [--nomodules] [--top=N] [--keep]
 * (--keep leaves the .cpuprofile files for chrome://inspect / speedscope and prints their paths)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOOT_MARKER, cmdParam, findGuest, whyNoGuest } from '../guest/assets.js';
import { breakdown, emuUs, readProfile, table } from './lib/profile.js';

const args = process.argv.slice(2);
const which = args.find((a) => a === 'on' || a === 'off' || a === 'both') ?? 'both';
const modes = which === 'both' ? (['off', 'on'] as const) : ([which] as const);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 12);
const keep = args.includes('--keep');
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin/tsvisor.js');

const g = findGuest('arm64');
if (!g) throw new Error(`arm64 guest not set up: ${whyNoGuest('arm64')}`);
if (!existsSync(join(root, 'dist/src/cli/main.js'))) throw new Error('build first: npm run build');
const append = [g.cmdlineDefaults, args.includes('--nomodules') ? 'tsvisor.nomodules=1' : '', cmdParam('true')].filter(Boolean).join(' ');

interface Run {
  markerS?: number;
  exitS: number;
  code: number | null;
  output: string;
}

function boot(jit: 'on' | 'off', dir: string): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      ['--cpu-prof', `--cpu-prof-dir=${dir}`, cli, 'run', '--accel', `emu,jit=${jit}`, '--memory', '512M', '--kernel', g!.kernel, '--initrd', g!.initrd, '--append', append],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let markerS: number | undefined;
    const on = (d: Buffer): void => {
      output += d.toString('latin1');
      if (markerS === undefined && output.includes(BOOT_MARKER)) markerS = (performance.now() - t0) / 1000;
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    const timer = setTimeout(() => child.kill('SIGTERM'), 1_200_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ markerS, exitS: (performance.now() - t0) / 1000, code, output });
    });
  });
}

for (const jit of modes) {
  const dir = mkdtempSync(join(tmpdir(), `tsvisor-prof-${jit}-`));
  process.stderr.write(`profiling one boot with jit=${jit} ...\n`);
  const r = await boot(jit, dir);
  if (r.markerS === undefined) throw new Error(`jit=${jit}: no ${BOOT_MARKER} (exit ${r.code}):\n${r.output.slice(-2000)}`);
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`jit=${jit}: node wrote no .cpuprofile (exit ${r.code}): did tsvisor exit normally?\n${r.output.slice(-1000)}`);
  const profs = files.map((f) => ({ f, p: readProfile(join(dir, f)) }));
  profs.sort((a, b) => emuUs(b.p) - emuUs(a.p));
  const machine = profs[0]!;
  const b = breakdown([machine.p]);
  console.log(`jit=${jit}: marker after ${r.markerS.toFixed(2)} s, powered off after ${r.exitS.toFixed(2)} s (under --cpu-prof), append "${append}"`);
  console.log(`machine thread self time by part (${files.length} threads profiled):`);
  console.log(table(b, top));
  const unmapped = (b.us.get('other') ?? 0) / Math.max(1, b.totalUs);
  if (unmapped > 0.25) console.log(`  note: ${(unmapped * 100).toFixed(0)}% of samples are not in src/ files (a bundled build?): the split above is incomplete`);
  const others = profs.slice(1).map(({ p }) => breakdown([p]).totalUs / 1e6);
  if (others.length) console.log(`  other threads (main, I/O workers): ${others.map((s) => s.toFixed(2)).join(' + ')} s not idle`);
  if (keep) console.log(`  profiles: ${profs.map(({ f }) => join(dir, f)).join(' ')}`);
  else rmSync(dir, { recursive: true, force: true });
}
