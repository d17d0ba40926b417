/**
 * Hostile-guest fuzz: RAM full of random instruction words (which also serve
 * as random page tables), executed from random addresses at EL1 and EL0,
 * with the MMU off or walking the garbage. The CPU must never throw a JS
 * exception nor touch memory outside guest RAM: every fault becomes a guest
 * exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRawMachine } from '../../src/engines/emu/raw-runner.js';
import { runSlice } from '../../src/engines/emu/exec.js';
import { jitFromEnv, runSliceJit } from '../../src/engines/emu/jit/run.js';

// npm test's translator pass (TSVISOR_EMU_JIT=on) runs the same slices through
// the translator's slice entry, the one EmuEngine uses.
const slice = jitFromEnv() === true ? runSliceJit : runSlice;

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

const RAM = 0x40000000;
const SIZE = 1 << 20;
const TOP = [0x8, 0x9, 0xa, 0xb, 0xd, 0xf, 0x3, 0x7, 0x1, 0x5, 0xc, 0xe];

for (const seed of [1, 2, 3, 4]) {
  test(`random code (seed ${seed}) never escapes the emulator`, () => {
    const r = rng(seed * 2654435761);
    const m = createRawMachine({ ramBase: RAM, ramSize: SIZE });
    const ram = m.memory.regions[0]!;
    // RAM only: the buffer may also hold the engine's state area after it (a WebAssembly memory).
    const words = new Uint32Array(ram.buffer, ram.u8.byteOffset, ram.size / 4);
    const c = m.cpu;
    let executed = 0;
    let exceptions = 0;
    for (let trial = 0; trial < 3000; trial++) {
      // Fresh garbage now and then (the code also rewrites it).
      if (trial % 500 === 0) for (let i = 0; i < words.length; i++) words[i] = (r() & 0x0fffffff) | (TOP[r() % TOP.length]! << 28);
      for (let i = 0; i < 31; i++) c.setX(i, r() % 3 === 0 ? BigInt(RAM + (r() % SIZE)) : (BigInt(r()) << 32n) | BigInt(r()));
      c.sp = BigInt(RAM + (r() % SIZE));
      c.vbar = BigInt(RAM + (r() % SIZE)) & ~0x7ffn;
      const mmu = r() % 3 === 0;
      c.sctlr = mmu ? 0x30d00801n : 0x30d00800n;
      c.sctlrN = Number(c.sctlr);
      c.tcr = (BigInt(r() % 40) | (BigInt(r() % 40) << 16n)) | (BigInt(r() & 3) << 37n);
      c.tcrLo = Number(c.tcr & 0xffffffffn) | 0;
      c.tcrHi = Number(c.tcr >> 32n) | 0;
      c.ttbr0 = BigInt(RAM + (r() % SIZE)) & ~0xfffn;
      c.ttbr1 = BigInt(RAM + (r() % SIZE)) & ~0xfffn;
      c.cpacr = BigInt(r() & 3) << 20n;
      c.setMode(r() % 2, r() % 2);
      c.daif = (r() & 0xf) << 6;
      c.irqLine = r() % 8 === 0;
      c.flushTlb();
      c.pc = mmu && r() % 2 ? (0xffff000000000000n | BigInt(r() & ~3)) : BigInt((RAM + (r() % SIZE)) & ~3);
      c.on = true;
      c.halted = false;
      c.stats.exceptions = 0;
      for (let k = 0; k < 4 && c.on; k++) {
        c.checkInterrupts();
        executed += slice(c, 64);
      }
      exceptions += c.stats.exceptions;
    }
    assert.ok(executed > 5000, `executed ${executed}`);
    assert.ok(exceptions > 100, `exceptions ${exceptions}`);
  });
}
