/**
 * What the emu engine needs from the board (arm-virt) and what it offers it.
 *
 * The board builds GuestMemory (RAM at 0x40000000), an MMIO Bus, the GIC and
 * the UART, then constructs `new EmuEngine(options)` (src/engines/emu/index.ts)
 * with an EmuPlatform implementation that handles PSCI and routes the generic
 * timer outputs to GIC PPIs. The GIC drives the CPU's IRQ/FIQ inputs through
 * `EmuEngineControl.setIrq/setFiq`, and reads `currentCpu` to know which
 * CPU's banked interface an MMIO access belongs to.
 */
import type { Bus } from '../../devices/bus.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { EngineHost, ExitStatus } from '../../vmm/engine.js';

/** The calling CPU, as seen by a hypercall handler (PSCI reads x0..x3 and writes x0). */
export interface EmuCpuHandle {
  /** CPU index = MPIDR_EL1.Aff0. */
  readonly index: number;
  getX(n: number): bigint;
  setX(n: number, value: bigint): void;
}

export interface EmuPlatform {
  /**
   * HVC/SMC from EL1 with the given 16-bit immediate: return true if handled
   * (PSCI). May read/write x0..x3 via the cpu accessors and call
   * engine.cpuOn(...)/cpuOff(...)/requestStop(...). Returning false makes the
   * instruction UNDEFINED (EL2/EL3 do not exist).
   */
  hypercall(cpu: EmuCpuHandle, imm: number, isSmc: boolean): boolean;
  /** Timer output levels for a CPU: the board routes them to GIC PPI 27 (virt) / 30 (phys). Level-triggered. */
  timerIrq(cpuIndex: number, virt: boolean, level: boolean): void;
}

/** Result codes of cpuOn, matching PSCI's so the PSCI code can return them directly. */
export const CPU_ON_SUCCESS = 0;
export const CPU_ON_INVALID_PARAMETERS = -2;
export const CPU_ON_ALREADY_ON = -4;

/** Control surface of the engine that the board (GIC, PSCI) calls. EmuEngine implements it. */
export interface EmuEngineControl {
  /** Level of CPU `cpuIndex`'s IRQ input (the GIC CPU interface output). */
  setIrq(cpuIndex: number, level: boolean): void;
  /** Level of CPU `cpuIndex`'s FIQ input. */
  setFiq(cpuIndex: number, level: boolean): void;
  /**
   * PSCI CPU_ON: power on CPU `cpuIndex` at EL1h, MMU off, PC = entry, x0 = contextId.
   * Returns CPU_ON_SUCCESS, CPU_ON_ALREADY_ON or CPU_ON_INVALID_PARAMETERS.
   */
  cpuOn(cpuIndex: number, entry: bigint, contextId: bigint): number;
  /** PSCI CPU_OFF (called for the calling CPU): it stops executing until a later cpuOn. */
  cpuOff(cpuIndex: number): void;
  /** PSCI AFFINITY_INFO: true when the CPU is on. */
  isCpuOn(cpuIndex: number): boolean;
  /** Index of the CPU currently executing (the GIC uses it for its banked registers). */
  readonly currentCpu: number;
  /** End run() with this status soon (SYSTEM_OFF → {kind:'poweroff'}, SYSTEM_RESET → {kind:'reset'}). */
  requestStop(status: ExitStatus): void;
}

export interface EmuEngineOptions {
  memory: GuestMemory;
  mmio: Bus;
  /** Number of vCPUs (1..8). CPU 0 starts at `entry`; the others are off until CPU_ON. */
  cpus: number;
  /** Kernel entry physical address (PC of CPU 0). */
  entry: number;
  /** DTB physical address (x0 of CPU 0). */
  dtbAddr: number;
  platform: EmuPlatform;
  host: EngineHost;
  /** Run hot code through the block translator (jit/); default: TSVISOR_EMU_JIT, else on. */
  jit?: boolean;
}
