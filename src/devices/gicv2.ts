/**
 * GICv2 interrupt controller (Arm IHI 0048B), without the Security and
 * Virtualization Extensions — what QEMU's `-M virt` gives a guest at EL1.
 *
 * This file holds the interrupt state and the acknowledge / end-of-interrupt
 * logic; gicv2-dist.ts and gicv2-cpu.ts are the two MMIO register frames.
 *
 * INTIDs: 0-15 SGIs, 16-31 PPIs (both banked per CPU), 32.. SPIs (shared).
 * State is kept as 32-bit bitmaps, one word per 32 INTIDs. Word 0 (INTIDs
 * 0-31) is banked: CPU c's copy lives at index c; shared word w>=1 lives at
 * index ncpu+w-1. Each CPU's highest-priority pending interrupt (hppi) is
 * cached: a line going high or a deactivation compares one interrupt with the
 * cache (O(1)); a line going low or an acknowledge rescans only the CPUs that
 * had that interrupt as their highest, a scan over (pending & enabled &
 * ~active) words. Distributor programming rescans everything. No allocation.
 *
 * Group (IGROUPR) bits are stored but, as on a GIC without the Security
 * Extensions used by a non-secure OS, every interrupt is signalled as IRQ.
 */
import type { IrqLine } from './device.js';

export const GIC_SPURIOUS = 1023;
export const GIC_MAX_CPUS = 8;

export interface GicV2Options {
  /** Number of CPU interfaces (1..8). */
  cpus: number;
  /** Total INTIDs including the 32 private ones; a multiple of 32, 64..1024 (1020+ are special). Default 256. */
  irqs?: number;
  /** Drives CPU `cpu`'s IRQ input. Called only when the level changes. */
  setCpuIrq: (cpu: number, level: boolean) => void;
  /** The CPU that makes the current MMIO access (for the banked registers). */
  currentCpu: () => number;
}

/** The GIC's interrupt state; the MMIO frames are GicV2Distributor and GicV2CpuInterface. */
export class GicV2 {
  readonly ncpu: number;
  readonly nirq: number;
  /** Number of 32-bit words covering all INTIDs. */
  readonly nwords: number;
  readonly setCpuIrq: (cpu: number, level: boolean) => void;
  readonly currentCpu: () => number;

  // Bitmaps (see file comment for the layout).
  readonly enabled: Uint32Array;
  /** Software/edge pending latch. A level interrupt is also pending while its line is high. */
  readonly pendLatch: Uint32Array;
  readonly level: Uint32Array;
  readonly active: Uint32Array;
  /** 1 = edge-triggered (ICFGR Int_config[1]). SGIs are always edge. */
  readonly edge: Uint32Array;
  readonly group: Uint32Array;
  /** Priority per INTID: CPU c's private ones at c*32+i, SPIs at ncpu*32+(id-32). */
  readonly priority: Uint8Array;
  /** ITARGETSR byte per SPI (index id-32). */
  readonly targets: Uint8Array;
  /** SGI pending source CPUs: [targetCpu*16 + sgi] = bitmask of sources. */
  readonly sgiSources: Uint8Array;

  distCtlr = 0;
  // CPU interface state, per CPU.
  readonly cpuCtlr: Uint32Array;
  readonly pmr: Uint8Array;
  readonly bpr: Uint8Array;
  readonly abpr: Uint8Array;
  /**
   * Active priorities, one bit per preemption level (priority >> 1, 128
   * levels), 4 words per CPU — the GICC_APRn equivalent. The running priority
   * is the lowest set bit; a priority drop clears it.
   */
  readonly apr: Uint32Array;
  // Output state, per CPU.
  readonly hppi: Uint16Array;
  readonly irqOut: Uint8Array;

  constructor(opts: GicV2Options) {
    const irqs = opts.irqs ?? 256;
    if (!Number.isInteger(opts.cpus) || opts.cpus < 1 || opts.cpus > GIC_MAX_CPUS) throw new RangeError('gic: 1..8 CPUs');
    if (irqs % 32 !== 0 || irqs < 64 || irqs > 1024) throw new RangeError('gic: irqs must be a multiple of 32 in 64..1024');
    this.ncpu = opts.cpus;
    this.nirq = Math.min(irqs, 1020);
    this.nwords = irqs / 32;
    this.setCpuIrq = opts.setCpuIrq;
    this.currentCpu = opts.currentCpu;
    const bm = this.ncpu + this.nwords - 1;
    this.enabled = new Uint32Array(bm);
    this.pendLatch = new Uint32Array(bm);
    this.level = new Uint32Array(bm);
    this.active = new Uint32Array(bm);
    this.edge = new Uint32Array(bm);
    this.group = new Uint32Array(bm);
    this.priority = new Uint8Array(this.ncpu * 32 + irqs - 32);
    this.targets = new Uint8Array(irqs - 32);
    this.sgiSources = new Uint8Array(this.ncpu * 16);
    this.cpuCtlr = new Uint32Array(this.ncpu);
    this.pmr = new Uint8Array(this.ncpu);
    this.bpr = new Uint8Array(this.ncpu);
    this.abpr = new Uint8Array(this.ncpu);
    this.apr = new Uint32Array(this.ncpu * 4);
    this.hppi = new Uint16Array(this.ncpu);
    this.irqOut = new Uint8Array(this.ncpu);
    this.reset();
  }

  reset(): void {
    for (const a of [this.enabled, this.pendLatch, this.active, this.group, this.apr, this.cpuCtlr, this.pmr]) a.fill(0);
    this.edge.fill(0);
    // SGIs are edge-triggered and read-only in ICFGR; PPIs default to level.
    for (let c = 0; c < this.ncpu; c++) this.edge[c] = 0x0000ffff;
    this.priority.fill(0);
    this.targets.fill(0);
    this.sgiSources.fill(0);
    this.bpr.fill(2);
    this.abpr.fill(3);
    this.distCtlr = 0;
    this.hppi.fill(GIC_SPURIOUS);
    this.update();
  }

  /** Bitmap index of word `w` as seen by `cpu`. */
  widx(cpu: number, w: number): number {
    return w === 0 ? cpu : this.ncpu + w - 1;
  }

  /** Index into `priority` of INTID `id` as seen by `cpu`. */
  pidx(cpu: number, id: number): number {
    return id < 32 ? cpu * 32 + id : this.ncpu * 32 + id - 32;
  }

  // ---------------------------------------------------------------- lines

  /** Set the input level of INTID `id` (PPI or SPI) as seen by `cpu`. */
  setLine(cpu: number, id: number, high: boolean): void {
    if (id < 16 || id >= this.nirq) return;
    const i = this.widx(cpu, id >>> 5);
    const bit = 1 << (id & 31);
    const was = (this.level[i]! & bit) !== 0;
    if (was === high) return;
    if (high) {
      this.level[i]! |= bit;
      // An edge-triggered interrupt latches on the rising edge.
      if (this.edge[i]! & bit) this.pendLatch[i]! |= bit;
      this.raised(cpu, id);
    } else {
      this.level[i]! &= ~bit;
      // A falling edge changes nothing for edge interrupts.
      if (!(this.edge[i]! & bit)) this.lowered(cpu, id);
    }
  }

  /** A rising+falling edge (for edge-triggered devices such as virtio-mmio). */
  pulseLine(cpu: number, id: number): void {
    if (id < 16 || id >= this.nirq) return;
    const i = this.widx(cpu, id >>> 5);
    // Edge-configured: the rising edge latches. Level-configured: the line was
    // high for an instant, so latch it too rather than lose the interrupt.
    this.pendLatch[i]! |= 1 << (id & 31);
    this.raised(cpu, id);
  }

  /** IrqLine for SPI `n` (INTID 32+n), the numbering device trees use with GIC_SPI. */
  spiLine(n: number): IrqLine {
    const id = 32 + n;
    if (!Number.isInteger(n) || n < 0 || id >= this.nirq) throw new RangeError(`gic: no SPI ${n}`);
    return { set: (l: boolean) => this.setLine(0, id, l), pulse: () => this.pulseLine(0, id) };
  }

  /** IrqLine for PPI `n` (INTID 16+n) of CPU `cpu`, the numbering device trees use with GIC_PPI (timer: 13,14,11,10). */
  ppiLine(cpu: number, n: number): IrqLine {
    if (!Number.isInteger(n) || n < 0 || n > 15 || cpu < 0 || cpu >= this.ncpu) throw new RangeError(`gic: no PPI ${n} on CPU ${cpu}`);
    const id = 16 + n;
    return { set: (l: boolean) => this.setLine(cpu, id, l), pulse: () => this.pulseLine(cpu, id) };
  }

  /** Whether CPU `cpu`'s IRQ output is asserted (for engines that poll instead of using the callback). */
  irqPending(cpu: number): boolean {
    return this.irqOut[cpu] === 1;
  }

  // ---------------------------------------------------------- SGIs

  /** GICD_SGIR write from `src`. */
  sendSgi(src: number, value: number): void {
    const sgi = value & 0xf;
    const filter = (value >>> 24) & 3;
    let mask: number;
    if (filter === 0) mask = (value >>> 16) & 0xff;
    else if (filter === 1) mask = ((1 << this.ncpu) - 1) & ~(1 << src);
    else if (filter === 2) mask = 1 << src;
    else return; // reserved
    mask &= (1 << this.ncpu) - 1;
    for (let t = 0; t < this.ncpu; t++) {
      if (!(mask & (1 << t))) continue;
      this.sgiSources[t * 16 + sgi]! |= 1 << src;
      this.pendLatch[t]! |= 1 << sgi;
      this.raised(t, sgi);
    }
  }

  /** Recompute the SGI pending bit of `cpu` for `sgi` from its source mask. */
  syncSgiPending(cpu: number, sgi: number): void {
    if (this.sgiSources[cpu * 16 + sgi]) this.pendLatch[cpu]! |= 1 << sgi;
    else this.pendLatch[cpu]! &= ~(1 << sgi);
  }

  // ------------------------------------------------------ CPU interface

  /** Mask of the group-priority bits for a binary point. */
  private groupMask(cpu: number): number {
    return (0xff << (this.bpr[cpu]! + 1)) & 0xff;
  }

  /** Running priority of `cpu`: 0x00..0xfe, or 0xff (0x100 internally) when idle. */
  runningPriority(cpu: number): number {
    const b = cpu * 4;
    for (let w = 0; w < 4; w++) {
      const v = this.apr[b + w]!;
      if (v !== 0) return ((w * 32 + 31 - Math.clz32(v & -v)) << 1);
    }
    return 0x100;
  }

  /** Highest-priority pending, enabled, inactive interrupt targeting `cpu` (INTID or 1023). */
  private computeHppi(cpu: number): number {
    let best = GIC_SPURIOUS;
    let bestPrio = 0x100;
    const nc = this.ncpu;
    for (let w = 0; w < this.nwords; w++) {
      const i = w === 0 ? cpu : nc + w - 1;
      let m = (this.pendLatch[i]! | (this.level[i]! & ~this.edge[i]!)) & this.enabled[i]! & ~this.active[i]!;
      while (m !== 0) {
        const b = 31 - Math.clz32(m & -m);
        m &= m - 1;
        const id = w * 32 + b;
        if (id >= 32 && !(this.targets[id - 32]! & (1 << cpu))) continue;
        const p = this.priority[id < 32 ? cpu * 32 + id : nc * 32 + id - 32]!;
        if (p < bestPrio) {
          bestPrio = p;
          best = id;
        }
      }
    }
    return best;
  }

  /** Whether `id` (pending for `cpu`) has enough priority to be signalled now. */
  private canSignal(cpu: number, id: number): boolean {
    if (id === GIC_SPURIOUS || !(this.distCtlr & 1) || !(this.cpuCtlr[cpu]! & 1)) return false;
    const p = this.priority[this.pidx(cpu, id)]!;
    return p < this.pmr[cpu]! && (p & this.groupMask(cpu)) < this.runningPriority(cpu);
  }

  /** Recompute one CPU's highest pending interrupt and its IRQ output. */
  updateCpu(cpu: number): void {
    const id = this.computeHppi(cpu);
    this.hppi[cpu] = id;
    const out = this.canSignal(cpu, id) ? 1 : 0;
    if (out !== this.irqOut[cpu]) {
      this.irqOut[cpu] = out;
      this.setCpuIrq(cpu, out === 1);
    }
  }

  /** Recompute every CPU (after distributor programming: rare). */
  update(): void {
    for (let c = 0; c < this.ncpu; c++) this.updateCpu(c);
  }

  /** Re-evaluate CPU `cpu`'s IRQ output for its cached highest pending interrupt. */
  private refreshOutput(cpu: number): void {
    const out = this.canSignal(cpu, this.hppi[cpu]!) ? 1 : 0;
    if (out !== this.irqOut[cpu]) {
      this.irqOut[cpu] = out;
      this.setCpuIrq(cpu, out === 1);
    }
  }

  /**
   * INTID `id` may have become deliverable (pending, enabled, inactive). The
   * hot path of line changes: compare it with each target CPU's cached
   * highest pending interrupt instead of rescanning.
   */
  private raised(cpu: number, id: number): void {
    if (id < 32) {
      this.consider(cpu, id);
      return;
    }
    let m = this.targets[id - 32]!;
    while (m !== 0) {
      const c = 31 - Math.clz32(m & -m);
      m &= m - 1;
      this.consider(c, id);
    }
  }

  private consider(cpu: number, id: number): void {
    const i = id < 32 ? cpu : this.ncpu + (id >>> 5) - 1;
    const bit = 1 << (id & 31);
    if (!((this.pendLatch[i]! | (this.level[i]! & ~this.edge[i]!)) & this.enabled[i]! & ~this.active[i]! & bit)) return;
    const cur = this.hppi[cpu]!;
    const p = this.priority[this.pidx(cpu, id)]!;
    if (cur !== GIC_SPURIOUS) {
      const pc = this.priority[this.pidx(cpu, cur)]!;
      // Same tie-break as computeHppi: lower priority value, then lower INTID.
      if (p > pc || (p === pc && id >= cur)) return;
    }
    this.hppi[cpu] = id;
    this.refreshOutput(cpu);
  }

  /** INTID `id` may have stopped being deliverable: rescan the CPUs that had it as their highest. */
  private lowered(cpu: number, id: number): void {
    if (id < 32) {
      if (this.hppi[cpu] === id) this.updateCpu(cpu);
      return;
    }
    for (let c = 0; c < this.ncpu; c++) if (this.hppi[c] === id) this.updateCpu(c);
  }

  /** GICC_IAR read by `cpu`: acknowledge. */
  acknowledge(cpu: number): number {
    const id = this.hppi[cpu]!;
    if (!this.canSignal(cpu, id)) return GIC_SPURIOUS;
    const i = this.widx(cpu, id >>> 5);
    const bit = 1 << (id & 31);
    let result = id;
    if (id < 16) {
      // Lowest-numbered source first; other sources stay pending.
      const k = cpu * 16 + id;
      const srcs = this.sgiSources[k]!;
      const src = 31 - Math.clz32(srcs & -srcs);
      this.sgiSources[k] = srcs & ~(1 << src);
      this.syncSgiPending(cpu, id);
      result = id | (src << 10);
    } else {
      this.pendLatch[i]! &= ~bit;
    }
    this.active[i]! |= bit;
    const lvl = (this.priority[this.pidx(cpu, id)]! & this.groupMask(cpu)) >>> 1;
    this.apr[cpu * 4 + (lvl >>> 5)]! |= 1 << (lvl & 31);
    // Active now: every CPU that had it as highest pending rescans (this one included,
    // which also re-evaluates its output against the raised running priority).
    this.lowered(cpu, id);
    return result;
  }

  /** GICC_EOIR write by `cpu`: priority drop, and deactivation unless EOImode is 1. */
  endOfInterrupt(cpu: number, value: number): void {
    const id = value & 0x3ff;
    if (id >= 1020 || id >= this.nirq) return;
    // Priority drop: clear the highest-priority active priority bit.
    const b = cpu * 4;
    for (let w = 0; w < 4; w++) {
      const v = this.apr[b + w]!;
      if (v !== 0) {
        this.apr[b + w] = v & (v - 1);
        break;
      }
    }
    if (!(this.cpuCtlr[cpu]! & GICC_CTLR_EOIMODE)) this.deactivate(cpu, id, false);
    this.refreshOutput(cpu);
  }

  /** Clear the active state (GICC_DIR, or EOIR in EOImode 0). */
  deactivate(cpu: number, id: number, viaDir: boolean): void {
    if (viaDir && !(this.cpuCtlr[cpu]! & GICC_CTLR_EOIMODE)) return;
    if (id >= 1020 || id >= this.nirq) return;
    this.active[this.widx(cpu, id >>> 5)]! &= ~(1 << (id & 31));
    // Still pending (level line high, or a new edge while active): deliverable again.
    this.raised(cpu, id);
  }
}

/** GICC_CTLR.EOImode (bit 9 in the non-secure layout Linux uses). */
export const GICC_CTLR_EOIMODE = 1 << 9;
