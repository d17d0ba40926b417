/**
 * PCI on the Arm virt board: the shared PciBus (src/virtio/pci.ts) behind an
 * ECAM config region instead of x86's 0xCF8/0xCFC ports, its 32-bit memory
 * window and an (empty) I/O window on the MMIO bus, and a GICv2m frame for
 * MSI/MSI-X. Interrupts of a function in slot S:
 *  - INTx (pin A): SPI 3 + S mod 4, level, wired-OR with the other slots on
 *    the same SPI (the device tree's interrupt-map says the same);
 *  - MSI-X: a vector fires only when its message targets the v2m frame's
 *    MSI_SETSPI_NS (data = INTID, checked by the frame); a message pointing
 *    anywhere else is dropped and counted. A real device would do a memory
 *    write there; refusing it keeps a hostile guest from aiming a device's
 *    interrupts at its own registers (re-entrancy) or at RAM.
 */
import type { BusDevice } from '../../devices/device.js';
import type { Bus } from '../../devices/bus.js';
import type { GicV2 } from '../../devices/gicv2.js';
import { GicV2m, V2M_MSI_SETSPI_NS } from '../../devices/gicv2m.js';
import { PciBus, PCI_HOST_BRIDGE_GENERIC, sharedIntx, type PciFunction } from '../../virtio/pci.js';
import { pciEcam } from '../../virtio/pci-ecam.js';
import type { MsiVector, PciInterrupts } from '../../virtio/pci-virtio.js';
import { pciIntxSpi } from './dt.js';
import * as L from './layout.js';

/** Builds the function for `slot` (1..31) once its interrupts exist; BARs come from `bus.allocBar`. */
export type PciFunctionFactory = (ctx: { bus: PciBus; slot: number; irq: PciInterrupts }) => PciFunction;

export interface ArmVirtPci {
  bus: PciBus;
  v2m: GicV2m;
  functions: Array<{ slot: number; fn: PciFunction; intxSpi: number }>;
  /** MSI-X messages dropped because they did not target the v2m frame. */
  readonly stats: { msiDropped: number };
}

export function attachArmVirtPci(mmio: Bus, gic: GicV2, factories: readonly PciFunctionFactory[]): ArmVirtPci {
  if (factories.length > 31) throw new RangeError('arm-virt: at most 31 PCI functions');
  const bus = new PciBus(L.VIRT_PCIE_MMIO, L.VIRT_PCIE_MMIO_SIZE, PCI_HOST_BRIDGE_GENERIC);
  mmio.register(L.VIRT_PCIE_ECAM, L.VIRT_PCIE_ECAM_SIZE, pciEcam(bus, L.VIRT_PCIE_BUSES));
  mmio.register(L.VIRT_PCIE_MMIO, L.VIRT_PCIE_MMIO_SIZE, bus.window);
  // No function has I/O BARs: the I/O window reads as all ones (master abort) instead of faulting.
  const pio: BusDevice = { name: 'pci-io-window', read: (_o, size) => (size >= 4 ? 0xffffffff : (1 << (8 * size)) - 1), write: () => {} };
  mmio.register(L.VIRT_PCIE_PIO, L.VIRT_PCIE_PIO_SIZE, pio);
  const v2m = new GicV2m(32 + L.VIRT_GIC_V2M_SPI_BASE, L.VIRT_GIC_V2M_SPIS, (intid) => gic.pulseLine(0, intid));
  mmio.register(L.VIRT_GIC_V2M, L.VIRT_GIC_V2M_SIZE, v2m);
  const stats = { msiDropped: 0 };
  const setSpiAddr = L.VIRT_GIC_V2M + V2M_MSI_SETSPI_NS;
  const intxLines = [0, 1, 2, 3].map((i) => sharedIntx(gic.spiLine(L.VIRT_PCIE_SPI_BASE + i)));
  const msi = (): MsiVector => {
    let data: number | undefined;
    return {
      route(msg) {
        data = msg !== undefined && msg.addressHi === 0 && msg.addressLo >>> 0 === setSpiAddr ? msg.data >>> 0 : undefined;
      },
      fire() {
        if (data === undefined) stats.msiDropped++;
        else v2m.setSpi(data);
      },
    };
  };
  const functions = factories.map((make, i) => {
    const slot = i + 1;
    const intxSpi = pciIntxSpi(slot);
    const fn = make({ bus, slot, irq: { intx: intxLines[intxSpi - L.VIRT_PCIE_SPI_BASE]!(), intxGsi: 32 + intxSpi, msi } });
    bus.add(fn, slot);
    return { slot, fn, intxSpi };
  });
  return { bus, v2m, functions, stats };
}
