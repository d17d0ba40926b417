import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHeapMemory } from '../../src/memory/guest-memory.js';
import { writeIdentityPageTables } from '../../src/boards/x86/page-tables.js';
import { bootGdtEntries, gdtEntry, writeBootGdt } from '../../src/boards/x86/gdt.js';
import { writeMpTable, ioApicId } from '../../src/boards/x86/mptable.js';
import { buildE820 } from '../../src/boards/x86/e820.js';
import { X86LoadError } from '../../src/boards/x86/errors.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Walks 4-level paging for a 2 MiB-page identity map the way the MMU would. */
function translate(m: ReturnType<typeof createHeapMemory>, cr3: number, va: number): number | undefined {
  const pml4e = m.readU64(cr3 + ((va / 2 ** 39) & 511) * 8);
  if (!(pml4e & 1n)) return undefined;
  const pdpte = m.readU64(Number(pml4e & 0xffffffffff000n) + (Math.floor(va / GiB) & 511) * 8);
  if (!(pdpte & 1n)) return undefined;
  const pde = m.readU64(Number(pdpte & 0xffffffffff000n) + (Math.floor(va / (2 * MiB)) & 511) * 8);
  if (!(pde & 1n) || !(pde & 0x80n) || !(pde & 2n)) return undefined;
  return Number(pde & 0xfffffffe00000n) + (va % (2 * MiB));
}

test('identity page tables map the first 4 GiB with writable 2 MiB pages', () => {
  const m = createHeapMemory([{ gpa: 0, size: MiB }]);
  const cr3 = writeIdentityPageTables(m, 0x9000, 0xa000, 0xb000, 4);
  for (const va of [0, 0x7000, 0x100200, 0x1000000, 0xbfffffff, 0xfee00000, 0xffffffff]) assert.equal(translate(m, cr3, va), va);
  assert.equal(translate(m, cr3, 4 * GiB), undefined);
});

test('GDT descriptors: flat 32-bit code at 0x08, 64-bit code at 0x10, data at 0x18', () => {
  const e = bootGdtEntries();
  assert.equal(e[0], 0n);
  assert.equal(e[1], 0x00cf9b000000ffffn);
  assert.equal(e[2], 0x00af9b000000ffffn);
  assert.equal(e[3], 0x00cf93000000ffffn);
  assert.equal(gdtEntry(0x8b, 0x12345678, 0x67), 0x12008b345678_0067n);
  const m = createHeapMemory([{ gpa: 0, size: 0x1000 }]);
  const loc = writeBootGdt(m, 0x500);
  assert.deepEqual(loc, { gdtBase: 0x500, gdtLimit: 39 });
  assert.equal(m.readU64(0x510), 0x00af9b000000ffffn);
});

const sum = (b: Uint8Array) => b.reduce((s, x) => (s + x) & 0xff, 0);

test('MP table: floating pointer, PCMP header, checksums, entries', () => {
  const m = createHeapMemory([{ gpa: 0, size: MiB }]);
  const cpus = 3;
  const size = writeMpTable(m, 0x9fc00, { cpus });
  const fp = m.readBytes(0x9fc00, 16);
  assert.equal(Buffer.from(fp.subarray(0, 4)).toString(), '_MP_');
  assert.equal(sum(fp), 0, 'floating pointer checksum');
  assert.equal(fp[8], 1);
  assert.equal(fp[9], 4);
  assert.equal(fp[11], 0, 'config table present');
  const cfg = m.readU32(0x9fc04);
  assert.equal(cfg, 0x9fc10);
  const len = m.readU16(cfg + 4);
  assert.equal(cfg + len, 0x9fc00 + size);
  const table = m.readBytes(cfg, len);
  assert.equal(Buffer.from(table.subarray(0, 4)).toString(), 'PCMP');
  assert.equal(sum(table), 0, 'config table checksum');
  assert.equal(m.readU32(cfg + 36), 0xfee00000);
  const count = m.readU16(cfg + 34);
  // walk the entries
  let p = cfg + 44;
  const cpuEntries: Array<[number, number]> = [];
  const ioInts: number[][] = [];
  const localInts: number[][] = [];
  let ioapic: number[] = [];
  let bus = '';
  for (let i = 0; i < count; i++) {
    const type = m.readU8(p);
    if (type === 0) {
      cpuEntries.push([m.readU8(p + 1), m.readU8(p + 3)]);
      p += 20;
      continue;
    }
    const b = Array.from(m.readBytes(p, 8));
    if (type === 1) bus = Buffer.from(b.slice(2)).toString();
    if (type === 2) ioapic = [b[1]!, b[3]!, m.readU32(p + 4)];
    if (type === 3) ioInts.push(b);
    if (type === 4) localInts.push(b);
    p += 8;
  }
  assert.equal(p, cfg + len);
  assert.deepEqual(cpuEntries, [[0, 3], [1, 1], [2, 1]], 'APIC ids, enabled, BSP flag on 0');
  assert.equal(bus, 'ISA   ');
  assert.deepEqual(ioapic, [ioApicId(cpus), 1, 0xfec00000]);
  assert.equal(ioInts.length, 16);
  ioInts.forEach((b, irq) => assert.deepEqual(b, [3, 0, 0, 0, 0, irq, ioApicId(cpus), irq]));
  assert.deepEqual(localInts, [[4, 3, 0, 0, 0, 0, 0xff, 0], [4, 1, 0, 0, 0, 0, 0xff, 1]], 'ExtINT on LINT0, NMI on LINT1');
});

test('MP table refuses cpu counts it cannot describe in 1 KiB', () => {
  const m = createHeapMemory([{ gpa: 0, size: MiB }]);
  assert.throws(() => writeMpTable(m, 0x9fc00, { cpus: 64 }), X86LoadError);
  assert.throws(() => writeMpTable(m, 0x9fc00, { cpus: 0 }), X86LoadError);
});

test('e820 follows the memory regions: PCI hole between 3 GiB and 4 GiB', () => {
  const regions = [{ gpa: 0, size: 3 * GiB }, { gpa: 4 * GiB, size: GiB }];
  // only the layout matters: fake regions without allocating 4 GiB
  const mem = { regions } as unknown as Parameters<typeof buildE820>[0];
  assert.deepEqual(buildE820(mem), [
    { addr: 0, size: 0x9fc00, type: 1 },
    { addr: 0x9fc00, size: 0x400, type: 2 },
    { addr: 0xe0000, size: 0x20000, type: 2 },
    { addr: MiB, size: 3 * GiB - MiB, type: 1 },
    { addr: 4 * GiB, size: GiB, type: 1 },
  ]);
});
