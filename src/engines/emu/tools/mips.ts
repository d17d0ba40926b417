/**
 * Developer tool: measure the interpreter's speed (guest MIPS) on simple
 * loops at EL1 with the MMU off.
 *
 *   node --import tsx src/engines/emu/tools/mips.ts
 */
import { createRawMachine, loadWords } from '../raw-runner.js';
import { runSlice } from '../exec.js';

interface Kernel {
  name: string;
  /** Instruction words; the loop runs forever, x0 = scratch buffer. */
  words: number[];
}

// Hand-assembled (aarch64-linux-gnu-as) loop bodies.
const KERNELS: Kernel[] = [
  {
    // 1: add x1, x1, #1 ; eor x2, x2, x1 ; subs x3, x3, #1 ; b.ne 1b ; mov x3, #-1 ; b 1b
    name: 'alu loop (add/eor/subs/b.ne)',
    words: [0x91000421, 0xca010042, 0xf1000463, 0x54ffffa1, 0x92800003, 0x17fffffb],
  },
  {
    // 1: ldr x1, [x0] ; add x1, x1, #1 ; str x1, [x0] ; ldp x2, x3, [x0, #16] ; add x4, x2, x3 ; stp x4, x1, [x0, #16] ; b 1b
    name: 'load/store loop (ldr/str/ldp/stp)',
    words: [0xf9400001, 0x91000421, 0xf9000001, 0xa9410c02, 0x8b030044, 0xa9010404, 0x17fffffa],
  },
];

for (const k of KERNELS) {
  const m = createRawMachine();
  loadWords(m.memory, 0x40000000, k.words);
  m.cpu.setX(0, 0x40100000n);
  // Warm up (decode and JIT), then measure.
  runSlice(m.cpu, 2_000_000);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 2000) n += runSlice(m.cpu, 8192);
  const ms = performance.now() - t0;
  console.log(`${k.name}: ${(n / ms / 1000).toFixed(1)} MIPS`);
}
