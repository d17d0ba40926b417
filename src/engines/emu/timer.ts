/**
 * The generic timer: a 62.5 MHz system counter derived from host monotonic
 * time (so `sleep 1` in the guest takes one second), and the per-CPU virtual
 * and physical timers whose level outputs go to the board.
 */
import type { Cpu } from './cpu.js';
import { CNTFRQ } from './sysregs.js';

/** ns per tick = 16 at 62.5 MHz. */
const NS_PER_TICK = 1_000_000_000 / CNTFRQ;

export class SystemCounter {
  private readonly start = process.hrtime.bigint();
  /** Counter value now. */
  now(): bigint {
    return (process.hrtime.bigint() - this.start) / BigInt(NS_PER_TICK);
  }
}

/** Timer condition: enabled and counter >= compare value. */
export function timerFires(ctl: number, cval: bigint, now: bigint): boolean {
  return (ctl & 1) !== 0 && now >= cval;
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
