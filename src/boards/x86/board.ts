/**
 * The x86 board: wires the legacy PC devices onto the port-I/O bus, loads
 * the kernel (a bzImage through the 64-bit Linux boot protocol, or an ELF
 * with a Xen PVH note) and writes everything the guest finds in memory at
 * entry: boot_params or hvm_start_info, the e820 map, the MP table, the boot
 * GDT and (64-bit entry only) identity-mapped page tables.
 *
 * The interrupt controllers, PIT and LAPIC/IOAPIC MMIO are the kvm engine's
 * (in-kernel irqchip), so the MMIO bus starts empty; virtio-mmio devices are
 * added to it by the caller.
 *
 * Port map:  0x60/0x64 i8042, 0x61 port B, 0x70-0x71 CMOS RTC,
 *            0x3F8-0x3FF COM1 (GSI 4), 0x501-0x502 isa-debug-exit,
 *            0x600-0x601 ACPI sleep registers (only with `acpi`).
 *
 * Firmware tables: the MP table always; ACPI (RSDP at 0xE0000, hardware-
 * reduced FADT, MADT, DSDT) when `acpi` is set or virtio-mmio devices are
 * declared, since Debian's x86 kernels find virtio-mmio devices only
 * through ACPI (LNRO0005) and the cloud kernel has no MP-table support.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { ByteSink, IrqLine } from '../../devices/device.js';
import type { ExitStatus } from '../../vmm/engine.js';
import { Bus } from '../../devices/bus.js';
import { Uart16550, COM1_BASE, COM1_IRQ } from '../../devices/uart16550.js';
import { I8042, PortB, I8042_DATA_PORT, I8042_COMMAND_PORT, PORT_B, KBD_IRQ, AUX_IRQ } from '../../devices/i8042.js';
import { CmosRtc, RTC_PORT } from '../../devices/cmos-rtc.js';
import { DebugExit, DEBUG_EXIT_PORT, DEBUG_EXIT_SIZE } from '../../devices/debug-exit.js';
import { type X86BootState, longModeBootState, pvhBootState } from './boot-state.js';
import { type E820Entry, buildE820 } from './e820.js';
import { writeBootGdt } from './gdt.js';
import { writeIdentityPageTables } from './page-tables.js';
import { writeMpTable } from './mptable.js';
import { isBzImage, loadBzImage } from './bzimage.js';
import { isElf, loadPvhElf } from './pvh.js';
import { X86LoadError } from './errors.js';
import { writeAcpiTables, ACPI_SLEEP_PORT, type VirtioMmioAcpiDevice } from './acpi.js';
import { AcpiSleep } from './acpi-sleep.js';
import * as L from './layout.js';

export interface X86BoardOptions {
  /** Guest RAM, already mapped (x86RamLayout + createMmapMemory for kvm). */
  memory: GuestMemory;
  cpus: number;
  /** A bzImage or a PVH ELF, told apart by magic. */
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
  consoleSink: ByteSink;
  irqLine: (gsi: number) => IrqLine;
  /** Called once by a device that ends the VM (debug-exit, i8042 reset). */
  onExit: (status: ExitStatus) => void;
  /** Called when COM1's receive FIFO has room again (retry pending console input). */
  onConsoleRxSpace?: () => void;
  /**
   * Build ACPI tables too (default false: MP table only). Caveat: with ACPI on,
   * Linux finds PCI devices only through a PCI root bridge in the DSDT, which
   * we do not declare, so keep ACPI off for virtio-pci guests. The Debian
   * cloud kernel (no CONFIG_X86_MPPARSE) needs ACPI to see more than one CPU.
   */
  acpi?: boolean;
  /** virtio-mmio devices to declare in the DSDT (implies acpi). The caller registers them on `mmio`. */
  virtioMmio?: readonly VirtioMmioAcpiDevice[];
}

export interface X86Board {
  pio: Bus;
  mmio: Bus;
  bootState: X86BootState;
  uart: Uart16550;
  i8042: I8042;
  rtc: CmosRtc;
  kernelKind: 'bzimage' | 'pvh';
  e820: E820Entry[];
  /** Where the kernel was placed and where the initrd went (if any): for logs and tests. */
  loadAddr: number;
  initrdAddr?: number;
  /** ACPI RSDP address, when ACPI tables were built. */
  rsdpAddr?: number;
}

export function buildX86Board(o: X86BoardOptions): X86Board {
  const mem = o.memory;
  const pio = new Bus('pio');
  const mmio = new Bus('mmio');

  const uart = new Uart16550({ name: 'com1', irq: o.irqLine(COM1_IRQ), sink: o.consoleSink, onRxSpace: o.onConsoleRxSpace });
  const i8042 = new I8042({ onReset: () => o.onExit({ kind: 'reset' }), kbdIrq: o.irqLine(KBD_IRQ), auxIrq: o.irqLine(AUX_IRQ) });
  const rtc = new CmosRtc();
  pio.register(COM1_BASE, 8, uart);
  pio.register(I8042_DATA_PORT, 1, i8042.dataPort);
  pio.register(PORT_B, 1, new PortB());
  pio.register(I8042_COMMAND_PORT, 1, i8042.commandPort);
  pio.register(RTC_PORT, 2, rtc);
  pio.register(DEBUG_EXIT_PORT, DEBUG_EXIT_SIZE, new DebugExit(o.onExit));

  const e820 = buildE820(mem);
  if (!mem.isRam(0, L.HIGH_MEMORY)) throw new X86LoadError('memory-layout', 'x86 board needs guest RAM covering the first 1 MiB');
  mem.fill(0, L.MPTABLE_ADDR); // a clean low memory: no stale signatures for the guest's table scans
  writeMpTable(mem, L.MPTABLE_ADDR, { cpus: o.cpus });
  const gdt = writeBootGdt(mem, L.GDT_ADDR);
  let rsdpAddr: number | undefined;
  if (o.acpi || (o.virtioMmio?.length ?? 0) > 0) {
    if (!mem.isRam(L.ACPI_TABLES_ADDR, L.ACPI_TABLES_LIMIT - L.ACPI_TABLES_ADDR)) throw new X86LoadError('memory-layout', 'no RAM backing for the ACPI tables');
    mem.fill(L.ACPI_TABLES_ADDR, L.ACPI_TABLES_LIMIT - L.ACPI_TABLES_ADDR);
    try {
      rsdpAddr = writeAcpiTables(mem, L.ACPI_TABLES_ADDR, L.ACPI_TABLES_LIMIT, { cpus: o.cpus, virtioMmio: o.virtioMmio }).rsdp;
    } catch (e) {
      throw new X86LoadError('memory-layout', (e as Error).message);
    }
    pio.register(ACPI_SLEEP_PORT, 2, new AcpiSleep(o.onExit));
  }

  if (isBzImage(o.kernel)) {
    const r = loadBzImage(mem, {
      image: o.kernel,
      initrd: o.initrd,
      cmdline: o.cmdline,
      e820,
      bootParamsAddr: L.BOOT_PARAMS_ADDR,
      cmdlineAddr: L.CMDLINE_ADDR,
      cmdlineMax: L.CMDLINE_MAX,
      rsdpAddr,
    });
    const pml4 = writeIdentityPageTables(mem, L.PML4_ADDR, L.PDPT_ADDR, L.PD_ADDR, L.PD_COUNT);
    const bootState = longModeBootState({ entry: r.entry64, bootParams: L.BOOT_PARAMS_ADDR, pml4, stack: L.BOOT_STACK_TOP, gdt });
    return { pio, mmio, bootState, uart, i8042, rtc, kernelKind: 'bzimage', e820, loadAddr: r.loadAddr, initrdAddr: r.initrdAddr, rsdpAddr };
  }
  if (isElf(o.kernel)) {
    const r = loadPvhElf(mem, {
      image: o.kernel,
      initrd: o.initrd,
      cmdline: o.cmdline,
      e820,
      startInfoAddr: L.PVH_START_INFO_ADDR,
      modlistAddr: L.PVH_MODLIST_ADDR,
      memmapAddr: L.PVH_MEMMAP_ADDR,
      memmapMax: L.PVH_MEMMAP_MAX_ENTRIES,
      cmdlineAddr: L.CMDLINE_ADDR,
      cmdlineMax: L.CMDLINE_MAX,
      rsdpAddr,
    });
    const bootState = pvhBootState({ entry: r.entry, startInfo: L.PVH_START_INFO_ADDR, gdt });
    return { pio, mmio, bootState, uart, i8042, rtc, kernelKind: 'pvh', e820, loadAddr: r.entry, initrdAddr: r.initrdAddr, rsdpAddr };
  }
  throw new X86LoadError('not-a-kernel', 'kernel is neither a bzImage nor an ELF file');
}
