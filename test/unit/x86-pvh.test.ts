import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHeapMemory } from '../../src/memory/guest-memory.js';
import { buildX86Board } from '../../src/boards/x86/board.js';
import { parsePvhElf, HVM_START_MAGIC } from '../../src/boards/x86/pvh.js';
import { X86LoadError } from '../../src/boards/x86/errors.js';
import { NO_IRQ } from '../../src/devices/device.js';
import { PVH_START_INFO_ADDR, CMDLINE_ADDR, GDT_ADDR } from '../../src/boards/x86/layout.js';

const MiB = 1024 * 1024;

/** A minimal ELF64 x86-64 image: one PT_LOAD at 1 MiB (filesz 16, memsz 64) and a PT_NOTE with the PVH entry. */
function fakePvhElf(opts: { note?: boolean; noteType?: number; paddr?: number } = {}): Uint8Array {
  const img = new Uint8Array(0x200);
  const dv = new DataView(img.buffer);
  img.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 62, true); // EM_X86_64
  dv.setBigUint64(32, 64n, true); // e_phoff
  dv.setUint16(54, 56, true);
  dv.setUint16(56, 2, true);
  const paddr = opts.paddr ?? MiB;
  // PT_LOAD
  dv.setUint32(64, 1, true);
  dv.setBigUint64(64 + 8, 0x100n, true);
  dv.setBigUint64(64 + 24, BigInt(paddr), true);
  dv.setBigUint64(64 + 32, 16n, true);
  dv.setBigUint64(64 + 40, 64n, true);
  for (let i = 0; i < 16; i++) img[0x100 + i] = 0xc0 + i;
  // PT_NOTE: an unrelated note first, then Xen/18
  const ph = 64 + 56;
  dv.setUint32(ph, 4, true);
  dv.setBigUint64(ph + 8, 0x180n, true);
  dv.setBigUint64(ph + 32, 40n, true);
  dv.setBigUint64(ph + 40, 40n, true);
  let n = 0x180;
  dv.setUint32(n, 4, true); dv.setUint32(n + 4, 4, true); dv.setUint32(n + 8, 1, true);
  img.set([0x47, 0x4e, 0x55, 0], n + 12);
  n += 20;
  if (opts.note !== false) {
    dv.setUint32(n, 4, true); dv.setUint32(n + 4, 4, true); dv.setUint32(n + 8, opts.noteType ?? 18, true);
    img.set([0x58, 0x65, 0x6e, 0], n + 12);
    dv.setUint32(n + 16, paddr + 4, true);
  }
  return img;
}

test('PVH: segments loaded, bss zeroed, entry from the Xen note, 32-bit entry state', () => {
  const memory = createHeapMemory([{ gpa: 0, size: 32 * MiB }]);
  memory.fill(MiB, 64, 0xee);
  const initrd = new Uint8Array(5000).fill(7);
  const b = buildX86Board({ memory, cpus: 1, kernel: fakePvhElf(), initrd, cmdline: 'n=5', consoleSink: () => {}, irqLine: () => NO_IRQ, onExit: () => {} });
  assert.equal(b.kernelKind, 'pvh');
  assert.equal(memory.readU8(MiB + 15), 0xcf);
  assert.equal(memory.readU8(MiB + 16), 0, 'bss zeroed');
  assert.equal(memory.readU8(MiB + 63), 0);
  const { regs, sregs } = b.bootState;
  assert.equal(regs.rip, MiB + 4);
  assert.equal(regs.rbx, PVH_START_INFO_ADDR);
  assert.equal((sregs.cr0 & 0x80000001) >>> 0, 1, 'protected mode, paging off');
  assert.equal(sregs.efer, 0);
  assert.equal(sregs.cs.db, true);
  assert.equal(sregs.cs.l, false);
  assert.equal(sregs.cs.limit, 0xffffffff);
  assert.equal(sregs.cs.selector, 0x08);
  assert.equal(sregs.ds.selector, 0x18);
  assert.equal(memory.readU64(GDT_ADDR + 8), 0x00cf9b000000ffffn);
  // struct hvm_start_info
  const si = PVH_START_INFO_ADDR;
  assert.equal(memory.readU32(si), HVM_START_MAGIC);
  assert.equal(memory.readU32(si + 4), 1);
  assert.equal(memory.readU32(si + 12), 1, 'nr_modules');
  assert.equal(Number(memory.readU64(si + 24)), CMDLINE_ADDR);
  assert.equal(Buffer.from(memory.readBytes(CMDLINE_ADDR, 4)).toString(), 'n=5\0');
  const mod = Number(memory.readU64(si + 16));
  assert.equal(Number(memory.readU64(mod)), b.initrdAddr);
  assert.equal(Number(memory.readU64(mod + 8)), 5000);
  assert.equal(memory.readU8(b.initrdAddr! + 4999), 7);
  const mm = Number(memory.readU64(si + 40));
  const count = memory.readU32(si + 48);
  assert.equal(count, 4);
  const entries = [...Array(count).keys()].map((i) => [Number(memory.readU64(mm + i * 24)), Number(memory.readU64(mm + i * 24 + 8)), memory.readU32(mm + i * 24 + 16)]);
  assert.deepEqual(entries, [[0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xe0000, 0x20000, 2], [MiB, 31 * MiB, 1]]);
});

test('PVH errors: missing note, segment outside RAM, not an ELF', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof X86LoadError);
      return e.code;
    }
    return 'none';
  };
  assert.equal(code(() => parsePvhElf(fakePvhElf({ note: false }))), 'no-pvh-note');
  assert.equal(code(() => parsePvhElf(fakePvhElf({ noteType: 17 }))), 'no-pvh-note');
  const memory = createHeapMemory([{ gpa: 0, size: 4 * MiB }]);
  const mk = (kernel: Uint8Array) => () => buildX86Board({ memory, cpus: 1, kernel, cmdline: '', consoleSink: () => {}, irqLine: () => NO_IRQ, onExit: () => {} });
  assert.equal(code(mk(fakePvhElf({ paddr: 8 * MiB }))), 'kernel-too-large');
  assert.equal(code(mk(new TextEncoder().encode('#!/bin/sh\necho not a kernel\n'))), 'not-a-kernel');
  const truncated = fakePvhElf().slice(0, 0x90);
  assert.equal(code(() => parsePvhElf(truncated)), 'bad-elf');
});

test('PVH start_info.rsdp_paddr points at the RSDP when ACPI is on', () => {
  const memory = createHeapMemory([{ gpa: 0, size: 32 * MiB }]);
  const b = buildX86Board({ memory, cpus: 2, kernel: fakePvhElf(), cmdline: '', consoleSink: () => {}, irqLine: () => NO_IRQ, onExit: () => {}, virtioMmio: [{ base: 0xd0000000, size: 0x200, gsi: 5 }] });
  assert.equal(Number(memory.readU64(PVH_START_INFO_ADDR + 32)), 0xe0000);
  assert.equal(b.rsdpAddr, 0xe0000);
});
