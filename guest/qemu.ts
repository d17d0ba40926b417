/**
 * The reference boots under QEMU (Debian's qemu-system-arm / -x86): they
 * prove the guest assets independently of tsvisor's engines, and the
 * benchmarks compare against them.
 */
import { spawn } from 'node:child_process';
import type { GuestAssets } from './assets.js';

export const QEMU_ARM64 = 'qemu-system-aarch64';
export const QEMU_X86_64 = 'qemu-system-x86_64';

export interface QemuOptions {
  /** Appended to assets.cmdlineDefaults. */
  append?: string;
  /** MiB, default 512. */
  memory?: number;
  /** Raw disk image attached as virtio-blk (guest /dev/vda); opened with snapshot=on unless writable. */
  disk?: string;
  writable?: boolean;
  /** Extra argv appended at the end. */
  extra?: string[];
}

function common(assets: GuestAssets, o: QemuOptions): string[] {
  const append = [assets.cmdlineDefaults, o.append].filter(Boolean).join(' ');
  return ['-m', String(o.memory ?? 512), '-nographic', '-no-reboot', '-kernel', assets.kernel, '-initrd', assets.initrd, '-append', append];
}

function disk(o: QemuOptions, device: string): string[] {
  if (!o.disk) return [];
  return ['-drive', `file=${o.disk},if=none,id=d0,format=raw${o.writable ? '' : ',snapshot=on'}`, '-device', `${device},drive=d0`];
}

/**
 * Argv (without the program, QEMU_ARM64) of the arm64 reference boot:
 * `-M virt -cpu cortex-a57 -m 512 -nographic -kernel ... -initrd ... -append "console=ttyAMA0 nokaslr cryptomgr.notests quiet"`.
 * cortex-a57, not max: max's pointer-authentication emulation is ~5x slower.
 * -no-reboot turns the guest's `reboot -f` into a QEMU exit too.
 */
export function qemuArm64Args(assets: GuestAssets, o: QemuOptions = {}): string[] {
  if (assets.arch !== 'arm64') throw new Error(`qemuArm64Args needs arm64 assets, got ${assets.arch}`);
  return ['-M', 'virt', '-cpu', 'cortex-a57', ...common(assets, o), ...disk(o, 'virtio-blk-device'), ...(o.extra ?? [])];
}

/** Argv (without QEMU_X86_64) of an amd64 TCG boot on the pc machine, disk as virtio-blk-pci. */
export function qemuX86Args(assets: GuestAssets, o: QemuOptions = {}): string[] {
  if (assets.arch !== 'amd64') throw new Error(`qemuX86Args needs amd64 assets, got ${assets.arch}`);
  // -nic none: no e1000 + iPXE option ROM probe at boot.
  return ['-M', 'pc', '-accel', 'tcg', '-cpu', 'max', '-nic', 'none', ...common(assets, o), ...disk(o, 'virtio-blk-pci'), ...(o.extra ?? [])];
}

export interface RunResult {
  /** Everything the guest console printed (stdout + stderr of QEMU). */
  output: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  ms: number;
}

/**
 * Run QEMU to completion (guest power-off), killing it after timeoutMs or
 * when `signal` aborts (pass a test's signal so nothing outlives the test).
 */
export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called with all output so far after each chunk; `write` types on the guest console. */
  interact?: (output: string, write: (s: string) => void) => void;
}

export function runQemu(program: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    opts.signal?.addEventListener('abort', kill, { once: true });
    const write = (s: string): void => void child.stdin.write(s);
    const onData = (d: Buffer): void => {
      output += d.toString('utf8');
      opts.interact?.(output, write);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.stdin.on('error', () => {}); // EPIPE when QEMU exits while we type
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', kill);
      resolve({ output, code, signal: sig, timedOut, ms: Date.now() - start });
    });
  });
}
