/**
 * Start-up: milliseconds from process start to vCPU 0's first KVM_RUN on the
 * CLI's real path, `node bin/tsvisor.js run --accel kvm --kernel
 * guest/test-guests/out/hello.elf --memory 128M` (the built command: the
 * dist/cli bundle), a fresh process each round. The CLI prints its milestones
 * with TSVISOR_TRACE_STARTUP=1 (process.uptime() and process CPU time, both
 * process-wide); the process is killed once the first KVM_RUN is reported.
 * CPU time is reported too: on a shared host it is much less noisy than wall.
 *
 * Variants, all run in every round in a shuffled order with a 150 ms pause
 * before each run (a run right after a killed VM measured ~7 ms more CPU than
 * the first of a round: a fixed order biases the comparison):
 *  - this checkout with its V8 code cache (a first, untimed run to the guest's
 *    prompt writes dist/cli/tsvisor.cjs.v8cache, as any first run does);
 *  - the same without it (TSVISOR_CODE_CACHE=0: a first run after a build);
 *  - with --compare, another built checkout's bin/tsvisor.js;
 *  - Node's floor: the first line of an empty CommonJS script (what
 *    bin/tsvisor.js is), of an empty ES module, and of `node -e`.
 * Also: the kvm engine alone (bench/kvm-startup-child.mjs, no CLI).
 *
 * usage: npm run build && node --import tsx bench/kvm-startup.ts [rounds=10] [--compare OTHER_CHECKOUT]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize, fmt } from './lib/stats.js';
import { probeKvm } from '../src/engines/kvm/index.js';

const args = process.argv.slice(2);
const ci = args.indexOf('--compare');
const compare = ci >= 0 ? args.splice(ci, 2)[1] : undefined;
const ROUNDS = Number(args[0] ?? 10);
const root = fileURLToPath(new URL('..', import.meta.url));
const guest = `${root}guest/test-guests/out/hello.elf`;

/** Milestones of one run: label -> [uptime ms, process CPU ms]. */
type Trace = Map<string, [number, number]>;

function runCli(checkout: string, env: Record<string, string> = {}, until = 'first-kvm-run'): Promise<Trace> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${checkout}/bin/tsvisor.js`, 'run', '--accel', 'kvm', '--kernel', guest, '--memory', '128M'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TSVISOR_TRACE_STARTUP: '1', ...env },
    });
    const trace: Trace = new Map();
    let err = '';
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const done = (): boolean => (until === 'prompt' ? out.includes('echo until q') : trace.has(until));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (done()) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const m of err.matchAll(/^tsvisor-startup (\S+) ([\d.]+) ([\d.]+)$/gm)) trace.set(m[1]!, [Number(m[2]), Number(m[3])]);
      if (done()) child.kill('SIGKILL');
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (trace.has('first-kvm-run')) resolve(trace);
      else reject(new Error(`no first KVM_RUN reported by ${checkout}/bin/tsvisor.js; stderr:\n${err}`));
    });
  });
}

const PRINT = 'const c = process.cpuUsage(); console.log(process.uptime() * 1000, (c.user + c.system) / 1000)';
const dir = mkdtempSync(join(tmpdir(), 'tsvisor-floor-'));
writeFileSync(join(dir, 'empty.cjs'), PRINT);
writeFileSync(join(dir, 'empty.mjs'), PRINT);

/** Node's own floor: [uptime, CPU ms] at the first line of `args`. */
function nodeFloor(nodeArgs: string[]): [number, number] {
  const [wall, cpu] = execFileSync(process.execPath, nodeArgs).toString().trim().split(' ').map(Number);
  return [wall!, cpu!];
}
const floors: Array<[string, string[]]> = [
  ['empty CommonJS script (bin/tsvisor.js is one)', [join(dir, 'empty.cjs')]],
  ['empty ES module', [join(dir, 'empty.mjs')]],
  ['node -e', ['-e', PRINT]],
];

function report(label: string, ts: Trace[]): void {
  const col = (name: string, i: 0 | 1): string => fmt(summarize(ts.map((t) => t.get(name)?.[i] ?? NaN)), 'ms', 1);
  console.log(label);
  console.log(`  first KVM_RUN       wall ${col('first-kvm-run', 0)}   CPU ${col('first-kvm-run', 1)}`);
  for (const [name, what] of [
    ['cli-loaded', 'CLI modules loaded'],
    ['machine-created', 'config validated'],
    ['worker-loaded', 'machine thread up'],
    ['engine-loaded', 'engine modules in'],
    ['built', 'VM built'],
  ] as const) {
    if (ts[0]!.has(name)) console.log(`    ${what.padEnd(18)} wall ${col(name, 0)}   CPU ${col(name, 1)}`);
  }
}

function engineAlone(): { firstRunMs: number } {
  const child = fileURLToPath(new URL('./kvm-startup-child.mjs', import.meta.url));
  const engine = new URL('../dist/src/engines/kvm/index.js', import.meta.url);
  const bus = new URL('../dist/src/devices/bus.js', import.meta.url);
  const s = execFileSync(process.execPath, [child, engine.href, bus.href]).toString();
  return JSON.parse(s.trim().split('\n').pop()!) as { firstRunMs: number };
}

const p = probeKvm();
if (!p.ok) {
  console.log(`skipped: ${p.reason}`);
} else if (!existsSync(`${root}dist/cli/tsvisor.cjs`) || !existsSync(guest)) {
  console.log('skipped: run `npm run build` and `bash guest/test-guests/build.sh` first');
} else {
  const load0 = loadavg();
  await runCli(root, {}, 'prompt'); // writes the code cache, like a user's first run
  if (compare !== undefined) await runCli(compare, {}, 'prompt');
  const warm: Trace[] = [];
  const cold: Trace[] = [];
  const other: Trace[] = [];
  const floor: Array<Array<[number, number]>> = floors.map(() => []);
  const jobs: Array<() => Promise<void>> = [
    async () => void warm.push(await runCli(root)),
    async () => void cold.push(await runCli(root, { TSVISOR_CODE_CACHE: '0' })),
    ...(compare !== undefined ? [async () => void other.push(await runCli(compare))] : []),
    ...floors.map(([, a], j) => async () => void floor[j]!.push(nodeFloor(a))),
  ];
  for (let i = 0; i < ROUNDS; i++) {
    const order = jobs.map((job) => ({ job, key: Math.random() })).sort((x, y) => x.key - y.key);
    for (const { job } of order) {
      await new Promise((r) => setTimeout(r, 150));
      await job();
    }
  }
  const load1 = loadavg();
  console.log(`process start → vCPU 0's first KVM_RUN, tsvisor run --accel kvm (hello.elf, 128 MiB, 1 vCPU), min / median / max of ${ROUNDS}`);
  console.log(`host load average (1/5/15 min): ${load0.map((l) => l.toFixed(2)).join(' ')} at start, ${load1.map((l) => l.toFixed(2)).join(' ')} at end`);
  report('this checkout, with its code cache:', warm);
  report('this checkout, no code cache (TSVISOR_CODE_CACHE=0):', cold);
  if (compare !== undefined) report(`${compare}:`, other);
  floors.forEach(([name], j) => {
    const f = floor[j]!;
    console.log(`node's floor, ${name}, first line: wall ${fmt(summarize(f.map((x) => x[0])), 'ms', 1)}   CPU ${fmt(summarize(f.map((x) => x[1])), 'ms', 1)}`);
  });
  const med = (xs: number[]): number => summarize(xs).median;
  const first = (ts: Trace[], i: 0 | 1): number => med(ts.map((t) => t.get('first-kvm-run')![i]));
  const f0 = floor[0]!;
  const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  for (const [label, ts] of [
    ['with code cache', warm],
    ['no code cache', cold],
  ] as const) {
    console.log(
      `above node's floor (CommonJS script), medians, ${label}: wall ${signed(first(ts, 0) - med(f0.map((x) => x[0])))} ms, CPU ${signed(first(ts, 1) - med(f0.map((x) => x[1])))} ms`,
    );
  }
  const alone: number[] = [];
  for (let i = 0; i < Math.min(ROUNDS, 5); i++) alone.push(engineAlone().firstRunMs);
  console.log(`kvm engine alone (bench/kvm-startup-child.mjs, 64 MiB, no CLI/worker): ${fmt(summarize(alone), 'ms', 1)}`);
}
