/** guestCpuid: per-vCPU APIC ids, topology for N vCPUs, hypervisor bit, KVM leaves. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestCpuid, type CpuidEntry } from '../../src/engines/kvm/cpuid.js';

const e = (fn: number, index: number, eax: number, ebx: number, ecx: number, edx: number, flags = 0): CpuidEntry => ({
  function: fn, index, flags, eax, ebx, ecx, edx,
});

/** An Intel-like supported table (max basic leaf 0x1f) with host values that must be overridden. */
const INTEL: CpuidEntry[] = [
  e(0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69),
  e(1, 0, 0x906ea, 0x05100800, 0x7ffafbff, 0xbfebfbff),
  e(4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0, 1), // L1d, host: 8 cores, 2 threads sharing
  e(4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0, 1),
  e(4, 2, 0x1c004143, 0x00c0003f, 0x3ff, 0, 1),
  e(4, 3, 0x1c03c163, 0x03c0003f, 0x2fff, 6, 1), // L3 shared by 16
  e(4, 4, 0, 0, 0, 0, 1),
  e(0xb, 0, 1, 2, 0x100, 5, 1),
  e(0xb, 1, 4, 16, 0x201, 5, 1),
  e(0x1f, 0, 1, 2, 0x100, 5, 1),
  e(0x4000_0000, 0, 0x4000_0001, 0x4b4d564b, 0x564b4d56, 0x4d),
  e(0x4000_0001, 0, 0x1007efb, 0, 0, 0),
  e(0x8000_0008, 0, 0x3027, 0, 0x7001, 0),
  e(0x8000_001e, 0, 0, 0x100, 0x300, 0),
];

const find = (t: CpuidEntry[], fn: number, index = 0) => t.filter((x) => x.function === fn && x.index === index);

test('leaf 1: APIC id and logical count per vCPU, hypervisor bit, HTT iff more than one vCPU', () => {
  for (const [id, n] of [[0, 1], [3, 4], [31, 32]] as const) {
    const l1 = find(guestCpuid(INTEL, id, n), 1)[0]!;
    assert.equal(l1.ebx >>> 24, id);
    assert.equal((l1.ebx >>> 16) & 0xff, n);
    assert.equal(l1.ebx & 0xffff, 0x0800, 'CLFLUSH size and brand index kept');
    assert.equal(l1.ecx >>> 31, 1);
    assert.equal((l1.edx >>> 28) & 1, n > 1 ? 1 : 0);
    assert.equal(l1.eax, 0x906ea, 'family/model untouched');
  }
});

test('leaves 0xB and 0x1F: one thread per core, N cores, x2APIC id in EDX, single copy of each sub-leaf', () => {
  const t = guestCpuid(INTEL, 2, 3);
  for (const fn of [0xb, 0x1f]) {
    const smt = find(t, fn, 0);
    const core = find(t, fn, 1);
    const end = find(t, fn, 2);
    assert.equal(smt.length, 1);
    assert.deepEqual([smt[0]!.eax, smt[0]!.ebx, smt[0]!.ecx, smt[0]!.edx], [0, 1, 0x100, 2]);
    assert.deepEqual([core[0]!.eax, core[0]!.ebx, core[0]!.ecx, core[0]!.edx], [2, 3, 0x201, 2]);
    assert.equal((end[0]!.ecx >>> 8) & 0xff, 0, 'level type 0 ends the enumeration');
  }
});

test('leaf 4: cores per package = N, L1/L2 private, L3 shared by all N; null entries untouched', () => {
  const t = guestCpuid(INTEL, 0, 4);
  for (let i = 0; i < 4; i++) {
    const l = find(t, 4, i)[0]!;
    assert.equal((l.eax >>> 26) + 1, 4);
    const level = (l.eax >>> 5) & 7;
    assert.equal(((l.eax >>> 14) & 0xfff) + 1, level === 3 ? 4 : 1);
    assert.equal(l.eax & 0x3fff, INTEL.find((x) => x.function === 4 && x.index === i)!.eax & 0x3fff);
  }
  assert.equal(find(t, 4, 4)[0]!.eax, 0);
});

test('AMD leaves 0x80000008 (core count, APIC-id size) and 0x8000001E (APIC id, one thread per core)', () => {
  const t = guestCpuid(INTEL, 5, 6);
  const l = find(t, 0x8000_0008)[0]!;
  assert.equal((l.ecx & 0xff) + 1, 6);
  assert.equal((l.ecx >>> 12) & 0xf, 3);
  assert.equal(l.eax, 0x3027);
  const x = find(t, 0x8000_001e)[0]!;
  assert.deepEqual([x.eax, x.ebx, x.ecx], [5, 5, 0]);
});

test('KVM signature leaf "KVMKVMKVM\\0\\0\\0" and features leaf present exactly once', () => {
  const t = guestCpuid(INTEL.filter((x) => x.function < 0x4000_0000 || x.function > 0x4fff_ffff), 0, 1);
  const sig = find(t, 0x4000_0000);
  assert.equal(sig.length, 1);
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32LE(sig[0]!.ebx, 0);
  bytes.writeUInt32LE(sig[0]!.ecx, 4);
  bytes.writeUInt32LE(sig[0]!.edx, 8);
  assert.equal(bytes.toString('latin1'), 'KVMKVMKVM\0\0\0');
  assert.ok(sig[0]!.eax >= 0x4000_0001);
  assert.equal(find(t, 0x4000_0001).length, 1);
  // With KVM's own features leaf, its feature bits are kept.
  assert.equal(find(guestCpuid(INTEL, 0, 1), 0x4000_0001)[0]!.eax, 0x1007efb);
});
