/**
 * The Arm "virt" board for the emu engine: guest RAM at 0x40000000, GICv2,
 * PL011 console, PL031 RTC, virtio-mmio slots, optionally a PCI host bridge
 * (ECAM) with a GICv2m MSI frame (pci.ts), PSCI over HVC, and the
 * kernel/initrd/DTB loaded the way booting.rst asks (x0 = DTB address,
 * PC = Image start, MMU off, EL1).
 *
 * The engine needs the board (memory, bus, platform) and the board needs the
 * engine (IRQ outputs, current CPU, CPU_ON), so the board is built first and
 * the engine is attached afterwards:
 *
 *   const board = buildArmVirt({...});
 *   const engine = new EmuEngine({ memory: board.memory, mmio: board.mmio, cpus,
 *     entry: board.entry, dtbAddr: board.dtbAddr, platform: board.platform, host });
 *   board.attach(engine);
 */
import { randomBytes } from 'node:crypto';
import type { BusDevice, ByteSink, IrqLine } from '../../devices/device.js';
import { Bus } from '../../devices/bus.js';
import { GicV2 } from '../../devices/gicv2.js';
import { GicV2Distributor } from '../../devices/gicv2-dist.js';
import { GicV2CpuInterface } from '../../devices/gicv2-cpu.js';
import { Pl011 } from '../../devices/pl011.js';
import { Pl031 } from '../../devices/pl031.js';
import { createEmuMemory, type GuestMemory } from '../../memory/guest-memory.js';
import type { EmuCpuHandle, EmuEngineControl, EmuPlatform } from '../../engines/emu/platform.js';
import { buildVirtDtb } from './dt.js';
import { DTB_MAX_SIZE, ImageError, loadArm64, type Arm64ImageHeader } from './image.js';
import { Psci } from './psci.js';
import { attachArmVirtPci, type ArmVirtPci, type PciFunctionFactory } from './pci.js';
import * as L from './layout.js';

/** A virtio-mmio device for a slot: built once its interrupt line (SPI 16+slot, edge) exists. */
export type VirtioMmioFactory = (irq: IrqLine, slot: number) => BusDevice;

export interface ArmVirtOptions {
  /** Guest RAM in bytes: a multiple of 2 MiB, 4 MiB .. 3 GiB (so RAM ends at or below 4 GiB). */
  memorySize: number;
  cpus: number;
  /** arm64 Image (Debian's vmlinuz), or a gzip-compressed Image. */
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
  consoleSink: ByteSink;
  /** Called when the UART has room again after refusing console input. */
  onConsoleRxSpace?: () => void;
  /** virtio-mmio devices, given slots 0, 1, ... in order. */
  virtio?: VirtioMmioFactory[];
  /**
   * When present (even empty): a PCI host bridge (ECAM at 0x3f000000, memory
   * window 0x10000000) and a GICv2m MSI frame, with these functions in slots 1, 2, ...
   */
  pci?: PciFunctionFactory[];
  /** Seed /chosen/rng-seed with 64 random bytes (default true). */
  rngSeed?: boolean;
  /** Put a random /chosen/kaslr-seed in the tree, enabling KASLR unless the cmdline says nokaslr (default false). */
  kaslrSeed?: boolean;
  /** Host wall clock for the RTC, in ms (default Date.now). */
  nowMs?: () => number;
}

export interface ArmVirtBoard {
  memory: GuestMemory;
  mmio: Bus;
  gic: GicV2;
  uart: Pl011;
  rtc: Pl031;
  psci: Psci;
  /** Give this to the EmuEngine constructor. */
  platform: EmuPlatform;
  /** PC of CPU 0. */
  entry: number;
  /** x0 of CPU 0. */
  dtbAddr: number;
  dtb: Uint8Array;
  kernelHeader: Arm64ImageHeader;
  initrdStart?: number;
  initrdEnd?: number;
  /** The virtio devices as placed: slot n at 0x0a000000 + 0x200 n. */
  virtio: Array<{ slot: number; base: number; spi: number; device: BusDevice }>;
  /** The PCI bus, v2m frame and functions (with `pci`). */
  pci?: ArmVirtPci;
  /** Connect the engine: IRQ outputs, current-CPU reporting and PSCI start working from here on. */
  attach(engine: EmuEngineControl): void;
}

const MIB = 1024 * 1024;
/** RAM is one heap region starting at 1 GiB; 3 GiB keeps it below the 4 GiB boundary and small enough for one ArrayBuffer. */
export const ARM_VIRT_MAX_RAM = 3 * 1024 * MIB;
/** Longest command line an arm64 kernel accepts (COMMAND_LINE_SIZE - 1). */
export const ARM64_CMDLINE_MAX = 2047;
/** Room for a kernel's first 2 MiB block and the DTB slot; whether the kernel fits is the loader's check. */
export const ARM_VIRT_MIN_RAM = 4 * MIB;

export function buildArmVirt(o: ArmVirtOptions): ArmVirtBoard {
  if (!Number.isInteger(o.memorySize) || o.memorySize < ARM_VIRT_MIN_RAM || o.memorySize % (2 * MIB) !== 0 || o.memorySize > ARM_VIRT_MAX_RAM) {
    throw new RangeError(`arm-virt: memory size must be a multiple of 2 MiB between 4 MiB and 3 GiB (got ${o.memorySize})`);
  }
  if (!Number.isInteger(o.cpus) || o.cpus < 1 || o.cpus > 8) throw new RangeError('arm-virt: 1..8 CPUs (GICv2 limit)');
  // arm64 COMMAND_LINE_SIZE is 2048 including the NUL; the kernel would silently truncate.
  const cmdlineBytes = Buffer.byteLength(o.cmdline, 'utf8');
  if (cmdlineBytes > ARM64_CMDLINE_MAX) throw new ImageError(`kernel command line is ${cmdlineBytes} bytes; arm64 Linux takes at most ${ARM64_CMDLINE_MAX}`);
  if (o.cmdline.includes('\0')) throw new ImageError('kernel command line contains a NUL byte');
  const virtioFactories = o.virtio ?? [];
  if (virtioFactories.length > L.VIRT_MMIO_SLOTS) throw new RangeError(`arm-virt: at most ${L.VIRT_MMIO_SLOTS} virtio-mmio devices`);

  let engine: EmuEngineControl | undefined;
  const requireEngine = (): EmuEngineControl => {
    if (!engine) throw new Error('arm-virt: engine not attached');
    return engine;
  };

  const memory = createEmuMemory(L.VIRT_RAM, o.memorySize);
  const mmio = new Bus('mmio');

  const gic = new GicV2({
    cpus: o.cpus,
    irqs: 256,
    // Before attach() no CPU runs and nothing can be pending; attach() replays the outputs.
    setCpuIrq: (cpu, level) => engine?.setIrq(cpu, level),
    currentCpu: () => (engine ? engine.currentCpu : 0),
  });
  mmio.register(L.VIRT_GIC_DIST, L.VIRT_GIC_DIST_SIZE, new GicV2Distributor(gic));
  mmio.register(L.VIRT_GIC_CPU, L.VIRT_GIC_CPU_SIZE, new GicV2CpuInterface(gic));

  const uart = new Pl011(gic.spiLine(L.VIRT_UART_SPI), o.consoleSink, o.onConsoleRxSpace);
  mmio.register(L.VIRT_UART, L.VIRT_UART_SIZE, uart);
  const rtc = new Pl031(gic.spiLine(L.VIRT_RTC_SPI), o.nowMs);
  mmio.register(L.VIRT_RTC, L.VIRT_RTC_SIZE, rtc);

  const virtio = virtioFactories.map((make, slot) => {
    const base = L.VIRT_MMIO + slot * L.VIRT_MMIO_SLOT_SIZE;
    const spi = L.VIRT_MMIO_SPI_BASE + slot;
    const device = make(gic.spiLine(spi), slot);
    mmio.register(base, L.VIRT_MMIO_SLOT_SIZE, device);
    return { slot, base, spi, device };
  });

  const pci = o.pci !== undefined ? attachArmVirtPci(mmio, gic, o.pci) : undefined;

  const loaded = loadArm64(memory, L.VIRT_RAM, o.memorySize, o.kernel, o.initrd);
  const dtb = buildVirtDtb({
    cpus: o.cpus,
    ramBase: L.VIRT_RAM,
    ramSize: o.memorySize,
    cmdline: o.cmdline,
    initrd: loaded.initrdStart !== undefined ? { start: loaded.initrdStart, end: loaded.initrdEnd! } : undefined,
    virtioSlots: virtio.map((v) => v.slot),
    rngSeed: o.rngSeed === false ? undefined : new Uint8Array(randomBytes(64)),
    kaslrSeed: o.kaslrSeed ? randomBytes(8).readBigUInt64BE() : undefined,
    pci: pci !== undefined,
  });
  if (dtb.length > DTB_MAX_SIZE) throw new ImageError(`device tree is ${dtb.length} bytes, more than 2 MiB`);
  memory.writeBytes(loaded.dtbAddr, dtb);

  const psci = new Psci(o.cpus, requireEngine);
  const platform: EmuPlatform = {
    hypercall(cpu: EmuCpuHandle, imm: number, isSmc: boolean): boolean {
      // The DT says method = "hvc": HVC #0 is PSCI; SMC has no EL3 to go to (UNDEFINED).
      if (isSmc || imm !== 0) return false;
      psci.call(cpu);
      return true;
    },
    timerIrq(cpuIndex: number, virt: boolean, level: boolean): void {
      gic.setLine(cpuIndex, 16 + (virt ? L.TIMER_PPI_VIRT : L.TIMER_PPI_PHYS), level);
    },
  };

  return {
    memory,
    mmio,
    gic,
    uart,
    rtc,
    psci,
    platform,
    entry: loaded.entry,
    dtbAddr: loaded.dtbAddr,
    dtb,
    kernelHeader: loaded.header,
    initrdStart: loaded.initrdStart,
    initrdEnd: loaded.initrdEnd,
    virtio,
    pci,
    attach(e: EmuEngineControl): void {
      engine = e;
      for (let c = 0; c < o.cpus; c++) e.setIrq(c, gic.irqPending(c));
    },
  };
}
