/**
 * Network benchmark: TCP throughput between the Debian arm64 guest and a tap
 * in a private network namespace (created here, deleted after), tsvisor's emu
 * engine vs qemu-system-aarch64 -accel tcg with virtio-net-device on a tap in
 * the same kind of namespace, same guest, same script, in the same run.
 * The namespace side measures: bytes and ms from the first byte to EOF.
 *   TSV_BENCH_NET_MB (default 16): MiB each way.
 * Needs root, /dev/net/tun, the cached arm64 guest (npm run setup).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findGuest, whyNoGuest } from '../guest/assets.js';
import { cmdParam } from '../guest/init-script.js';
import { qemuArm64Args, QEMU_ARM64 } from '../guest/qemu.js';
import { bootGuest, TestNetns } from '../test/integration/virtio-net-guest.js';

const MB = Number(process.env.TSV_BENCH_NET_MB ?? 16);
const a = findGuest('arm64');
if (!a || process.getuid?.() !== 0 || !existsSync('/dev/net/tun')) {
  console.log(`net-tap: skipped (${!a ? whyNoGuest('arm64') : 'needs root and /dev/net/tun'})`);
  process.exit(0);
}

const SERVER = `
import * as net from 'node:net';
const data = Buffer.alloc(${MB} * 1048576, 0x5a);
net.createServer((s) => {
  let bytes = 0, t0 = 0;
  s.on('data', (d) => { if (!t0) t0 = performance.now(); bytes += d.length; });
  s.on('end', () => { console.log('UP ' + bytes + ' ' + (performance.now() - t0).toFixed(0)); s.end(); });
}).listen(5000, '10.99.0.1');
net.createServer((s) => {
  const t0 = performance.now();
  s.on('error', () => {});
  s.end(data, () => {});
  s.on('close', () => console.log('DOWN ' + data.length + ' ' + (performance.now() - t0).toFixed(0)));
}).listen(5001, '10.99.0.1', () => console.log('LISTENING'));
`;
const SCRIPT = [
  'ip link set eth0 up',
  'ip addr add 10.99.0.2/24 dev eth0',
  'ping -c 1 -W 5 10.99.0.1 >/dev/null',
  `dd if=/dev/zero bs=65536 count=${MB * 16} 2>/dev/null | nc 10.99.0.1 5000`,
  'nc 10.99.0.1 5001 </dev/null >/dev/null',
  'echo NET-DONE',
].join('\n');

async function serverIn(ns: TestNetns, lines: string[]): Promise<void> {
  await new Promise<void>((resolve) =>
    ns.node(SERVER, (l) => {
      lines.push(l);
      if (l === 'LISTENING') resolve();
    }),
  );
}

function report(name: string, lines: string[]): void {
  const f = (k: string): string => {
    const l = lines.find((x) => x.startsWith(k + ' '));
    if (!l) return 'n/a';
    const [, b, ms] = l.split(' ');
    return `${((Number(b) / 1048576) / (Number(ms) / 1000)).toFixed(2)} MiB/s`;
  };
  console.log(`${name.padEnd(22)} guest->tap ${f('UP').padStart(14)}   tap->guest ${f('DOWN').padStart(14)}`);
}

async function tsvisor(): Promise<void> {
  const ns = new TestNetns();
  const lines: string[] = [];
  try {
    await bootGuest({
      script: SCRIPT,
      nics: [{ tap: 'tsvb0', netns: ns.name }],
      timeoutMs: 1_800_000,
      onStart: async () => {
        await ns.configure('tsvb0', '10.99.0.1/24');
        await serverIn(ns, lines);
      },
    });
    report('tsvisor emu', lines);
  } finally {
    ns.dispose();
  }
}

async function qemu(): Promise<void> {
  const ns = new TestNetns();
  const lines: string[] = [];
  try {
    const args = qemuArm64Args(a!, { append: cmdParam(SCRIPT), extra: ['-accel', 'tcg', '-netdev', 'tap,id=n0,ifname=tsvb0,script=no,downscript=no', '-device', 'virtio-net-device,netdev=n0'] });
    const q = spawn('ip', ['netns', 'exec', ns.name, QEMU_ARM64, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    q.stdout!.resume();
    const done = new Promise<void>((r) => q.on('exit', () => r()));
    await ns.configure('tsvb0', '10.99.0.1/24');
    await serverIn(ns, lines);
    const timer = setTimeout(() => q.kill('SIGKILL'), 1_800_000);
    await done;
    clearTimeout(timer);
    report('qemu-system-aarch64 tcg', lines);
  } finally {
    ns.dispose();
  }
}

console.log(`net-tap: ${MB} MiB each way over TCP (busybox nc), namespace-side timing`);
await tsvisor();
await qemu();
