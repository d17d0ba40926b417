/**
 * The virt board's memory map and interrupt assignment, the same as QEMU's
 * `-M virt` (hw/arm/virt.c) so that kernels and tools that know that board
 * find the devices where they expect them.
 */
export const VIRT_GIC_DIST = 0x08000000;
export const VIRT_GIC_DIST_SIZE = 0x10000;
export const VIRT_GIC_CPU = 0x08010000;
export const VIRT_GIC_CPU_SIZE = 0x10000;
/** GICv2m MSI frame (only with PCI): a write of an INTID to MSI_SETSPI_NS raises that SPI. */
export const VIRT_GIC_V2M = 0x08020000;
export const VIRT_GIC_V2M_SIZE = 0x1000;
export const VIRT_UART = 0x09000000;
export const VIRT_UART_SIZE = 0x1000;
export const VIRT_RTC = 0x09010000;
export const VIRT_RTC_SIZE = 0x1000;
export const VIRT_MMIO = 0x0a000000;
export const VIRT_MMIO_SLOT_SIZE = 0x200;
export const VIRT_MMIO_SLOTS = 32;
export const VIRT_RAM = 0x40000000;

/**
 * PCI host bridge (only with PCI), QEMU virt's "highmem=off" layout: a
 * 32-bit memory window for BARs, a 64 KiB I/O window, and ECAM config space
 * (1 MiB per bus, buses 0-15) just below RAM.
 */
export const VIRT_PCIE_MMIO = 0x10000000;
export const VIRT_PCIE_MMIO_SIZE = 0x2eff0000;
export const VIRT_PCIE_PIO = 0x3eff0000;
export const VIRT_PCIE_PIO_SIZE = 0x10000;
export const VIRT_PCIE_ECAM = 0x3f000000;
export const VIRT_PCIE_ECAM_SIZE = 0x1000000;
export const VIRT_PCIE_BUSES = VIRT_PCIE_ECAM_SIZE >> 20;

/** SPI numbers (INTID - 32), as written in device-tree `interrupts`. */
export const VIRT_UART_SPI = 1;
export const VIRT_RTC_SPI = 2;
export const VIRT_MMIO_SPI_BASE = 16;
/** PCI INTA..INTD: SPIs 3-6 (level), swizzled by slot in the interrupt-map. */
export const VIRT_PCIE_SPI_BASE = 3;
/** SPIs the GICv2m frame hands out for MSIs: 48..111 (INTIDs 80..143). */
export const VIRT_GIC_V2M_SPI_BASE = 48;
export const VIRT_GIC_V2M_SPIS = 64;

/** Architected timer PPIs (INTID - 16): secure physical, non-secure physical, virtual, hypervisor. */
export const TIMER_PPI_SEC_PHYS = 13;
export const TIMER_PPI_PHYS = 14;
export const TIMER_PPI_VIRT = 11;
export const TIMER_PPI_HYP = 10;

/** Fixed APB/UART clock the device tree advertises (24 MHz). */
export const VIRT_APB_CLOCK_HZ = 24_000_000;
