/**
 * KvmEngine: runs an x86-64 guest on /dev/kvm.
 *
 * Threads: vCPU 0 runs KVM_RUN on the calling (machine) thread, so the common
 * exit path is exit → Bus → device → KVM_RUN with no hand-off. vCPUs 1..N-1
 * each run in a worker (vcpu-worker.ts) and forward device exits through a
 * mailbox (mailbox.ts), kicking the machine thread out of KVM_RUN.
 *
 * Kicks are signals (tgkill). Every vCPU thread keeps the kick signal blocked
 * except inside KVM_RUN (KVM_SET_SIGNAL_MASK), so a kick that arrives while
 * the thread is outside KVM_RUN is not lost: the next KVM_RUN returns EINTR
 * at once. That makes a plain tgkill race-free for every sender (the host
 * link on the main thread, vCPU workers, run()'s stop path).
 */
import { sys, KICK_SIGNAL } from '../../sys/native.js';
import * as K from '../../sys/kvm-abi.js';
import type { Bus } from '../../devices/bus.js';
import type { IrqLine } from '../../devices/device.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { Engine, EngineHost, ExitStatus } from '../../vmm/engine.js';
import type { X86BootState } from '../../boards/x86/boot-state.js';
import { KvmVm, KvmError, step, type IoeventfdOptions, type MsiMessage } from './vm.js';
import { getSupportedCpuid, guestCpuid, setCpuid } from './cpuid.js';
import { BOOT_MSRS, setMsrs } from './msrs.js';
import { setupLapic } from './lapic.js';
import { applyBootState, describeVcpu } from './regs.js';
import { VcpuRun, RUN_INTERRUPTED, prepareVcpuThread, unblockSignalsInRun, setMpState, describeFatalExit } from './vcpu.js';
import { handleIo, handleMmio } from './exits.js';
import { systemEventStatus } from './status.js';
import { ApThreads } from './ap-threads.js';
import { probeKvm } from './probe.js';
import { traceStartup } from '../../sys/startup-trace.js';

/** Upper bound on vCPUs regardless of what KVM allows (MP table / APIC id space we build). */
export const KVM_MAX_CPUS = 32;

export interface KvmEngineOptions {
  /** Guest RAM; every region must be mmap'd (createMmapMemory). */
  memory: GuestMemory;
  pio: Bus;
  mmio: Bus;
  cpus: number;
  bootState: X86BootState;
  host: EngineHost;
  /** In-kernel PIC/IOAPIC/LAPIC (default true). Without it there are no interrupts and HLT ends the run. */
  irqchip?: boolean;
  /** In-kernel PIT (default true; needs irqchip). */
  pit?: boolean;
  /** Kick signal (default SIGUSR2). */
  signal?: number;
  /**
   * A timer kicks vCPU 0 this often, so host.poll() runs at least every
   * pollIntervalMs even when the guest makes no exits (default 10; 0: no timer).
   */
  pollIntervalMs?: number;
}

export interface KvmStats {
  /** Guest exits of vCPU 0 (KVM_RUN returns other than kicks). */
  exits: number;
  /** KVM_RUN returns on vCPU 0 caused by a kick or the poll timer (EINTR). */
  interruptions: number;
  /** Exits of vCPUs 1..N-1 handled through the mailbox. */
  forwardedExits: number;
  /** process.uptime() in ms when vCPU 0 first entered KVM_RUN. */
  firstRunUptimeMs: number | undefined;
  /** MSR indices KVM refused at set-up (tolerated). */
  failedMsrs: number[];
}

function engineError(e: unknown): ExitStatus {
  return { kind: 'error', message: `kvm engine: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
}

export class KvmEngine implements Engine {
  readonly vm: KvmVm;
  readonly cpus: number;
  /** How other threads interrupt run(): tgkill(tid, signal). */
  readonly kick: { tid: number; signal: number };
  readonly stats: KvmStats = { exits: 0, interruptions: 0, forwardedExits: 0, firstRunUptimeMs: undefined, failedMsrs: [] };
  readonly vcpuFds: number[] = [];

  private readonly pio: Bus;
  private readonly mmio: Bus;
  private readonly host: EngineHost;
  private readonly signal: number;
  private readonly irqchip: boolean;
  private readonly pollIntervalMs: number;
  private timer: bigint | undefined;
  private readonly vcpu0: VcpuRun;
  private aps: ApThreads | undefined;
  private readonly lines = new Map<number, IrqLine>();
  private stopStatus: ExitStatus | undefined;
  private running = false;

  /** Whether /dev/kvm can be used here; `reason` is one line for the CLI. */
  static probe(): { ok: true } | { ok: false; reason: string } {
    return probeKvm();
  }

  constructor(opts: KvmEngineOptions) {
    this.pio = opts.pio;
    this.mmio = opts.mmio;
    this.host = opts.host;
    this.signal = opts.signal ?? KICK_SIGNAL;
    this.irqchip = opts.irqchip !== false;
    this.pollIntervalMs = opts.pollIntervalMs ?? 10;
    this.vm = new KvmVm({ irqchip: this.irqchip, pit: opts.pit });
    try {
      const max = Math.min(KVM_MAX_CPUS, this.vm.maxVcpus());
      if (!Number.isInteger(opts.cpus) || opts.cpus < 1 || opts.cpus > max) {
        throw new KvmError(`cpus must be 1..${max} on this host, got ${opts.cpus}`);
      }
      if (opts.cpus > 1 && !this.irqchip) throw new KvmError('more than one vCPU needs the in-kernel irqchip');
      this.cpus = opts.cpus;
      this.vm.addMemory(opts.memory);
      const supported = step('KVM_GET_SUPPORTED_CPUID', () => getSupportedCpuid(this.vm.kvmFd));
      for (let i = 0; i < this.cpus; i++) {
        const fd = this.vm.createVcpu(i);
        this.vcpuFds.push(fd);
        step(`KVM_SET_CPUID2 (vCPU ${i})`, () => setCpuid(fd, guestCpuid(supported, i, this.cpus)));
        for (const idx of setMsrs(fd, BOOT_MSRS)) if (!this.stats.failedMsrs.includes(idx)) this.stats.failedMsrs.push(idx);
        if (this.irqchip) step(`LAPIC set-up (vCPU ${i})`, () => setupLapic(fd, i === 0));
        step(`KVM_SET_SIGNAL_MASK (vCPU ${i})`, () => unblockSignalsInRun(fd));
        // APs wait for INIT/SIPI from the guest's BSP (KVM's default for non-BSP vCPUs; made explicit).
        if (i > 0) step(`KVM_SET_MP_STATE (vCPU ${i})`, () => setMpState(fd, K.KVM_MP_STATE_UNINITIALIZED));
      }
      step('loading the boot vCPU state', () => applyBootState(this.vcpuFds[0]!, opts.bootState));
      prepareVcpuThread(this.signal);
      this.kick = { tid: sys().gettid(), signal: this.signal };
      this.vcpu0 = new VcpuRun(this.vcpuFds[0]!, this.vm.vcpuMmapSize);
      if (this.cpus > 1) this.aps = new ApThreads(this.vcpuFds, this.vm.vcpuMmapSize, this.kick.tid, this.signal);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The KVM_IRQ_LINE line for `gsi` (one object per GSI, so callers may fetch it on every use). */
  irqLine(gsi: number): IrqLine {
    if (!this.irqchip) throw new KvmError('no in-kernel irqchip');
    let line = this.lines.get(gsi);
    if (line === undefined) {
      line = this.vm.irqLine(gsi);
      this.lines.set(gsi, line);
    }
    return line;
  }

  irqfd(gsi: number, fd?: number): { fd: number; line: IrqLine; close(): void } {
    return this.vm.irqfd(gsi, fd);
  }

  ioeventfd(addr: number, opts: IoeventfdOptions): { fd: number; remove(): void } {
    return this.vm.ioeventfd(addr, opts);
  }

  allocMsiGsi(): number {
    return this.vm.allocMsiGsi();
  }

  setMsiRoute(gsi: number, msg: MsiMessage | undefined): void {
    this.vm.setMsiRoute(gsi, msg);
  }

  signalMsi(msg: MsiMessage): void {
    this.vm.signalMsi(msg);
  }

  requestStop(status: ExitStatus): void {
    this.stopStatus ??= status;
  }

  run(): ExitStatus {
    this.begin();
    try {
      return this.loop(false)!;
    } catch (e) {
      return engineError(e);
    } finally {
      this.end();
    }
  }

  /**
   * run() for a thread that must also serve its event loop (the CLI's main
   * thread: terminal input, Ctrl-A X, SIGINT/SIGTERM, output): whenever
   * KVM_RUN is interrupted (the poll timer, a kick, any signal: at least every
   * pollIntervalMs) it polls the host and then awaits `pause()` (e.g. one
   * setImmediate) before entering the guest again.
   */
  async runYielding(pause: () => Promise<void>): Promise<ExitStatus> {
    this.begin();
    try {
      for (;;) {
        const s = this.loop(true);
        if (s !== undefined) return s;
        await pause();
      }
    } catch (e) {
      return engineError(e);
    } finally {
      this.end();
    }
  }

  private begin(): void {
    if (this.running) throw new KvmError('run() is already active');
    this.running = true;
    this.aps?.go();
    if (this.pollIntervalMs > 0) this.timer = sys().startKickTimer(this.kick.tid, this.signal, this.pollIntervalMs);
  }

  private end(): void {
    this.stopTimer();
    this.aps?.stop();
    this.running = false;
  }

  /** Runs vCPU 0 until the VM ends (its status) or, with `yieldOnInterrupt`, until KVM_RUN is interrupted (undefined). */
  private loop(yieldOnInterrupt: boolean): ExitStatus | undefined {
    const v = this.vcpu0;
    const run = v.run;
    const R = K.kvm_run;
    const pio = this.pio;
    const stats = this.stats;
    if (stats.firstRunUptimeMs === undefined) {
      stats.firstRunUptimeMs = process.uptime() * 1000;
      traceStartup('first-kvm-run', stats.firstRunUptimeMs);
    }
    for (;;) {
      if (this.stopStatus !== undefined) return this.stopStatus;
      const aps = this.aps;
      if (aps !== undefined && aps.pending()) {
        const s = aps.serve(this.pio, this.mmio);
        stats.forwardedExits = aps.served;
        if (s !== undefined) return s;
        continue;
      }
      if (this.host.pending()) {
        const s = this.host.poll();
        if (s !== undefined) return s;
      }
      if (aps !== undefined && !aps.enteringRun()) continue;
      const reason = v.enter();
      aps?.leftRun();
      if (reason !== RUN_INTERRUPTED) stats.exits++;
      switch (reason) {
        case K.KVM_EXIT_IO: {
          const size = run.getUint8(R.io_size);
          const count = run.getUint32(R.io_count, true);
          const off = v.ioDataOffset(size, count);
          if (off < 0) return { kind: 'error', message: `vCPU 0: malformed KVM_EXIT_IO (size ${size} count ${count})` };
          handleIo(pio, run.getUint8(R.io_direction) === K.KVM_EXIT_IO_OUT, size, run.getUint16(R.io_port, true), count, run, off);
          break;
        }
        case K.KVM_EXIT_MMIO: {
          const addr = run.getUint32(R.mmio_phys_addr, true) + run.getUint32(R.mmio_phys_addr + 4, true) * 0x1_0000_0000;
          handleMmio(this.mmio, run.getUint8(R.mmio_is_write) !== 0, addr, run.getUint32(R.mmio_len, true), run, R.mmio_data);
          break;
        }
        case RUN_INTERRUPTED: {
          stats.interruptions++;
          sys().consumeSignal(this.signal);
          const s = this.host.poll();
          if (s !== undefined) return s;
          if (yieldOnInterrupt) return undefined;
          break;
        }
        case K.KVM_EXIT_INTR:
        case K.KVM_EXIT_IRQ_WINDOW_OPEN:
          break;
        case K.KVM_EXIT_HLT:
          // Only without the in-kernel irqchip: nothing can ever wake the vCPU.
          return { kind: 'stopped', reason: 'vCPU 0 halted (no interrupt controller)' };
        case K.KVM_EXIT_SHUTDOWN:
          return { kind: 'triple-fault' };
        case K.KVM_EXIT_SYSTEM_EVENT:
          return systemEventStatus(run.getUint32(R.system_event_type, true));
        default:
          return { kind: 'error', message: `${describeFatalExit(v, reason, 0)}; ${describeVcpu(v.fd)}` };
      }
    }
  }

  private stopTimer(): void {
    if (this.timer !== undefined) sys().stopKickTimer(this.timer);
    this.timer = undefined;
  }

  /** Release the VM's file descriptors (after run() has returned). */
  close(): void {
    this.stopTimer();
    this.aps?.terminate();
    for (const fd of this.vcpuFds.splice(0)) {
      try {
        sys().close(fd);
      } catch {
        // already closed
      }
    }
    this.vm?.close();
  }
}
