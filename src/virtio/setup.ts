/**
 * Builds the virtio devices a MachineConfig asks for (disks, rng, console),
 * independent of transport; the builder plugs them into the board's transport
 * (virtio-mmio slots on arm-virt).
 *
 * Order of devices (= mmio slots = probe order): disks (vda, vdb, ...), rng,
 * console. Console input: with `console: 'virtio'` it goes to hvc0 once the
 * guest's virtio_console driver has set DRIVER_OK, and to the UART before that.
 */
import type { BusDevice, ByteSink, IrqLine } from '../devices/device.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { MachineConfig } from '../vmm/config.js';
import { BlockFile, type BlockBackend } from '../backends/block-file.js';
import { AsyncBlockFile } from '../backends/block-async.js';
import type { HostSource, WakeTarget } from '../vmm/host-link.js';
import { VirtioBlk } from './blk.js';
import { VirtioConsole } from './console.js';
import type { VirtioDevice } from './device.js';
import { VirtioMmio } from './mmio.js';
import { VirtioRng } from './rng.js';

export class VirtioSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VirtioSetupError';
  }
}

export interface VirtioDevices {
  devices: VirtioDevice[];
  disks: VirtioBlk[];
  console: VirtioConsole | undefined;
  /** Register these with the host link (HostLinkWorker.addSource): disk I/O completions. */
  sources: HostSource[];
  /** One virtio-mmio factory per device, for buildArmVirt's `virtio`. */
  mmioFactories(memory: () => GuestMemory): Array<(irq: IrqLine, slot: number) => BusDevice>;
  /** Console input router: to the virtio console when chosen and active, else `fallback`. */
  consoleInput(fallback: (bytes: Uint8Array) => number): (bytes: Uint8Array) => number;
  close(): void;
}

export interface VirtioBuildOptions {
  /**
   * Disk I/O: 'worker' (default) runs file I/O on one worker thread per disk,
   * completions come back through `sources`; 'sync' does it on the machine
   * thread. The environment variable TSVISOR_BLK_IO=sync|worker overrides.
   */
  io?: 'worker' | 'sync';
  /** How I/O workers wake the machine thread (HostLinkWorker.wakeTarget()). */
  wake?: WakeTarget;
  log?: (m: string) => void;
}

export function buildVirtioDevices(cfg: Pick<MachineConfig, 'disks' | 'rng' | 'console'>, consoleSink: ByteSink, opts: VirtioBuildOptions = {}): VirtioDevices {
  const log = opts.log;
  const envIo = process.env.TSVISOR_BLK_IO;
  const io = envIo === 'sync' || envIo === 'worker' ? envIo : (opts.io ?? 'worker');
  const devices: VirtioDevice[] = [];
  const disks: VirtioBlk[] = [];
  try {
    for (const d of cfg.disks ?? []) {
      let backend: BlockBackend;
      try {
        const o = { readOnly: d.readOnly, direct: d.direct };
        backend = io === 'worker' ? new AsyncBlockFile(d.path, { ...o, wake: opts.wake }) : new BlockFile(d.path, o);
      } catch (e) {
        throw new VirtioSetupError(`cannot open disk ${d.path}: ${(e as Error).message}`);
      }
      const pollEnv = Number(process.env.TSVISOR_BLK_POLL_US);
      const blk = new VirtioBlk(backend, {
        serial: d.serial,
        ...(Number.isFinite(pollEnv) && process.env.TSVISOR_BLK_POLL_US !== '' ? { pollUs: pollEnv } : {}),
        // TSVISOR_BLK_INLINE=1: page-cache hits inline on the machine thread (VirtioBlkOptions.inline).
        inline: process.env.TSVISOR_BLK_INLINE === '1',
      });
      disks.push(blk);
      devices.push(blk);
    }
  } catch (e) {
    for (const b of disks) b.close();
    throw e;
  }
  if (cfg.rng) devices.push(new VirtioRng());
  let console: VirtioConsole | undefined;
  if (cfg.console === 'virtio') {
    console = new VirtioConsole(consoleSink);
    devices.push(console);
  }
  const sources: HostSource[] = disks.map((blk) => ({ pending: () => blk.hasCompletions(), poll: () => blk.pollCompletions() }));
  return {
    devices,
    disks,
    console,
    sources,
    mmioFactories: (memory) => devices.map((dev) => (irq: IrqLine) => new VirtioMmio(dev, irq, memory, log)),
    consoleInput: (fallback) => {
      if (console === undefined) return fallback;
      const c = console;
      return (bytes) => (c.active ? c.receive(bytes) : fallback(bytes));
    },
    close: () => {
      for (const d of devices) {
        try {
          d.close?.();
        } catch {
          // best effort at VM end
        }
      }
    },
  };
}
