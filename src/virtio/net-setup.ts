/**
 * Builds the virtio-net NICs (tap backends) and the virtio-vsock device
 * (Unix-socket backend) a MachineConfig asks for, and registers their
 * backends as host-link sources so their I/O threads' work reaches the
 * devices at the machine thread's host poll. Transport-independent: the
 * builder puts them on virtio-mmio (arm-virt) or virtio-pci (x86).
 */
import type { BusDevice, IrqLine } from '../devices/device.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { MachineConfig } from '../vmm/config.js';
import type { HostLinkWorker } from '../vmm/host-link.js';
import { TapBackend } from '../backends/tap.js';
import { UnixVsockBackend } from '../backends/unix-vsock.js';
import { parseMac } from '../backends/net.js';
import type { VirtioDevice } from './device.js';
import { VirtioMmio } from './mmio.js';
import { VirtioNet } from './net.js';
import { VirtioVsock } from './vsock.js';
import { VirtioSetupError } from './setup.js';

export interface NetDevices {
  devices: VirtioDevice[];
  nics: VirtioNet[];
  vsock: VirtioVsock | undefined;
  mmioFactories(memory: () => GuestMemory): Array<(irq: IrqLine, slot: number) => BusDevice>;
  close(): void;
}

export function buildNetDevices(cfg: Pick<MachineConfig, 'nics' | 'vsock'>, host: HostLinkWorker, log?: (m: string) => void): NetDevices {
  const nics: VirtioNet[] = [];
  let vsock: VirtioVsock | undefined;
  const closeAll = (): void => {
    for (const d of [...nics, ...(vsock ? [vsock] : [])]) {
      try {
        d.close();
      } catch {
        // best effort
      }
    }
  };
  try {
    for (const n of cfg.nics ?? []) {
      let tap: TapBackend;
      try {
        tap = new TapBackend({ ifname: n.tap, netns: n.netns, wake: host.wakeTarget() });
      } catch (e) {
        throw new VirtioSetupError(`cannot open tap ${n.tap}${n.netns ? ` in netns ${n.netns}` : ''}: ${(e as Error).message}`);
      }
      host.addSource(tap);
      nics.push(new VirtioNet({ backend: tap, mac: parseMac(n.mac!) }));
    }
    if (cfg.vsock) {
      const be = new UnixVsockBackend({ path: cfg.vsock.socket, wake: host.wakeTarget() });
      host.addSource(be);
      vsock = new VirtioVsock({ guestCid: cfg.vsock.cid, backend: be });
    }
  } catch (e) {
    closeAll();
    throw e;
  }
  const devices: VirtioDevice[] = [...nics, ...(vsock ? [vsock] : [])];
  return {
    devices,
    nics,
    vsock,
    mmioFactories: (memory) => devices.map((dev) => (irq: IrqLine) => new VirtioMmio(dev, irq, memory, log)),
    close: closeAll,
  };
}
