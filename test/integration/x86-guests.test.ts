/**
 * The freestanding test guests (guest/test-guests) booted through the x86
 * board's PVH path on the kvm engine: COM1 output, input by polling and by
 * interrupt, SMP bring-up from the MP table, i8042 reset, triple fault.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { KvmEngine, createMmapMemory, x86RamLayout } from '../../src/engines/kvm/index.js';
import { buildX86Board, type X86Board } from '../../src/boards/x86/board.js';
import type { IrqLine } from '../../src/devices/device.js';
import type { EngineHost, ExitStatus } from '../../src/vmm/engine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.join(root, 'guest/test-guests/out');
const probe = KvmEngine.probe();
const skip = probe.ok ? undefined : probe.reason;

let built = false;
function guest(name: string): Uint8Array {
  if (!built) {
    execFileSync(path.join(root, 'guest/test-guests/build.sh'), [out], { stdio: 'pipe' });
    built = true;
  }
  return new Uint8Array(readFileSync(path.join(out, `${name}.elf`)));
}

const idleHost: EngineHost = { pending: () => false, poll: () => undefined };

interface RunResult {
  status: ExitStatus;
  output: string;
  board: X86Board;
  ms: number;
}

/** Boots `name` with `cpus` vCPUs; `input` is fed to COM1 once the guest printed `after`. */
function boot(
  name: string,
  opts: { cpus?: number; cmdline?: string; input?: string; after?: string; setup?: (b: X86Board) => void } = {},
): RunResult {
  const memory = createMmapMemory(x86RamLayout(64 * 1024 * 1024));
  let engine: KvmEngine | undefined;
  let output = '';
  let fed = false;
  // The board needs interrupt lines before the engine exists: resolve them on first use.
  const irqLine = (gsi: number): IrqLine => ({ set: (l) => engine!.irqLine(gsi).set(l), pulse: () => engine!.irqLine(gsi).pulse() });
  const board: X86Board = buildX86Board({
    memory,
    cpus: opts.cpus ?? 1,
    kernel: guest(name),
    cmdline: opts.cmdline ?? '',
    consoleSink: (b) => {
      output += Buffer.from(b).toString('latin1');
      if (!fed && opts.input !== undefined && output.includes(opts.after ?? '')) {
        fed = true;
        board.uart.receive(Buffer.from(opts.input, 'latin1'));
      }
    },
    irqLine,
    onExit: (s) => engine!.requestStop(s),
  });
  opts.setup?.(board);
  engine = new KvmEngine({ memory, pio: board.pio, mmio: board.mmio, cpus: opts.cpus ?? 1, bootState: board.bootState, host: idleHost });
  const t0 = Date.now();
  try {
    const status = engine.run();
    return { status, output, board, ms: Date.now() - t0 };
  } finally {
    engine.close();
  }
}

test('hello: banner, start_info, polled echo, debug-exit', (t) => {
  if (skip) return t.skip(skip);
  const r = boot('hello', { cmdline: 'foo=1', input: 'xyzq', after: 'echo until q\n' });
  assert.match(r.output, /tsvisor test guest: hello\nstart_info: version 1 memmap 4 ram 63 MiB modules 0 cmdline "foo=1"\necho until q\nxyz\nbye\n/);
  assert.deepEqual(r.status, { kind: 'debug-exit', code: 1 });
  assert.deepEqual(r.board.uart.programmed, { lcr: 3, divisor: 1, fcr: 7, mcr: 0x0b, writes: { lcr: 2, dll: 1, dlm: 1, fcr: 1, mcr: 1 } });
  t.diagnostic(`hello ran in ${r.ms} ms`);
});

test('irq: COM1 receive interrupt through the in-kernel IOAPIC', (t) => {
  if (skip) return t.skip(skip);
  const r = boot('irq', { input: 'abq', after: 'irq ready\n' });
  assert.match(r.output, /irq: got 0x61 'a'\nirq: got 0x62 'b'\nirq: got 0x71 'q'\nirq: done after 3 bytes\n/);
  assert.deepEqual(r.status, { kind: 'debug-exit', code: 1 });
});

test('smp: APs started by INIT/SIPI/SIPI, counted from the MP table', (t) => {
  if (skip) return t.skip(skip);
  const r = boot('smp', { cpus: 2 });
  assert.match(r.output, /expecting 2 cpus\n/);
  assert.match(r.output, /cpu 0 up\n/);
  assert.match(r.output, /cpu 1 up\n/);
  assert.match(r.output, /cpus up: 2\n/);
  assert.deepEqual(r.status, { kind: 'debug-exit', code: 1 });
});

test('pioloop: n port writes', (t) => {
  if (skip) return t.skip(skip);
  const n = 2000;
  const r = boot('pioloop', { cmdline: `n=${n} port=0x80` });
  assert.match(r.output, new RegExp(`pioloop start n=${n} port=0x80\npioloop done cycles=\\d+\n`));
  assert.deepEqual(r.status, { kind: 'debug-exit', code: 1 });
  t.diagnostic(`${n} port exits in ${r.ms} ms (${((r.ms * 1000) / n).toFixed(1)} us each, including boot)`);
});

test('mmio: guest accesses reach a device on the board MMIO bus', (t) => {
  if (skip) return t.skip(skip);
  const writes: Array<[number, number, number]> = [];
  let reg = 0;
  const r = boot('mmio', {
    cmdline: 'addr=0xd0000010 value=0xcafe1234',
    setup: (b) =>
      b.mmio.register(0xd0000000, 0x1000, {
        name: 'scratch',
        read: (off, size) => (off === 0x10 ? (size === 4 ? reg ^ 0xffffffff : (reg ^ 0xff) & 0xff) : 0) >>> 0,
        write: (off, size, v) => {
          writes.push([off, size, v]);
          reg = v;
        },
      }),
  });
  assert.deepEqual(writes, [[0x10, 4, 0xcafe1234]]);
  assert.match(r.output, /mmio read32 0x3501edcb read8 0xcb\n/);
  assert.deepEqual(r.status, { kind: 'debug-exit', code: 1 });
});

test('reboot: i8042 0xFE resets the VM', (t) => {
  if (skip) return t.skip(skip);
  const r = boot('reboot');
  assert.match(r.output, /reboot via i8042\n$/);
  assert.deepEqual(r.status, { kind: 'reset' });
});

// PVM's instruction emulator cannot execute INT3 (KVM_EXIT_INTERNAL_ERROR); Linux 6.1's
// int3_selftest() needs it. Passes once the kvm engine injects #BP itself
// (see /work/shared/x86-board-findings.md, item 5).
test('int3: #BP delivered to the guest handler with RIP after the int3', { todo: 'kvm engine: inject #BP on PVM emulation failure' }, (t) => {
  if (skip) return t.skip(skip);
  const r = boot('int3');
  assert.match(r.output, /int3: handler saw ip (0x[0-9a-f]+), expected \1\n/);
  assert.deepEqual(r.status, { kind: 'debug-exit', code: 1 });
});

test('triplefault: ends the VM as a triple fault', (t) => {
  if (skip) return t.skip(skip);
  const r = boot('triplefault');
  assert.match(r.output, /triple fault\n$/);
  assert.equal(r.status.kind, 'triple-fault');
});
