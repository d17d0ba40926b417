/**
 * EmuEngine honours the jit option: a loop runs through translated blocks
 * (counters move) and gives the interpreter's answer; jit=false never translates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import { createEmuMemory } from '../../src/memory/guest-memory.js';
import { EmuEngine } from '../../src/engines/emu/index.js';
import { setJitHot } from '../../src/engines/emu/jit/run.js';
import { HAVE_AS, assemble } from './emu-asm.js';

const skip = HAVE_AS ? false : 'aarch64-linux-gnu-as not installed';
const RAM = 0x40000000;

function run(jit: boolean): EmuEngine {
  const memory = createEmuMemory(RAM, 16 << 20);
  // Sum 1..100000 with loads/stores through a buffer, then stop via HVC.
  const words = assemble(`
    ldr x9, =0x40100000
    mov x0, #0
    mov x1, #0
    movz x2, #0x86a0
    movk x2, #0x1, lsl #16
  1:
    add x1, x1, #1
    str x1, [x9, #8]
    ldr x3, [x9, #8]
    add x0, x0, x3
    cmp x1, x2
    b.ne 1b
    stp x0, x1, [x9, #16]
    ldp x4, x5, [x9, #16]
    hvc #9
    .ltorg
  `);
  words.forEach((w, i) => memory.writeU32(RAM + 4 * i, w));
  let engine: EmuEngine | undefined;
  engine = new EmuEngine({
    memory,
    mmio: new Bus('mmio'),
    cpus: 1,
    entry: RAM,
    dtbAddr: 0,
    jit,
    platform: {
      hypercall: (_cpu, imm) => {
        if (imm === 9) engine!.requestStop({ kind: 'poweroff' });
        return true;
      },
      timerIrq: () => {},
    },
    host: { pending: () => false, poll: () => undefined },
  });
  setJitHot(engine.phys, 10);
  assert.deepEqual(engine.run(), { kind: 'poweroff' });
  return engine;
}

test('jit=on: loop runs in translated blocks and matches the interpreter', { skip }, () => {
  const on = run(true);
  const off = run(false);
  for (const e of [on, off]) {
    const c = e.cpus[0]!;
    assert.equal(c.getX(0), 5000050000n);
    assert.equal(c.getX(4), 5000050000n);
    assert.equal(c.getX(5), 100000n);
  }
  assert.equal(on.jit, true);
  assert.ok(on.jitStats.translated >= 1, JSON.stringify(on.jitStats));
  assert.ok(on.jitStats.jitInsns > 100000, JSON.stringify(on.jitStats));
  assert.equal(off.jit, false);
  assert.equal(off.jitStats.translated, 0);
});
