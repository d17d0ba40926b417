/**
 * Where guest assets live, and how a cache entry becomes complete atomically:
 * each entry is built in a sibling temp directory and renamed into place at
 * the end, so an interrupted build is never mistaken for a complete one.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, basename } from 'node:path';

/** $TSVISOR_CACHE, else $XDG_CACHE_HOME/tsvisor, else ~/.cache/tsvisor. */
export function cacheRoot(): string {
  if (process.env.TSVISOR_CACHE) return process.env.TSVISOR_CACHE;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'tsvisor');
}

/** A version string made safe for a directory name (epochs' ":" etc.). */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9.+~_-]/g, '_');
}

const TMP_RE = /\.tmp-(\d+)-[0-9a-z]+$/;

/** Remove temp dirs of builds whose process is gone (interrupted runs). */
export function cleanStaleTemps(parent: string): void {
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    const m = TMP_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) rmSync(join(parent, name), { recursive: true, force: true });
  }
}

/**
 * Make `final` exist by running `build` in a temp dir next to it and
 * renaming. If `final` already exists nothing is built. A concurrent builder
 * that wins the rename race is fine: its result is kept and ours dropped.
 */
export async function atomicDir(final: string, build: (tmp: string) => Promise<void> | void): Promise<boolean> {
  if (existsSync(final)) return false;
  const parent = dirname(final);
  mkdirSync(parent, { recursive: true });
  cleanStaleTemps(parent);
  const tmp = join(parent, `${basename(final)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(tmp);
  try {
    await build(tmp);
    try {
      renameSync(tmp, final);
    } catch (e) {
      if (!existsSync(final)) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return true;
}

/** Write a small file atomically (temp + rename). */
export function atomicWrite(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Run `fn` holding an exclusive lock file (O_EXCL create, holder's pid
 * inside). Concurrent setups of one arch would otherwise fight over apt's
 * list lock and download twice. A lock left by a dead process is taken over.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, onWait: (pid: number) => void): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  let warned = false;
  for (;;) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = NaN;
      try {
        holder = Number(readFileSync(path, 'utf8'));
      } catch {
        continue; // released between our create and read
      }
      if (!Number.isInteger(holder) || holder <= 0 || !pidAlive(holder)) {
        rmSync(path, { force: true });
        continue;
      }
      if (!warned) onWait(holder);
      warned = true;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
