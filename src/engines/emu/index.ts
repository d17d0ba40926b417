/**
 * The emu engine: software AArch64 vCPUs run round-robin on the machine
 * thread, in slices of a few thousand instructions. Between slices it
 * updates the generic timers, delivers interrupts, polls the host link and,
 * when every powered-on vCPU waits in WFI, sleeps until the next timer
 * deadline or host input.
 */
import type { Engine, EngineHost, ExitStatus } from '../../vmm/engine.js';
import { Cpu } from './cpu.js';
import { runSlice, warmUp } from './exec.js';
import { jitFromEnv, jitStats, runSliceJit, type JitStats } from './jit/run.js';
import { Phys } from './phys.js';
import {
  CPU_ON_ALREADY_ON,
  CPU_ON_INVALID_PARAMETERS,
  CPU_ON_SUCCESS,
  type EmuEngineControl,
  type EmuEngineOptions,
  type EmuPlatform,
} from './platform.js';
import { SystemCounter, nextDeadline, ticksToMs, timerLevel } from './timer.js';

export { Cpu, GuestFault } from './cpu.js';
export { Phys } from './phys.js';
export { runSlice } from './exec.js';
export * from './platform.js';

/** Instructions per vCPU slice. */
const SLICE = 8192;
/** Upper bound of one idle sleep, so timer/host checks stay responsive. */
const MAX_IDLE_MS = 50;

export class EmuEngine implements Engine, EmuEngineControl {
  readonly cpus: Cpu[] = [];
  readonly phys: Phys;
  readonly counter = new SystemCounter();
  currentCpu = 0;
  /** Host milliseconds spent sleeping with every vCPU in WFI. */
  idleMs = 0;
  private stopStatus: ExitStatus | undefined;
  private readonly platform: EmuPlatform;
  private readonly host: EngineHost;
  /** Hot code runs through the block translator (default; --accel emu,jit=off or TSVISOR_EMU_JIT=off: interpreter only). */
  readonly jit: boolean;
  /** Last timer output levels per CPU (virt, phys), to report only changes. */
  private readonly vLevel: boolean[] = [];
  private readonly pLevel: boolean[] = [];
  private readonly sleepWord = new Int32Array(new SharedArrayBuffer(4));

  constructor(opts: EmuEngineOptions) {
    if (!(opts.cpus >= 1 && opts.cpus <= 8)) throw new RangeError(`emu: cpus must be 1..8, got ${opts.cpus}`);
    this.phys = new Phys(opts.memory, opts.mmio);
    this.platform = opts.platform;
    this.host = opts.host;
    this.jit = opts.jit ?? jitFromEnv() ?? true;
    warmUp(this.jit); // runSlice is also the translator's cold path
    for (let i = 0; i < opts.cpus; i++) {
      const c = new Cpu(i, this.phys);
      c.counter = () => this.counter.now();
      c.counterTicks = () => this.counter.nowTicks();
      c.onTimerWrite = (cpu) => this.updateTimer(cpu);
      c.onHypercall = (cpu, imm, isSmc) => this.platform.hypercall(cpu, imm, isSmc);
      this.cpus.push(c);
      this.vLevel.push(false);
      this.pLevel.push(false);
    }
    const boot = this.cpus[0]!;
    this.resetCpu(boot, BigInt(opts.entry), BigInt(opts.dtbAddr));
  }

  /** Reset state per Documentation/arm64/booting.rst: EL1h, MMU off, DAIF masked, x0 = argument. */
  private resetCpu(c: Cpu, entry: bigint, x0: bigint): void {
    c.xl.fill(0);
    c.xh.fill(0);
    c.v.fill(0);
    c.sp0 = 0n;
    c.sp1 = 0n;
    c.el = 1;
    c.spsel = 1;
    c.sp = 0n;
    c.daif = 0x3c0;
    c.nzcv = 0;
    c.sctlr = 0x30d00800n;
    c.sctlrN = 0x30d00800;
    c.cpacr = 0n;
    c.tcr = 0n;
    c.tcrLo = 0;
    c.tcrHi = 0;
    c.ttbr0 = 0n;
    c.ttbr1 = 0n;
    c.vbar = 0n;
    c.cntvCtl = 0;
    c.cntpCtl = 0;
    c.cntkctl = 0n;
    c.setX(0, x0);
    c.pc = entry;
    c.halted = false;
    c.on = true;
    c.monAddr = -1;
    c.updateMode();
    c.flushTlb();
  }

  /** Block translator counters (blocks translated/executed/invalidated, ms translating). */
  get jitStats(): JitStats {
    return jitStats(this.phys);
  }

  // ------------------------------------------------------- EmuEngineControl

  setIrq(cpuIndex: number, level: boolean): void {
    const c = this.cpus[cpuIndex];
    if (c === undefined) return;
    c.irqLine = level;
    if (level) {
      c.halted = false;
      if ((c.daif & 0x80) === 0) c.sliceEnd = 0;
    }
  }

  setFiq(cpuIndex: number, level: boolean): void {
    const c = this.cpus[cpuIndex];
    if (c === undefined) return;
    c.fiqLine = level;
    if (level) {
      c.halted = false;
      if ((c.daif & 0x40) === 0) c.sliceEnd = 0;
    }
  }

  cpuOn(cpuIndex: number, entry: bigint, contextId: bigint): number {
    const c = this.cpus[cpuIndex];
    if (c === undefined) return CPU_ON_INVALID_PARAMETERS;
    if (c.on) return CPU_ON_ALREADY_ON;
    this.resetCpu(c, entry, contextId);
    return CPU_ON_SUCCESS;
  }

  cpuOff(cpuIndex: number): void {
    const c = this.cpus[cpuIndex];
    if (c === undefined) return;
    c.on = false;
    c.sliceEnd = 0;
  }

  isCpuOn(cpuIndex: number): boolean {
    return this.cpus[cpuIndex]?.on ?? false;
  }

  requestStop(status: ExitStatus): void {
    this.stopStatus ??= status;
    for (const c of this.cpus) c.sliceEnd = 0;
  }

  // ---------------------------------------------------------------- timers

  /**
   * Recompute the timer outputs of `c` (after a guest write to a timer
   * register, or when the counter passes c.timerDeadline) and the next
   * deadline, so the run loop only compares two numbers per slice.
   */
  private updateTimer(c: Cpu): void {
    const now = this.counter.now();
    const v = timerLevel(c.cntvCtl, c.cntvCval, now);
    const p = timerLevel(c.cntpCtl, c.cntpCval, now);
    let deadline = Infinity;
    if (!v && (c.cntvCtl & 3) === 1) deadline = Number(c.cntvCval);
    if (!p && (c.cntpCtl & 3) === 1) deadline = Math.min(deadline, Number(c.cntpCval));
    c.timerDeadline = deadline;
    const i = c.index;
    if (v !== this.vLevel[i]) {
      this.vLevel[i] = v;
      this.platform.timerIrq(i, true, v);
    }
    if (p !== this.pLevel[i]) {
      this.pLevel[i] = p;
      this.platform.timerIrq(i, false, p);
    }
  }

  // ------------------------------------------------------------------ run

  run(): ExitStatus {
    try {
      return this.runLoop();
    } catch (e) {
      // A VMM bug (in the CPU, a device model or the board) must not take the process down.
      const c = this.cpus[this.currentCpu];
      const where = c ? ` (cpu ${c.index} pc 0x${c.pc.toString(16)})` : '';
      return { kind: 'error', message: `emu: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}${where}` };
    }
  }

  private runLoop(): ExitStatus {
    const cpus = this.cpus;
    const multi = cpus.length > 1;
    for (;;) {
      if (this.stopStatus !== undefined) return this.stopStatus;
      let anyRunnable = false;
      const now = this.counter.nowTicks();
      for (let i = 0; i < cpus.length; i++) {
        const c = cpus[i]!;
        if (!c.on) continue;
        this.currentCpu = i;
        if (now >= c.timerDeadline) this.updateTimer(c);
        if (c.halted) {
          if (!c.irqLine && !c.fiqLine) continue;
          c.halted = false;
        }
        anyRunnable = true;
        c.checkInterrupts();
        // Another vCPU ran since this one's last slice: its exclusive reservation is lost.
        if (multi) c.monAddr = -1;
        if (this.jit) runSliceJit(c, SLICE);
        else runSlice(c, SLICE);
        if (this.stopStatus !== undefined) return this.stopStatus;
      }
      // host.pending() is one Atomics.load: check it after every round of slices.
      if (this.host.pending()) {
        const s = this.host.poll();
        if (s !== undefined) return s;
      }
      if (!anyRunnable) this.idle();
    }
  }

  /** Every powered-on vCPU is in WFI (or all are off): sleep until the next timer deadline or host input. */
  private idle(): void {
    let best: bigint | undefined;
    for (const c of this.cpus) {
      if (!c.on) continue;
      const d = nextDeadline(c);
      if (d !== undefined && (best === undefined || d < best)) best = d;
    }
    let ms = MAX_IDLE_MS;
    if (best !== undefined) {
      const delta = best - this.counter.now();
      ms = delta <= 0n ? 0 : Math.min(MAX_IDLE_MS, ticksToMs(delta));
    }
    if (ms <= 0) return;
    const t0 = performance.now();
    if (this.host.waitForEvent !== undefined) this.host.waitForEvent(ms);
    else Atomics.wait(this.sleepWord, 0, 0, ms);
    this.idleMs += performance.now() - t0;
  }
}
