#!/usr/bin/env node
// npm test: type-check, then every test file under test/unit and test/integration
// with node's test runner (TypeScript loaded through tsx). `node scripts/test.mjs unit`
// runs only the unit tests; other arguments select files whose path contains them.
//
// Then a second pass runs the emu suites that execute guest code (JIT_SUITES) again with the
// block translator on and translating every block at its first entry (TSVISOR_EMU_JIT=on
// TSVISOR_EMU_JIT_HOT=0), so a translator bug fails npm test. TSVISOR_TEST_JIT=off skips it.
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

// The emu suites that run guest code through EmuEngine, raw-runner's runUntil, user-mode's
// runUserElf or the engine's slice entry: all follow TSVISOR_EMU_JIT / TSVISOR_EMU_JIT_HOT.
// Not repeated: emu-jit-*.test.ts (they compare both modes themselves), emu-fpsimd-{diff,fp,fuzz,ldst}
// (FP/SIMD handlers on a fake context, no run loop; emu-fpsimd-programs covers FP/SIMD in the
// translator pass), and the virtio/CLI guest boots (device and plumbing tests; emu-boot covers the
// kernel boot with the translator).
const JIT_SUITES = [
  'test/unit/emu-jit-mode.test.ts', // guard: the pass really translates (and pass 1 really interprets)
  'test/unit/emu-branch.test.ts',
  'test/unit/emu-dp.test.ts',
  'test/unit/emu-ldst.test.ts',
  'test/unit/emu-exc.test.ts',
  'test/unit/emu-sysreg.test.ts',
  'test/unit/emu-engine.test.ts',
  'test/unit/emu-fuzz.test.ts',
  'test/unit/arm-virt-baremetal.test.ts',
  'test/unit/emu-fpsimd-programs.test.ts',
  'test/integration/emu-diff-programs.test.ts',
  'test/integration/emu-diff-random.test.ts',
];
// Suites that boot the Debian kernel run in the translator pass at the translator's own
// threshold: translating every lukewarm block of a kernel boot costs minutes.
const JIT_DEFAULT_HOT = ['test/integration/emu-boot.test.ts'];
const JIT_ENV = { TSVISOR_EMU_JIT: 'on', TSVISOR_EMU_JIT_HOT: '0' };

function runPass(label, passFiles, env, extra = []) {
  // Human-readable progress on stdout; a TAP copy whose totals become one plain closing line.
  const tap = join(mkdtempSync(join(tmpdir(), 'tsvisor-test-')), 'results.tap');
  const r = spawnSync(
    process.execPath,
    [
      '--import', 'tsx', '--test', '--test-concurrency=1', ...extra,
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tap}`,
      ...passFiles,
    ],
    { stdio: 'inherit', cwd: root, env: { ...process.env, TSVISOR_TEST: '1', ...env } },
  );
  let counts;
  try {
    const text = readFileSync(tap, 'utf8');
    const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    // A file killed by --test-timeout (a hang) is reported as cancelled: count it as failed.
    counts = { pass: count('pass'), fail: count('fail') + count('cancelled'), skipped: count('skipped') };
  } catch {
    // No TAP file: the runner itself failed; its exit status says so.
  }
  return { label, status: r.status ?? 1, counts };
}

// The translator is the engine's default: pass 1 is the interpreter unless TSVISOR_EMU_JIT says otherwise.
const passes = [
  runPass(process.env.TSVISOR_EMU_JIT === 'on' ? 'TSVISOR_EMU_JIT=on' : 'interpreter', files, {
    TSVISOR_EMU_JIT: process.env.TSVISOR_EMU_JIT ?? 'off',
  }),
];
const rel = (f) => f.slice(root.length).replace(/^\/+/, '');
const jitFiles = files.filter((f) => JIT_SUITES.includes(rel(f)));
const jitBootFiles = files.filter((f) => JIT_DEFAULT_HOT.includes(rel(f)));
if (process.env.TSVISOR_TEST_JIT === 'off') {
  console.log('\n# translator pass skipped: TSVISOR_TEST_JIT=off');
} else {
  // A hang in translated code must fail the file, not stall npm test: per-file timeout.
  const timeout = ['--test-timeout=900000'];
  if (jitFiles.length > 0) {
    console.log(`\n# translator pass: ${jitFiles.length} emu suites again with TSVISOR_EMU_JIT=on TSVISOR_EMU_JIT_HOT=0`);
    passes.push(runPass('translator (hot 0)', jitFiles, JIT_ENV, timeout));
  }
  if (jitBootFiles.length > 0) {
    console.log(`\n# translator pass: ${jitBootFiles.length} kernel-boot suite(s) again with TSVISOR_EMU_JIT=on at the default threshold`);
    passes.push(runPass('translator (kernel boot)', jitBootFiles, { TSVISOR_EMU_JIT: 'on', TSVISOR_EMU_JIT_HOT: undefined }, timeout));
  }
}

const total = { pass: 0, fail: 0, skipped: 0 };
console.log('');
for (const p of passes) {
  if (!p.counts) {
    console.log(`${p.label} pass: runner failed with status ${p.status}`);
    continue;
  }
  for (const k of Object.keys(total)) total[k] += p.counts[k];
  if (passes.length > 1) console.log(`${p.label} pass: ${p.counts.pass} passed, ${p.counts.fail} failed, ${p.counts.skipped} skipped`);
}
console.log(`tests: ${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped`);
process.exit(passes.find((p) => p.status !== 0)?.status ?? 0);
