/**
 * Lockstep check of the block translator against the interpreter on a static
 * aarch64 Linux user program: runs one translated block (threshold 0) on one
 * copy, the same number of instructions interpreted on another, and stops at
 * the first block after which X registers, SP, pc or NZCV differ.
 *
 *   node --import tsx src/engines/emu/tools/jit-lockstep.ts PROGRAM
 */
import { readFileSync } from 'node:fs';
import { startUserElf } from '../user-mode.js';
import { runSlice } from '../exec.js';
import { runSliceJit, setJitHot } from '../jit/run.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: jit-lockstep.ts PROGRAM');
const elf = readFileSync(path);
const A = startUserElf(elf, [path]);
const B = startUserElf(elf, [path]);
setJitHot(B.m.phys, 0);
let total = 0;
const hex = (v: bigint): string => v.toString(16);
for (;;) {
  const pc0 = B.cpu.pc;
  const k = runSliceJit(B.cpu, 1);
  let m = 0;
  while (m < k && A.cpu.on) m += runSlice(A.cpu, 1);
  total += k;
  let bad = '';
  for (let r = 0; r < 33; r++) {
    if (A.cpu.xl[r] !== B.cpu.xl[r] || A.cpu.xh[r] !== B.cpu.xh[r]) {
      const n = r === 32 ? 31 : r;
      bad += ` ${r === 32 ? 'sp' : `x${r}`}: interp ${hex(A.cpu.getXSP(n))} jit ${hex(B.cpu.getXSP(n))}`;
    }
  }
  if (A.cpu.pc !== B.cpu.pc) bad += ` pc: interp ${hex(A.cpu.pc)} jit ${hex(B.cpu.pc)}`;
  if (A.cpu.nzcv !== B.cpu.nzcv) bad += ` nzcv: interp ${A.cpu.nzcv} jit ${B.cpu.nzcv}`;
  if (bad) {
    console.log(`after the block at 0x${hex(pc0)} (${k} instructions, ${total} in all):${bad}`);
    process.exit(1);
  }
  if (!A.cpu.on || !B.cpu.on) break;
}
console.log(`no difference in ${total} instructions`);
