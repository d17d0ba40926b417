/**
 * Helpers for the real-guest network and vsock tests: boot the cached Debian
 * arm64 guest under the emu engine with NICs / vsock, and run host-side
 * programs inside a network namespace the test owns.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { findGuest, whyNoGuest } from '../../guest/assets.js';
import { BOOT_MARKER, cmdParam, parseExitStatus } from '../../guest/init-script.js';
import { Machine } from '../../src/vmm/machine.js';
import type { NicOptions, VsockOptions } from '../../src/backends/net-options.js';
import type { ExitStatus } from '../../src/vmm/engine.js';
import type { DiskOptions } from '../../src/vmm/config.js';

export const assets = findGuest('arm64');

export function netSkipReason(needNetns: boolean): string | undefined {
  if (!assets) return whyNoGuest('arm64');
  if (!needNetns) return undefined;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, /dev/net/tun)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'no ip(8)';
  }
  return undefined;
}

export interface GuestRun {
  output: string;
  status: ExitStatus | undefined;
  exit: number | undefined;
  timedOut: boolean;
  seconds: number;
}

/** Why a run says the emu engine cannot boot the guest yet (skip), else undefined. */
export function notBooted(r: GuestRun): string | undefined {
  if (r.output.includes(BOOT_MARKER)) return undefined;
  return `the emu engine did not boot the arm64 guest to ${BOOT_MARKER} (${r.timedOut ? 'timed out' : JSON.stringify(r.status)}; last output: ${JSON.stringify(r.output.slice(-300))})`;
}

export async function bootGuest(o: {
  script: string;
  nics?: NicOptions[];
  vsock?: VsockOptions;
  disks?: DiskOptions[];
  memory?: string;
  /** Initrd to boot instead of the cached guest's (e.g. one made with guest/assets.ts initrdWith). */
  initrd?: string;
  timeoutMs: number;
  onStart?: (m: Machine) => void | Promise<void>;
  onOutput?: (all: string) => void;
}): Promise<GuestRun> {
  const a = assets!;
  const m = new Machine({
    kernel: a.kernel,
    initrd: o.initrd ?? a.initrd,
    accel: 'emu',
    memory: o.memory ?? '256M',
    append: `${a.cmdlineDefaults} ${cmdParam(o.script)}`,
    nics: o.nics,
    vsock: o.vsock,
    disks: o.disks,
  });
  let output = '';
  m.serial.output.on('data', (d: Buffer) => {
    output += d.toString('utf8');
    o.onOutput?.(output);
  });
  const t0 = Date.now();
  await m.start();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void m.stop();
  }, o.timeoutMs);
  try {
    await o.onStart?.(m);
  } catch (e) {
    void m.stop();
    clearTimeout(timer);
    throw e;
  }
  const status = await m.wait();
  clearTimeout(timer);
  await new Promise((r) => setImmediate(r));
  return { output, status, exit: parseExitStatus(output), timedOut, seconds: (Date.now() - t0) / 1000 };
}

/** A network namespace owned by a test: created now, deleted by dispose(). */
export class TestNetns {
  readonly name = `tsv-test-${randomBytes(4).toString('hex')}`;
  private children: ChildProcess[] = [];
  constructor() {
    execFileSync('ip', ['netns', 'add', this.name]);
  }
  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
  /** Wait until interface `ifname` exists in the namespace, then give it `cidr` and bring it up. */
  async configure(ifname: string, cidr: string, ms = 10000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      try {
        this.ip('link', 'show', ifname);
        break;
      } catch {
        if (Date.now() > end) throw new Error(`${ifname} never appeared in ${this.name}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    this.ip('addr', 'add', cidr, 'dev', ifname);
    this.ip('link', 'set', ifname, 'up');
  }
  /** Run `node -e source` inside the namespace; lines of its stdout go to onLine. */
  node(source: string, onLine: (line: string) => void): ChildProcess {
    const c = spawn('ip', ['netns', 'exec', this.name, process.execPath, '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    this.children.push(c);
    return c;
  }
  dispose(): void {
    for (const c of this.children) c.kill('SIGKILL');
    try {
      execFileSync('ip', ['netns', 'del', this.name]);
    } catch {
      // already gone
    }
  }
}

/** What `seq 1 n` prints. */
export function seqText(n: number): Buffer {
  const parts: string[] = [];
  for (let i = 1; i <= n; i++) parts.push(`${i}\n`);
  return Buffer.from(parts.join(''));
}
