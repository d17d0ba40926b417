/**
 * Port-I/O exit cost: 100,000 guest `out` instructions, each a KVM_EXIT_IO
 * handled by a Bus device, run by
 *   - bench/kvm-exit-floor.c: the bare C ioctl loop (compiled now with gcc),
 *   - tsvisor vCPU 0 on the calling thread (no irqchip, like the C loop; and with the in-kernel irqchip),
 *   - tsvisor vCPU 1 in a worker, each exit handed to the machine thread through the mailbox.
 * Rounds alternate so host noise hits all variants alike; medians are printed.
 *
 * usage: node --import tsx bench/kvm-exit.ts [exits=100000] [rounds=3]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bus } from '../src/devices/bus.js';
import { KvmEngine, createMmapMemory } from '../src/engines/kvm/index.js';
import { assemble, flat32State, realModeState, Recorder } from '../test/integration/kvm-guest.js';
import { summarize, fmt } from './lib/stats.js';

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const FORWARDED_N = Math.min(N, 20_000);

const loop = (n: number): string => `.code16
    mov $${n}, %ecx
1:  out %al, $0x10
    dec %ecx
    jnz 1b
    out %al, $0x11
2:  hlt
    jmp 2b`;

const START_AP = `.code32
    movl $0x01000000, 0xfee00310
    movl $0x00004500, 0xfee00300
    movl $0x01000000, 0xfee00310
    movl $0x00004608, 0xfee00300
    cli
1:  hlt
    jmp 1b`;

const idle = { pending: () => false, poll: () => undefined };

/** ns per exit measured from the first port-0x10 exit to the port-0x11 exit. */
function runTsvisor(mode: 'direct' | 'direct-irqchip' | 'forwarded'): number {
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  const forwarded = mode === 'forwarded';
  const n = forwarded ? FORWARDED_N : N;
  if (forwarded) {
    memory.writeBytes(0x1000, assemble(START_AP, 0x1000));
    memory.writeBytes(0x8000, assemble(loop(n), 0x8000));
  } else {
    memory.writeBytes(0x1000, assemble(loop(n), 0x1000));
  }
  const pio = new Bus('pio');
  let engine: KvmEngine | undefined;
  let count = 0;
  let t0 = 0n;
  let t1 = 0n;
  pio.register(
    0x10,
    2,
    new Recorder('bench', (off) => {
      if (off === 0) {
        if (count++ === 0) t0 = process.hrtime.bigint();
      } else {
        t1 = process.hrtime.bigint();
        engine!.requestStop({ kind: 'stopped', reason: 'done' });
      }
    }),
  );
  engine = new KvmEngine({
    memory,
    pio,
    mmio: new Bus('mmio'),
    cpus: forwarded ? 2 : 1,
    bootState: forwarded ? flat32State(0x1000) : realModeState(0x1000),
    host: idle,
    irqchip: mode !== 'direct',
  });
  try {
    const s = engine.run();
    if (s.kind !== 'stopped' || count !== n) throw new Error(`bench guest ended with ${JSON.stringify(s)} after ${count} exits`);
  } finally {
    engine.close();
  }
  return Number(t1 - t0) / n;
}

function runC(floorBin: string, guestBin: string): { nsPerExit: number; ioctlNs: number } {
  const out = JSON.parse(execFileSync(floorBin, [guestBin]).toString()) as { exits: number; nsPerExit: number; ioctlNs: number };
  if (out.exits !== N) throw new Error(`C floor saw ${out.exits} exits`);
  return out;
}

/** The native wrapper's own cost: a trivial ioctl (KVM_CHECK_EXTENSION) from JS. */
async function ioctlOverheadNs(): Promise<number> {
  const { sys } = await import('../src/sys/native.js');
  const K = await import('../src/sys/kvm-abi.js');
  const fd = sys().open('/dev/kvm', 2);
  const reps = 200_000;
  for (let i = 0; i < 10_000; i++) sys().ioctl(fd, K.KVM_CHECK_EXTENSION, K.KVM_CAP_IRQCHIP);
  const t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) sys().ioctl(fd, K.KVM_CHECK_EXTENSION, K.KVM_CAP_IRQCHIP);
  const ns = Number(process.hrtime.bigint() - t) / reps;
  sys().close(fd);
  return ns;
}

/** The cost of crossing into the addon at all: addressOf makes no syscall. */
function napiCallNs(sys: () => { addressOf(v: Uint8Array): bigint }): number {
  const u = new Uint8Array(4096);
  const reps = 500_000;
  for (let i = 0; i < 10_000; i++) sys().addressOf(u);
  const t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) sys().addressOf(u);
  return Number(process.hrtime.bigint() - t) / reps;
}

async function main(): Promise<void> {
  const probe = KvmEngine.probe();
  if (!probe.ok) {
    console.log(`skipped: ${probe.reason}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-bench-'));
  try {
    const floorSrc = fileURLToPath(new URL('./kvm-exit-floor.c', import.meta.url));
    const floorBin = join(dir, 'floor');
    execFileSync('gcc', ['-O2', '-o', floorBin, floorSrc]);
    const guestBin = join(dir, 'guest.bin');
    writeFileSync(guestBin, assemble(loop(N), 0x1000));

    const r = { c: [] as number[], cIoctl: [] as number[], direct: [] as number[], irqchip: [] as number[], forwarded: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      const c = runC(floorBin, guestBin);
      r.c.push(c.nsPerExit);
      r.cIoctl.push(c.ioctlNs);
      r.direct.push(runTsvisor('direct'));
      r.irqchip.push(runTsvisor('direct-irqchip'));
      r.forwarded.push(runTsvisor('forwarded'));
    }
    const us = (xs: number[]) => fmt(summarize(xs.map((x) => x / 1000)), 'us');
    const med = (xs: number[]) => summarize(xs).median;
    console.log(`port-I/O exit round trip, min / median / max of ${ROUNDS} rounds (${N} exits; forwarded: ${FORWARDED_N})`);
    console.log(`  C ioctl loop (floor)            ${us(r.c)}`);
    // Paired per round (C and tsvisor ran back to back), so host noise mostly cancels.
    const ratios = r.direct.map((d, i) => d / r.c[i]!);
    console.log(`  tsvisor vCPU 0, no irqchip      ${us(r.direct)}   ratio to C: median of paired rounds ${summarize(ratios).median.toFixed(3)}`);
    console.log(`  tsvisor vCPU 0, in-kernel irqchip ${us(r.irqchip)}`);
    const min = (xs: number[]) => summarize(xs).min;
    const handoff = (f: (xs: number[]) => number) => ((f(r.forwarded) - f(r.irqchip)) / 1000).toFixed(2);
    console.log(`  tsvisor vCPU 1 via mailbox      ${us(r.forwarded)}   hand-off cost ${handoff(min)} us (mins), ${handoff(med)} us (medians)`);
    const js = await ioctlOverheadNs();
    const cNs = med(r.cIoctl);
    console.log(`  trivial ioctl (KVM_CHECK_EXTENSION): C ${cNs.toFixed(0)} ns, from JS ${js.toFixed(0)} ns: wrapper overhead ${(js - cNs).toFixed(0)} ns per call`);
    const { sys } = await import('../src/sys/native.js');
    console.log(`  N-API call with no syscall (addressOf): ${napiCallNs(sys).toFixed(0)} ns`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
