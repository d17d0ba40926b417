/**
 * The generic timer: a 62.5 MHz system counter derived from host monotonic
 * time (so `sleep 1` in the guest takes one second), and the per-CPU virtual
 * and physical timers whose level outputs go to the board.
 */
import type { Cpu } from './cpu.js';
import { CNTFRQ } from './sysregs.js';

/** Counter ticks per host millisecond. */
const TICKS_PER_MS = CNTFRQ / 1000;

export class SystemCounter {
  /** performance.now() is monotonic with sub-microsecond resolution, and cheap (no BigInt). */
  private readonly start = performance.now();
  /** Counter value now, as a double (exact: far below 2^53 ticks). */
  nowTicks(): number {
    return Math.floor((performance.now() - this.start) * TICKS_PER_MS);
  }
  /** Counter value now. */
  now(): bigint {
    return BigInt(this.nowTicks());
  }
}

/** Output level (condition met and not masked). */
export function timerLevel(ctl: number, cval: bigint, now: bigint): boolean {
  return (ctl & 3) === 1 && now >= cval;
}

/** Earliest compare value among the CPU's unmasked enabled timers, or undefined. */
export function nextDeadline(c: Cpu): bigint | undefined {
  let d: bigint | undefined;
  if ((c.cntvCtl & 3) === 1) d = c.cntvCval;
  if ((c.cntpCtl & 3) === 1 && (d === undefined || c.cntpCval < d)) d = c.cntpCval;
  return d;
}

export function ticksToMs(ticks: bigint): number {
  return Number(ticks) / (CNTFRQ / 1000);
}
