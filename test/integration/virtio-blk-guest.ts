/**
 * Boots the cached Debian arm64 guest under the emu engine with virtio
 * devices, for the virtio integration tests. `emuSkipReason()` does a short
 * boot first (once per process) and returns why the tests must skip when the
 * emu engine cannot reach the initramfs marker.
 */
import { findGuest, whyNoGuest, type GuestAssets } from '../../guest/assets.js';
import { BOOT_MARKER, cmdParam, parseExitStatus } from '../../guest/init-script.js';
import type { DiskOptions, MachineOptions } from '../../src/vmm/config.js';
import type { ExitStatus } from '../../src/vmm/engine.js';
import { Machine } from '../../src/vmm/machine.js';

export const assets: GuestAssets | undefined = findGuest('arm64');

export interface EmuRun {
  output: string;
  status: ExitStatus | undefined;
  timedOut: boolean;
  exit: number | undefined;
  seconds: number;
  machine: Machine;
}

export interface EmuBootOptions {
  script?: string;
  /** Extra kernel parameters (before tsvisor.cmd). */
  append?: string;
  disks?: DiskOptions[];
  rng?: boolean;
  console?: MachineOptions['console'];
  memory?: string;
  /** Initrd to boot instead of the cached guest's (e.g. one made with guest/assets.ts initrdWith). */
  initrd?: string;
  timeoutMs: number;
  /** Called with each chunk of console output (e.g. to type into the guest). */
  onOutput?: (all: string, m: Machine) => void;
  signal?: AbortSignal;
}

export async function bootEmu(o: EmuBootOptions): Promise<EmuRun> {
  const a = assets!;
  const append = [a.cmdlineDefaults, o.append ?? '', o.script !== undefined ? cmdParam(o.script) : ''].filter((s) => s !== '').join(' ');
  const machine = new Machine({
    kernel: a.kernel,
    initrd: o.initrd ?? a.initrd,
    accel: 'emu',
    memory: o.memory ?? '256M',
    append,
    disks: o.disks,
    rng: o.rng,
    console: o.console,
  });
  let output = '';
  machine.serial.output.on('data', (d: Buffer) => {
    output += d.toString('utf8');
    o.onOutput?.(output, machine);
  });
  const t0 = Date.now();
  await machine.start();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void machine.stop();
  }, o.timeoutMs);
  const onAbort = (): void => void machine.stop();
  o.signal?.addEventListener('abort', onAbort);
  const status = await machine.wait();
  clearTimeout(timer);
  o.signal?.removeEventListener('abort', onAbort);
  // Let the output stream flush.
  await new Promise((r) => setImmediate(r));
  return { output, status, timedOut, exit: parseExitStatus(output), seconds: (Date.now() - t0) / 1000, machine };
}

let probe: Promise<string | undefined> | undefined;

/** Undefined when the emu engine boots the guest to its marker; else the reason to skip. */
export function emuSkipReason(): Promise<string | undefined> {
  if (!assets) return Promise.resolve(whyNoGuest('arm64'));
  probe ??= (async () => {
    try {
      const r = await bootEmu({ script: 'echo probe-ok', timeoutMs: 240_000 });
      if (!r.output.includes(BOOT_MARKER)) {
        return `the emu engine does not boot the arm64 guest to ${BOOT_MARKER} yet (${r.timedOut ? 'timed out' : JSON.stringify(r.status)}; last output: ${JSON.stringify(r.output.slice(-200))})`;
      }
      return undefined;
    } catch (e) {
      return `the emu engine cannot start: ${(e as Error).message}`;
    }
  })();
  return probe;
}

/** When a run did not reach the boot marker, the emu engine cannot boot the guest yet: the reason to skip, else undefined. */
export function notBooted(r: EmuRun): string | undefined {
  if (r.output.includes(BOOT_MARKER)) return undefined;
  return `the emu engine did not boot the arm64 guest to ${BOOT_MARKER} (${r.timedOut ? 'timed out' : JSON.stringify(r.status)}; last output: ${JSON.stringify(r.output.slice(-300))})`;
}

/** Skip reason before booting anything: no guest assets. */
export const noAssets: string | undefined = assets ? undefined : whyNoGuest('arm64');
