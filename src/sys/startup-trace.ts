/**
 * TSVISOR_TRACE_STARTUP=1: print start-up milestones to stderr as
 * `tsvisor-startup <label> <ms since process start> <process CPU ms>`
 * (process.uptime() and cpuUsage() are process-wide, so main thread and
 * workers share the clocks). Used by
 * bench/kvm-startup.ts; costs one env lookup when off.
 */
import { writeSync } from 'node:fs';

const on = process.env.TSVISOR_TRACE_STARTUP === '1';

export function traceStartup(label: string, ms = process.uptime() * 1000): void {
  if (!on) return;
  try {
    const cpu = process.cpuUsage();
    writeSync(2, `tsvisor-startup ${label} ${ms.toFixed(2)} ${((cpu.user + cpu.system) / 1000).toFixed(2)}\n`);
  } catch {
    // stderr closed: tracing is best effort
  }
}
