/**
 * The KVM userspace ABI for x86-64, as used by tsvisor: ioctl numbers,
 * constants and struct layouts (byte offsets and sizes), each defined once.
 * Names follow /usr/include/linux/kvm.h (and asm/kvm.h). The layouts are
 * checked against the C headers by test/unit/sys-kvm-abi.test.ts.
 */

// ---- ioctl number encoding (asm-generic/ioctl.h) ----
const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;
const KVMIO = 0xae;
function ioc(dir: number, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (KVMIO << 8) | nr) >>> 0;
}
const io = (nr: number) => ioc(IOC_NONE, nr, 0);
const ior = (nr: number, size: number) => ioc(IOC_READ, nr, size);
const iow = (nr: number, size: number) => ioc(IOC_WRITE, nr, size);
const iowr = (nr: number, size: number) => ioc(IOC_READ | IOC_WRITE, nr, size);

// ---- struct layouts: byte offsets, and SIZE ----
export const kvm_regs = {
  rax: 0, rbx: 8, rcx: 16, rdx: 24, rsi: 32, rdi: 40, rsp: 48, rbp: 56,
  r8: 64, r9: 72, r10: 80, r11: 88, r12: 96, r13: 104, r14: 112, r15: 120,
  rip: 128, rflags: 136, SIZE: 144,
} as const;

export const kvm_segment = {
  base: 0, limit: 8, selector: 12, type: 14, present: 15, dpl: 16, db: 17, s: 18, l: 19, g: 20, avl: 21,
  unusable: 22, padding: 23, SIZE: 24,
} as const;

export const kvm_dtable = { base: 0, limit: 8, SIZE: 16 } as const;

export const kvm_sregs = {
  cs: 0, ds: 24, es: 48, fs: 72, gs: 96, ss: 120, tr: 144, ldt: 168, gdt: 192, idt: 208,
  cr0: 224, cr2: 232, cr3: 240, cr4: 248, cr8: 256, efer: 264, apic_base: 272, interrupt_bitmap: 280, SIZE: 312,
} as const;

export const kvm_fpu = {
  fpr: 0, fcw: 128, fsw: 130, ftwx: 132, last_opcode: 134, last_ip: 136, last_dp: 144, xmm: 152, mxcsr: 408, SIZE: 416,
} as const;

export const kvm_run = {
  request_interrupt_window: 0, immediate_exit: 1, exit_reason: 8, ready_for_interrupt_injection: 12, if_flag: 13,
  flags: 14, cr8: 16, apic_base: 24,
  /** Start of the exit-reason union. */
  exit: 32,
  // KVM_EXIT_IO
  io_direction: 32, io_size: 33, io_port: 34, io_count: 36, io_data_offset: 40,
  // KVM_EXIT_MMIO
  mmio_phys_addr: 32, mmio_data: 40, mmio_len: 48, mmio_is_write: 52,
  // KVM_EXIT_FAIL_ENTRY
  fail_entry_hardware_entry_failure_reason: 32, fail_entry_cpu: 40,
  // KVM_EXIT_INTERNAL_ERROR
  internal_suberror: 32, internal_ndata: 36, internal_data: 40,
  // KVM_EXIT_SYSTEM_EVENT
  system_event_type: 32, system_event_ndata: 36, system_event_data: 40,
  kvm_valid_regs: 288, kvm_dirty_regs: 296,
  /** Not the mmap size (ask KVM_GET_VCPU_MMAP_SIZE); sizeof(struct kvm_run). */
  SIZE: 2352,
} as const;

export const kvm_cpuid2 = { nent: 0, entries: 8, SIZE: 8 } as const;
export const kvm_cpuid_entry2 = { function: 0, index: 4, flags: 8, eax: 12, ebx: 16, ecx: 20, edx: 24, SIZE: 40 } as const;

export const kvm_msrs = { nmsrs: 0, entries: 8, SIZE: 8 } as const;
export const kvm_msr_entry = { index: 0, data: 8, SIZE: 16 } as const;
export const kvm_msr_list = { nmsrs: 0, indices: 4, SIZE: 4 } as const;

export const kvm_userspace_memory_region = {
  slot: 0, flags: 4, guest_phys_addr: 8, memory_size: 16, userspace_addr: 24, SIZE: 32,
} as const;

export const kvm_irq_routing = { nr: 0, flags: 4, entries: 8, SIZE: 8 } as const;
export const kvm_irq_routing_entry = {
  gsi: 0, type: 4, flags: 8, u: 16,
  irqchip_irqchip: 16, irqchip_pin: 20,
  msi_address_lo: 16, msi_address_hi: 20, msi_data: 24, msi_devid: 28,
  SIZE: 48,
} as const;

export const kvm_ioeventfd = { datamatch: 0, addr: 8, len: 16, fd: 20, flags: 24, SIZE: 64 } as const;
export const kvm_irqfd = { fd: 0, gsi: 4, flags: 8, resamplefd: 12, SIZE: 32 } as const;
export const kvm_pit_config = { flags: 0, SIZE: 64 } as const;
export const kvm_lapic_state = { regs: 0, SIZE: 1024 } as const;
export const kvm_mp_state = { mp_state: 0, SIZE: 4 } as const;
export const kvm_irq_level = { irq: 0, level: 4, SIZE: 8 } as const;
export const kvm_msi = { address_lo: 0, address_hi: 4, data: 8, flags: 12, devid: 16, SIZE: 32 } as const;
export const kvm_signal_mask = { len: 0, sigset: 4, SIZE: 4 } as const;
export const kvm_enable_cap = { cap: 0, flags: 4, args: 8, SIZE: 104 } as const;

// ---- ioctls ----
// /dev/kvm
export const KVM_GET_API_VERSION = io(0x00);
export const KVM_CREATE_VM = io(0x01);
export const KVM_GET_MSR_INDEX_LIST = iowr(0x02, kvm_msr_list.SIZE);
export const KVM_CHECK_EXTENSION = io(0x03);
export const KVM_GET_VCPU_MMAP_SIZE = io(0x04);
export const KVM_GET_SUPPORTED_CPUID = iowr(0x05, kvm_cpuid2.SIZE);
// VM fd
export const KVM_CREATE_VCPU = io(0x41);
export const KVM_SET_USER_MEMORY_REGION = iow(0x46, kvm_userspace_memory_region.SIZE);
export const KVM_SET_TSS_ADDR = io(0x47);
export const KVM_SET_IDENTITY_MAP_ADDR = iow(0x48, 8);
export const KVM_CREATE_IRQCHIP = io(0x60);
export const KVM_IRQ_LINE = iow(0x61, kvm_irq_level.SIZE);
export const KVM_SET_GSI_ROUTING = iow(0x6a, kvm_irq_routing.SIZE);
export const KVM_IRQFD = iow(0x76, kvm_irqfd.SIZE);
export const KVM_CREATE_PIT2 = iow(0x77, kvm_pit_config.SIZE);
export const KVM_IOEVENTFD = iow(0x79, kvm_ioeventfd.SIZE);
export const KVM_SIGNAL_MSI = iow(0xa5, kvm_msi.SIZE);
export const KVM_ENABLE_CAP = iow(0xa3, kvm_enable_cap.SIZE);
// vCPU fd
export const KVM_RUN = io(0x80);
export const KVM_GET_REGS = ior(0x81, kvm_regs.SIZE);
export const KVM_SET_REGS = iow(0x82, kvm_regs.SIZE);
export const KVM_GET_SREGS = ior(0x83, kvm_sregs.SIZE);
export const KVM_SET_SREGS = iow(0x84, kvm_sregs.SIZE);
export const KVM_GET_MSRS = iowr(0x88, kvm_msrs.SIZE);
export const KVM_SET_MSRS = iow(0x89, kvm_msrs.SIZE);
export const KVM_GET_FPU = ior(0x8c, kvm_fpu.SIZE);
export const KVM_SET_FPU = iow(0x8d, kvm_fpu.SIZE);
export const KVM_GET_LAPIC = ior(0x8e, kvm_lapic_state.SIZE);
export const KVM_SET_LAPIC = iow(0x8f, kvm_lapic_state.SIZE);
export const KVM_SET_SIGNAL_MASK = iow(0x8b, kvm_signal_mask.SIZE);
export const KVM_SET_CPUID2 = iow(0x90, kvm_cpuid2.SIZE);
export const KVM_GET_MP_STATE = ior(0x98, kvm_mp_state.SIZE);
export const KVM_SET_MP_STATE = iow(0x99, kvm_mp_state.SIZE);

// ---- constants ----
export const KVM_API_VERSION = 12;

export const KVM_CAP_IRQCHIP = 0;
export const KVM_CAP_HLT = 1;
export const KVM_CAP_USER_MEMORY = 3;
export const KVM_CAP_SET_TSS_ADDR = 4;
export const KVM_CAP_EXT_CPUID = 7;
export const KVM_CAP_NR_VCPUS = 9;
export const KVM_CAP_NR_MEMSLOTS = 10;
export const KVM_CAP_MP_STATE = 14;
export const KVM_CAP_IRQ_ROUTING = 25;
export const KVM_CAP_IRQFD = 32;
export const KVM_CAP_PIT2 = 33;
export const KVM_CAP_IOEVENTFD = 36;
export const KVM_CAP_SET_IDENTITY_MAP_ADDR = 37;
export const KVM_CAP_MAX_VCPUS = 66;
export const KVM_CAP_SIGNAL_MSI = 77;
export const KVM_CAP_IMMEDIATE_EXIT = 136;

export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_EXCEPTION = 1;
export const KVM_EXIT_IO = 2;
export const KVM_EXIT_HYPERCALL = 3;
export const KVM_EXIT_DEBUG = 4;
export const KVM_EXIT_HLT = 5;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_IRQ_WINDOW_OPEN = 7;
export const KVM_EXIT_SHUTDOWN = 8;
export const KVM_EXIT_FAIL_ENTRY = 9;
export const KVM_EXIT_INTR = 10;
export const KVM_EXIT_INTERNAL_ERROR = 17;
export const KVM_EXIT_SYSTEM_EVENT = 24;

export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;

export const KVM_SYSTEM_EVENT_SHUTDOWN = 1;
export const KVM_SYSTEM_EVENT_RESET = 2;
export const KVM_SYSTEM_EVENT_CRASH = 3;

export const KVM_MP_STATE_RUNNABLE = 0;
export const KVM_MP_STATE_UNINITIALIZED = 1;
export const KVM_MP_STATE_HALTED = 3;

export const KVM_IRQ_ROUTING_IRQCHIP = 1;
export const KVM_IRQ_ROUTING_MSI = 2;
export const KVM_IRQCHIP_PIC_MASTER = 0;
export const KVM_IRQCHIP_PIC_SLAVE = 1;
export const KVM_IRQCHIP_IOAPIC = 2;

export const KVM_IOEVENTFD_FLAG_DATAMATCH = 1 << 0;
export const KVM_IOEVENTFD_FLAG_PIO = 1 << 1;
export const KVM_IOEVENTFD_FLAG_DEASSIGN = 1 << 2;

export const KVM_IRQFD_FLAG_DEASSIGN = 1 << 0;
export const KVM_IRQFD_FLAG_RESAMPLE = 1 << 1;

export const KVM_PIT_SPEAKER_DUMMY = 1;

/** kvm_cpuid_entry2.flags */
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1 << 0;

/** Maximum entries KVM_GET_SUPPORTED_CPUID may return (the kernel's KVM_MAX_CPUID_ENTRIES is 256). */
export const KVM_MAX_CPUID_ENTRIES = 256;

/** kvm_userspace_memory_region.flags */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
export const KVM_MEM_READONLY = 1 << 1;

// ---- segment / struct helpers ----

/** One kvm_segment, as fields (what boot-state code produces). */
export interface KvmSegment {
  base: number | bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
  unusable?: number;
}

export function writeSegment(v: DataView, off: number, s: KvmSegment): void {
  const S = kvm_segment;
  v.setBigUint64(off + S.base, BigInt(s.base), true);
  v.setUint32(off + S.limit, s.limit >>> 0, true);
  v.setUint16(off + S.selector, s.selector, true);
  v.setUint8(off + S.type, s.type);
  v.setUint8(off + S.present, s.present);
  v.setUint8(off + S.dpl, s.dpl);
  v.setUint8(off + S.db, s.db);
  v.setUint8(off + S.s, s.s);
  v.setUint8(off + S.l, s.l);
  v.setUint8(off + S.g, s.g);
  v.setUint8(off + S.avl, s.avl);
  v.setUint8(off + S.unusable, s.unusable ?? 0);
}

export function readSegment(v: DataView, off: number): KvmSegment {
  const S = kvm_segment;
  return {
    base: v.getBigUint64(off + S.base, true),
    limit: v.getUint32(off + S.limit, true),
    selector: v.getUint16(off + S.selector, true),
    type: v.getUint8(off + S.type),
    present: v.getUint8(off + S.present),
    dpl: v.getUint8(off + S.dpl),
    db: v.getUint8(off + S.db),
    s: v.getUint8(off + S.s),
    l: v.getUint8(off + S.l),
    g: v.getUint8(off + S.g),
    avl: v.getUint8(off + S.avl),
    unusable: v.getUint8(off + S.unusable),
  };
}
