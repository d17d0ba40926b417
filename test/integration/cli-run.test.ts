/**
 * The tsvisor command as a user runs it: bad input gives one line and exit 2;
 * a real guest (the project's PVH test guest under the kvm engine) runs with
 * its console on stdin/stdout and its exit status becomes ours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeKvm } from '../../src/engines/kvm/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dev = join(root, 'scripts/dev.mjs');
const guests = join(root, 'guest/test-guests/out');

function tsvisor(args: string[], input = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', dev, ...args], { cwd: root, input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run tsvisor, answering console prompts: each [pattern, reply] is sent once the output matches. */
function tsvisorInteractive(args: string[], script: Array<[RegExp, string]>, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', dev, ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    let step = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('latin1');
      while (step < script.length && script[step]![0].test(stdout)) child.stdin.write(script[step++]![1]);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function ensureGuests(): boolean {
  if (existsSync(join(guests, 'hello.elf'))) return true;
  const r = spawnSync('bash', [join(root, 'guest/test-guests/build.sh')], { encoding: 'utf8' });
  return r.status === 0 && existsSync(join(guests, 'hello.elf'));
}

test('bad usage: one clear line on stderr, exit code 2, no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-cli-'));
  const notKernel = join(dir, 'junk');
  writeFileSync(notKernel, 'this is not a kernel');
  const cases: Array<[string[], RegExp]> = [
    [['run', '--bogus'], /Unknown option '--bogus'/],
    [['run', '--kernel', join(dir, 'missing')], /kernel file not found/],
    [['run', '--kernel', notKernel, '--memory', 'lots'], /cannot read size/],
    [['run', '--kernel', notKernel, '--cpus', 'two'], /--cpus takes a whole number/],
    [['run', '--kernel', notKernel, '--accel', 'hvf'], /unknown accelerator/],
    [['run', '--kernel', notKernel, '--memory', '100T'], /more than the host has/],
    [['run', '--kernel', notKernel, '--accel', 'emu'], /not an arm64 Image|arm64/i],
    [['frobnicate'], /unknown command/],
  ];
  for (const [args, re] of cases) {
    const r = tsvisor(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit code (stderr: ${r.stderr})`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: one line, got:\n${r.stderr}`);
    assert.match(lines[0]!, /^tsvisor: /);
    assert.match(lines[0]!, re);
  }
});

test('--help documents the run flags with examples', () => {
  const r = tsvisor(['run', '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['--kernel', '--initrd', '--append', '--memory', '--cpus', '--accel', 'Examples']) assert.ok(r.stdout.includes(flag), flag);
});

test('kvm: the hello test guest echoes console input and its debug-exit code is the exit status', async (t) => {
  const p = probeKvm();
  if (!p.ok) return t.skip(`no usable /dev/kvm: ${p.reason}`);
  if (!ensureGuests()) return t.skip('test guests could not be built (gcc missing?)');
  const r = await tsvisorInteractive(['run', '--accel', 'kvm', '--kernel', join(guests, 'hello.elf'), '--memory', '64M'], [
    [/echo until q/, 'abc'],
    [/abc/, 'q'],
  ]);
  assert.match(r.stdout, /tsvisor test guest: hello/);
  assert.match(r.stdout, /echo until q\s*\r?\n?abc/, 'echoed input');
  assert.match(r.stdout, /bye/);
  assert.match(r.stderr, /guest exited with code 1/);
  assert.equal(r.code, 1);
});

test('kvm: a guest reset through the i8042 ends the run with status 3', (t) => {
  const p = probeKvm();
  if (!p.ok) return t.skip(`no usable /dev/kvm: ${p.reason}`);
  if (!ensureGuests()) return t.skip('test guests could not be built');
  const r = tsvisor(['run', '--accel', 'kvm', '--kernel', join(guests, 'reboot.elf'), '--memory', '32M']);
  assert.match(r.stderr, /reset/);
  assert.equal(r.code, 3);
});

test('kvm: a triple fault ends the run with status 4', (t) => {
  const p = probeKvm();
  if (!p.ok) return t.skip(`no usable /dev/kvm: ${p.reason}`);
  if (!ensureGuests()) return t.skip('test guests could not be built');
  const r = tsvisor(['run', '--accel', 'kvm', '--kernel', join(guests, 'triplefault.elf'), '--memory', '32M']);
  assert.match(r.stderr, /triple-fault/);
  assert.equal(r.code, 4);
});
