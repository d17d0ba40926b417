/**
 * Puts virtio devices on a PCI bus for the x86 board under kvm: the bus's
 * config ports at 0xCF8-0xCFF on the port-I/O bus, its BAR window on the MMIO
 * bus, one virtio-pci function per device (slots 1..), interrupts through
 * the kvm engine (MSI-X routes + irqfd, INTx fallback) and queue
 * notifications through ioeventfds (KvmNotifier, a host-link source).
 *
 * On the Arm virt board (`virtioTransport: 'pci'`) the same VirtioPci
 * functions sit behind the board's ECAM host bridge: `armPciFactories`.
 *
 * Why PCI rather than virtio-mmio described in ACPI: Linux's x86 virtio-mmio
 * has no MSI (one shared-per-device edge line, ISR read + ack exit per
 * interrupt), while modern virtio-pci gives a vector per queue via MSI-X that
 * KVM delivers from an irqfd with no userspace exit, and needs no ACPI tables
 * (the legacy conf1 probe finds the bus on a kernel booted with an MP table).
 */
import type { Bus } from '../devices/bus.js';
import type { IrqLine } from '../devices/device.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { HostLinkWorker } from '../vmm/host-link.js';
import type { VirtioDevice } from './device.js';
import { PciBus, PCI_CONFIG_ADDRESS, sharedIntx } from './pci.js';
import { VirtioPci, BAR_SIZE, type PciInterrupts } from './pci-virtio.js';
import { KvmNotifier, kvmPciInterrupts, type KvmIrqApi } from './pci-kvm.js';

/** IOAPIC pins for INTx (not used by the board's legacy devices). */
export const PCI_INTX_GSIS = [5, 9, 10, 11] as const;

export interface PciVirtio {
  bus: PciBus;
  functions: VirtioPci[];
  notifier: KvmNotifier;
  /** After the kvm engine exists: register ioeventfds and start the watcher. */
  start(): void;
  close(): void;
}

export function attachPciVirtio(o: {
  pio: Bus;
  mmio: Bus;
  memory: GuestMemory;
  devices: readonly VirtioDevice[];
  kvm: () => KvmIrqApi;
  host: HostLinkWorker;
  log?: (m: string) => void;
}): PciVirtio {
  const bus = new PciBus();
  o.pio.register(PCI_CONFIG_ADDRESS, 8, bus.ports);
  o.mmio.register(bus.windowBase, bus.windowSize, bus.window);
  const notifier = new KvmNotifier(o.kvm, () => o.host.wakeTarget());
  o.host.addSource(notifier);
  // More than 4 functions share INTx GSIs: one KVM_IRQ_LINE level per GSI, high while any function asserts it.
  const intxByGsi = new Map<number, () => IrqLine>();
  const functions = o.devices.map((dev, i) => {
    const gsi = PCI_INTX_GSIS[i % PCI_INTX_GSIS.length]!;
    const irq = kvmPciInterrupts(o.kvm, gsi);
    let intx = intxByGsi.get(gsi);
    if (intx === undefined) intxByGsi.set(gsi, (intx = sharedIntx(irq.intx)));
    const f = new VirtioPci(dev, o.memory, bus.allocBar(BAR_SIZE), { ...irq, intx: intx() }, notifier, o.log);
    bus.add(f);
    return f;
  });
  return {
    bus,
    functions,
    notifier,
    start: () => notifier.start(),
    close: () => {
      notifier.close();
      for (const f of functions) f.close();
    },
  };
}

/**
 * virtio-pci functions for the Arm virt board (buildArmVirt's `pci`): one per
 * device, BAR0 from the board's window, interrupts from the board (INTx +
 * GICv2m MSI-X). Notifications are plain MMIO writes (the emu engine runs
 * every device on the machine thread; there is no ioeventfd).
 */
export function armPciFactories(devices: readonly VirtioDevice[], memory: () => GuestMemory, log?: (m: string) => void): Array<(ctx: { bus: PciBus; slot: number; irq: PciInterrupts }) => VirtioPci> {
  return devices.map((dev) => ({ bus, irq }) => new VirtioPci(dev, memory, bus.allocBar(BAR_SIZE), irq, undefined, log));
}
