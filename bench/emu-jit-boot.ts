/**
 * One in-process boot of Debian arm64 + busybox initramfs on the emu engine to
 * the /init marker, with the block translator on or off, then translator
 * counters and a time breakdown (translate / guest execution / idle).
 *
 *   node --import tsx bench/emu-jit-boot.ts [on|off] [--nomodules]
 */
import { readFileSync } from 'node:fs';
import { buildArmVirt } from '../src/boards/arm-virt/index.js';
import { EmuEngine } from '../src/engines/emu/index.js';
import { PROF, topBlocks } from '../src/engines/emu/jit/run.js';
import { BOOT_MARKER, findGuest } from '../guest/assets.js';

const args = process.argv.slice(2);
const jit = args[0] !== 'off';
const g = findGuest('arm64');
if (!g) throw new Error('arm64 guest not set up: npm run setup');
const append = [g.cmdlineDefaults, args.includes('--nomodules') ? 'tsvisor.nomodules=1' : ''].filter(Boolean).join(' ');
let out = '';
let done = false;
let lastPrint = 0;
const t0 = performance.now();
const board = buildArmVirt({
  memorySize: 512 * 1024 * 1024,
  cpus: 1,
  kernel: readFileSync(g.kernel),
  initrd: readFileSync(g.initrd),
  cmdline: append,
  consoleSink: (b) => {
    out += Buffer.from(b).toString('latin1');
    if (out.includes(BOOT_MARKER)) done = true;
  },
});
const engine: EmuEngine = new EmuEngine({
  memory: board.memory,
  mmio: board.mmio,
  cpus: 1,
  entry: board.entry,
  dtbAddr: board.dtbAddr,
  platform: board.platform,
  jit,
  host: {
    pending: () => {
      const now = performance.now();
      if (process.env.PROGRESS !== undefined && now - lastPrint > 5000) {
        lastPrint = now;
        const r = engine.cpus.reduce((n, c) => n + c.retired, 0);
        process.stderr.write(`[t=${((now - t0) / 1000).toFixed(1)}s ${(r / 1e6).toFixed(0)}M insns pc=${engine.cpus[0]!.pc.toString(16)} ${JSON.stringify(engine.jitStats)}]\n`);
      }
      return done || now - t0 > Number(process.env.LIMIT ?? 600) * 1000;
    },
    poll: () => ({ kind: 'stopped', reason: done ? 'marker' : 'time limit' }),
  },
});
board.attach(engine);
const status = engine.run();
const s = (performance.now() - t0) / 1000;
const retired = engine.cpus.reduce((n, c) => n + c.retired, 0);
const js = engine.jitStats;
// CPU time of this (main) thread, and of the whole process (V8's background compiler threads included):
// on a shared host these say more than wall time.
const threadCpu = (): number => {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const cu = process.cpuUsage();
console.log(`jit=${jit ? 'on' : 'off'}: ${done ? 'marker' : JSON.stringify(status)} after ${s.toFixed(2)} s, ${(retired / 1e6).toFixed(0)} M insns, idle ${(engine.idleMs / 1000).toFixed(2)} s, cpu: main thread ${threadCpu().toFixed(2)} s, process ${((cu.user + cu.system) / 1e6).toFixed(2)} s`);
if (jit) {
  console.log(`  translated ${js.translated} blocks (${js.modules} modules) in ${(js.translateMs / 1000).toFixed(2)} s, executed ${js.executed}, invalidated ${js.invalidated}, remapped ${js.remapped}`);
  if (process.env.TOP !== undefined) for (const b of topBlocks(engine.phys, Number(process.env.TOP))) console.log(`  runs ${b.runs} len ${b.len} page ${b.page} idx ${b.idx}`);
  if (process.env.PROF !== undefined) console.log(`  prof ${JSON.stringify(PROF)} cpu ${JSON.stringify(process.cpuUsage())}`);
  console.log(`  insns in blocks ${(js.jitInsns / 1e6).toFixed(0)} M, interpreted ${(js.interpInsns / 1e6).toFixed(0)} M`);
}
process.exitCode = done ? 0 : 1;
setTimeout(() => process.exit(), 100);
