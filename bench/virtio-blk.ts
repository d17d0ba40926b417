/**
 * Guest-side disk throughput (issue 5): tsvisor emu vs qemu-system-aarch64
 * -accel tcg with virtio-blk-device, same guest (Debian arm64 + busybox
 * initramfs), same 1 GiB raw image (filled with data, so it sits in the host
 * page cache for both), rounds alternating so host noise hits both alike.
 *
 * In the guest, timed by the guest clock:
 *   W   dd 1 MiB blocks, oflag=direct, MiB of writes
 *   R   dd 1 MiB blocks, iflag=direct, MiB of reads
 *   R4  dd 4 KiB sequential direct reads (2048 of them)
 *   RR  bench/guest/blk_randread.c: 4 KiB O_DIRECT pread at random aligned
 *       offsets over the whole 1 GiB device, queue depth 1, for RR_SECONDS
 *
 * Before every run the image is written back (fdatasync) and read through, so
 * every run starts with it clean and in the host page cache (this host
 * reclaims cold page cache within minutes); the order of the variants rotates
 * each round.
 *
 * usage: node --import tsx bench/virtio-blk.ts [MiB=128] [rounds=3] [worker,inline,qemu[,sync]]
 *   worker    tsvisor defaults (file I/O on the disk's I/O worker thread)
 *   inline    TSVISOR_BLK_INLINE=1: page-cache hits inline on the machine thread (preadv2 RWF_NOWAIT)
 *   sync      TSVISOR_BLK_IO=sync: all I/O on the machine thread
 *   TSV_BENCH_RR_SECONDS (default 5)
 * Needs aarch64-linux-gnu-gcc (builds the random-read program) and the cached guest (npm run setup).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initrdWith } from '../guest/assets.js';
import { cmdParam } from '../guest/init-script.js';
import { QEMU_ARM64, qemuArm64Args, runQemu } from '../guest/qemu.js';
import { assets, bootEmu } from '../test/integration/virtio-blk-guest.js';
import { fmt, summarize } from './lib/stats.js';

const MB = Number(process.argv[2] ?? 128);
const ROUNDS = Number(process.argv[3] ?? 3);
const which = (process.argv[4] ?? 'worker,inline,qemu').split(',');
const RR_SECONDS = Number(process.env.TSV_BENCH_RR_SECONDS ?? 5);
if (!assets) throw new Error('arm64 guest not set up: npm run setup');

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsv-bench-'));
const tool = join(dir, 'blk_randread');
execFileSync('aarch64-linux-gnu-gcc', ['-static', '-O2', '-s', '-o', tool, join(here, 'guest/blk_randread.c')]);
const initrd = join(dir, 'initrd.gz');
writeFileSync(initrd, initrdWith(assets, [{ path: '/opt/bench/blk_randread', data: readFileSync(tool) }]));

// 1 GiB of non-zero data (not a sparse file): reads hit the host page cache, not holes.
const img = join(dir, 'd.img');
{
  const fd = openSync(img, 'w');
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  for (let i = 0; i < 1024; i++) {
    chunk.writeUInt32LE(i, 0);
    writeSync(fd, chunk);
  }
  closeSync(fd);
}

/** Write back what the previous run left dirty (so it does not slow the next one), then pull the image into the page cache. */
function warm(): void {
  const fd = openSync(img, 'r+');
  fdatasyncSync(fd);
  const b = Buffer.alloc(1 << 20);
  for (let pos = 0; readSync(fd, b, 0, b.length, pos) > 0; pos += b.length);
  closeSync(fd);
}

const script = [
  't() { cut -d" " -f1 /proc/uptime; }',
  `a=$(t); dd if=/dev/zero of=/dev/vda bs=1M count=${MB} oflag=direct 2>/dev/null; b=$(t); echo "W $a $b"`,
  `a=$(t); dd if=/dev/vda of=/dev/null bs=1M count=${MB} iflag=direct 2>/dev/null; b=$(t); echo "R $a $b"`,
  `a=$(t); dd if=/dev/vda of=/dev/null bs=4k count=2048 skip=4096 iflag=direct 2>/dev/null; b=$(t); echo "R4 $a $b"`,
  `/opt/bench/blk_randread /dev/vda ${RR_SECONDS} 4096 12345`,
].join('\n');

interface Rates {
  w: number;
  r: number;
  r4: number;
  rr: number;
}

function rates(out: string, label: string): Rates | undefined {
  const g = (k: string): number => {
    const m = new RegExp(`^${k} ([\\d.]+) ([\\d.]+)`, 'm').exec(out);
    return m ? Number(m[2]) - Number(m[1]) : NaN;
  };
  const rr = /^RR (\d+) ([\d.]+) (\d+)/m.exec(out);
  const x: Rates = { w: MB / g('W'), r: MB / g('R'), r4: 2048 / g('R4'), rr: rr ? Number(rr[1]) / Number(rr[2]) : NaN };
  if (!Number.isFinite(x.w) || !Number.isFinite(x.rr)) {
    console.error(`${label}: run failed; last output:\n${out.slice(-1500)}`);
    return undefined;
  }
  process.stderr.write(
    `  ${label}: write ${x.w.toFixed(1)} MiB/s, read ${x.r.toFixed(1)} MiB/s, 4k seq ${x.r4.toFixed(0)} IOPS, 4k random ${x.rr.toFixed(0)} IOPS\n`,
  );
  return x;
}

const results = new Map<string, Rates[]>();
const load0 = loadavg();
for (let round = 0; round < ROUNDS; round++) {
  process.stderr.write(`round ${round + 1}/${ROUNDS} (load ${loadavg()[0]!.toFixed(2)})\n`);
  // Rotate the order every round: a run's position (after which other run) must not bias it.
  for (const w of [...which.slice(round % which.length), ...which.slice(0, round % which.length)]) {
    let x: Rates | undefined;
    warm();
    if (w === 'qemu') {
      const r = await runQemu(QEMU_ARM64, qemuArm64Args({ ...assets, initrd }, { append: cmdParam(script), disk: img, writable: true, memory: 256 }), {
        timeoutMs: 300_000,
      });
      x = rates(r.output, 'qemu tcg');
    } else {
      process.env.TSVISOR_BLK_IO = w === 'sync' ? 'sync' : 'worker';
      process.env.TSVISOR_BLK_INLINE = w === 'inline' ? '1' : '0';
      const r = await bootEmu({ script, initrd, disks: [{ path: img }], timeoutMs: 900_000 });
      x = rates(r.output, `tsvisor emu (${w})`);
    }
    if (x) results.set(w, [...(results.get(w) ?? []), x]);
  }
}
const load1 = loadavg();

const NAMES: Record<string, string> = {
  qemu: 'qemu-system-aarch64 tcg',
  worker: 'tsvisor emu (default)',
  inline: 'tsvisor emu, inline I/O',
  sync: 'tsvisor emu, sync I/O',
};
const name = (w: string): string => NAMES[w] ?? w;
console.log(`virtio-blk, 1 GiB raw image, ${ROUNDS} rounds, min / median / max (load average ${load0[0]!.toFixed(1)} -> ${load1[0]!.toFixed(1)}):`);
const cols: Array<[keyof Rates, string, string, number]> = [
  ['w', `1 MiB O_DIRECT write (${MB} MiB)`, 'MiB/s', 1],
  ['r', `1 MiB O_DIRECT read (${MB} MiB)`, 'MiB/s', 1],
  ['r4', '4 KiB sequential direct reads', 'IOPS', 0],
  ['rr', `4 KiB random direct reads, QD1, ${RR_SECONDS} s`, 'IOPS', 0],
];
for (const [k, title, unit, digits] of cols) {
  console.log(`  ${title}:`);
  const q = results.get('qemu');
  const qm = q ? summarize(q.map((x) => x[k])).median : undefined;
  for (const [w, xs] of results) {
    const s = summarize(xs.map((x) => x[k]));
    const ratio = qm !== undefined && w !== 'qemu' ? `  (${(s.median / qm).toFixed(2)}x qemu)` : '';
    console.log(`    ${name(w).padEnd(28)} ${fmt(s, unit, digits)}${ratio}`);
  }
}
rmSync(dir, { recursive: true });
