/**
 * The built command, bin/tsvisor.js: the CommonJS loader of the esbuild bundle
 * (dist/cli/tsvisor.cjs) and its V8 code cache. cli-run.test.ts covers the
 * CLI's behaviour from the sources; this checks that the bundle `npm run build`
 * made runs the same way, with and without a code cache. Skipped when not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeKvm } from '../../src/engines/kvm/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/tsvisor.js');
const built = existsSync(join(root, 'dist/cli/tsvisor.cjs'));
const hello = join(root, 'guest/test-guests/out/hello.elf');

test('built command: bad usage is one line and exit 2; --help works', (t) => {
  if (!built) return t.skip('not built (npm run build)');
  const r = spawnSync(process.execPath, [bin, 'run', '--memory', 'lots', '--kernel', bin], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^tsvisor: cannot read size/);
  const h = spawnSync(process.execPath, [bin, 'run', '--help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--kernel/);
});

function runHello(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'run', '--accel', 'kvm', '--kernel', hello, '--memory', '64M'], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('latin1');
      if (!sent && stdout.includes('echo until q')) {
        sent = true;
        child.stdin.write('q');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('built command: kvm hello guest runs, without and with the code cache', async (t) => {
  if (!built) return t.skip('not built (npm run build)');
  const p = probeKvm();
  if (!p.ok) return t.skip(`no usable /dev/kvm: ${p.reason}`);
  if (!existsSync(hello)) spawnSync('bash', [join(root, 'guest/test-guests/build.sh')], { stdio: 'ignore' });
  if (!existsSync(hello)) return t.skip('test guests could not be built (guest/test-guests/build.sh)');
  const envs: Array<Record<string, string>> = [{ TSVISOR_CODE_CACHE: '0' }, {}, {}];
  for (const env of envs) {
    const r = await runHello(env);
    assert.match(r.stdout, /tsvisor test guest: hello/);
    assert.match(r.stdout, /bye/);
    assert.match(r.stderr, /guest exited with code 1\s*$/);
    assert.equal(r.code, 1);
  }
});

test('built command: a reader that goes away (| head) stops the VM with one line, no stack trace', async (t) => {
  if (!built) return t.skip('not built (npm run build)');
  const p = probeKvm();
  if (!p.ok) return t.skip(`no usable /dev/kvm: ${p.reason}`);
  if (!existsSync(hello)) spawnSync('bash', [join(root, 'guest/test-guests/build.sh')], { stdio: 'ignore' });
  if (!existsSync(hello)) return t.skip('test guests could not be built (guest/test-guests/build.sh)');
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, 'run', '--accel', 'kvm', '--kernel', hello, '--memory', '64M']);
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    // Close our end of the guest's output after its first bytes, as `head -1` does; the guest keeps printing.
    child.stdout.once('data', () => child.stdout.destroy());
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
  assert.doesNotMatch(r.stderr, /\bat |Error:|Unhandled/, r.stderr);
  assert.match(r.stderr, /console output closed \(EPIPE\): stopping the VM/);
  assert.equal(r.code, 0);
});
