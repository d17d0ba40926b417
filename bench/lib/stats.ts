/** Small helpers shared by the benchmarks: timing a child process to a marker, and min/median/max. */
import { spawn } from 'node:child_process';

export interface Summary {
  min: number;
  median: number;
  max: number;
  n: number;
}

export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]!, n: s.length };
}

export function fmt(s: Summary, unit: string, digits = 2): string {
  return `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)} ${unit}`;
}

export interface MarkerRun {
  /** Seconds from spawn to the marker, or undefined on timeout. */
  seconds?: number;
  output: string;
}

/**
 * Spawn a command, time from spawn to the first appearance of `marker` in its
 * stdout/stderr, then kill it (SIGKILL after `killAfterMarker` ms unless it exits).
 */
export function timeToMarker(cmd: string, args: string[], marker: string, timeoutMs: number, input?: string): Promise<MarkerRun> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let done = false;
    const finish = (seconds?: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve({ seconds, output });
    };
    const onData = (d: Buffer): void => {
      output += d.toString('latin1');
      if (output.includes(marker)) finish(Number(process.hrtime.bigint() - t0) / 1e9);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => finish(undefined));
    if (input !== undefined) child.stdin.write(input);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
  });
}
