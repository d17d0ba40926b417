/**
 * Network benchmark (issue 5): TCP throughput between the Debian arm64 guest
 * and a tap in a private network namespace (created here, deleted after),
 * tsvisor's emu engine vs qemu-system-aarch64 -accel tcg with
 * virtio-net-device on a tap in the same kind of namespace, same guest, same
 * script, rounds alternating so host noise hits both alike.
 *
 * Two guest programs, both timed by the guest clock:
 *  - tcp: bench/guest/tcp_stream.c (256 KiB writes/reads): connect, move
 *    TSV_BENCH_TCP_MB MiB, and for sending wait until the namespace side has
 *    it all (its EOF after ours) — the network path;
 *  - nc: busybox `dd | nc` up and `nc > /dev/null` down, TSV_BENCH_NET_MB MiB.
 *    busybox nc moves 1 KiB per read/write syscall, so this measures mostly
 *    the guest's syscall loop.
 * (Timing on the namespace side is not used for tap -> guest: the sender's
 * socket closes once the data is in its kernel's buffers, megabytes before
 * the guest has read it.)
 *
 * usage: npm run bench -- net-tap   or   node --import tsx bench/net-tap.ts [rounds=3] [tsvisor,qemu]
 * Needs root, /dev/net/tun, aarch64-linux-gnu-gcc, the cached arm64 guest (npm run setup).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findGuest, initrdWith, whyNoGuest } from '../guest/assets.js';
import { cmdParam } from '../guest/init-script.js';
import { qemuArm64Args, QEMU_ARM64 } from '../guest/qemu.js';
import { bootGuest, TestNetns } from '../test/integration/virtio-net-guest.js';
import { fmt, summarize } from './lib/stats.js';

const NC_MB = Number(process.env.TSV_BENCH_NET_MB ?? 8);
const TCP_MB = Number(process.env.TSV_BENCH_TCP_MB ?? 32);
const ROUNDS = Number(process.argv[2] ?? 3);
const which = (process.argv[3] ?? 'tsvisor,qemu').split(',');
const a = findGuest('arm64');
if (!a || process.getuid?.() !== 0 || !existsSync('/dev/net/tun')) {
  console.log(`net-tap: skipped (${!a ? whyNoGuest('arm64') : 'needs root and /dev/net/tun'})`);
  process.exit(0);
}

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsv-bench-net-'));
execFileSync('aarch64-linux-gnu-gcc', ['-static', '-O2', '-s', '-o', join(dir, 'tcp_stream'), join(here, 'guest/tcp_stream.c')]);
const initrd = join(dir, 'initrd.gz');
writeFileSync(initrd, initrdWith(a, [{ path: '/opt/bench/tcp_stream', data: readFileSync(join(dir, 'tcp_stream')) }]));

// Namespace side: 5000/5002 sink what they get (EOF -> close), 5001/5003 send NC_MB / TCP_MB MiB then close.
const SERVER = `
import * as net from 'node:net';
const sink = (port) => net.createServer((s) => {
  let bytes = 0, t0 = 0;
  s.on('data', (d) => { if (!t0) t0 = performance.now(); bytes += d.length; });
  s.on('end', () => { console.log('SINK ' + port + ' ' + bytes + ' ' + (performance.now() - t0).toFixed(0)); s.end(); });
  s.on('error', () => {});
}).listen(port, '10.99.0.1');
const source = (port, mb) => net.createServer((s) => { s.on('error', () => {}); s.end(Buffer.alloc(mb * 1048576, 0x5a)); }).listen(port, '10.99.0.1');
sink(5000); sink(5002);
source(5001, ${NC_MB});
source(5003, ${TCP_MB});
setTimeout(() => console.log('LISTENING'), 100);
`;
const SCRIPT = [
  'ip link set eth0 up',
  'ip addr add 10.99.0.2/24 dev eth0',
  'ping -c 1 -W 5 10.99.0.1 >/dev/null',
  't() { cut -d" " -f1 /proc/uptime; }',
  `/opt/bench/tcp_stream send 10.99.0.1 5002 ${TCP_MB}`,
  '/opt/bench/tcp_stream recv 10.99.0.1 5003',
  `a=$(t); dd if=/dev/zero bs=65536 count=${NC_MB * 16} 2>/dev/null | nc 10.99.0.1 5000; b=$(t); echo "NCUP $a $b"`,
  `a=$(t); nc 10.99.0.1 5001 </dev/null >/dev/null; b=$(t); echo "NCDOWN $a $b"`,
  'echo NET-DONE',
].join('\n');

const NAMES: Record<string, string> = { qemu: 'qemu-system-aarch64 tcg', tsvisor: 'tsvisor emu' };

interface Rates {
  tcpUp: number;
  tcpDown: number;
  ncUp: number;
  ncDown: number;
}

function rates(label: string, out: string, lines: string[]): Rates | undefined {
  const tcp = (dirn: string): number => {
    const m = new RegExp(`^TCP ${dirn} (\\d+) ([\\d.]+)`, 'm').exec(out);
    return m ? Number(m[1]) / 1048576 / Number(m[2]) : NaN;
  };
  const nc = (k: string): number => {
    const m = new RegExp(`^${k} ([\\d.]+) ([\\d.]+)`, 'm').exec(out);
    return m ? NC_MB / (Number(m[2]) - Number(m[1])) : NaN;
  };
  const x: Rates = { tcpUp: tcp('send'), tcpDown: tcp('recv'), ncUp: nc('NCUP'), ncDown: nc('NCDOWN') };
  const sink = lines.find((l) => l.startsWith('SINK 5002 '));
  if (!sink || Number(sink.split(' ')[2]) !== TCP_MB * 1048576 || !Number.isFinite(x.tcpDown) || !Number.isFinite(x.ncDown)) {
    console.error(`${label}: run failed (${sink ?? 'no sink line'}); last output:\n${out.slice(-1500)}`);
    return undefined;
  }
  const hostUp = (Number(sink.split(' ')[2]) / 1048576 / (Number(sink.split(' ')[3]) / 1000)).toFixed(2);
  process.stderr.write(
    `  ${label}: tcp up ${x.tcpUp.toFixed(2)} (namespace side ${hostUp}) down ${x.tcpDown.toFixed(2)} MiB/s; nc up ${x.ncUp.toFixed(2)} down ${x.ncDown.toFixed(2)} MiB/s\n`,
  );
  return x;
}

async function serverIn(ns: TestNetns, lines: string[]): Promise<void> {
  await new Promise<void>((resolve) =>
    ns.node(SERVER, (l) => {
      lines.push(l);
      if (l === 'LISTENING') resolve();
    }),
  );
}

async function tsvisor(variant: string): Promise<Rates | undefined> {
  const ns = new TestNetns();
  const lines: string[] = [];
  try {
    const r = await bootGuest({
      script: SCRIPT,
      initrd,
      nics: [{ tap: 'tsvb0', netns: ns.name }],
      timeoutMs: 1_800_000,
      onStart: async () => {
        await ns.configure('tsvb0', '10.99.0.1/24');
        await serverIn(ns, lines);
      },
    });
    return rates(NAMES[variant]!, r.output, lines);
  } finally {
    ns.dispose();
  }
}

async function qemu(): Promise<Rates | undefined> {
  const ns = new TestNetns();
  const lines: string[] = [];
  try {
    const args = qemuArm64Args(
      { ...a!, initrd },
      { append: cmdParam(SCRIPT), extra: ['-accel', 'tcg', '-netdev', 'tap,id=n0,ifname=tsvb0,script=no,downscript=no', '-device', 'virtio-net-device,netdev=n0'] },
    );
    const q = spawn('ip', ['netns', 'exec', ns.name, QEMU_ARM64, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    q.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const done = new Promise<void>((r) => q.on('exit', () => r()));
    await ns.configure('tsvb0', '10.99.0.1/24');
    await serverIn(ns, lines);
    const timer = setTimeout(() => q.kill('SIGKILL'), 1_800_000);
    await done;
    clearTimeout(timer);
    return rates('qemu tcg', out, lines);
  } finally {
    ns.dispose();
  }
}

console.log(`net-tap: TCP over a tap in a private netns; tcp_stream ${TCP_MB} MiB each way, busybox nc ${NC_MB} MiB each way; guest-clock timing`);
const results = new Map<string, Rates[]>();
const load0 = loadavg();
for (let round = 0; round < ROUNDS; round++) {
  process.stderr.write(`round ${round + 1}/${ROUNDS} (load ${loadavg()[0]!.toFixed(2)})\n`);
  for (const w of which) {
    const x = w === 'qemu' ? await qemu() : await tsvisor(w);
    if (x) results.set(w, [...(results.get(w) ?? []), x]);
  }
}
const load1 = loadavg();
console.log(`${ROUNDS} rounds, min / median / max MiB/s (load average ${load0[0]!.toFixed(1)} -> ${load1[0]!.toFixed(1)}):`);
const cols: Array<[keyof Rates, string]> = [
  ['tcpUp', `tcp_stream guest -> tap (${TCP_MB} MiB)`],
  ['tcpDown', `tcp_stream tap -> guest (${TCP_MB} MiB)`],
  ['ncUp', `busybox nc guest -> tap (${NC_MB} MiB)`],
  ['ncDown', `busybox nc tap -> guest (${NC_MB} MiB)`],
];
for (const [k, title] of cols) {
  console.log(`  ${title}:`);
  const q = results.get('qemu');
  const qm = q ? summarize(q.map((x) => x[k])).median : undefined;
  for (const [w, xs] of results) {
    const s = summarize(xs.map((x) => x[k]));
    const ratio = qm !== undefined && w !== 'qemu' ? `  (${(s.median / qm).toFixed(2)}x qemu)` : '';
    console.log(`    ${(NAMES[w] ?? w).padEnd(28)} ${fmt(s, 'MiB/s')}${ratio}`);
  }
}
rmSync(dir, { recursive: true });
