/**
 * The one builder: MachineConfig -> board + engine + devices, on the machine
 * thread. Everything engine-specific about assembling a VM lives here; the
 * boards and engines themselves do not know about each other's construction
 * order.
 */
import { readFileSync } from 'node:fs';
import type { IrqLine } from '../devices/device.js';
import type { MachineConfig } from './config.js';
import type { Engine, ExitStatus } from './engine.js';
import type { HostLinkWorker } from './host-link.js';
import { buildArmVirt } from '../boards/arm-virt/index.js';
import { EmuEngine } from '../engines/emu/index.js';
import { buildX86Board } from '../boards/x86/board.js';
import { KvmEngine, createMmapMemory, probeKvm, x86RamLayout } from '../engines/kvm/index.js';
import { ImageError } from '../boards/arm-virt/image.js';
import { X86LoadError } from '../boards/x86/errors.js';
import { buildVirtioDevices, VirtioSetupError } from '../virtio/setup.js';
import { buildNetDevices } from '../virtio/net-setup.js';
import { attachPciVirtio } from '../virtio/pci-setup.js';

/** A problem with the user's inputs found while building (bad kernel file, no /dev/kvm...): one line for the user. */
export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

export interface BuiltMachine {
  engine: Engine;
  /** How the main thread interrupts engine.run() (kvm: a signal to this thread). */
  kick?: { tid: number; signal: number };
  dispose?: () => void;
}

function readInput(what: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new BuildError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

export function buildMachine(cfg: MachineConfig, host: HostLinkWorker): BuiltMachine {
  const kernel = readInput('kernel', cfg.kernel);
  const initrd = cfg.initrd !== undefined ? readInput('initrd', cfg.initrd) : undefined;
  try {
    return cfg.accel === 'emu' ? buildEmu(cfg, host, kernel, initrd) : buildKvm(cfg, host, kernel, initrd);
  } catch (e) {
    if (e instanceof ImageError || e instanceof X86LoadError || e instanceof VirtioSetupError) throw new BuildError(e.message);
    throw e;
  }
}

function buildEmu(cfg: MachineConfig, host: HostLinkWorker, kernel: Uint8Array, initrd: Uint8Array | undefined): BuiltMachine {
  const virtio = buildVirtioDevices(cfg, host.consoleOutput, { wake: host.wakeTarget() });
  for (const s of virtio.sources) host.addSource(s);
  let net;
  try {
    net = buildNetDevices(cfg, host);
  } catch (e) {
    virtio.close();
    throw e;
  }
  const board = buildArmVirt({
    memorySize: cfg.memoryBytes,
    cpus: cfg.cpus,
    kernel,
    initrd,
    cmdline: cfg.cmdline,
    consoleSink: host.consoleOutput,
    virtio: [...virtio.mmioFactories(() => board.memory), ...net.mmioFactories(() => board.memory)],
  });
  host.consoleInput = virtio.consoleInput((bytes) => board.uart.receive(bytes));
  const engine = new EmuEngine({
    memory: board.memory,
    mmio: board.mmio,
    cpus: cfg.cpus,
    entry: board.entry,
    dtbAddr: board.dtbAddr,
    platform: board.platform,
    host,
    ...(cfg.accelOptions.jit !== undefined ? { jit: cfg.accelOptions.jit === 'on' } : {}),
  });
  board.attach(engine);
  const netDevs = net;
  return {
    engine,
    dispose: () => {
      virtio.close();
      netDevs.close();
    },
  };
}

function buildKvm(cfg: MachineConfig, host: HostLinkWorker, kernel: Uint8Array, initrd: Uint8Array | undefined): BuiltMachine {
  const probe = probeKvm();
  if (!probe.ok) throw new BuildError(probe.reason);
  let memory;
  try {
    memory = createMmapMemory(x86RamLayout(cfg.memoryBytes));
  } catch (e) {
    throw new BuildError(`cannot map ${cfg.memoryBytes >> 20} MiB of guest memory: ${(e as Error).message}`);
  }
  // The board needs interrupt lines before the engine (which needs the board's boot state) exists.
  let engine: KvmEngine | undefined;
  const early: ExitStatus[] = [];
  const lazyLine = (gsi: number): IrqLine => {
    let line: IrqLine | undefined;
    const get = (): IrqLine | undefined => (line ??= engine?.irqLine(gsi));
    return { set: (level) => get()?.set(level), pulse: () => get()?.pulse() };
  };
  const board = buildX86Board({
    memory,
    cpus: cfg.cpus,
    kernel,
    initrd,
    cmdline: cfg.cmdline,
    consoleSink: host.consoleOutput,
    irqLine: lazyLine,
    onExit: (status) => (engine ? engine.requestStop(status) : early.push(status)),
  });
  // virtio on x86: PCI (see virtio/pci-setup.ts for why not ACPI-described virtio-mmio).
  const virtio = buildVirtioDevices(cfg, host.consoleOutput, { wake: host.wakeTarget() });
  for (const s of virtio.sources) host.addSource(s);
  let net;
  try {
    net = buildNetDevices(cfg, host);
  } catch (e) {
    virtio.close();
    throw e;
  }
  const allVirtio = [...virtio.devices, ...net.devices];
  const pci = allVirtio.length > 0 ? attachPciVirtio({ pio: board.pio, mmio: board.mmio, memory, devices: allVirtio, kvm: () => engine!, host }) : undefined;
  host.consoleInput = virtio.consoleInput((bytes) => board.uart.receive(bytes));
  try {
    engine = new KvmEngine({ memory, pio: board.pio, mmio: board.mmio, cpus: cfg.cpus, bootState: board.bootState, host });
    // The kick handler exists now: backend workers may signal this thread.
    host.setKickTarget(engine.kick);
    pci?.start();
  } catch (e) {
    pci?.close();
    virtio.close();
    net.close();
    throw e;
  }
  for (const s of early) engine.requestStop(s);
  const e = engine;
  const netDevs = net;
  return {
    engine: e,
    kick: e.kick,
    dispose: () => {
      pci?.close();
      virtio.close();
      netDevs.close();
      e.close();
    },
  };
}
