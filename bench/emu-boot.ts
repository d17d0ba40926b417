/**
 * Boot time of Debian's arm64 kernel + the busybox initramfs from process start
 * to the /init marker line, tsvisor's emu engine vs qemu-system-aarch64 -M virt
 * -cpu cortex-a57 -accel tcg, same kernel, initrd and command line, rounds
 * alternating so host noise hits both alike.
 *
 * The JavaScript peer runs in the same rounds: v86 (npm v86, wasm JIT) booting
 * Debian's i686 kernel with the same initramfs to the same marker
 * (bench/lib/v86.ts; bench/v86-boot.ts also times qemu-system-i386 on it).
 *
 * usage: npm run build && node --import tsx bench/emu-boot.ts [rounds=3] [--nomodules] [--no-v86]
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findGuest, BOOT_MARKER } from '../guest/assets.js';
import { qemuArm64Args, QEMU_ARM64 } from '../guest/qemu.js';
import { fmt, summarize, timeToMarker } from './lib/stats.js';
import { describePeer, ensureI686Peer, v86Argv, whyNoV86 } from './lib/v86.js';

const args = process.argv.slice(2);
const ROUNDS = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const extra = args.includes('--nomodules') ? 'tsvisor.nomodules=1' : '';
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}bin/tsvisor.js`;

const g = findGuest('arm64');
if (!g) throw new Error('arm64 guest not set up: npm run setup');
if (!existsSync(`${root}dist/src/cli/main.js`)) throw new Error('build first: npm run build');
const append = [g.cmdlineDefaults, extra].filter(Boolean).join(' ');

const ts: number[] = [];
const tj: number[] = [];
const qm: number[] = [];
const v8: number[] = [];
const whyV86 = args.includes('--no-v86') ? '--no-v86' : whyNoV86();
const peer = whyV86 === undefined ? await ensureI686Peer(extra) : undefined;
const emuArgs = (accel: string): string[] => [cli, 'run', '--accel', accel, '--memory', '512M', '--kernel', g.kernel, '--initrd', g.initrd, '--append', append];
for (let i = 0; i < ROUNDS; i++) {
  const q = await timeToMarker(QEMU_ARM64, qemuArm64Args(g, { append: extra || undefined, memory: 512 }), BOOT_MARKER, 120_000);
  if (q.seconds === undefined) throw new Error(`qemu did not reach the marker:\n${q.output.slice(-2000)}`);
  qm.push(q.seconds);
  const t = await timeToMarker(process.execPath, emuArgs('emu,jit=off'), BOOT_MARKER, 600_000);
  if (t.seconds === undefined) throw new Error(`tsvisor did not reach the marker:\n${t.output.slice(-2000)}`);
  ts.push(t.seconds);
  const j = await timeToMarker(process.execPath, emuArgs('emu,jit=on'), BOOT_MARKER, 600_000);
  if (j.seconds === undefined) throw new Error(`tsvisor (jit=on) did not reach the marker:\n${j.output.slice(-2000)}`);
  tj.push(j.seconds);
  if (peer) {
    const v = await timeToMarker(process.execPath, v86Argv(peer), BOOT_MARKER, 600_000);
    if (v.seconds === undefined) throw new Error(`v86 did not reach the marker:\n${v.output.slice(-2000)}`);
    v8.push(v.seconds);
  }
  const v86s = peer ? `, v86 (i686) ${v8[i]!.toFixed(2)} s` : '';
  process.stderr.write(`round ${i + 1}: qemu ${q.seconds.toFixed(2)} s, tsvisor jit=off ${t.seconds.toFixed(2)} s, jit=on ${j.seconds.toFixed(2)} s${v86s}\n`);
}
const T = summarize(ts);
const J = summarize(tj);
const Q = summarize(qm);
console.log(`arm64 boot to ${BOOT_MARKER} (${g.kernelPackage} ${g.version}, append "${append}"), ${ROUNDS} rounds, min / median / max:`);
console.log(`  qemu-system-aarch64 -accel tcg (cortex-a57): ${fmt(Q, 's')}`);
console.log(`  tsvisor --accel emu,jit=off:                 ${fmt(T, 's')}`);
console.log(`  tsvisor --accel emu,jit=on:                  ${fmt(J, 's')}`);
console.log(`  ratio tsvisor / qemu (median): jit=off ${(T.median / Q.median).toFixed(1)}x, jit=on ${(J.median / Q.median).toFixed(1)}x`);
if (peer) {
  const V = summarize(v8);
  console.log(`JavaScript peer, same rounds: v86 booting ${describePeer(peer)} to ${BOOT_MARKER}:`);
  console.log(`  v86 (i686 guest, wasm JIT):                  ${fmt(V, 's')} (${(V.median / Q.median).toFixed(1)}x the arm64 QEMU boot; qemu-system-i386 on the same guest: npm run bench -- v86-boot)`);
} else console.log(`JavaScript peer (v86): not measured (${whyV86})`);
