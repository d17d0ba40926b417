#!/usr/bin/env node
// npm test: type-check, then every test file under test/unit and test/integration
// with node's test runner (TypeScript loaded through tsx). `node scripts/test.mjs unit`
// runs only the unit tests; other arguments select files whose path contains them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  let out = [];
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = [...walk(join(root, 'test/unit')), ...walk(join(root, 'test/integration'))];
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

if (filters.length === 0) {
  console.log('# tsc --noEmit');
  const tsc = spawnSync('npx', ['--no-install', 'tsc', '--noEmit', '-p', root], { stdio: 'inherit', cwd: root });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

// Human-readable progress on stdout; a TAP copy whose totals become one plain closing line.
const tap = join(mkdtempSync(join(tmpdir(), 'tsvisor-test-')), 'results.tap');
const r = spawnSync(
  process.execPath,
  [
    '--import', 'tsx', '--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...files,
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, TSVISOR_TEST: '1' } },
);
try {
  const text = readFileSync(tap, 'utf8');
  const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  console.log(`\ntests: ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
} catch {
  // No TAP file: the runner itself failed; its exit status says so.
}
process.exit(r.status ?? 1);
