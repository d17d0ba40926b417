/**
 * A bare machine for running flat AArch64 code without a board: one vCPU,
 * RAM only, no MMIO devices. Used by unit tests (snippets at EL1 or EL0) and
 * by the user-mode runner (user-mode.ts) for differential tests.
 */
import { Bus } from '../../devices/bus.js';
import { createEmuMemory, type GuestMemory } from '../../memory/guest-memory.js';
import { Cpu } from './cpu.js';
import { runSlice } from './exec.js';
import { jitFromEnv, runUntilJit } from './jit/run.js';
import { Phys } from './phys.js';
import { SystemCounter } from './timer.js';

export interface RawMachine {
  memory: GuestMemory;
  mmio: Bus;
  phys: Phys;
  cpu: Cpu;
}

export function createRawMachine(opts: { ramBase?: number; ramSize?: number } = {}): RawMachine {
  const ramBase = opts.ramBase ?? 0x40000000;
  const ramSize = opts.ramSize ?? 16 * 1024 * 1024;
  const memory = createEmuMemory(ramBase, ramSize);
  const mmio = new Bus('mmio');
  const phys = new Phys(memory, mmio);
  const cpu = new Cpu(0, phys);
  const counter = new SystemCounter();
  cpu.counter = () => counter.now();
  cpu.counterTicks = () => counter.nowTicks();
  cpu.on = true;
  cpu.pc = BigInt(ramBase);
  cpu.cpacr = 3n << 20n; // FP/SIMD enabled
  cpu.updateMode();
  return { memory, mmio, phys, cpu };
}

/** Write little-endian instruction words at a physical address. */
export function loadWords(memory: GuestMemory, gpa: number, words: ArrayLike<number>): void {
  for (let i = 0; i < words.length; i++) memory.writeU32(gpa + 4 * i, words[i]! >>> 0);
}

/**
 * Run until pc == stopPc, the CPU halts/powers off, or maxInsns are executed.
 * Returns the number of instructions executed.
 */
export function runUntil(cpu: Cpu, stopPc: bigint, maxInsns = 1_000_000): number {
  // The block translator unless TSVISOR_EMU_JIT=off (npm test runs the suites both ways).
  if (jitFromEnv() !== false) return runUntilJit(cpu, stopPc, maxInsns);
  let n = 0;
  for (let steps = 0; steps < maxInsns && cpu.on && !cpu.halted && cpu.pc !== stopPc; steps++) {
    // Like the engine: pending unmasked interrupts are taken between slices.
    if (cpu.checkInterrupts()) continue;
    n += runSlice(cpu, 1);
  }
  return n;
}
