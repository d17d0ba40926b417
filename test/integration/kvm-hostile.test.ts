/**
 * A hostile guest must not crash or hang the VMM: random code in real mode and
 * 32-bit mode, with and without a second vCPU, always ends with an ExitStatus
 * (an error, a triple fault, or the watchdog's stop), and a device model that
 * throws ends the run with an error status instead of an exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import { KvmEngine, createMmapMemory } from '../../src/engines/kvm/index.js';
import { assemble, flat32State, kvmSkipReason, realModeState, Recorder, runGuarded, testHost } from './kvm-guest.js';

const skip = kvmSkipReason();
const KINDS = new Set(['poweroff', 'reset', 'triple-fault', 'panic', 'debug-exit', 'stopped', 'error']);

/** xorshift32: reproducible "random" guest code. */
function randomBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

for (const [seed, mode, cpus] of [
  [1, 'real', 1],
  [3, 'flat32', 1],
  [4, 'flat32', 2],
] as const) {
  test(`random guest code (seed ${seed}, ${mode}, ${cpus} vCPU): the run ends with a status`, (t) => {
    if (skip) return t.skip(skip);
    const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
    // Random code everywhere the vCPUs may go: the BSP at 0x1000, an AP (started by random LAPIC writes, if any) anywhere.
    memory.writeBytes(0, randomBytes(seed, 1 << 20));
    const pio = new Bus('pio');
    pio.register(0x0, 0x100, new Recorder('low-ports'));
    const host = testHost();
    const bootState = mode === 'real' ? realModeState(0x1000) : flat32State(0x1000);
    const engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus, bootState, host });
    try {
      const s = runGuarded(engine, host, 2000);
      assert.ok(KINDS.has(s.kind), JSON.stringify(s));
      t.diagnostic(`${s.kind}${'message' in s ? ': ' + s.message.slice(0, 120) : ''}`);
    } finally {
      engine.close();
    }
  });
}

/**
 * Structured fuzz: valid 32-bit instructions doing random port I/O (any port and size, in-kernel PIC/PIT
 * included), string I/O with random counts, and random MMIO loads/stores (unmapped space, LAPIC and IOAPIC
 * registers, our device, RAM including the code itself), then "done" on port 0x11.
 */
function ioFuzz(seed: number, n: number): Uint8Array {
  const r = randomBytes(seed, n * 16);
  let k = 0;
  const b8 = () => r[k++ % r.length]!;
  const u16 = () => b8() | (b8() << 8);
  const u32 = () => (u16() | (u16() << 16)) >>> 0;
  const le32 = (x: number) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24];
  const out: number[] = [];
  const addrs = () => [0xd000_0000 + (u16() & 0xfff), 0xfee0_0000 + (u16() & 0x3f0), 0xfec0_0000 + (b8() & 0x10), 0xe000_0000 + u16(), 0x8000 + u16()];
  for (let i = 0; i < n; i++) {
    const port = b8() & 1 ? b8() : u16();
    switch (b8() % 6) {
      case 0: // mov $port, %dx; mov $imm, %eax; out (%dx) of size 1/2/4
        out.push(0x66, 0xba, port & 0xff, port >> 8, 0xb8, ...le32(u32()), ...[[0xee], [0x66, 0xef], [0xef]][b8() % 3]!);
        break;
      case 1: // in (%dx) of size 1/2/4
        out.push(0x66, 0xba, port & 0xff, port >> 8, ...[[0xec], [0x66, 0xed], [0xed]][b8() % 3]!);
        break;
      case 2: // rep outsb / rep insb with a random count from/to RAM at 0x9000
        out.push(0x66, 0xba, port & 0xff, port >> 8, 0xb9, ...le32(b8() + 1), 0xbe, ...le32(0x9000), 0xbf, ...le32(0x9000));
        out.push(0xf3, b8() & 1 ? 0x6e : 0x6c);
        break;
      default: {
        // mov $addr, %ebx; mov $imm, %eax; store or load of size 1/2/4
        const a = addrs()[b8() % 5]!;
        out.push(0xbb, ...le32(a), 0xb8, ...le32(u32()));
        out.push(...[[0x88, 0x03], [0x66, 0x89, 0x03], [0x89, 0x03], [0x8a, 0x03], [0x66, 0x8b, 0x03], [0x8b, 0x03]][b8() % 6]!);
      }
    }
  }
  out.push(0xe6, 0x11, 0xeb, 0xfe); // out %al, $0x11; jmp .
  return new Uint8Array(out);
}

for (const [seed, cpus] of [
  [11, 1],
  [12, 1],
  [13, 2],
  [14, 2],
] as const) {
  test(`I/O fuzz (seed ${seed}, ${cpus} vCPU): random port, string and MMIO accesses never hurt the VMM`, (t) => {
    if (skip) return t.skip(skip);
    const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
    const code = ioFuzz(seed, 300);
    memory.writeBytes(0x1000, code);
    memory.writeBytes(0x8000, code); // where a stray SIPI (vector 8) would start an AP
    const pio = new Bus('pio');
    const mmio = new Bus('mmio');
    let engine: KvmEngine | undefined;
    pio.register(0x11, 1, new Recorder('done', () => engine!.requestStop({ kind: 'debug-exit', code: 0 })));
    pio.register(0x3f8, 8, new Recorder('com1-ish', undefined, () => 0x60));
    mmio.register(0xd000_0000, 0x1000, new Recorder('mmio-dev', undefined, (off) => off * 3));
    const host = testHost();
    engine = new KvmEngine({ memory, pio, mmio, cpus, bootState: flat32State(0x1000), host });
    try {
      const s = runGuarded(engine, host, 5000);
      assert.ok(KINDS.has(s.kind), JSON.stringify(s));
      t.diagnostic(`${s.kind}${'message' in s ? ': ' + s.message.slice(0, 100) : ''} after ${engine.stats.exits} exits`);
    } finally {
      engine.close();
    }
  });
}

test('a device model that throws ends the run with an error status, not an exception', (t) => {
  if (skip) return t.skip(skip);
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, assemble('.code16\n out %al, $0x10\n1: jmp 1b', 0x1000));
  const pio = new Bus('pio');
  pio.register(0x10, 1, new Recorder('bomb', () => {
    throw new Error('device bug');
  }));
  const host = testHost();
  const engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus: 1, bootState: realModeState(0x1000), host });
  try {
    const s = runGuarded(engine, host, 5000);
    assert.equal(s.kind, 'error');
    assert.match((s as { message: string }).message, /device bug/);
  } finally {
    engine.close();
  }
});
