/**
 * The virt board's memory map and interrupt assignment, the same as QEMU's
 * `-M virt` (hw/arm/virt.c) so that kernels and tools that know that board
 * find the devices where they expect them.
 */
export const VIRT_GIC_DIST = 0x08000000;
export const VIRT_GIC_DIST_SIZE = 0x10000;
export const VIRT_GIC_CPU = 0x08010000;
export const VIRT_GIC_CPU_SIZE = 0x10000;
export const VIRT_UART = 0x09000000;
export const VIRT_UART_SIZE = 0x1000;
export const VIRT_RTC = 0x09010000;
export const VIRT_RTC_SIZE = 0x1000;
export const VIRT_MMIO = 0x0a000000;
export const VIRT_MMIO_SLOT_SIZE = 0x200;
export const VIRT_MMIO_SLOTS = 32;
export const VIRT_RAM = 0x40000000;

/** SPI numbers (INTID - 32), as written in device-tree `interrupts`. */
export const VIRT_UART_SPI = 1;
export const VIRT_RTC_SPI = 2;
export const VIRT_MMIO_SPI_BASE = 16;

/** Architected timer PPIs (INTID - 16): secure physical, non-secure physical, virtual, hypervisor. */
export const TIMER_PPI_SEC_PHYS = 13;
export const TIMER_PPI_PHYS = 14;
export const TIMER_PPI_VIRT = 11;
export const TIMER_PPI_HYP = 10;

/** Fixed APB/UART clock the device tree advertises (24 MHz). */
export const VIRT_APB_CLOCK_HZ = 24_000_000;
