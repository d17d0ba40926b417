import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHeapMemory } from '../../src/memory/guest-memory.js';
import { buildDsdt, writeAcpiTables, ACPI_SLEEP_PORT } from '../../src/boards/x86/acpi.js';
import { pkgLength } from '../../src/boards/x86/aml.js';
import { AcpiSleep } from '../../src/boards/x86/acpi-sleep.js';
import type { ExitStatus } from '../../src/vmm/engine.js';

const MiB = 1 << 20;
const sum = (b: Uint8Array) => b.reduce((s, x) => (s + x) & 0xff, 0);
const sig = (m: ReturnType<typeof createHeapMemory>, a: number) => Buffer.from(m.readBytes(a, 4)).toString('latin1');
const virtio = [{ base: 0xd0000000, size: 0x200, gsi: 5 }];

function tables() {
  const m = createHeapMemory([{ gpa: 0, size: MiB }]);
  const r = writeAcpiTables(m, 0xe0000, 0xf0000, { cpus: 3, virtioMmio: virtio });
  return { m, ...r };
}

test('RSDP (ACPI 2.0) -> XSDT -> FACP, APIC; FACP -> DSDT; every checksum is 0', () => {
  const { m, rsdp, end } = tables();
  assert.ok(end <= 0xf0000);
  assert.equal(Buffer.from(m.readBytes(rsdp, 8)).toString(), 'RSD PTR ');
  assert.equal(m.readU8(rsdp + 15), 2);
  assert.equal(sum(m.readBytes(rsdp, 20)), 0);
  assert.equal(sum(m.readBytes(rsdp, 36)), 0);
  const xsdt = Number(m.readU64(rsdp + 24));
  assert.equal(sig(m, xsdt), 'XSDT');
  const table = (a: number) => m.readBytes(a, m.readU32(a + 4));
  assert.equal(sum(table(xsdt)), 0);
  const entries = [Number(m.readU64(xsdt + 36)), Number(m.readU64(xsdt + 44))];
  assert.deepEqual(entries.map((a) => sig(m, a)), ['FACP', 'APIC']);
  const [facp, madt] = entries as [number, number];
  for (const a of entries) assert.equal(sum(table(a)), 0);
  const dsdt = m.readU32(facp + 40);
  assert.equal(Number(m.readU64(facp + 140)), dsdt);
  assert.equal(sig(m, dsdt), 'DSDT');
  assert.equal(sum(table(dsdt)), 0);
  assert.equal(m.readU32(facp + 112) & (1 << 20), 1 << 20, 'hardware-reduced');
  assert.equal(Number(m.readU64(facp + 116 + 4)), 0x64, 'reset register: i8042 command port');
  assert.equal(m.readU8(facp + 128), 0xfe);
  assert.equal(Number(m.readU64(facp + 244 + 4)), ACPI_SLEEP_PORT);
  // MADT: 3 LAPICs (ids 0..2, enabled), then the I/O APIC with id 3
  assert.equal(m.readU32(madt + 36), 0xfee00000);
  for (let i = 0; i < 3; i++) assert.deepEqual([...m.readBytes(madt + 44 + i * 8, 8)], [0, 8, i, i, 1, 0, 0, 0]);
  assert.deepEqual([...m.readBytes(madt + 68, 4)], [1, 12, 3, 0]);
  assert.equal(m.readU32(madt + 72), 0xfec00000);
});

test('AML package lengths use the 1..4-byte encodings', () => {
  assert.deepEqual(pkgLength(10), [11]);
  assert.deepEqual(pkgLength(62), [63]);
  assert.deepEqual(pkgLength(63), [0x40 | (65 & 0xf), 65 >> 4]);
  assert.deepEqual(pkgLength(0x1000), [0x80 | 3, 0x00, 0x01]);
});

test('DSDT declares virtio-mmio devices as LNRO0005 with memory and interrupt resources', () => {
  const dsdt = Buffer.from(buildDsdt({ cpus: 1, virtioMmio: virtio }));
  assert.ok(dsdt.includes('LNRO0005'));
  const crs = dsdt.indexOf(Buffer.from([0x86, 0x09, 0x00, 0x01]));
  assert.ok(crs > 0);
  assert.equal(dsdt.readUInt32LE(crs + 4), 0xd0000000);
  assert.equal(dsdt.readUInt32LE(crs + 8), 0x200);
  assert.deepEqual([...dsdt.subarray(crs + 12, crs + 21)], [0x89, 6, 0, 0x03, 1, 5, 0, 0, 0]);
});

test('iasl disassembles the tables without complaint', (t) => {
  try {
    execFileSync('iasl', ['-v'], { stdio: 'ignore' });
  } catch {
    return t.skip('iasl (acpica-tools) not installed');
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'tsvisor-acpi-'));
  try {
    writeFileSync(path.join(dir, 'dsdt.dat'), buildDsdt({ cpus: 1, virtioMmio: virtio }));
    const log = execFileSync('iasl', ['-d', 'dsdt.dat'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    assert.doesNotMatch(log, /error/i);
    const dsl = readFileSync(path.join(dir, 'dsdt.dsl'), 'utf8');
    assert.match(dsl, /Name \(_S5, Package \(0x04\)/);
    assert.match(dsl, /Device \(VR00\)/);
    assert.match(dsl, /Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)\s*\{\s*0x00000005,/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ACPI sleep control: SLP_TYP 5 with SLP_EN powers off, nothing else does', () => {
  const exits: ExitStatus[] = [];
  const sleep = new AcpiSleep((s) => exits.push(s));
  sleep.write(0, 1, (5 << 2) | 0x20);
  sleep.write(0, 1, (3 << 2) | 0x20); // S3: ignored
  sleep.write(0, 1, 5 << 2); // no SLP_EN: ignored
  assert.deepEqual(exits, [{ kind: 'poweroff' }]);
});
