/**
 * The JavaScript peer (issue 4): v86 booting Debian's i686 kernel + the busybox
 * initramfs to the /init marker, headless in Node, process start to marker,
 * with qemu-system-i386 TCG on the same kernel, initrd and command line as the
 * reference, rounds alternating. bench/emu-boot.ts runs the same v86 boot in
 * its rounds next to the arm64 boots (tsvisor emu vs qemu-system-aarch64).
 * Assets (linux-image-686, busybox-static:i386, seabios) are fetched on first
 * use into ~/.cache/tsvisor/i386.
 *
 * usage: node --import tsx bench/v86-boot.ts [rounds=3] [--nomodules]
 */
import { BOOT_MARKER } from '../guest/assets.js';
import { QEMU_I386, describePeer, ensureI686Peer, haveQemuI386, qemuI386Argv, v86Argv, whyNoV86 } from './lib/v86.js';
import { fmt, summarize, timeToMarker } from './lib/stats.js';

const args = process.argv.slice(2);
const ROUNDS = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const why = whyNoV86();
if (why) {
  console.log(`v86 boot: not measured (${why})`);
  process.exit(1);
}
const peer = await ensureI686Peer(args.includes('--nomodules') ? 'tsvisor.nomodules=1' : '');
const qemu = haveQemuI386();
const v: number[] = [];
const q: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  if (qemu) {
    const r = await timeToMarker(QEMU_I386, qemuI386Argv(peer), BOOT_MARKER, 300_000);
    if (r.seconds === undefined) throw new Error(`qemu-system-i386 did not reach the marker:\n${r.output.slice(-2000)}`);
    q.push(r.seconds);
  }
  const r = await timeToMarker(process.execPath, v86Argv(peer), BOOT_MARKER, 600_000);
  if (r.seconds === undefined) throw new Error(`v86 did not reach the marker:\n${r.output.slice(-2000)}`);
  v.push(r.seconds);
  process.stderr.write(`round ${i + 1}: ${qemu ? `qemu-system-i386 ${q[i]!.toFixed(2)} s, ` : ''}v86 ${r.seconds.toFixed(2)} s\n`);
}
console.log(`i686 boot to ${BOOT_MARKER} (${describePeer(peer)}), append "${peer.append}", ${ROUNDS} rounds, min / median / max:`);
if (qemu) console.log(`  ${QEMU_I386} -M pc -accel tcg: ${fmt(summarize(q), 's')}`);
else console.log(`  ${QEMU_I386}: not installed`);
console.log(`  v86 (node ${process.version}):       ${fmt(summarize(v), 's')}`);
if (qemu) console.log(`  ratio v86 / qemu (median): ${(summarize(v).median / summarize(q).median).toFixed(1)}x`);
