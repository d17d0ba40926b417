#!/usr/bin/env node
// Boot a Linux bzImage + initrd on v86 (npm v86: x86-32 emulator with a wasm JIT) headless in
// Node, COM1 to stdout. Used by bench/v86-boot.ts, which times process start to a console marker.
//   node bench/lib/v86-child.mjs <bios.bin> <vgabios.bin> <bzImage> <initrd> <cmdline> [memory MiB=512]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { V86 } from 'v86';

const [bios, vgabios, kernel, initrd, cmdline, mib = '512'] = process.argv.slice(2);
if (!cmdline) {
  console.error('usage: v86-child.mjs <bios.bin> <vgabios.bin> <bzImage> <initrd> <cmdline> [memory MiB]');
  process.exit(2);
}
const buf = (f) => {
  const b = readFileSync(f);
  return { buffer: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) };
};
const emulator = new V86({
  wasm_path: createRequire(import.meta.url).resolve('v86/build/v86.wasm'),
  memory_size: Number(mib) * 1024 * 1024,
  vga_memory_size: 8 * 1024 * 1024,
  bios: buf(bios),
  vga_bios: buf(vgabios),
  bzimage: buf(kernel),
  initrd: buf(initrd),
  cmdline,
  autostart: true,
  disable_keyboard: true,
  disable_mouse: true,
  disable_speaker: true,
});
emulator.add_listener('serial0-output-byte', (b) => process.stdout.write(Uint8Array.of(b)));
// The guest's poweroff: stop when the emulator stops (the bench kills us at the marker anyway).
emulator.add_listener('emulator-stopped', () => process.exit(0));
