/**
 * Device tree for the virt board (what QEMU's `-M virt` generates, minus
 * flash, fw_cfg and GPIO; PCI only when asked for). Node names and
 * properties follow the Linux bindings: arm/cpus.yaml, arm/psci.yaml,
 * timer/arm,arch_timer.yaml, interrupt-controller/arm,gic.yaml (with the
 * arm,gic-v2m-frame child), serial/pl011.yaml, rtc/arm,pl031,
 * virtio/mmio.yaml, pci/host-generic-pci.yaml + pci/pci.txt (interrupt-map),
 * pci/pci-msi.txt (msi-map).
 */
import { FdtWriter } from '../fdt/fdt-writer.js';
import * as L from './layout.js';

// Third cell of a GIC `interrupts` specifier.
const GIC_SPI = 0;
const GIC_PPI = 1;
const IRQ_TYPE_EDGE_RISING = 1;
const IRQ_TYPE_LEVEL_HIGH = 4;

export interface VirtDtOptions {
  cpus: number;
  ramBase: number;
  ramSize: number;
  cmdline: string;
  initrd?: { start: number; end: number };
  /** Number of virtio-mmio slots to describe (slot n at 0x0a000000 + 0x200 n, SPI 16+n). */
  virtioSlots: number[];
  /** Random bytes for /chosen/rng-seed (seeds the kernel's RNG early). */
  rngSeed?: Uint8Array;
  /** 64-bit /chosen/kaslr-seed. */
  kaslrSeed?: bigint;
  /** Omit the PL031 RTC node. */
  noRtc?: boolean;
  /** Describe the PCI host bridge (ECAM, windows, INTx map) and the GICv2m MSI frame. */
  pci?: boolean;
}

/** Cells of a PCI address (phys.hi) space code in `ranges`. */
const PCI_SPACE_IO = 0x01000000;
const PCI_SPACE_MEM32 = 0x02000000;

function reg(w: FdtWriter, base: number, size: number): void {
  w.propertyCells('reg', [Math.floor(base / 2 ** 32), base >>> 0, Math.floor(size / 2 ** 32), size >>> 0]);
}

export function buildVirtDtb(o: VirtDtOptions): Uint8Array {
  const w = new FdtWriter();
  const gicPh = w.allocPhandle();
  const clkPh = w.allocPhandle();
  const v2mPh = o.pci ? w.allocPhandle() : 0;

  w.beginNode('');
  w.propertyU32('interrupt-parent', gicPh);
  w.propertyString('model', 'linux,dummy-virt');
  w.propertyString('compatible', 'linux,dummy-virt');
  w.propertyU32('#address-cells', 2);
  w.propertyU32('#size-cells', 2);

  w.beginNode('chosen');
  w.propertyString('bootargs', o.cmdline);
  w.propertyString('stdout-path', `/pl011@${L.VIRT_UART.toString(16)}`);
  if (o.initrd) {
    w.propertyU64('linux,initrd-start', o.initrd.start);
    w.propertyU64('linux,initrd-end', o.initrd.end);
  }
  if (o.rngSeed) w.property('rng-seed', o.rngSeed);
  if (o.kaslrSeed !== undefined) w.propertyU64('kaslr-seed', o.kaslrSeed);
  w.endNode();

  w.beginNode(`memory@${o.ramBase.toString(16)}`);
  w.propertyString('device_type', 'memory');
  reg(w, o.ramBase, o.ramSize);
  w.endNode();

  w.beginNode('cpus');
  w.propertyU32('#address-cells', 1);
  w.propertyU32('#size-cells', 0);
  for (let c = 0; c < o.cpus; c++) {
    w.beginNode(`cpu@${c.toString(16)}`);
    w.propertyString('device_type', 'cpu');
    w.propertyString('compatible', 'arm,cortex-a57');
    w.propertyU32('reg', c); // MPIDR_EL1 Aff0
    w.propertyString('enable-method', 'psci');
    w.endNode();
  }
  w.endNode();

  w.beginNode('psci');
  w.propertyStrings('compatible', ['arm,psci-1.0', 'arm,psci-0.2', 'arm,psci']);
  w.propertyString('method', 'hvc');
  // Function ids for the original (pre-0.2) binding, as QEMU gives them.
  w.propertyU32('cpu_suspend', 0xc4000001);
  w.propertyU32('cpu_off', 0x84000002);
  w.propertyU32('cpu_on', 0xc4000003);
  w.propertyU32('migrate', 0xc4000005);
  w.endNode();

  // PPI flags carry the mask of CPUs the interrupt is wired to in bits 15:8.
  const ppiFlags = ((((1 << o.cpus) - 1) & 0xff) << 8) | IRQ_TYPE_LEVEL_HIGH;
  w.beginNode('timer');
  w.propertyStrings('compatible', ['arm,armv8-timer', 'arm,armv7-timer']);
  w.propertyCells('interrupts', [
    GIC_PPI, L.TIMER_PPI_SEC_PHYS, ppiFlags,
    GIC_PPI, L.TIMER_PPI_PHYS, ppiFlags,
    GIC_PPI, L.TIMER_PPI_VIRT, ppiFlags,
    GIC_PPI, L.TIMER_PPI_HYP, ppiFlags,
  ]);
  w.propertyEmpty('always-on');
  w.endNode();

  w.beginNode(`intc@${L.VIRT_GIC_DIST.toString(16)}`);
  w.propertyString('compatible', 'arm,cortex-a15-gic');
  w.propertyU32('#interrupt-cells', 3);
  if (o.pci) {
    // The v2m frame is a child (translated through an empty ranges); interrupt-map entries then carry 2 parent address cells.
    w.propertyU32('#address-cells', 2);
    w.propertyU32('#size-cells', 2);
    w.propertyEmpty('ranges');
  } else {
    // No interrupt-map users below the GIC; an interrupt provider still states this (dtc warns otherwise).
    w.propertyU32('#address-cells', 0);
  }
  w.propertyEmpty('interrupt-controller');
  w.propertyCells('reg', [0, L.VIRT_GIC_DIST, 0, L.VIRT_GIC_DIST_SIZE, 0, L.VIRT_GIC_CPU, 0, L.VIRT_GIC_CPU_SIZE]);
  w.propertyU32('phandle', gicPh);
  if (o.pci) {
    w.beginNode(`v2m@${L.VIRT_GIC_V2M.toString(16)}`);
    w.propertyString('compatible', 'arm,gic-v2m-frame');
    w.propertyEmpty('msi-controller');
    reg(w, L.VIRT_GIC_V2M, L.VIRT_GIC_V2M_SIZE);
    w.propertyU32('phandle', v2mPh);
    w.endNode();
  }
  w.endNode();

  w.beginNode('apb-pclk');
  w.propertyString('compatible', 'fixed-clock');
  w.propertyU32('#clock-cells', 0);
  w.propertyU32('clock-frequency', L.VIRT_APB_CLOCK_HZ);
  w.propertyString('clock-output-names', 'clk24mhz');
  w.propertyU32('phandle', clkPh);
  w.endNode();

  w.beginNode(`pl011@${L.VIRT_UART.toString(16)}`);
  w.propertyStrings('compatible', ['arm,pl011', 'arm,primecell']);
  reg(w, L.VIRT_UART, L.VIRT_UART_SIZE);
  w.propertyCells('interrupts', [GIC_SPI, L.VIRT_UART_SPI, IRQ_TYPE_LEVEL_HIGH]);
  w.propertyCells('clocks', [clkPh, clkPh]);
  w.propertyStrings('clock-names', ['uartclk', 'apb_pclk']);
  w.endNode();

  if (!o.noRtc) {
    w.beginNode(`pl031@${L.VIRT_RTC.toString(16)}`);
    w.propertyStrings('compatible', ['arm,pl031', 'arm,primecell']);
    reg(w, L.VIRT_RTC, L.VIRT_RTC_SIZE);
    w.propertyCells('interrupts', [GIC_SPI, L.VIRT_RTC_SPI, IRQ_TYPE_LEVEL_HIGH]);
    w.propertyU32('clocks', clkPh);
    w.propertyString('clock-names', 'apb_pclk');
    w.endNode();
  }

  for (const n of o.virtioSlots) {
    if (!Number.isInteger(n) || n < 0 || n >= L.VIRT_MMIO_SLOTS) throw new RangeError(`virtio-mmio slot ${n} out of range`);
    const base = L.VIRT_MMIO + n * L.VIRT_MMIO_SLOT_SIZE;
    w.beginNode(`virtio_mmio@${base.toString(16)}`);
    w.propertyString('compatible', 'virtio,mmio');
    reg(w, base, L.VIRT_MMIO_SLOT_SIZE);
    w.propertyCells('interrupts', [GIC_SPI, L.VIRT_MMIO_SPI_BASE + n, IRQ_TYPE_EDGE_RISING]);
    w.propertyEmpty('dma-coherent');
    w.endNode();
  }

  if (o.pci) pciNode(w, gicPh, v2mPh);

  w.endNode();
  return w.finish();
}

/**
 * The ECAM host bridge, as QEMU virt describes it with highmem=off (node
 * named after its reg, which dtc wants; QEMU names it after the MMIO window).
 * INTx: pin P (1..4) of slot S goes to SPI 3 + (S + P - 1) mod 4, level — the
 * standard swizzle; interrupt-map-mask keeps slot bits 11-12 and the pin.
 * MSI: every requester id goes to the v2m frame (msi-map).
 */
function pciNode(w: FdtWriter, gicPh: number, v2mPh: number): void {
  w.beginNode(`pcie@${L.VIRT_PCIE_ECAM.toString(16)}`);
  w.propertyString('compatible', 'pci-host-ecam-generic');
  w.propertyString('device_type', 'pci');
  w.propertyU32('#address-cells', 3);
  w.propertyU32('#size-cells', 2);
  w.propertyU32('linux,pci-domain', 0);
  w.propertyCells('bus-range', [0, L.VIRT_PCIE_BUSES - 1]);
  w.propertyEmpty('dma-coherent');
  w.propertyCells('msi-map', [0, v2mPh, 0, 0x10000]);
  reg(w, L.VIRT_PCIE_ECAM, L.VIRT_PCIE_ECAM_SIZE);
  // (pci phys.hi, pci address 64) -> (cpu address 64), size 64
  w.propertyCells('ranges', [
    PCI_SPACE_IO, 0, 0, 0, L.VIRT_PCIE_PIO, 0, L.VIRT_PCIE_PIO_SIZE,
    PCI_SPACE_MEM32, 0, L.VIRT_PCIE_MMIO, 0, L.VIRT_PCIE_MMIO, 0, L.VIRT_PCIE_MMIO_SIZE,
  ]);
  w.propertyU32('#interrupt-cells', 1);
  const map: number[] = [];
  for (let slot = 0; slot < 4; slot++) {
    for (let pin = 1; pin <= 4; pin++) {
      map.push(slot << 11, 0, 0, pin, gicPh, 0, 0, GIC_SPI, L.VIRT_PCIE_SPI_BASE + ((slot + pin - 1) % 4), IRQ_TYPE_LEVEL_HIGH);
    }
  }
  w.propertyCells('interrupt-map', map);
  w.propertyCells('interrupt-map-mask', [0x1800, 0, 0, 7]);
  w.endNode();
}

/** SPI (DT numbering) of INTx pin `pin` (1 = INTA) of a device in `slot`, as the interrupt-map says. */
export function pciIntxSpi(slot: number, pin = 1): number {
  return L.VIRT_PCIE_SPI_BASE + ((slot + pin - 1) % 4);
}
