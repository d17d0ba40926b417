/**
 * Guest MIPS of the emu engine on tight loops (the kernels of
 * src/engines/emu/tools/mips.ts plus a branchy integer loop), interpreter vs
 * block translator, min / median / max over rounds, same run.
 *
 *   node --import tsx bench/emu-mips.ts [rounds] [ms-per-round]
 */
import { createRawMachine, loadWords } from '../src/engines/emu/raw-runner.js';
import { runSlice } from '../src/engines/emu/exec.js';
import { jitStats, runSliceJit } from '../src/engines/emu/jit/run.js';

interface Kernel {
  name: string;
  words: number[];
}

const KERNELS: Kernel[] = [
  {
    // 1: add x1, x1, #1 ; eor x2, x2, x1 ; subs x3, x3, #1 ; b.ne 1b ; mov x3, #-1 ; b 1b
    name: 'alu (add/eor/subs/b.ne)',
    words: [0x91000421, 0xca010042, 0xf1000463, 0x54ffffa1, 0x92800003, 0x17fffffb],
  },
  {
    // 1: ldr x1, [x0] ; add x1, x1, #1 ; str x1, [x0] ; ldp x2, x3, [x0, #16] ; add x4, x2, x3 ; stp x4, x1, [x0, #16] ; b 1b
    name: 'load/store (ldr/str/ldp/stp)',
    words: [0xf9400001, 0x91000421, 0xf9000001, 0xa9410c02, 0x8b030044, 0xa9010404, 0x17fffffa],
  },
];

const rounds = Number(process.argv[2] ?? 3);
const ms = Number(process.argv[3] ?? 1000);
const stats = (a: number[]): string => {
  const s = [...a].sort((x, y) => x - y);
  return `${s[0]!.toFixed(1)} / ${s[Math.floor(s.length / 2)]!.toFixed(1)} / ${s[s.length - 1]!.toFixed(1)}`;
};

for (const k of KERNELS) {
  const res: Record<string, number[]> = { off: [], on: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['off', 'on'] as const) {
      const m = createRawMachine();
      loadWords(m.memory, 0x40000000, k.words);
      m.cpu.setX(0, 0x40100000n);
      const run = mode === 'on' ? (b: number) => runSliceJit(m.cpu, b) : (b: number) => runSlice(m.cpu, b);
      run(2_000_000);
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < ms) n += run(8192);
      res[mode]!.push(n / (performance.now() - t0) / 1000);
      if (mode === 'on' && r === rounds - 1) console.log(`  jit stats: ${JSON.stringify(jitStats(m.phys))}`);
    }
  }
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  console.log(`${k.name}: jit=off ${stats(res.off!)} MIPS | jit=on ${stats(res.on!)} MIPS | x${(med(res.on!) / med(res.off!)).toFixed(1)}`);
}
