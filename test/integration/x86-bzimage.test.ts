/**
 * Acceptance test of the 64-bit Linux boot path: Debian's amd64 bzImage,
 * entered at its 64-bit entry point with our boot_params, must get far
 * enough to program COM1 for earlyprintk (LCR, divisor latch, FCR, MCR).
 * Under PVM the rest of the boot (decompression) takes minutes, so the test
 * stops the VM as soon as the UART has been programmed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { KvmEngine, createMmapMemory, x86RamLayout } from '../../src/engines/kvm/index.js';
import { buildX86Board, type X86Board } from '../../src/boards/x86/board.js';
import type { AccessSize, IrqLine } from '../../src/devices/device.js';
import type { ExitStatus } from '../../src/vmm/engine.js';
import { findGuest, whyNoGuest } from '../../guest/assets.js';

const addon = fileURLToPath(new URL('../../build/Release/tsvisor_sys.node', import.meta.url));
const LIMIT_MS = 60_000;

/** A plain-JS worker that sets flag[0] and kicks the machine thread after delayMs, unless flag[1] is set first. */
function watchdog(flag: Int32Array, tid: number, signal: number, delayMs: number): Worker {
  const code = `
    const { workerData: d } = require('node:worker_threads');
    const s = require(d.addon);
    const f = new Int32Array(d.flag);
    if (Atomics.wait(f, 1, 0, d.delayMs) === 'timed-out') { Atomics.store(f, 0, 1); s.tgkill(d.tid, d.signal); }`;
  return new Worker(code, { eval: true, workerData: { addon, flag: flag.buffer, tid, signal, delayMs } });
}

test('Debian bzImage programs the UART for earlyprintk through the 64-bit boot path', (t) => {
  const probe = KvmEngine.probe();
  if (!probe.ok) return t.skip(probe.reason);
  const assets = findGuest('amd64');
  if (!assets) return t.skip(whyNoGuest('amd64') ?? 'no amd64 guest kernel');

  const memory = createMmapMemory(x86RamLayout(256 * 1024 * 1024));
  let engine: KvmEngine | undefined;
  let output = '';
  const irqLine = (gsi: number): IrqLine => ({ set: (l) => engine!.irqLine(gsi).set(l), pulse: () => engine!.irqLine(gsi).pulse() });
  const board: X86Board = buildX86Board({
    memory,
    cpus: 1,
    kernel: new Uint8Array(readFileSync(assets.kernel)),
    cmdline: 'earlyprintk=serial,ttyS0,115200 console=ttyS0 nokaslr',
    consoleSink: (b) => (output += Buffer.from(b).toString('latin1')),
    irqLine,
    onExit: (s) => engine!.requestStop(s),
  });
  assert.equal(board.kernelKind, 'bzimage');

  // Stop as soon as the guest has written LCR, both divisor bytes, FCR and MCR and closed the divisor latch again.
  const uart = board.uart;
  const write = uart.write.bind(uart);
  let programmedAt: number | undefined;
  uart.write = (offset: number, size: AccessSize, value: number) => {
    write(offset, size, value);
    const w = uart.programmed.writes;
    if (programmedAt === undefined && w.lcr > 0 && w.dll > 0 && w.dlm > 0 && w.fcr > 0 && w.mcr > 0 && (uart.programmed.lcr! & 0x80) === 0) {
      programmedAt = Date.now();
      engine!.requestStop({ kind: 'stopped', reason: 'uart programmed' });
    }
  };

  const flag = new Int32Array(new SharedArrayBuffer(8));
  const host = {
    pending: () => Atomics.load(flag, 0) !== 0,
    poll: (): ExitStatus | undefined => (Atomics.load(flag, 0) !== 0 ? { kind: 'stopped', reason: 'watchdog' } : undefined),
  };
  engine = new KvmEngine({ memory, pio: board.pio, mmio: board.mmio, cpus: 1, bootState: board.bootState, host });
  const dog = watchdog(flag, engine.kick.tid, engine.kick.signal, LIMIT_MS);
  const t0 = Date.now();
  try {
    const status = engine.run();
    assert.deepEqual(status, { kind: 'stopped', reason: 'uart programmed' }, `output so far: ${JSON.stringify(output)}`);
    const p = uart.programmed;
    assert.equal(p.divisor, 1, '115200 baud');
    assert.equal(p.lcr, 0x03, '8N1, DLAB clear again');
    assert.equal(p.mcr, 0x03, 'DTR | RTS');
    t.diagnostic(`UART programmed ${programmedAt! - t0} ms after entry (lcr=0x${p.lcr?.toString(16)} fcr=0x${p.fcr?.toString(16)} mcr=0x${p.mcr?.toString(16)}), exits=${engine.stats.exits}`);
  } finally {
    Atomics.store(flag, 1, 1);
    Atomics.notify(flag, 1);
    void dog.terminate();
    engine.close();
  }
});
