/**
 * Guard for npm test's two passes over the emu suites (scripts/test.mjs): the
 * interpreter pass must really interpret, and the translator pass
 * (TSVISOR_EMU_JIT=on TSVISOR_EMU_JIT_HOT=0) must really run guest code in
 * translated blocks, through the same entry points the suites use (EmuEngine
 * without a jit option, raw-runner's runUntil, user-mode's runUserElf), so a
 * suite cannot pass the translator pass by silently interpreting.
 * Only public knobs: the environment, EmuEngine's `jit`/`jitStats`, and
 * jitStats(phys).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import { createHeapMemory } from '../../src/memory/guest-memory.js';
import { EmuEngine } from '../../src/engines/emu/index.js';
import { createRawMachine, loadWords, runUntil } from '../../src/engines/emu/raw-runner.js';
import { jitStats } from '../../src/engines/emu/jit/run.js';

const RAM = 0x40000000;
// Unset: the engine's default, the translator.
const mode = process.env.TSVISOR_EMU_JIT ?? 'on';
const hot0 = process.env.TSVISOR_EMU_JIT_HOT === '0';
const pass = mode === 'on' ? `translator pass (TSVISOR_EMU_JIT=on, TSVISOR_EMU_JIT_HOT=${process.env.TSVISOR_EMU_JIT_HOT ?? 'default'})` : 'interpreter pass';

// Straight-line code run once, then a loop of 50 iterations; x0 = 5 + 50 * 3 = 155.
//   movz x0,#5 ; movz x1,#50 ; 1: add x0,x0,#3 ; subs x1,x1,#1 ; b.ne 1b ; hvc #9
const WORDS = [0xd28000a0, 0xd2800641, 0x91000c00, 0xf1000421, 0x54ffffc1, 0xd4000122];

test(`EmuEngine without a jit option follows the environment: ${pass}`, () => {
  const memory = createHeapMemory([{ gpa: RAM, size: 1 << 20 }]);
  WORDS.forEach((w, i) => memory.writeU32(RAM + 4 * i, w));
  let engine: EmuEngine | undefined;
  engine = new EmuEngine({
    memory,
    mmio: new Bus('mmio'),
    cpus: 1,
    entry: RAM,
    dtbAddr: 0,
    platform: {
      hypercall: (_cpu, imm) => {
        if (imm === 9) engine!.requestStop({ kind: 'poweroff' });
        return true;
      },
      timerIrq: () => {},
    },
    host: { pending: () => false, poll: () => undefined },
  });
  assert.deepEqual(engine.run(), { kind: 'poweroff' });
  assert.equal(engine.cpus[0]!.getX(0), 155n);
  const s = engine.jitStats;
  if (mode === 'on') {
    assert.equal(engine.jit, true, 'TSVISOR_EMU_JIT=on selects the translator');
    if (hot0) {
      assert.ok(s.translated > 0, `TSVISOR_EMU_JIT_HOT=0 translates at first entry: ${JSON.stringify(s)}`);
      assert.ok(s.jitInsns > 0, `instructions ran in translated blocks: ${JSON.stringify(s)}`);
    }
  } else {
    assert.equal(engine.jit, false, 'the interpreter pass runs without the translator');
    assert.equal(s.translated, 0, JSON.stringify(s));
  }
});

test(`raw-runner's runUntil follows the environment: ${pass}`, () => {
  const m = createRawMachine();
  loadWords(m.memory, RAM, WORDS);
  const stop = BigInt(RAM + 5 * 4);
  runUntil(m.cpu, stop, 10_000);
  assert.equal(m.cpu.pc, stop);
  assert.equal(m.cpu.getX(0), 155n);
  const s = jitStats(m.phys);
  if (mode === 'on' && hot0) {
    assert.ok(s.translated > 0, `runUntil translated blocks: ${JSON.stringify(s)}`);
    assert.ok(s.jitInsns > 0, `instructions ran in translated blocks: ${JSON.stringify(s)}`);
  } else if (mode !== 'on') {
    assert.equal(s.translated, 0, JSON.stringify(s));
  }
});
