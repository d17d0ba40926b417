/**
 * Block translator: self-modifying code, stores into the running block, and
 * precise state at a faulting instruction inside a translated block. Each
 * program runs on the interpreter and on the translator (translating at
 * first entry) and both must give the expected answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAVE_AS, assemble, CODE } from './emu-asm.js';
import { createRawMachine, loadWords, type RawMachine } from '../../src/engines/emu/raw-runner.js';
import { runSlice } from '../../src/engines/emu/exec.js';
import { jitStats, runUntilJit, setJitHot } from '../../src/engines/emu/jit/run.js';

const skip = HAVE_AS ? undefined : 'aarch64-linux-gnu-as not installed';

function run(src: string, jit: boolean): RawMachine {
  const m = createRawMachine();
  const words = assemble(src);
  loadWords(m.memory, CODE, words);
  m.cpu.sp = BigInt(CODE + 0x800000);
  const stop = BigInt(CODE + words.length * 4);
  if (jit) setJitHot(m.phys, 0);
  if (jit) runUntilJit(m.cpu, stop, 5_000_000);
  else {
    for (let i = 0; i < 5_000_000 && m.cpu.pc !== stop; i++) {
      m.cpu.checkInterrupts();
      runSlice(m.cpu, 1);
    }
  }
  assert.equal(m.cpu.pc, stop, `program did not reach its end (pc 0x${m.cpu.pc.toString(16)})`);
  return m;
}

const both = (src: string, check: (m: RawMachine, jit: boolean) => void): void => {
  check(run(src, false), false);
  const m = run(src, true);
  check(m, true);
  assert.ok(jitStats(m.phys).translated > 0, 'the translator ran');
};

test('a function rewritten and re-run 10 times returns the new result each time', { skip }, () => {
  const src = `
    mov x20, #0
    mov x21, #0
    adr x22, func
  outer:
    mov x24, #50
  inner:
    bl func
    add x20, x20, x0
    subs x24, x24, #1
    b.ne inner
    add x25, x21, #2
    lsl x25, x25, #5
    movz w26, #0xd280, lsl #16
    orr w26, w26, w25
    str w26, [x22]
    dsb ish
    ic ivau, x22
    dsb ish
    isb
    add x21, x21, #1
    cmp x21, #10
    b.ne outer
    b done
  func:
    mov x0, #1
    ret
  done:
  `;
  both(src, (m, jit) => {
    assert.equal(m.cpu.getX(20), 50n * (1n + 54n), `jit=${jit}`);
  });
});

test('a store that patches the next instruction of the same block takes effect at once', { skip }, () => {
  // Each iteration rewrites "add x3, x3, #imm" right after the store with imm = i.
  const src = `
    mov x3, #0
    mov x4, #1
    adr x28, site
    movz w29, #0x9100, lsl #16
    movk w29, #0x0063
  loop:
    lsl w27, w4, #10
    orr w27, w27, w29
    str w27, [x28]
  site:
    add x3, x3, #0
    add x4, x4, #1
    cmp x4, #21
    b.ne loop
  `;
  both(src, (m, jit) => {
    assert.equal(m.cpu.getX(3), 210n, `jit=${jit}`);
  });
});

test('a fault inside a translated block leaves ELR, FAR and registers exactly as the interpreter', { skip }, () => {
  // Run the block twice with a good address (so it is translated), then with an unmapped one.
  const src = `
    adr x9, vectors
    msr vbar_el1, x9
    isb
    ldr x1, =0x40100000
    mov x8, #0
  again:
    mov x5, #0
    mov x6, #0
    add x5, x5, #7
    ldr x2, [x1]
    add x6, x6, #9
    add x8, x8, #1
    cmp x8, #3
    b.ne again
    ldr x1, =0x20000000
    b again
    .balign 2048
  vectors:
    .skip 0x200
    mrs x10, elr_el1
    mrs x11, esr_el1
    mrs x12, far_el1
    b done
    .ltorg
  done:
  `;
  both(src, (m, jit) => {
    const words = assemble(src);
    // The faulting LDR is the 9th instruction (index 8).
    assert.equal(m.cpu.getX(10), BigInt(CODE + 8 * 4), `ELR jit=${jit}`);
    assert.equal((m.cpu.getX(11) >> 26n) & 0x3fn, 0x25n, `EC jit=${jit}`);
    assert.equal(m.cpu.getX(12), 0x20000000n, `FAR jit=${jit}`);
    assert.equal(m.cpu.getX(5), 7n, `x5 written before the fault, jit=${jit}`);
    assert.equal(m.cpu.getX(6), 0n, `x6 not written, jit=${jit}`);
    assert.equal(m.cpu.getX(8), 3n);
    assert.ok(words.length > 0);
  });
});
