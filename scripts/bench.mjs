#!/usr/bin/env node
// npm run bench [-- name...]: build, then run every bench/*.ts (or those whose name contains an argument)
// one after another, printing their reports. Figures go into BENCHMARKS.md by hand, with this command.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
spawnSync('bash', [join(root, 'guest/test-guests/build.sh')], { cwd: root, stdio: 'ignore' });

let benches = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts')).sort();
if (filters.length) benches = benches.filter((b) => filters.some((f) => b.includes(f)));
let failed = 0;
for (const b of benches) {
  console.log(`\n## ${b}  (node --import tsx bench/${b})`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', b)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`(${b} failed with status ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
