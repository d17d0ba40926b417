/**
 * Start-up: milliseconds from process start to vCPU 0's first KVM_RUN (and to
 * the guest's first port exit), for a fresh Node process each round; under
 * tsx (sources) and, when dist/ is built (npm run build), from compiled code.
 *
 * usage: node --import tsx bench/kvm-startup.ts [rounds=5]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { summarize, fmt } from './lib/stats.js';
import { probeKvm } from '../src/engines/kvm/index.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const child = fileURLToPath(new URL('./kvm-startup-child.mjs', import.meta.url));

interface Times {
  importedMs: number;
  firstRunMs: number;
  firstExitMs: number;
}

function measure(args: string[], engineUrl: URL, busUrl: URL): Times[] {
  const out: Times[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const s = execFileSync(process.execPath, [...args, child, engineUrl.href, busUrl.href]).toString();
    out.push(JSON.parse(s.trim().split('\n').pop()!) as Times);
  }
  return out;
}

function report(label: string, ts: Times[]): void {
  console.log(`${label}`);
  console.log(`  modules loaded     ${fmt(summarize(ts.map((t) => t.importedMs)), 'ms', 1)}`);
  console.log(`  first KVM_RUN      ${fmt(summarize(ts.map((t) => t.firstRunMs)), 'ms', 1)}`);
  console.log(`  first guest exit   ${fmt(summarize(ts.map((t) => t.firstExitMs)), 'ms', 1)}`);
}

const p = probeKvm();
if (!p.ok) {
  console.log(`skipped: ${p.reason}`);
} else {
  console.log(`process start → first KVM_RUN (64 MiB, 1 vCPU), min / median / max of ${ROUNDS}`);
  report('sources under tsx:', measure(['--import', 'tsx'], new URL('../src/engines/kvm/index.ts', import.meta.url), new URL('../src/devices/bus.ts', import.meta.url)));
  const dist = new URL('../dist/src/engines/kvm/index.js', import.meta.url);
  if (existsSync(fileURLToPath(dist))) {
    report('compiled (dist/):', measure([], dist, new URL('../dist/src/devices/bus.js', import.meta.url)));
  } else {
    console.log('compiled (dist/): not built (npm run build)');
  }
}
