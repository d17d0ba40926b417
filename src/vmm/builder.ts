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
import { PanicWatch } from './panic-watch.js';
import type { KvmEngine } from '../engines/kvm/index.js';
import type { VirtioDevices } from '../virtio/setup.js';
import type { NetDevices } from '../virtio/net-setup.js';

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

/** Errors of the lazily loaded loaders/devices that mean bad user input (by name: their modules may not be loaded). */
const INPUT_ERRORS = new Set(['ImageError', 'X86LoadError', 'VirtioSetupError']);

/**
 * Engine, board and virtio modules are imported on demand (start-up time and
 * memory: a kvm VM loads neither the emulator nor, without virtio devices, the
 * virtio code).
 */
export async function buildMachine(cfg: MachineConfig, host: HostLinkWorker): Promise<BuiltMachine> {
  const kernel = readInput('kernel', cfg.kernel);
  const initrd = cfg.initrd !== undefined ? readInput('initrd', cfg.initrd) : undefined;
  try {
    return cfg.accel === 'emu' ? await buildEmu(cfg, host, kernel, initrd) : await buildKvm(cfg, host, kernel, initrd);
  } catch (e) {
    if (e instanceof Error && INPUT_ERRORS.has(e.name)) throw new BuildError(e.message);
    throw e;
  }
}

/** Config fields that never need virtio code (`console` only with 'virtio'). */
const NON_VIRTIO_FIELDS = new Set(['accel', 'arch', 'kernel', 'initrd', 'cmdline', 'memoryBytes', 'cpus', 'accelOptions', 'console', 'virtioTransport']);

/**
 * The virtio builders, or empty stand-ins when the config asks for no virtio
 * device. Any other config field that is set (not undefined/false/empty) loads
 * the real ones, so a new device option works without touching this.
 */
async function virtioParts(cfg: MachineConfig): Promise<{
  buildVirtioDevices: typeof import('../virtio/setup.js').buildVirtioDevices;
  buildNetDevices: typeof import('../virtio/net-setup.js').buildNetDevices;
  attachPciVirtio: typeof import('../virtio/pci-setup.js').attachPciVirtio;
  armPciFactories: typeof import('../virtio/pci-setup.js').armPciFactories;
}> {
  const wanted =
    cfg.console === 'virtio' ||
    Object.entries(cfg).some(([k, v]) => !NON_VIRTIO_FIELDS.has(k) && v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0));
  if (wanted) {
    const [setup, net, pci] = await Promise.all([import('../virtio/setup.js'), import('../virtio/net-setup.js'), import('../virtio/pci-setup.js')]);
    return { buildVirtioDevices: setup.buildVirtioDevices, buildNetDevices: net.buildNetDevices, attachPciVirtio: pci.attachPciVirtio, armPciFactories: pci.armPciFactories };
  }
  const none = { devices: [], mmioFactories: () => [], close: () => {} };
  const noVirtio: VirtioDevices = { ...none, disks: [], console: undefined, sources: [], consoleInput: (fallback) => fallback };
  const noNet: NetDevices = { ...none, nics: [], vsock: undefined };
  return {
    buildVirtioDevices: () => noVirtio,
    buildNetDevices: () => noNet,
    attachPciVirtio: () => {
      throw new Error('virtio-pci without virtio devices');
    },
    armPciFactories: () => [],
  };
}

type VirtioParts = Awaited<ReturnType<typeof virtioParts>>;

/** The config's virtio devices (blk/rng/console, then net/vsock), their cross-thread sources registered with the host. */
function buildDevices(parts: VirtioParts, cfg: MachineConfig, host: HostLinkWorker): { virtio: VirtioDevices; net: NetDevices } {
  const virtio = parts.buildVirtioDevices(cfg, host.consoleOutput, { wake: host.wakeTarget() });
  for (const s of virtio.sources) host.addSource(s);
  try {
    return { virtio, net: parts.buildNetDevices(cfg, host) };
  } catch (e) {
    virtio.close();
    throw e;
  }
}

/** End the VM as a panic when the guest kernel panics on a console; returns the function that names the engine to stop. */
function watchPanic(host: HostLinkWorker): (engine: { requestStop(s: ExitStatus): void }) => void {
  let engine: { requestStop(s: ExitStatus): void } | undefined;
  const watch = new PanicWatch((message) => engine?.requestStop({ kind: 'panic', message }));
  host.consoleTap = (bytes) => watch.feed(bytes);
  return (e) => {
    engine = e;
  };
}

async function buildEmu(cfg: MachineConfig, host: HostLinkWorker, kernel: Uint8Array, initrd: Uint8Array | undefined): Promise<BuiltMachine> {
  const [{ buildArmVirt }, { EmuEngine }, parts] = await Promise.all([
    import('../boards/arm-virt/index.js'),
    import('../engines/emu/index.js'),
    virtioParts(cfg),
  ]);
  const { virtio, net } = buildDevices(parts, cfg, host);
  const panicStops = watchPanic(host);
  const close = (): void => {
    virtio.close();
    net.close();
  };
  try {
    return startArmVirt();
  } catch (e) {
    close();
    throw e;
  }

  function startArmVirt(): BuiltMachine {
    const memory = () => board.memory;
    // --virtio-transport pci: the same devices as virtio-pci functions behind the board's ECAM host bridge.
    const onPci = cfg.virtioTransport === 'pci';
    const board = buildArmVirt({
      memorySize: cfg.memoryBytes,
      cpus: cfg.cpus,
      kernel,
      initrd,
      cmdline: cfg.cmdline,
      consoleSink: host.consoleOutput,
      onConsoleRxSpace: () => host.rxSpace(),
      virtio: onPci ? [] : [...virtio.mmioFactories(memory), ...net.mmioFactories(memory)],
      ...(onPci ? { pci: parts.armPciFactories([...virtio.devices, ...net.devices], memory) } : {}),
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
    panicStops(engine);
    return { engine, dispose: close };
  }
}

async function buildKvm(cfg: MachineConfig, host: HostLinkWorker, kernel: Uint8Array, initrd: Uint8Array | undefined): Promise<BuiltMachine> {
  const [{ buildX86Board }, { KvmEngine, createMmapMemory, probeKvm, x86RamLayout }, parts] = await Promise.all([
    import('../boards/x86/board.js'),
    import('../engines/kvm/index.js'),
    virtioParts(cfg),
  ]);
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
    onConsoleRxSpace: () => host.rxSpace(),
    irqLine: lazyLine,
    onExit: (status) => (engine ? engine.requestStop(status) : early.push(status)),
  });
  // virtio on x86: PCI (see virtio/pci-setup.ts for why not ACPI-described virtio-mmio).
  const { virtio, net } = buildDevices(parts, cfg, host);
  const allVirtio = [...virtio.devices, ...net.devices];
  const pci = allVirtio.length > 0 ? parts.attachPciVirtio({ pio: board.pio, mmio: board.mmio, memory, devices: allVirtio, kvm: () => engine!, host }) : undefined;
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
  watchPanic(host)(engine);
  const e = engine;
  return {
    engine: e,
    kick: e.kick,
    dispose: () => {
      pci?.close();
      virtio.close();
      net.close();
      e.close();
    },
  };
}
