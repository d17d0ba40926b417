/**
 * Proves the test guests are valid PVH images by booting them under QEMU's
 * microvm (TCG), the reference we want tsvisor to agree with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.join(root, 'guest/test-guests/out');
const QEMU = '/usr/bin/qemu-system-x86_64';

function build(): void {
  execFileSync(path.join(root, 'guest/test-guests/build.sh'), [out], { stdio: 'pipe' });
}

/** Runs a guest under QEMU; writes `input` to the serial port once `waitFor` was printed. */
function qemu(guest: string, extra: string[], input = '', waitFor = ''): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const args = ['-M', 'microvm', '-accel', 'tcg', '-m', '128', '-nodefaults', '-display', 'none', '-serial', 'stdio',
      '-device', 'isa-debug-exit', '-no-reboot', '-kernel', path.join(out, `${guest}.elf`), ...extra];
    const p = spawn(QEMU, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let text = '';
    let sent = false;
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (!sent && input && text.includes(waitFor)) {
        sent = true;
        p.stdin.write(input);
      }
    });
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: text });
    });
  });
}

test('test guests boot under qemu microvm', async (t) => {
  if (!existsSync(QEMU)) {
    t.skip('qemu-system-x86_64 is not installed');
    return;
  }
  build();
  await t.test('hello echoes and exits through isa-debug-exit', async () => {
    const r = await qemu('hello', ['-append', 'foo=1'], 'xyzq', 'echo until q');
    assert.match(r.out, /tsvisor test guest: hello/);
    assert.match(r.out, /start_info: version 1 memmap \d+ ram 12\d MiB modules 0 cmdline "foo=1"/);
    assert.match(r.out, /echo until q\nxyz\nbye/);
    assert.equal(r.code, 1, 'debug-exit(0) -> status (0<<1)|1');
  });
  await t.test('irq reports bytes from its interrupt handler', async () => {
    const r = await qemu('irq', [], 'abq', 'irq ready');
    assert.match(r.out, /irq: got 0x61 'a'\nirq: got 0x62 'b'\nirq: got 0x71 'q'/);
    assert.equal(r.code, 1);
  });
  await t.test('smp wakes the APs', async () => {
    const r = await qemu('smp', ['-smp', '3', '-append', 'cpus=3']);
    for (const id of [0, 1, 2]) assert.match(r.out, new RegExp(`cpu ${id} up`));
    assert.match(r.out, /cpus up: 3/);
    assert.equal(r.code, 1);
  });
  await t.test('pioloop takes n from the command line', async () => {
    const r = await qemu('pioloop', ['-append', 'n=500 port=0x80']);
    assert.match(r.out, /pioloop start n=500 port=0x80\npioloop done cycles=\d+/);
    assert.equal(r.code, 1);
  });
  await t.test('int3 reaches the guest #BP handler with RIP after the int3', async () => {
    const r = await qemu('int3', []);
    assert.match(r.out, /int3: handler saw ip (0x[0-9a-f]+), expected \1\n/);
    assert.equal(r.code, 1);
  });
  await t.test('triplefault shuts down', async () => {
    const r = await qemu('triplefault', []);
    assert.match(r.out, /triple fault\n$/);
    assert.equal(r.code, 0, '-no-reboot turns the reset into a clean exit');
  });
});
