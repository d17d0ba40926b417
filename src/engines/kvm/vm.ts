/**
 * A KVM virtual machine: the /dev/kvm and VM file descriptors, memory slots,
 * the in-kernel irqchip (PIC + IOAPIC + LAPICs) and PIT, interrupt lines,
 * irqfd / ioeventfd registration and GSI routing (for MSI).
 */
import { sys, O_RDWR, EFD_NONBLOCK } from '../../sys/native.js';
import * as K from '../../sys/kvm-abi.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { IrqLine } from '../../devices/device.js';

/** Where KVM (VMX real-mode support) may put its TSS pages and identity map: just under 4 GiB, in the MMIO hole. */
export const KVM_TSS_ADDR = 0xfffb_d000;
export const KVM_IDENTITY_MAP_ADDR = 0xfffb_c000;
/** GSIs 0-23 are the IOAPIC pins (0-15 also the PIC's); MSI routes are allocated above. */
export const IOAPIC_PINS = 24;

export class KvmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KvmError';
  }
}

/**
 * Run one set-up step; a failure becomes a KvmError naming the step (the
 * errno name stays in .code), so the CLI can print one useful line.
 */
export function step<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KvmError) throw e;
    const err = new KvmError(`${what} failed: ${(e as Error).message}`);
    (err as KvmError & { code?: string }).code = (e as { code?: string }).code;
    throw err;
  }
}

export interface IoeventfdOptions {
  /** Port I/O address space (true) or MMIO (false). */
  pio: boolean;
  /** Access length the guest uses: 1, 2, 4 or 8 (0 = any length, MMIO only). */
  length: number;
  /** Only writes of exactly this value signal the eventfd. */
  datamatch?: number | bigint;
  /** Use this eventfd instead of creating one. */
  fd?: number;
}

export interface MsiMessage {
  addressLo: number;
  addressHi: number;
  data: number;
}

export class KvmVm {
  readonly kvmFd: number;
  readonly vmFd: number;
  readonly vcpuMmapSize: number;
  private nextSlot = 0;
  private readonly msiRoutes = new Map<number, MsiMessage>();
  private nextMsiGsi = IOAPIC_PINS;
  private readonly eventfds = new Set<number>();

  constructor(opts: { irqchip?: boolean; pit?: boolean } = {}) {
    const s = sys();
    this.kvmFd = step('open /dev/kvm', () => s.open('/dev/kvm', O_RDWR));
    try {
      const api = s.ioctl(this.kvmFd, K.KVM_GET_API_VERSION, 0);
      if (api !== K.KVM_API_VERSION) throw new KvmError(`KVM API version ${api}, need ${K.KVM_API_VERSION}`);
      this.vmFd = step('KVM_CREATE_VM', () => s.ioctl(this.kvmFd, K.KVM_CREATE_VM, 0));
    } catch (e) {
      s.close(this.kvmFd);
      throw e;
    }
    try {
      this.vcpuMmapSize = s.ioctl(this.kvmFd, K.KVM_GET_VCPU_MMAP_SIZE, 0);
      // VMX needs these for real-mode guests; other KVM flavours may lack the caps.
      if (this.checkExtension(K.KVM_CAP_SET_TSS_ADDR) > 0) {
        step('KVM_SET_TSS_ADDR', () => s.ioctl(this.vmFd, K.KVM_SET_TSS_ADDR, KVM_TSS_ADDR));
      }
      if (this.checkExtension(K.KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
        const a = new BigUint64Array([BigInt(KVM_IDENTITY_MAP_ADDR)]);
        step('KVM_SET_IDENTITY_MAP_ADDR', () => s.ioctl(this.vmFd, K.KVM_SET_IDENTITY_MAP_ADDR, a));
      }
      if (opts.irqchip !== false) {
        step('KVM_CREATE_IRQCHIP', () => s.ioctl(this.vmFd, K.KVM_CREATE_IRQCHIP, 0));
        if (opts.pit !== false) {
          const cfg = new Uint8Array(K.kvm_pit_config.SIZE);
          new DataView(cfg.buffer).setUint32(K.kvm_pit_config.flags, K.KVM_PIT_SPEAKER_DUMMY, true);
          step('KVM_CREATE_PIT2', () => s.ioctl(this.vmFd, K.KVM_CREATE_PIT2, cfg));
        }
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  checkExtension(cap: number): number {
    return sys().ioctl(this.vmFd, K.KVM_CHECK_EXTENSION, cap);
  }

  /** Highest vCPU count this VM accepts (KVM_CAP_MAX_VCPUS, else NR_VCPUS). */
  maxVcpus(): number {
    return this.checkExtension(K.KVM_CAP_MAX_VCPUS) || this.checkExtension(K.KVM_CAP_NR_VCPUS) || 1;
  }

  /** Register every region of `memory` (which must be mmap'd: hostAddr set) as a memory slot. */
  addMemory(memory: GuestMemory): void {
    for (const r of memory.regions) {
      if (r.hostAddr === undefined) throw new KvmError(`RAM region 0x${r.gpa.toString(16)} is not mmap'd (use createMmapMemory)`);
      const b = new Uint8Array(K.kvm_userspace_memory_region.SIZE);
      const v = new DataView(b.buffer);
      const L = K.kvm_userspace_memory_region;
      v.setUint32(L.slot, this.nextSlot++, true);
      v.setUint32(L.flags, 0, true);
      v.setBigUint64(L.guest_phys_addr, BigInt(r.gpa), true);
      v.setBigUint64(L.memory_size, BigInt(r.size), true);
      v.setBigUint64(L.userspace_addr, r.hostAddr, true);
      step(`KVM_SET_USER_MEMORY_REGION (0x${r.gpa.toString(16)}, ${r.size >> 20} MiB)`, () => sys().ioctl(this.vmFd, K.KVM_SET_USER_MEMORY_REGION, b));
    }
  }

  createVcpu(id: number): number {
    return step(`KVM_CREATE_VCPU ${id}`, () => sys().ioctl(this.vmFd, K.KVM_CREATE_VCPU, id));
  }

  /** An IrqLine driving GSI `gsi` of the in-kernel PIC/IOAPIC with KVM_IRQ_LINE. */
  irqLine(gsi: number): IrqLine {
    const vmFd = this.vmFd;
    const buf = new Uint32Array([gsi, 0]);
    const set = (level: boolean): void => {
      buf[1] = level ? 1 : 0;
      sys().ioctl(vmFd, K.KVM_IRQ_LINE, buf);
    };
    return {
      set,
      pulse() {
        set(true);
        set(false);
      },
    };
  }

  /**
   * An eventfd wired to GSI `gsi` with KVM_IRQFD: writing it injects an
   * edge-triggered interrupt from any thread without a syscall into the VM fd.
   * The returned line's set(true) and pulse() both signal; set(false) does
   * nothing (edge semantics: irqfd asserts and deasserts by itself).
   */
  irqfd(gsi: number, fd?: number): { fd: number; line: IrqLine; close(): void } {
    const own = fd === undefined;
    const efd = fd ?? this.ownEventfd();
    const b = new Uint8Array(K.kvm_irqfd.SIZE);
    const v = new DataView(b.buffer);
    v.setUint32(K.kvm_irqfd.fd, efd, true);
    v.setUint32(K.kvm_irqfd.gsi, gsi, true);
    step(`KVM_IRQFD (GSI ${gsi})`, () => sys().ioctl(this.vmFd, K.KVM_IRQFD, b));
    return {
      fd: efd,
      line: {
        set(level) {
          if (level) sys().eventfdWrite(efd, 1);
        },
        pulse() {
          sys().eventfdWrite(efd, 1);
        },
      },
      close: () => {
        v.setUint32(K.kvm_irqfd.flags, K.KVM_IRQFD_FLAG_DEASSIGN, true);
        sys().ioctl(this.vmFd, K.KVM_IRQFD, b);
        if (own) this.closeOwnEventfd(efd);
      },
    };
  }

  /**
   * Make guest writes to `addr` signal an eventfd inside the kernel (no exit to
   * userspace). Returns the (non-blocking) eventfd and a function that removes
   * the registration.
   */
  ioeventfd(addr: number, opts: IoeventfdOptions): { fd: number; remove(): void } {
    const own = opts.fd === undefined;
    const fd = opts.fd ?? this.ownEventfd();
    const b = new Uint8Array(K.kvm_ioeventfd.SIZE);
    const v = new DataView(b.buffer);
    const L = K.kvm_ioeventfd;
    let flags = opts.pio ? K.KVM_IOEVENTFD_FLAG_PIO : 0;
    if (opts.datamatch !== undefined) {
      flags |= K.KVM_IOEVENTFD_FLAG_DATAMATCH;
      v.setBigUint64(L.datamatch, BigInt.asUintN(64, BigInt(opts.datamatch)), true);
    }
    v.setBigUint64(L.addr, BigInt(addr), true);
    v.setUint32(L.len, opts.length, true);
    v.setInt32(L.fd, fd, true);
    v.setUint32(L.flags, flags, true);
    step(`KVM_IOEVENTFD (${opts.pio ? 'port' : 'MMIO'} 0x${addr.toString(16)})`, () => sys().ioctl(this.vmFd, K.KVM_IOEVENTFD, b));
    return {
      fd,
      remove: () => {
        v.setUint32(L.flags, flags | K.KVM_IOEVENTFD_FLAG_DEASSIGN, true);
        sys().ioctl(this.vmFd, K.KVM_IOEVENTFD, b);
        if (own) this.closeOwnEventfd(fd);
      },
    };
  }

  /** A non-blocking eventfd owned by this VM: closed by close() unless released earlier. */
  private ownEventfd(): number {
    const fd = sys().eventfd(0, EFD_NONBLOCK);
    this.eventfds.add(fd);
    return fd;
  }

  private closeOwnEventfd(fd: number): void {
    if (this.eventfds.delete(fd)) sys().close(fd);
  }

  /** A fresh GSI (24 and up) for an MSI route. */
  allocMsiGsi(): number {
    return this.nextMsiGsi++;
  }

  /**
   * Point `gsi` (from allocMsiGsi) at an MSI message, or remove it (msg
   * undefined), and install the whole routing table. The default routes for
   * GSIs 0-23 (PIC + IOAPIC) are always part of the table, since
   * KVM_SET_GSI_ROUTING replaces all routes.
   */
  setMsiRoute(gsi: number, msg: MsiMessage | undefined): void {
    if (gsi < IOAPIC_PINS) throw new RangeError(`GSI ${gsi} is an IOAPIC pin, not an MSI route`);
    if (msg) this.msiRoutes.set(gsi, { ...msg });
    else this.msiRoutes.delete(gsi);
    this.commitRoutes();
  }

  private commitRoutes(): void {
    const E = K.kvm_irq_routing_entry;
    const entries: Array<(v: DataView, off: number) => void> = [];
    for (let gsi = 0; gsi < IOAPIC_PINS; gsi++) {
      if (gsi < 16) {
        entries.push((v, o) => irqchipEntry(v, o, gsi, gsi < 8 ? K.KVM_IRQCHIP_PIC_MASTER : K.KVM_IRQCHIP_PIC_SLAVE, gsi % 8));
      }
      entries.push((v, o) => irqchipEntry(v, o, gsi, K.KVM_IRQCHIP_IOAPIC, gsi));
    }
    for (const [gsi, m] of this.msiRoutes) {
      entries.push((v, o) => {
        v.setUint32(o + E.gsi, gsi, true);
        v.setUint32(o + E.type, K.KVM_IRQ_ROUTING_MSI, true);
        v.setUint32(o + E.msi_address_lo, m.addressLo >>> 0, true);
        v.setUint32(o + E.msi_address_hi, m.addressHi >>> 0, true);
        v.setUint32(o + E.msi_data, m.data >>> 0, true);
      });
    }
    const b = new Uint8Array(K.kvm_irq_routing.SIZE + entries.length * E.SIZE);
    const v = new DataView(b.buffer);
    v.setUint32(K.kvm_irq_routing.nr, entries.length, true);
    entries.forEach((fill, i) => fill(v, K.kvm_irq_routing.entries + i * E.SIZE));
    sys().ioctl(this.vmFd, K.KVM_SET_GSI_ROUTING, b);
  }

  /** Inject one MSI directly (KVM_SIGNAL_MSI), without a route. */
  signalMsi(msg: MsiMessage): void {
    const b = new Uint32Array([msg.addressLo >>> 0, msg.addressHi >>> 0, msg.data >>> 0, 0, 0, 0, 0, 0]);
    sys().ioctl(this.vmFd, K.KVM_SIGNAL_MSI, b);
  }

  close(): void {
    for (const fd of [...this.eventfds, this.vmFd, this.kvmFd]) {
      try {
        sys().close(fd);
      } catch {
        // already closed
      }
    }
    this.eventfds.clear();
  }
}

function irqchipEntry(v: DataView, o: number, gsi: number, chip: number, pin: number): void {
  const E = K.kvm_irq_routing_entry;
  v.setUint32(o + E.gsi, gsi, true);
  v.setUint32(o + E.type, K.KVM_IRQ_ROUTING_IRQCHIP, true);
  v.setUint32(o + E.irqchip_irqchip, chip, true);
  v.setUint32(o + E.irqchip_pin, pin, true);
}
