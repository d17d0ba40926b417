import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findGuest } from '../../guest/assets.js';
import { INIT_SCRIPT, cmdParam, parseExitStatus, COMMAND_LINE_MAX } from '../../guest/init-script.js';

test('tsvisor.cmd is base64 of the script, with only cmdline-safe characters', () => {
  const script = `echo "a b" 'c' $((1+2)) | tr a-z A-Z; ls /dev/*\n`;
  const p = cmdParam(script);
  assert.match(p, /^tsvisor\.cmd=[A-Za-z0-9+/=]+$/);
  assert.equal(Buffer.from(p.slice('tsvisor.cmd='.length), 'base64').toString('utf8'), script);
  assert.ok(p.length < COMMAND_LINE_MAX);
});

test('parseExitStatus finds the marker line', () => {
  assert.equal(parseExitStatus('x\r\nTSVISOR-EXIT=3\r\n[ 1.2] reboot: Power down'), 3);
  assert.equal(parseExitStatus('TSVISOR-EXIT=0\n'), 0);
  assert.equal(parseExitStatus('echo TSVISOR-EXIT=$?\n'), undefined);
  assert.equal(parseExitStatus('no marker'), undefined);
});

// Only ever parse (-n) /init on the host, never run it: busybox ash prefers its own
// applets over PATH, so stubs do not help and it would mount over the host's /proc,
// /tmp, /dev/pts and call reboot(2). Its behaviour is tested under QEMU
// (test/integration/guest-qemu-arm64.test.ts).
test('/init parses as a shell script (dash -n, and busybox ash -n when cached)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-init-'));
  try {
    const f = join(dir, 'init');
    writeFileSync(f, INIT_SCRIPT);
    const dash = spawnSync('sh', ['-n', f], { encoding: 'utf8' });
    assert.equal(dash.status, 0, dash.stderr);
    const bb = findGuest('amd64')?.busybox;
    if (!bb || process.arch !== 'x64') return t.skip('amd64 busybox not cached (npm run setup) or host not x64');
    const ash = spawnSync(bb, ['sh', '-n', f], { encoding: 'utf8' });
    assert.equal(ash.status, 0, ash.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('/init refuses to run unless it is PID 1, before touching anything', () => {
  // Commands only: comments may mention what the guard protects against.
  const code = INIT_SCRIPT.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
  const guard = code.indexOf('if [ "$$" != 1 ]');
  assert.ok(guard >= 0, 'PID 1 guard present');
  for (const cmd of ['mount ', 'insmod', 'poweroff', 'reboot -f', 'hostname']) {
    assert.ok(code.indexOf(cmd) > guard, `${cmd} comes after the guard`);
  }
});
