/** The library API: Machine with a typed config, serial stream in both directions, wait(), stop(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, ConfigError } from '../../src/index.js';
import { probeKvm } from '../../src/engines/kvm/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const guests = join(root, 'guest/test-guests/out');

function ready(t: { skip(msg: string): void }): boolean {
  const p = probeKvm();
  if (!p.ok) {
    t.skip(`no usable /dev/kvm: ${p.reason}`);
    return false;
  }
  if (!existsSync(join(guests, 'hello.elf'))) spawnSync('bash', [join(root, 'guest/test-guests/build.sh')]);
  if (!existsSync(join(guests, 'hello.elf'))) {
    t.skip('test guests could not be built');
    return false;
  }
  return true;
}

function collect(m: Machine): { text: () => string; waitFor: (re: RegExp, ms?: number) => Promise<void> } {
  let out = '';
  const waiters: Array<() => void> = [];
  m.serial.output.on('data', (d: Buffer) => {
    out += d.toString('latin1');
    waiters.forEach((w) => w());
  });
  return {
    text: () => out,
    waitFor: (re, ms = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; console so far:\n${out}`)), ms);
        const check = (): void => {
          if (re.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        };
        waiters.push(check);
        check();
      }),
  };
}

test('config errors surface at construction as ConfigError', () => {
  assert.throws(() => new Machine({ kernel: '/nonexistent/kernel' }), ConfigError);
});

test('kvm: serial both ways through the library, then wait() returns the guest exit', async (t) => {
  if (!ready(t)) return;
  const m = new Machine({ kernel: join(guests, 'hello.elf'), memory: '64M', accel: 'kvm' });
  const con = collect(m);
  await m.start();
  assert.equal(m.state, 'running');
  await con.waitFor(/echo until q/);
  m.serial.write('xyz');
  await con.waitFor(/xyz/);
  m.serial.write('q');
  const status = await m.wait();
  assert.deepEqual(status, { kind: 'debug-exit', code: 1 });
  assert.equal(m.state, 'exited');
  assert.match(con.text(), /bye/);
});

test('kvm: stop() ends a running guest that never exits by itself', async (t) => {
  if (!ready(t)) return;
  const m = new Machine({ kernel: join(guests, 'hello.elf'), memory: '64M', accel: 'kvm' });
  const con = collect(m);
  await m.start();
  await con.waitFor(/echo until q/);
  const t0 = Date.now();
  const status = await m.stop();
  assert.equal(status.kind, 'stopped');
  assert.ok(Date.now() - t0 < 3000, 'stopped promptly');
});
