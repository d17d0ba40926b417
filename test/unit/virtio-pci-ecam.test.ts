/**
 * PCI on the Arm virt board: ECAM decode, the shared PciBus/VirtioPci behind
 * it, INTx (swizzled, wired-OR) and MSI-X through the GICv2m frame, the
 * device tree nodes, and hostile accesses (any size/offset on ECAM, the
 * windows and the v2m frame; bogus BARs; MSI-X messages aimed anywhere).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bus } from '../../src/devices/bus.js';
import { GicV2 } from '../../src/devices/gicv2.js';
import { GicV2m, V2M_MSI_SETSPI_NS, V2M_MSI_TYPER } from '../../src/devices/gicv2m.js';
import { createHeapMemory } from '../../src/memory/guest-memory.js';
import { attachArmVirtPci } from '../../src/boards/arm-virt/pci.js';
import { buildVirtDtb } from '../../src/boards/arm-virt/dt.js';
import * as L from '../../src/boards/arm-virt/layout.js';
import { parseFdt, fdtFind, propCells } from '../../src/boards/fdt/fdt-reader.js';
import { decodeEcam, pciEcam, ECAM_BUS_SIZE } from '../../src/virtio/pci-ecam.js';
import { PciBus } from '../../src/virtio/pci.js';
import { armPciFactories } from '../../src/virtio/pci-setup.js';
import { VirtioPci, C, BAR_SIZE, MSIX_TABLE_OFF, ISR_OFF } from '../../src/virtio/pci-virtio.js';
import { VirtioRng } from '../../src/virtio/rng.js';
import type { AccessSize } from '../../src/devices/device.js';
import { buildArmVirt } from '../../src/boards/arm-virt/board.js';
import { fakeImage } from './arm-image-fixture.js';

const ecamAddr = (bus: number, dev: number, fn: number, reg: number): number => L.VIRT_PCIE_ECAM + bus * ECAM_BUS_SIZE + (dev << 15) + (fn << 12) + reg;

function board(n = 2) {
  const mem = createHeapMemory([{ gpa: L.VIRT_RAM, size: 16 << 20 }]);
  const mmio = new Bus('mmio');
  const gic = new GicV2({ cpus: 1, irqs: 256, setCpuIrq: () => {}, currentCpu: () => 0 });
  const devices = Array.from({ length: n }, () => new VirtioRng());
  const pci = attachArmVirtPci(mmio, gic, armPciFactories(devices, () => mem));
  const cfg = (dev: number, reg: number, size: 1 | 2 | 4 = 4, value?: number): number => {
    if (value === undefined) return mmio.read(ecamAddr(0, dev, 0, reg), size) as number;
    mmio.write(ecamAddr(0, dev, 0, reg), size, value);
    return 0;
  };
  const latched = (intid: number): boolean => (gic.pendLatch[gic.widx(0, intid >>> 5)]! & (1 << (intid & 31))) !== 0;
  const levelHigh = (intid: number): boolean => (gic.level[gic.widx(0, intid >>> 5)]! & (1 << (intid & 31))) !== 0;
  const clearLatch = (intid: number): void => {
    gic.pendLatch[gic.widx(0, intid >>> 5)]! &= ~(1 << (intid & 31));
  };
  return { mem, mmio, gic, pci, cfg, latched, levelHigh, clearLatch, fns: pci.functions.map((f) => f.fn as VirtioPci) };
}

test('ECAM decode: bus << 20 | dev << 15 | fn << 12 | reg; past the buses or not an integer is nothing', () => {
  assert.deepEqual(decodeEcam(0, 16), { bus: 0, dev: 0, fn: 0, reg: 0 });
  assert.deepEqual(decodeEcam((3 << 20) | (31 << 15) | (7 << 12) | 0xffc, 16), { bus: 3, dev: 31, fn: 7, reg: 0xffc });
  assert.deepEqual(decodeEcam((15 << 20) + 0x8010, 16), { bus: 15, dev: 1, fn: 0, reg: 0x10 });
  assert.equal(decodeEcam(16 << 20, 16), undefined);
  assert.equal(decodeEcam(-1, 16), undefined);
  assert.equal(decodeEcam(1.5, 16), undefined);
  assert.throws(() => pciEcam(new PciBus(), 0), RangeError);
  assert.throws(() => pciEcam(new PciBus(), 257), RangeError);
});

test('ECAM enumeration: gpex host bridge at 00.0, modern virtio ids, absent functions/buses all ones, extended space 0', () => {
  const { cfg, mmio } = board();
  assert.equal(cfg(0, 0) >>> 0, (0x0008 << 16) | 0x1b36);
  assert.equal(cfg(0, 8) >>> 8, 0x060000);
  assert.equal(cfg(1, 0) >>> 0, ((0x1040 + 4) << 16) | 0x1af4, 'virtio-rng = 0x1044');
  assert.equal(cfg(2, 2, 2), 0x1044);
  assert.equal(cfg(1, 8) & 0xff, 1, 'revision 1');
  assert.equal(cfg(1, 0x3d, 1), 1, 'INTA');
  assert.equal(cfg(3, 0) >>> 0, 0xffffffff);
  assert.equal(mmio.read(ecamAddr(0, 1, 1, 0), 4), 0xffffffff, 'function 1');
  assert.equal(mmio.read(ecamAddr(1, 1, 0, 0), 4), 0xffffffff, 'bus 1');
  assert.equal(mmio.read(ecamAddr(15, 31, 7, 0xffc), 2), 0xffff);
  assert.equal(mmio.read(ecamAddr(0, 1, 0, 0x100), 4), 0, 'no extended capabilities');
  assert.equal(mmio.read(ecamAddr(0, 1, 0, 0xffc), 1), 0);
  // Sub-dword reads within a dword are fine; crossing a dword boundary is refused.
  assert.equal(cfg(1, 1, 1), 0x1a);
  assert.equal(cfg(1, 1, 2), 0x441a);
  assert.equal(cfg(1, 3, 2), 0xffff);
  assert.equal(cfg(1, 2, 4) >>> 0, 0xffffffff);
  // 8-byte accesses are split by the bus into two dwords.
  assert.equal(mmio.read(ecamAddr(0, 1, 0, 0), 8), (BigInt(cfg(1, 4) >>> 0) << 32n) | BigInt(cfg(1, 0) >>> 0));
});

test('ECAM BAR sizing and relocation (what pci-host-generic does), window follows; bogus BARs are harmless', () => {
  const { cfg, mmio, fns } = board();
  const f = fns[0]!;
  const start = f.bar0.addr;
  assert.ok(start >= L.VIRT_PCIE_MMIO && start < L.VIRT_PCIE_MMIO + L.VIRT_PCIE_MMIO_SIZE);
  cfg(1, 4, 2, 0); // decode off while sizing
  cfg(1, 0x10, 4, 0xffffffff);
  cfg(1, 0x14, 4, 0xffffffff);
  assert.equal(cfg(1, 0x10) >>> 0, (~(BAR_SIZE - 1) | 4) >>> 0);
  const nb = L.VIRT_PCIE_MMIO + 0x200000;
  cfg(1, 0x10, 4, nb);
  cfg(1, 0x14, 4, 0);
  cfg(1, 4, 2, 0x6);
  assert.equal(f.bar0.addr, nb);
  assert.equal(mmio.read(nb + C.NUMQ, 2), 1);
  assert.equal(mmio.read(start + C.NUMQ, 2), 0xffff, 'old place reads as nothing there');
  // Bogus: BAR over RAM, above 4 GiB, over the other function's BAR, byte-wise writes.
  for (const [lo, hi] of [[L.VIRT_RAM, 0], [0, 0x80], [fns[1]!.bar0.addr, 0], [0xfffff000, 0xffffffff]] as const) {
    cfg(1, 0x10, 4, lo);
    cfg(1, 0x14, 4, hi);
    for (let o = 0x10; o < 0x28; o++) cfg(1, o, 1, 0xa5);
    mmio.read(L.VIRT_PCIE_MMIO, 4);
    mmio.write(fns[1]!.bar0.addr + C.STATUS, 1, 0);
  }
  // The guest puts it back and it works again.
  cfg(1, 0x10, 4, nb);
  cfg(1, 0x14, 4, 0);
  assert.equal(mmio.read(nb + C.NUMQ, 2), 1);
});

function driverUp(b: ReturnType<typeof board>, slot: number, msix: { addr: number; data: number } | undefined): { bar: number; avail: number; used: number; desc: number } {
  const { mmio, cfg, mem } = b;
  const f = b.fns[slot - 1]!;
  const bar = f.bar0.addr;
  cfg(slot, 4, 2, 0x6);
  if (msix) {
    cfg(slot, 0x86, 2, 0x8000);
    for (let i = 0; i < f.nvec; i++) {
      mmio.write(bar + MSIX_TABLE_OFF + 16 * i, 4, msix.addr);
      mmio.write(bar + MSIX_TABLE_OFF + 16 * i + 4, 4, 0);
      mmio.write(bar + MSIX_TABLE_OFF + 16 * i + 8, 4, msix.data + i);
      mmio.write(bar + MSIX_TABLE_OFF + 16 * i + 12, 4, 0);
    }
  }
  mmio.write(bar + C.STATUS, 1, 1 | 2);
  mmio.write(bar + C.GFSELECT, 4, 1);
  mmio.write(bar + C.GF, 4, 1); // VERSION_1
  mmio.write(bar + C.STATUS, 1, 1 | 2 | 8);
  assert.equal(mmio.read(bar + C.STATUS, 1), 1 | 2 | 8);
  if (msix) mmio.write(bar + C.MSIX, 2, 0);
  mmio.write(bar + C.Q_SELECT, 2, 0);
  mmio.write(bar + C.Q_SIZE, 2, 8);
  if (msix) mmio.write(bar + C.Q_MSIX, 2, 1);
  const base = L.VIRT_RAM + 0x10000 * slot;
  const desc = base, avail = base + 0x1000, used = base + 0x2000;
  mmio.write(bar + C.Q_DESCLO, 4, desc);
  mmio.write(bar + C.Q_AVAILLO, 4, avail);
  mmio.write(bar + C.Q_USEDLO, 4, used);
  mmio.write(bar + C.Q_ENABLE, 2, 1);
  mmio.write(bar + C.STATUS, 1, 1 | 2 | 8 | 4);
  // One 64-byte writable buffer.
  mem.writeU64(desc, BigInt(base + 0x3000));
  mem.writeU32(desc + 8, 64);
  mem.writeU16(desc + 12, 2);
  return { bar, avail, used, desc };
}

function kick(b: ReturnType<typeof board>, q: { bar: number; avail: number }, n: number): void {
  b.mem.writeU16(q.avail + 4 + 2 * ((n - 1) % 8), 0);
  b.mem.writeU16(q.avail + 2, n);
  b.mmio.write(q.bar + 0x3000, 2, 0);
}

test('MSI-X through the GICv2m frame: a vector aimed at MSI_SETSPI_NS raises its SPI; aimed anywhere else it is dropped', () => {
  const b = board();
  const setspi = L.VIRT_GIC_V2M + V2M_MSI_SETSPI_NS;
  const first = 32 + L.VIRT_GIC_V2M_SPI_BASE;
  assert.equal(b.mmio.read(L.VIRT_GIC_V2M + V2M_MSI_TYPER, 4), (first << 16) | L.VIRT_GIC_V2M_SPIS);
  const q = driverUp(b, 1, { addr: setspi, data: first + 10 });
  kick(b, q, 1);
  assert.equal(b.mem.readU16(q.used + 2), 1, 'used entry pushed');
  assert.ok(b.latched(first + 11), 'queue vector 1 -> INTID first+11');
  assert.equal(b.pci.v2m.stats.raised, 1);
  assert.equal(b.levelHigh(32 + L.VIRT_PCIE_SPI_BASE + 1), false, 'no INTx with MSI-X on');
  // Re-aim vector 1: at RAM, at the function's own notify register, at the GIC distributor, out-of-range INTID.
  const f = b.fns[0]!;
  const targets: Array<[number, number]> = [[L.VIRT_RAM, 0], [q.bar + 0x3000, 0], [L.VIRT_GIC_DIST, 0], [setspi, first + 64], [setspi, 31], [setspi + 4, first]];
  let n = 1;
  for (const [addr, data] of targets) {
    b.clearLatch(first + 11);
    b.mmio.write(q.bar + MSIX_TABLE_OFF + 16, 4, addr);
    b.mmio.write(q.bar + MSIX_TABLE_OFF + 24, 4, data);
    kick(b, q, ++n);
    assert.equal(b.mem.readU16(q.used + 2), n);
    assert.equal(b.latched(first + 11), false);
  }
  assert.equal(b.pci.stats.msiDropped, 4);
  assert.equal(b.pci.v2m.stats.refused, 2);
  assert.equal(f.stats.msi, 1 + targets.length);
});

test('INTx: slot S pin A is SPI 3 + S mod 4, level, cleared by the ISR read; slots sharing an SPI are wired-OR', () => {
  const b = board(5); // slots 1 and 5 share SPI 4
  assert.deepEqual(b.pci.functions.map((f) => f.intxSpi), [4, 5, 6, 3, 4]);
  assert.equal(b.cfg(1, 0x3c, 1), 32 + 4, 'interrupt line register holds the INTID');
  const spi = 32 + 4;
  const q1 = driverUp(b, 1, undefined);
  const q5 = driverUp(b, 5, undefined);
  kick(b, q1, 1);
  assert.ok(b.levelHigh(spi));
  kick(b, q5, 1);
  assert.equal(b.mmio.read(q1.bar + ISR_OFF, 1), 1);
  assert.ok(b.levelHigh(spi), 'slot 5 still asserts the shared line');
  assert.equal(b.mmio.read(q5.bar + ISR_OFF, 1), 1);
  assert.equal(b.levelHigh(spi), false);
});

test('GICv2m frame: TYPER, 16/32-bit SETSPI writes in range only, odd accesses ignored', () => {
  const raised: number[] = [];
  const v = new GicV2m(80, 64, (id) => raised.push(id));
  assert.equal(v.read(V2M_MSI_TYPER, 4), (80 << 16) | 64);
  assert.equal(v.read(V2M_MSI_TYPER, 2), 0);
  assert.equal(v.read(0xfcc, 4), 0);
  v.write(V2M_MSI_SETSPI_NS, 4, 80);
  v.write(V2M_MSI_SETSPI_NS, 2, 143);
  v.write(V2M_MSI_SETSPI_NS, 1, 81);
  v.write(V2M_MSI_SETSPI_NS, 4, 144);
  v.write(V2M_MSI_SETSPI_NS, 4, 0xfffffc00 + 90); // upper bits ignored, as the frame decodes 10 bits
  v.write(0x44, 4, 82);
  assert.deepEqual(raised, [80, 143, 90]);
  assert.throws(() => new GicV2m(16, 4, () => {}), RangeError);
  assert.throws(() => new GicV2m(1000, 64, () => {}), RangeError);
});

test('hostile: random accesses of every size/offset to ECAM, the windows and v2m never throw', () => {
  const b = board(3);
  let seed = 0x12345678;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const sizes: AccessSize[] = [1, 2, 4, 8];
  const regions = [
    [L.VIRT_PCIE_ECAM, 3 << 15],
    [L.VIRT_PCIE_ECAM, L.VIRT_PCIE_ECAM_SIZE],
    [L.VIRT_PCIE_MMIO, 0x20000],
    [L.VIRT_PCIE_PIO, L.VIRT_PCIE_PIO_SIZE],
    [L.VIRT_GIC_V2M, L.VIRT_GIC_V2M_SIZE],
  ] as const;
  const values = [0, 0xffffffff, 0x80000000, 1, 0x10000000, L.VIRT_GIC_V2M + 0x40];
  for (let i = 0; i < 40000; i++) {
    const [base, len] = regions[rnd(regions.length)]!;
    const addr = base + rnd(len);
    const size = sizes[rnd(4)]!;
    if (rnd(2) === 0) b.mmio.read(addr, size);
    else b.mmio.write(addr, size, rnd(3) === 0 ? values[rnd(values.length)]! : rnd(0x100000000));
  }
  // The last byte of ECAM with an 8-byte access (the split's second half is past the region).
  b.mmio.read(L.VIRT_PCIE_ECAM + L.VIRT_PCIE_ECAM_SIZE - 4, 8);
  b.mmio.write(L.VIRT_PCIE_ECAM + L.VIRT_PCIE_ECAM_SIZE - 4, 8, 0xffffffffffffffffn);
  for (const f of b.fns) assert.equal(f.internalErrors, 0);
});

test('device tree with pci: v2m frame under the GIC, ECAM host node with swizzled interrupt-map and msi-map to the frame', () => {
  const dtb = buildVirtDtb({ cpus: 1, ramBase: L.VIRT_RAM, ramSize: 256 << 20, cmdline: '', virtioSlots: [], pci: true });
  const root = parseFdt(dtb).root;
  const intc = fdtFind(root, '/intc@8000000')!;
  assert.deepEqual(propCells(intc.props.get('#address-cells')), [2]);
  assert.ok(intc.props.has('ranges'));
  const v2m = fdtFind(root, '/intc@8000000/v2m@8020000')!;
  assert.ok(v2m.props.has('msi-controller'));
  const h = fdtFind(root, '/pcie@3f000000')!;
  const str = (n: string) => Buffer.from(h.props.get(n)!).toString('latin1').replace(/\0$/, '');
  assert.equal(str('compatible'), 'pci-host-ecam-generic');
  assert.equal(str('device_type'), 'pci');
  assert.deepEqual(propCells(h.props.get('reg')), [0, L.VIRT_PCIE_ECAM, 0, L.VIRT_PCIE_ECAM_SIZE]);
  assert.deepEqual(propCells(h.props.get('bus-range')), [0, 15]);
  const msiMap = propCells(h.props.get('msi-map'));
  assert.deepEqual(msiMap, [0, propCells(v2m.props.get('phandle'))[0]!, 0, 0x10000]);
  const map = propCells(h.props.get('interrupt-map'));
  assert.equal(map.length, 16 * 10);
  const gicPh = propCells(intc.props.get('phandle'))[0]!;
  for (let e = 0; e < 16; e++) {
    const [addr, , , pin, ph, , , type, spi, flags] = map.slice(e * 10, e * 10 + 10);
    const slot = addr! >> 11;
    assert.equal(ph, gicPh);
    assert.equal(type, 0);
    assert.equal(flags, 4);
    assert.equal(spi, 3 + ((slot + pin! - 1) % 4), `slot ${slot} pin ${pin}`);
  }
  if (spawnSync('dtc', ['--version']).status === 0) {
    const p = join(mkdtempSync(join(tmpdir(), 'pci-dt-')), 'b.dtb');
    writeFileSync(p, dtb);
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', p], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'dtc has no warnings');
  }
});

test('buildArmVirt: PCI only when asked for; with pci the bus, ECAM, windows and v2m are on the MMIO bus and in the DT', () => {
  const base = { memorySize: 64 << 20, cpus: 1, kernel: fakeImage(), cmdline: '', consoleSink: () => {} };
  const plain = buildArmVirt(base);
  assert.equal(plain.pci, undefined);
  assert.equal(plain.mmio.lookup(L.VIRT_PCIE_ECAM), undefined);
  assert.equal(fdtFind(parseFdt(plain.dtb).root, '/pcie@3f000000'), undefined);
  const dev = new VirtioRng();
  const b = buildArmVirt({ ...base, pci: armPciFactories([dev], () => b.memory) });
  assert.deepEqual(b.pci!.functions.map((f) => [f.slot, f.intxSpi]), [[1, 4]]);
  for (const [addr, name] of [[L.VIRT_PCIE_ECAM, 'pci-ecam'], [L.VIRT_PCIE_MMIO, 'pci-mmio-window'], [L.VIRT_PCIE_PIO, 'pci-io-window'], [L.VIRT_GIC_V2M, 'gicv2m']] as const) {
    assert.equal(b.mmio.lookup(addr)?.device.name, name);
  }
  assert.equal(b.mmio.read(ecamAddr(0, 1, 0, 0), 4), (0x1044 << 16) | 0x1af4);
  assert.ok(fdtFind(parseFdt(b.dtb).root, '/pcie@3f000000'));
  assert.throws(() => buildArmVirt({ ...base, pci: Array.from({ length: 32 }, () => armPciFactories([new VirtioRng()], () => b.memory)[0]!) }), /at most 31/);
});
