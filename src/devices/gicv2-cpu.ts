/**
 * GICv2 CPU interface register frame (GICC_*, mapped at 0x08010000 on the
 * virt board). Every register is banked: the accessing CPU is
 * GicV2.currentCpu().
 */
import type { AccessSize, BusDevice } from './device.js';
import { GIC_SPURIOUS, type GicV2 } from './gicv2.js';

/** GICC_IIDR: Arm, architecture version 2 (as a GIC-400 reports). */
const GICC_IIDR_VALUE = 0x0202143b;
/** Writable GICC_CTLR bits: EnableGrp0/1, AckCtl, FIQEn, CBPR, bypass disables, EOImode bits 9/10. */
const GICC_CTLR_MASK = 0x7ff;

export class GicV2CpuInterface implements BusDevice {
  readonly name = 'gicv2-cpu';

  constructor(private readonly gic: GicV2) {}

  read(offset: number, size: AccessSize): number {
    if (size !== 4) return 0; // GICC registers are word-accessible only
    const g = this.gic;
    const cpu = this.cpu();
    switch (offset) {
      case 0x00: return g.cpuCtlr[cpu]!;
      case 0x04: return g.pmr[cpu]!;
      case 0x08: return g.bpr[cpu]!;
      case 0x0c: return g.acknowledge(cpu);
      case 0x14: {
        const rp = g.runningPriority(cpu);
        return rp > 0xff ? 0xff : rp;
      }
      case 0x18: {
        const id = g.hppi[cpu]!;
        if (id === GIC_SPURIOUS) return GIC_SPURIOUS;
        if (id < 16) {
          const s = g.sgiSources[cpu * 16 + id]!;
          return id | ((31 - Math.clz32(s & -s)) << 10);
        }
        return id;
      }
      case 0x1c: return g.abpr[cpu]!;
      case 0x20: // AIAR / AHPPIR: no group 1 interrupts are signalled separately
      case 0x28: return GIC_SPURIOUS;
      case 0xfc: return GICC_IIDR_VALUE;
      default: return 0; // APRn/NSAPRn RAZ, reserved
    }
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (size !== 4) return;
    const g = this.gic;
    const cpu = this.cpu();
    switch (offset) {
      case 0x00:
        g.cpuCtlr[cpu] = value & GICC_CTLR_MASK;
        g.updateCpu(cpu);
        return;
      case 0x04:
        g.pmr[cpu] = value & 0xff;
        g.updateCpu(cpu);
        return;
      case 0x08:
        g.bpr[cpu] = value & 7;
        g.updateCpu(cpu);
        return;
      case 0x10:
        g.endOfInterrupt(cpu, value);
        return;
      case 0x1c:
        g.abpr[cpu] = Math.max(1, value & 7);
        return;
      case 0x1000:
        g.deactivate(cpu, value & 0x3ff, true);
        return;
      default: // AEOIR, APRn: WI
    }
  }

  private cpu(): number {
    const c = this.gic.currentCpu();
    return c >= 0 && c < this.gic.ncpu ? c : 0;
  }
}
