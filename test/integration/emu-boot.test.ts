/**
 * The emu engine boots Debian's stock arm64 kernel with the busybox initramfs
 * from `npm run setup`, and userland gives the same answers as real hardware.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { findGuest, whyNoGuest, cmdParam, parseExitStatus, BOOT_MARKER } from '../../guest/assets.js';
import { startGuest } from '../lib/guest-console.js';

const guest = findGuest('arm64');
const skip = guest === undefined ? `arm64 guest not set up (${whyNoGuest('arm64') ?? 'run npm run setup'})` : undefined;
// No modules: these tests need no virtio, and loading 18 modules costs seconds of emulated time.
const base = `${guest?.cmdlineDefaults ?? ''} tsvisor.nomodules=1`;

test('boots to the initramfs marker, runs userland, powers off with status 0', { skip }, async () => {
  // Deterministic inputs the host can compute too.
  const script = [
    'i=0; while [ $i -lt 2000 ]; do echo "line $i $((i * 7919 % 1000))"; i=$((i+1)); done > /tmp/data',
    'echo "sha=$(sha256sum /tmp/data | cut -d" " -f1)"',
    `echo "sorted=$(sort -t' ' -k3,3n -k2,2n /tmp/data | head -3 | tr '\\n' '|')"`,
    `echo "awk=$(awk '{s += $3; if ($3 > m) m = $3} END {print s, m, NR}' /tmp/data)"`,
    'gzip -c /tmp/data > /tmp/data.gz && gunzip -c /tmp/data.gz | cmp - /tmp/data && echo "gzip=ok $(wc -c < /tmp/data.gz)"',
    'echo "year=$(date +%Y)"',
    'echo "cpus=$(grep -c ^processor /proc/cpuinfo)"',
  ].join('\n');
  const con = await startGuest({ kernel: guest!.kernel, initrd: guest!.initrd, append: `${base} ${cmdParam(script)}`, accel: 'emu', memory: '256M' });
  await con.waitFor(new RegExp(BOOT_MARKER), 240_000);
  const status = await con.machine.wait();
  const out = con.text();
  assert.deepEqual(status, { kind: 'poweroff' }, out.slice(-2000));
  assert.equal(parseExitStatus(out), 0, 'script exit status');

  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) lines.push(`line ${i} ${(i * 7919) % 1000}`);
  const data = lines.join('\n') + '\n';
  assert.match(out, new RegExp(`sha=${createHash('sha256').update(data).digest('hex')}`));
  const sorted = [...lines].sort((a, b) => {
    const [, x2, x3] = a.split(' ').map(Number);
    const [, y2, y3] = b.split(' ').map(Number);
    return x3! - y3! || x2! - y2!;
  });
  assert.ok(out.includes(`sorted=${sorted.slice(0, 3).join('|')}|`), 'sort -k3n -k2n');
  let sum = 0;
  let max = 0;
  for (const l of lines) {
    const v = Number(l.split(' ')[2]);
    sum += v;
    max = Math.max(max, v);
  }
  assert.match(out, new RegExp(`awk=${sum} ${max} 2000`));
  const gz = /gzip=ok (\d+)/.exec(out);
  assert.ok(gz, 'gzip round trip');
  // busybox gzip -6 output size is in the range of zlib's for the same data.
  assert.ok(Math.abs(Number(gz[1]) - gzipSync(data).length) < gzipSync(data).length * 0.1, `gzip size ${gz[1]}`);
  assert.match(out, new RegExp(`year=${new Date().getUTCFullYear()}`), 'guest clock from the RTC');
  assert.match(out, /cpus=1/);
});

test('interactive shell: a typed command is answered; poweroff ends the VM', { skip }, async () => {
  const con = await startGuest({ kernel: guest!.kernel, initrd: guest!.initrd, append: base, accel: 'emu', memory: '256M' });
  await con.waitFor(/# /, 240_000);
  let at = con.mark();
  con.type('echo answer=$((6 * 7)); uname -m\n');
  await con.waitFor(/answer=42\s+aarch64/, 60_000, at);
  at = con.mark();
  con.type('poweroff -f\n');
  assert.deepEqual(await con.machine.wait(), { kind: 'poweroff' });
});

test('two vCPUs come up through PSCI CPU_ON and both run work', { skip }, async () => {
  // Field 39 of /proc/self/stat is the CPU the process last ran on.
  const script = [
    'echo "online=$(cat /sys/devices/system/cpu/online) nproc=$(nproc)"',
    `echo "cpu0=$(taskset -c 0 awk '{print $39}' /proc/self/stat) cpu1=$(taskset -c 1 awk '{print $39}' /proc/self/stat)"`,
  ].join('\n');
  const con = await startGuest({ kernel: guest!.kernel, initrd: guest!.initrd, append: `${base} ${cmdParam(script)}`, accel: 'emu', memory: '256M', cpus: 2 });
  await con.waitFor(new RegExp(BOOT_MARKER), 300_000);
  const status = await con.machine.wait();
  const out = con.text();
  assert.deepEqual(status, { kind: 'poweroff' }, out.slice(-2000));
  assert.match(out, /online=0-1 nproc=2/);
  assert.match(out, /cpu0=0 cpu1=1/, 'a process pinned to CPU 1 ran there');
});

test('a guest kernel panic ends the VM with the panic status and its reason', { skip }, async () => {
  const con = await startGuest({ kernel: guest!.kernel, initrd: guest!.initrd, append: `${base} ${cmdParam('echo c > /proc/sysrq-trigger')}`, accel: 'emu', memory: '256M' });
  const status = await con.machine.wait();
  assert.deepEqual(status, { kind: 'panic', message: 'sysrq triggered crash' }, con.text().slice(-2000));
});

test('a guest reboot (PSCI SYSTEM_RESET) ends the VM with the reset status', { skip }, async () => {
  const con = await startGuest({ kernel: guest!.kernel, initrd: guest!.initrd, append: `${base} tsvisor.reboot=1 ${cmdParam('true')}`, accel: 'emu', memory: '256M' });
  assert.deepEqual(await con.machine.wait(), { kind: 'reset' }, con.text().slice(-2000));
});
