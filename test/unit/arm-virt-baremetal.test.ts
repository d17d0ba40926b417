/**
 * A bare-metal program drives the whole board (PL011, GICv2 SPI/PPI/SGI,
 * PSCI CPU_ON/AFFINITY_INFO/CPU_OFF/SYSTEM_OFF, Image loader): first under
 * QEMU's virt machine (so the program itself is known good), then on our
 * board with the emu engine. It also takes one byte of UART input through
 * the RX interrupt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildArmVirt } from '../../src/boards/arm-virt/board.js';
import { EmuEngine } from '../../src/engines/emu/index.js';
import type { ExitStatus } from '../../src/vmm/engine.js';
import { BAREMETAL_EXPECTED, BAREMETAL_WANTS_INPUT, SMP_EXPECTED, SMP_SOURCE, buildBaremetalImage, whyNoCrossBinutils } from './arm-baremetal-fixture.js';

let image: Uint8Array | undefined;
const getImage = () => (image ??= buildBaremetalImage());

test('bare-metal board exerciser runs under qemu-system-aarch64 -M virt', async (t) => {
  const why = whyNoCrossBinutils();
  if (why) return t.skip(why);
  if (spawnSync('qemu-system-aarch64', ['--version'], { stdio: 'ignore' }).status !== 0) return t.skip('qemu-system-aarch64 not installed');
  const f = join(mkdtempSync(join(tmpdir(), 'arm-bm-')), 'bm.img');
  writeFileSync(f, getImage());
  const q = spawn('qemu-system-aarch64', ['-M', 'virt', '-cpu', 'cortex-a57', '-smp', '2', '-m', '128', '-nographic', '-no-reboot', '-kernel', f]);
  const killer = setTimeout(() => q.kill(), 30_000);
  let out = '';
  q.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  q.stdin.on('error', () => {}); // EPIPE when QEMU has already powered off
  // QEMU's stdio chardev drops input that arrives too early after start-up; once the program
  // waits for input, offer the byte every 100 ms (the extra copies just wait in the UART).
  const typist = setInterval(() => {
    if (out.replace(/\r/g, '').includes(BAREMETAL_WANTS_INPUT) && q.stdin.writable) q.stdin.write('Z');
  }, 100);
  await new Promise((resolve) => q.on('close', resolve));
  clearInterval(typist);
  clearTimeout(killer);
  assert.equal(out.replace(/\r/g, ''), BAREMETAL_EXPECTED);
});

test('bare-metal board exerciser runs on the arm-virt board with the emu engine', (t) => {
  const why = whyNoCrossBinutils();
  if (why) return t.skip(why);
  let out = '';
  const board = buildArmVirt({
    memorySize: 64 * 1048576,
    cpus: 2,
    kernel: getImage(),
    cmdline: '',
    consoleSink: (b) => (out += Buffer.from(b).toString('latin1')),
  });
  const t0 = Date.now();
  const timeout: ExitStatus = { kind: 'stopped', reason: 'timeout' };
  const engine = new EmuEngine({
    memory: board.memory, mmio: board.mmio, cpus: 2, entry: board.entry, dtbAddr: board.dtbAddr, platform: board.platform,
    host: { poll: () => (Date.now() - t0 > 20_000 ? timeout : undefined), pending: () => true },
  });
  board.attach(engine);
  assert.equal(board.uart.receive(Buffer.from('Z')), 1, 'the UART holds one byte with its FIFO off');
  const status = engine.run();
  assert.equal(out, BAREMETAL_EXPECTED);
  assert.deepEqual(status, { kind: 'poweroff' });
});

test('SMP stress (timer PPIs on both CPUs, cross SGIs, register/stack checks) under QEMU and on board+emu', (t) => {
  const why = whyNoCrossBinutils();
  if (why) return t.skip(why);
  const img = buildBaremetalImage(SMP_SOURCE);
  if (spawnSync('qemu-system-aarch64', ['--version'], { stdio: 'ignore' }).status === 0) {
    const f = join(mkdtempSync(join(tmpdir(), 'arm-smp-')), 'smp.img');
    writeFileSync(f, img);
    const r = spawnSync('qemu-system-aarch64', ['-M', 'virt', '-cpu', 'cortex-a57', '-smp', '2', '-m', '128', '-nographic', '-no-reboot', '-kernel', f],
      { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.stdout.replace(/\r/g, ''), SMP_EXPECTED, 'the program itself passes under QEMU');
  }
  let out = '';
  const board = buildArmVirt({ memorySize: 64 * 1048576, cpus: 2, kernel: img, cmdline: '', consoleSink: (b) => (out += Buffer.from(b).toString('latin1')) });
  const t0 = Date.now();
  const engine = new EmuEngine({
    memory: board.memory, mmio: board.mmio, cpus: 2, entry: board.entry, dtbAddr: board.dtbAddr, platform: board.platform,
    host: { poll: () => (Date.now() - t0 > 60_000 ? { kind: 'stopped', reason: 'timeout' } : undefined), pending: () => true },
  });
  board.attach(engine);
  const status = engine.run();
  assert.equal(out, SMP_EXPECTED);
  assert.deepEqual(status, { kind: 'poweroff' });
});
