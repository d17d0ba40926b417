/**
 * Start-up: milliseconds from process start to vCPU 0's first KVM_RUN on the
 * CLI's real path, `node bin/tsvisor.js run --accel kvm --kernel
 * guest/test-guests/out/hello.elf --memory 128M` (compiled code from dist/),
 * a fresh process each round. The CLI prints its milestones with
 * TSVISOR_TRACE_STARTUP=1 (process.uptime() and process CPU time, both
 * process-wide); the process is killed once the first KVM_RUN is reported.
 * CPU time is reported too: on a shared host it is much less noisy than wall.
 *
 * Also: the kvm engine alone (bench/kvm-startup-child.mjs: a 64 MiB VM built
 * directly with KvmEngine, no CLI / Machine / worker), from dist/.
 *
 * usage: npm run build && node --import tsx bench/kvm-startup.ts [rounds=10] [--compare OTHER_CHECKOUT]
 *   --compare: alternate rounds with OTHER_CHECKOUT/bin/tsvisor.js (built) to compare two versions in one run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
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

function runCli(checkout: string): Promise<Trace> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${checkout}/bin/tsvisor.js`, 'run', '--accel', 'kvm', '--kernel', guest, '--memory', '128M'], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, TSVISOR_TRACE_STARTUP: '1' },
    });
    const trace: Trace = new Map();
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const m of err.matchAll(/^tsvisor-startup (\S+) ([\d.]+) ([\d.]+)$/gm)) trace.set(m[1]!, [Number(m[2]), Number(m[3])]);
      if (trace.has('first-kvm-run')) child.kill('SIGKILL');
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (trace.has('first-kvm-run')) resolve(trace);
      else reject(new Error(`no first KVM_RUN reported by ${checkout}/bin/tsvisor.js; stderr:\n${err}`));
    });
  });
}

/** Node's own floor: an empty ES module's first line (uptime, CPU ms), alternated with the CLI rounds. */
function nodeFloor(): [number, number] {
  const code = 'const c = process.cpuUsage(); console.log(process.uptime() * 1000, (c.user + c.system) / 1000)';
  const [wall, cpu] = execFileSync(process.execPath, ['--input-type=module', '-e', code]).toString().trim().split(' ').map(Number);
  return [wall!, cpu!];
}

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
} else if (!existsSync(`${root}dist/src/cli/main.js`) || !existsSync(guest)) {
  console.log('skipped: run `npm run build` and `bash guest/test-guests/build.sh` first');
} else {
  const mine: Trace[] = [];
  const other: Trace[] = [];
  const floor: Array<[number, number]> = [];
  for (let i = 0; i < ROUNDS; i++) {
    mine.push(await runCli(root));
    if (compare !== undefined) other.push(await runCli(compare));
    floor.push(nodeFloor());
  }
  console.log(`process start → vCPU 0's first KVM_RUN, tsvisor run --accel kvm (hello.elf, 128 MiB, 1 vCPU), min / median / max of ${ROUNDS}`);
  report('this checkout (dist/):', mine);
  if (compare !== undefined) report(`${compare} (alternating rounds):`, other);
  console.log(`node's floor (empty ES module, first line): wall ${fmt(summarize(floor.map((f) => f[0])), 'ms', 1)}   CPU ${fmt(summarize(floor.map((f) => f[1])), 'ms', 1)}`);
  const alone: number[] = [];
  for (let i = 0; i < Math.min(ROUNDS, 5); i++) alone.push(engineAlone().firstRunMs);
  console.log(`kvm engine alone (bench/kvm-startup-child.mjs, 64 MiB, no CLI/worker): ${fmt(summarize(alone), 'ms', 1)}`);
}
