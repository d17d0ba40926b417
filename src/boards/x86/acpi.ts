/**
 * Minimal ACPI tables for the x86 board (opt-in): RSDP -> XSDT -> FADT
 * (hardware-reduced) + MADT, and a DSDT that declares
 *  - virtio-mmio devices as LNRO0005 (how Linux's virtio_mmio driver finds
 *    them on x86 when VIRTIO_MMIO_CMDLINE_DEVICES is off, as in Debian), and
 *  - \_S5 with sleep control/status registers at ACPI_SLEEP_PORT, so a
 *    guest `poweroff` reaches the board (acpi-sleep.ts).
 * The MADT lists every vCPU's LAPIC and the I/O APIC, for kernels built
 * without MP-table support (Debian's cloud kernel). The FADT's reset
 * register is the i8042 reset command (port 0x64, value 0xFE).
 *
 * Hardware-reduced ACPI makes Linux skip the 8259 and the PIT (it uses the
 * LAPIC timer); ISA IRQs still reach the I/O APIC identity-mapped.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { IOAPIC_ADDR, LAPIC_ADDR } from './layout.js';
import { ioApicId } from './mptable.js';
import * as A from './aml.js';

export const ACPI_SLEEP_PORT = 0x600; // control at +0, status at +1
export const SLP_EN = 0x20;
export const SLP_TYP_SHIFT = 2;
export const S5_SLP_TYP = 5;

export interface VirtioMmioAcpiDevice {
  base: number;
  size: number;
  gsi: number;
  /** Edge-triggered (default; what KVM irqfd delivers) or level. */
  edge?: boolean;
}

export interface AcpiOptions {
  cpus: number;
  virtioMmio?: readonly VirtioMmioAcpiDevice[];
}

const OEM_ID = 'TSVISR';
const OEM_TABLE_ID = 'TSVISOR ';
const HEADER = 36;

// FADT field offsets (ACPI 6.x, table 5.9) and flags.
const FADT_SIZE = 276;
const FADT_DSDT = 40;
const FADT_CENTURY = 108;
const FADT_IAPC_BOOT_ARCH = 109;
const FADT_FLAGS = 112;
const FADT_RESET_REG = 116;
const FADT_RESET_VALUE = 128;
const FADT_MINOR_VERSION = 131;
const FADT_X_DSDT = 140;
const FADT_SLEEP_CONTROL = 244;
const FADT_SLEEP_STATUS = 256;
const FADT_HYPERVISOR_ID = 268;
const BOOT_ARCH_LEGACY_DEVICES = 1 << 0;
const BOOT_ARCH_8042 = 1 << 1;
const BOOT_ARCH_NO_VGA = 1 << 2;
const FLAG_RESET_REG_SUP = 1 << 10;
const FLAG_HW_REDUCED_ACPI = 1 << 20;
const GAS_SYSTEM_IO = 1;

function checksum(b: Uint8Array): number {
  let s = 0;
  for (const x of b) s = (s + x) & 0xff;
  return (0x100 - s) & 0xff;
}

function ascii(b: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
}

/** A table with its standard header filled in; the checksum is set by `finish`. */
function table(signature: string, length: number, revision: number): { b: Uint8Array; dv: DataView } {
  const b = new Uint8Array(length);
  const dv = new DataView(b.buffer);
  ascii(b, 0, signature);
  dv.setUint32(4, length, true);
  b[8] = revision;
  ascii(b, 10, OEM_ID);
  ascii(b, 16, OEM_TABLE_ID);
  dv.setUint32(24, 1, true); // OEM revision
  ascii(b, 28, 'TSVR'); // creator id
  dv.setUint32(32, 1, true);
  return { b, dv };
}

function finish(b: Uint8Array): Uint8Array {
  b[9] = 0;
  b[9] = checksum(b);
  return b;
}

/** Generic Address Structure: 1-byte I/O port register. */
function gasIo(dv: DataView, at: number, port: number): void {
  dv.setUint8(at, GAS_SYSTEM_IO);
  dv.setUint8(at + 1, 8); // bit width
  dv.setUint8(at + 2, 0); // bit offset
  dv.setUint8(at + 3, 1); // access size: byte
  dv.setBigUint64(at + 4, BigInt(port), true);
}

export function buildDsdt(opts: AcpiOptions): Uint8Array {
  const devices = (opts.virtioMmio ?? []).flatMap((d, i) =>
    A.device(`VR${i.toString(16).toUpperCase().padStart(2, '0')}`, [
      ...A.name('_HID', A.string('LNRO0005')),
      ...A.name('_UID', A.integer(i)),
      ...A.name('_CRS', A.resourceTemplate([...A.memory32Fixed(d.base, d.size), ...A.extendedInterrupt(d.gsi, d.edge !== false)])),
    ]),
  );
  const aml = [...A.name('_S5', A.packageOf([S5_SLP_TYP, 0, 0, 0])), ...(devices.length ? A.scope('_SB', devices) : [])];
  const { b } = table('DSDT', HEADER + aml.length, 2);
  b.set(aml, HEADER);
  return finish(b);
}

export function buildFadt(dsdtAddr: number): Uint8Array {
  const { b, dv } = table('FACP', FADT_SIZE, 6);
  dv.setUint32(FADT_DSDT, dsdtAddr, true);
  dv.setBigUint64(FADT_X_DSDT, BigInt(dsdtAddr), true);
  b[FADT_CENTURY] = 0x32; // CMOS century register (cmos-rtc.ts)
  dv.setUint16(FADT_IAPC_BOOT_ARCH, BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA, true);
  dv.setUint32(FADT_FLAGS, FLAG_HW_REDUCED_ACPI | FLAG_RESET_REG_SUP, true);
  gasIo(dv, FADT_RESET_REG, 0x64);
  b[FADT_RESET_VALUE] = 0xfe; // i8042: pulse the reset line
  b[FADT_MINOR_VERSION] = 0;
  gasIo(dv, FADT_SLEEP_CONTROL, ACPI_SLEEP_PORT);
  gasIo(dv, FADT_SLEEP_STATUS, ACPI_SLEEP_PORT + 1);
  ascii(b, FADT_HYPERVISOR_ID, 'TSVISOR');
  return finish(b);
}

export function buildMadt(cpus: number): Uint8Array {
  const len = HEADER + 8 + cpus * 8 + 12 + 6;
  const { b, dv } = table('APIC', len, 4);
  dv.setUint32(HEADER, LAPIC_ADDR, true);
  dv.setUint32(HEADER + 4, 0, true); // no PCAT_COMPAT: hardware-reduced, no 8259 to mask
  let p = HEADER + 8;
  for (let id = 0; id < cpus; id++) {
    b.set([0, 8, id, id], p); // Processor Local APIC: type, length, ACPI processor UID, APIC id
    dv.setUint32(p + 4, 1, true); // enabled
    p += 8;
  }
  b.set([1, 12, ioApicId(cpus), 0], p); // I/O APIC
  dv.setUint32(p + 4, IOAPIC_ADDR, true);
  dv.setUint32(p + 8, 0, true); // GSI base
  p += 12;
  b.set([4, 6, 0xff, 0, 0, 1], p); // Local APIC NMI: all processors, flags 0, LINT1
  return finish(b);
}

export function buildXsdt(entries: readonly number[]): Uint8Array {
  const { b, dv } = table('XSDT', HEADER + entries.length * 8, 1);
  entries.forEach((a, i) => dv.setBigUint64(HEADER + i * 8, BigInt(a), true));
  return finish(b);
}

export function buildRsdp(xsdtAddr: number): Uint8Array {
  const b = new Uint8Array(36);
  const dv = new DataView(b.buffer);
  ascii(b, 0, 'RSD PTR ');
  ascii(b, 9, OEM_ID);
  b[15] = 2; // ACPI 2.0+: use the XSDT
  dv.setUint32(16, 0, true); // no RSDT
  dv.setUint32(20, 36, true);
  dv.setBigUint64(24, BigInt(xsdtAddr), true);
  b[8] = checksum(b.subarray(0, 20));
  b[32] = checksum(b);
  return b;
}

const align16 = (v: number): number => (v + 15) & ~15;

/** Writes all tables from `base` (RSDP first, 16-byte aligned pieces); returns the RSDP address and the end. */
export function writeAcpiTables(mem: GuestMemory, base: number, limit: number, opts: AcpiOptions): { rsdp: number; end: number } {
  const rsdp = base;
  const xsdtAddr = align16(rsdp + 36);
  const madt = buildMadt(opts.cpus);
  const dsdt = buildDsdt(opts);
  const xsdtLen = HEADER + 2 * 8;
  const fadtAddr = align16(xsdtAddr + xsdtLen);
  const madtAddr = align16(fadtAddr + FADT_SIZE);
  const dsdtAddr = align16(madtAddr + madt.length);
  const end = dsdtAddr + dsdt.length;
  if (end > limit) throw new RangeError(`ACPI tables need ${end - base} bytes, ${limit - base} available`);
  mem.writeBytes(rsdp, buildRsdp(xsdtAddr));
  mem.writeBytes(xsdtAddr, buildXsdt([fadtAddr, madtAddr]));
  mem.writeBytes(fadtAddr, buildFadt(dsdtAddr));
  mem.writeBytes(madtAddr, madt);
  mem.writeBytes(dsdtAddr, dsdt);
  return { rsdp, end };
}
