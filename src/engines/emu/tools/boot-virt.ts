/**
 * Developer tool: boot an arm64 kernel on the arm-virt board with the emu
 * engine, console on stdout, progress (instructions retired, MIPS, TLB
 * statistics) on stderr every 5 s.
 *
 *   node --import tsx src/engines/emu/tools/boot-virt.ts KERNEL [INITRD]
 *   env: CPUS (1), MEM_MB (512), LIMIT (seconds, 120), CMDLINE,
 *        INPUT (text typed on the console once WAIT_FOR, default TSVISOR-BOOT-OK, was printed)
 */
import { readFileSync } from 'node:fs';
import { buildArmVirt } from '../../../boards/arm-virt/index.js';
import { EmuEngine } from '../index.js';

const [kernelPath, initrdPath] = process.argv.slice(2);
if (kernelPath === undefined) {
  console.error('usage: boot-virt.ts KERNEL [INITRD]');
  process.exit(2);
}
const cpus = Number(process.env.CPUS ?? 1);
const limitMs = Number(process.env.LIMIT ?? 120) * 1000;
const board = buildArmVirt({
  memorySize: Number(process.env.MEM_MB ?? 512) * 1024 * 1024,
  cpus,
  kernel: readFileSync(kernelPath),
  initrd: initrdPath !== undefined ? readFileSync(initrdPath) : undefined,
  cmdline: process.env.CMDLINE ?? 'console=ttyAMA0 earlycon=pl011,0x09000000 nokaslr cryptomgr.notests',
  consoleSink: (b) => {
    process.stdout.write(b);
    if (!ready) {
      seen = (seen + Buffer.from(b).toString('latin1')).slice(-200);
      if (seen.includes(waitFor)) ready = true;
    }
  },
});
// Scripted console input: the event loop is blocked while the engine runs, so it is fed from poll().
let input = Buffer.from((process.env.INPUT ?? '').replace(/\\n/g, '\n'), 'latin1');
const waitFor = process.env.WAIT_FOR ?? 'TSVISOR-BOOT-OK';
let seen = '';
let ready = false;
const t0 = Date.now();
let lastPrint = t0;
const engine: EmuEngine = new EmuEngine({
  memory: board.memory,
  mmio: board.mmio,
  cpus,
  entry: board.entry,
  dtbAddr: board.dtbAddr,
  platform: board.platform,
  host: {
    pending: () => {
      const now = Date.now();
      if (now - lastPrint >= 5000) {
        lastPrint = now;
        const retired = engine.cpus.reduce((n, c) => n + c.retired, 0);
        const c = engine.cpus[0]!;
        process.stderr.write(
          `[emu t=${((now - t0) / 1000).toFixed(1)}s retired=${retired} MIPS=${(retired / (now - t0) / 1000).toFixed(1)} ` +
            `idle=${(engine.idleMs / 1000).toFixed(1)}s pc0=${c.pc.toString(16)} ${JSON.stringify(c.stats)}]\n`,
        );
      }
      return now - t0 > limitMs || (ready && input.length > 0);
    },
    poll: () => {
      if (Date.now() - t0 > limitMs) return { kind: 'stopped', reason: 'time limit' };
      const n = board.uart.receive(input);
      input = input.subarray(n);
      return undefined;
    },
  },
});
board.attach(engine);
const status = engine.run();
const retired = engine.cpus.reduce((n, c) => n + c.retired, 0);
process.stderr.write(`\n[emu exit] ${JSON.stringify(status)} after ${(Date.now() - t0) / 1000}s, ${retired} instructions\n`);
