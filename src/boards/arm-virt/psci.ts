/**
 * PSCI 1.0 (Arm DEN 0022) over HVC #0, the firmware interface Linux uses on
 * the virt board to start secondary CPUs and to power off / reset.
 * There is no firmware: the board answers the calls itself.
 *
 * SMC64/HVC64 function ids (0xC4......) take 64-bit arguments; the SMC32 ones
 * (0x84......) use the low 32 bits of x1..x3. Results go to x0, negative
 * error codes sign-extended to 64 bits.
 */
import type { ExitStatus } from '../../vmm/engine.js';

export const PSCI_VERSION = 0x84000000;
export const PSCI_CPU_SUSPEND_32 = 0x84000001;
export const PSCI_CPU_SUSPEND_64 = 0xc4000001;
export const PSCI_CPU_OFF = 0x84000002;
export const PSCI_CPU_ON_32 = 0x84000003;
export const PSCI_CPU_ON_64 = 0xc4000003;
export const PSCI_AFFINITY_INFO_32 = 0x84000004;
export const PSCI_AFFINITY_INFO_64 = 0xc4000004;
export const PSCI_MIGRATE_INFO_TYPE = 0x84000006;
export const PSCI_SYSTEM_OFF = 0x84000008;
export const PSCI_SYSTEM_RESET = 0x84000009;
export const PSCI_FEATURES = 0x8400000a;

export const PSCI_SUCCESS = 0;
export const PSCI_NOT_SUPPORTED = -1;
export const PSCI_INVALID_PARAMETERS = -2;
export const PSCI_DENIED = -3;
export const PSCI_ALREADY_ON = -4;

/** PSCI 1.0 in PSCI_VERSION's encoding (major << 16 | minor). */
const VERSION_1_0 = 0x10000;
/** MIGRATE_INFO_TYPE: "Trusted OS not present or does not require migration". */
const MIGRATE_NOT_REQUIRED = 2;
const AFFINITY_ON = 0;
const AFFINITY_OFF = 1;

/** The calling CPU's registers (EmuCpuHandle from the emu engine satisfies this). */
export interface PsciCpu {
  readonly index: number;
  getX(n: number): bigint;
  setX(n: number, value: bigint): void;
}

/** What PSCI needs from the engine (EmuEngineControl satisfies this). */
export interface PsciEngine {
  cpuOn(cpuIndex: number, entry: bigint, contextId: bigint): number;
  cpuOff(cpuIndex: number): void;
  isCpuOn(cpuIndex: number): boolean;
  requestStop(status: ExitStatus): void;
}

const SUPPORTED = new Set([
  PSCI_VERSION, PSCI_CPU_SUSPEND_32, PSCI_CPU_SUSPEND_64, PSCI_CPU_OFF, PSCI_CPU_ON_32, PSCI_CPU_ON_64,
  PSCI_AFFINITY_INFO_32, PSCI_AFFINITY_INFO_64, PSCI_MIGRATE_INFO_TYPE, PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET, PSCI_FEATURES,
]);

export class Psci {
  /** `engine` is late-bound: the board exists before the engine does. */
  constructor(private readonly ncpu: number, private readonly engine: () => PsciEngine) {}

  /** Handle one call; x0 holds the function id. Always returns a value for x0 (also written there). */
  call(cpu: PsciCpu): number {
    const fn = Number(cpu.getX(0) & 0xffffffffn);
    const is64 = (fn & 0x40000000) !== 0;
    const arg = (n: number): bigint => (is64 ? cpu.getX(n) : cpu.getX(n) & 0xffffffffn);
    const r = this.dispatch(fn, arg, cpu.index);
    // CPU_OFF does not return to the caller; leave its registers alone.
    if (r !== undefined) cpu.setX(0, BigInt.asUintN(64, BigInt(r)));
    return r ?? PSCI_SUCCESS;
  }

  private dispatch(fn: number, arg: (n: number) => bigint, self: number): number | undefined {
    const eng = this.engine();
    switch (fn) {
      case PSCI_VERSION:
        return VERSION_1_0;
      case PSCI_CPU_SUSPEND_32:
      case PSCI_CPU_SUSPEND_64:
        // A standby that returns at once is a valid implementation (the
        // wakeup "happened" immediately); the guest's idle loop uses WFI anyway.
        return PSCI_SUCCESS;
      case PSCI_CPU_OFF:
        eng.cpuOff(self);
        return undefined;
      case PSCI_CPU_ON_32:
      case PSCI_CPU_ON_64: {
        const target = this.cpuIndex(arg(1));
        if (target < 0) return PSCI_INVALID_PARAMETERS;
        return eng.cpuOn(target, arg(2), arg(3));
      }
      case PSCI_AFFINITY_INFO_32:
      case PSCI_AFFINITY_INFO_64: {
        const target = this.cpuIndex(arg(1));
        if (target < 0 || arg(2) !== 0n) return PSCI_INVALID_PARAMETERS;
        return eng.isCpuOn(target) ? AFFINITY_ON : AFFINITY_OFF;
      }
      case PSCI_MIGRATE_INFO_TYPE:
        return MIGRATE_NOT_REQUIRED;
      case PSCI_SYSTEM_OFF:
        eng.requestStop({ kind: 'poweroff' });
        return undefined;
      case PSCI_SYSTEM_RESET:
        eng.requestStop({ kind: 'reset' });
        return undefined;
      case PSCI_FEATURES: {
        const q = Number(arg(1) & 0xffffffffn);
        // CPU_SUSPEND's feature flags: 0 = original power_state format, no OS-initiated mode.
        return SUPPORTED.has(q) ? 0 : PSCI_NOT_SUPPORTED;
      }
      default:
        return PSCI_NOT_SUPPORTED;
    }
  }

  /** CPU index for an MPIDR-style target (Aff0 only; Aff1-3 must be 0), or -1. */
  private cpuIndex(mpidr: bigint): number {
    if ((mpidr & ~0xffn) !== 0n) return -1;
    const i = Number(mpidr);
    return i < this.ncpu ? i : -1;
  }
}
