/**
 * Progress output for guest setup: one line per step on stderr, with sizes
 * and elapsed time, plus streamed output of child processes (apt-get, ...).
 * stderr so that `setup --print-paths` keeps stdout machine-readable.
 */
import { spawn, execFileSync } from 'node:child_process';

export type Log = (line: string) => void;

const t0 = Date.now();
export const stderrLog: Log = (line) => process.stderr.write(`[tsvisor-setup +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
export const quietLog: Log = () => {};

export function fmtSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Time a step and log its end with how long it took. */
export async function step<T>(log: Log, what: string, fn: () => Promise<T> | T, describe?: (r: T) => string): Promise<T> {
  const start = Date.now();
  log(`${what} ...`);
  const r = await fn();
  const extra = describe ? `: ${describe(r)}` : '';
  log(`${what} done in ${((Date.now() - start) / 1000).toFixed(1)}s${extra}`);
  return r;
}

/** Run a command, streaming its output line by line to `log`; reject with its tail on failure. */
export function runStreamed(cmd: string, args: string[], log: Log, opts: { cwd?: string; prefix?: string } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const tail: string[] = [];
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split(/[\r\n]+/)) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        log(`${opts.prefix ?? cmd}: ${line}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${tail.join('\n')}`));
    });
  });
}

/** Run a command and return its stdout (throws with stderr on failure). */
export function capture(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 << 20 });
}
