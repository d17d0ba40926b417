/**
 * Intel MultiProcessor Specification 1.4 tables. Linux falls back to them
 * when the guest has no ACPI tables, which is how it learns the APIC ids of
 * our vCPUs, where the I/O APIC is and how ISA IRQs are wired to its pins.
 *
 * Layout: 16-byte floating pointer ("_MP_") immediately followed by the
 * configuration table ("PCMP"), all inside the last KiB of base memory.
 * ISA IRQ n goes to I/O APIC pin n, matching KVM's default GSI routing
 * (GSI n -> IOAPIC pin n) that the kvm engine keeps.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { IOAPIC_ADDR, LAPIC_ADDR } from './layout.js';
import { X86LoadError } from './errors.js';

export const MP_SPEC_REV = 4; // 1.4
const FP_SIZE = 16;
const HEADER_SIZE = 44;
const PROCESSOR_ENTRY_SIZE = 20;
const SMALL_ENTRY_SIZE = 8;

const ENTRY_PROCESSOR = 0;
const ENTRY_BUS = 1;
const ENTRY_IOAPIC = 2;
const ENTRY_IO_INTERRUPT = 3;
const ENTRY_LOCAL_INTERRUPT = 4;

export const MP_INT = 0;
export const MP_NMI = 1;
export const MP_EXTINT = 3;

const CPU_ENABLED = 1;
const CPU_BOOTSTRAP = 2;
const LAPIC_VERSION = 0x14;
const IOAPIC_VERSION = 0x11;
export const ISA_BUS_ID = 0;
export const ISA_IRQ_COUNT = 16;
/** Everything must fit in the reserved KiB. */
export const MPTABLE_MAX_SIZE = 1024;

export interface MpTableOptions {
  cpus: number;
}

export function mpTableSize(cpus: number): number {
  return FP_SIZE + HEADER_SIZE + cpus * PROCESSOR_ENTRY_SIZE + SMALL_ENTRY_SIZE * (2 + ISA_IRQ_COUNT + 2);
}

/** The I/O APIC's id: after the LAPIC ids 0..cpus-1 so none collide. */
export function ioApicId(cpus: number): number {
  return cpus;
}

function checksum(bytes: Uint8Array): number {
  let s = 0;
  for (const b of bytes) s = (s + b) & 0xff;
  return (0x100 - s) & 0xff;
}

function ascii(bytes: Uint8Array, at: number, text: string, width: number): void {
  for (let i = 0; i < width; i++) bytes[at + i] = i < text.length ? text.charCodeAt(i) : 0x20;
}

/** Writes the tables at `base`; returns the number of bytes written. */
export function writeMpTable(mem: GuestMemory, base: number, opts: MpTableOptions): number {
  const { cpus } = opts;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 254) throw new X86LoadError('memory-layout', `MP table: bad cpu count ${cpus}`);
  const size = mpTableSize(cpus);
  if (size > MPTABLE_MAX_SIZE) throw new X86LoadError('memory-layout', `MP table for ${cpus} cpus does not fit in 1 KiB`);
  const buf = new Uint8Array(size);
  const dv = new DataView(buf.buffer);
  const cfg = FP_SIZE;
  const ioapic = ioApicId(cpus);

  // Floating pointer structure.
  ascii(buf, 0, '_MP_', 4);
  dv.setUint32(4, base + cfg, true);
  buf[8] = 1; // length in 16-byte units
  buf[9] = MP_SPEC_REV;
  // buf[11..15] feature bytes stay 0: a configuration table is present, no IMCR.

  // Configuration table entries.
  let p = cfg + HEADER_SIZE;
  let count = 0;
  for (let id = 0; id < cpus; id++) {
    buf[p] = ENTRY_PROCESSOR;
    buf[p + 1] = id;
    buf[p + 2] = LAPIC_VERSION;
    buf[p + 3] = CPU_ENABLED | (id === 0 ? CPU_BOOTSTRAP : 0);
    dv.setUint32(p + 4, 0x600, true); // cpu signature: family 6
    dv.setUint32(p + 8, 0x201, true); // feature flags: FPU, APIC
    p += PROCESSOR_ENTRY_SIZE;
    count++;
  }
  buf[p] = ENTRY_BUS;
  buf[p + 1] = ISA_BUS_ID;
  ascii(buf, p + 2, 'ISA', 6);
  p += SMALL_ENTRY_SIZE;
  count++;
  buf[p] = ENTRY_IOAPIC;
  buf[p + 1] = ioapic;
  buf[p + 2] = IOAPIC_VERSION;
  buf[p + 3] = 1; // enabled
  dv.setUint32(p + 4, IOAPIC_ADDR, true);
  p += SMALL_ENTRY_SIZE;
  count++;
  for (let irq = 0; irq < ISA_IRQ_COUNT; irq++) {
    buf[p] = ENTRY_IO_INTERRUPT;
    buf[p + 1] = MP_INT;
    dv.setUint16(p + 2, 0, true); // polarity/trigger conform to the bus (ISA: edge, active high)
    buf[p + 4] = ISA_BUS_ID;
    buf[p + 5] = irq;
    buf[p + 6] = ioapic;
    buf[p + 7] = irq;
    p += SMALL_ENTRY_SIZE;
    count++;
  }
  for (const [type, lint] of [
    [MP_EXTINT, 0],
    [MP_NMI, 1],
  ] as const) {
    buf[p] = ENTRY_LOCAL_INTERRUPT;
    buf[p + 1] = type;
    buf[p + 4] = ISA_BUS_ID;
    buf[p + 5] = 0;
    buf[p + 6] = 0xff; // all local APICs
    buf[p + 7] = lint;
    p += SMALL_ENTRY_SIZE;
    count++;
  }

  // Configuration table header.
  ascii(buf, cfg, 'PCMP', 4);
  dv.setUint16(cfg + 4, size - cfg, true);
  buf[cfg + 6] = MP_SPEC_REV;
  ascii(buf, cfg + 8, 'TSVISOR', 8);
  ascii(buf, cfg + 16, 'TSVISOR-X86', 12);
  dv.setUint16(cfg + 34, count, true);
  dv.setUint32(cfg + 36, LAPIC_ADDR, true);
  buf[cfg + 7] = checksum(buf.subarray(cfg, size));
  buf[10] = checksum(buf.subarray(0, FP_SIZE));

  mem.writeBytes(base, buf);
  return size;
}
