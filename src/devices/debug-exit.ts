/**
 * QEMU's isa-debug-exit, compatible port and code mapping, so the same test
 * guest ends the same way under QEMU and under tsvisor:
 *   port 0x501 (QEMU's default iobase), 2 bytes wide;
 *   a write of value V ends the VM with {kind: 'debug-exit', code: (V << 1) | 1}
 *   (QEMU's process exit status for the same write; the process exit code is
 *   that value modulo 256, so writing 0 gives 1 and writing 0x10 gives 33).
 * Reads return 0. Only the first write counts; later ones (the vCPU may run a
 * few more instructions before it is stopped) are ignored.
 */
import type { AccessSize, BusDevice } from './device.js';
import type { ExitStatus } from '../vmm/engine.js';

export const DEBUG_EXIT_PORT = 0x501;
export const DEBUG_EXIT_SIZE = 2;

export function debugExitCode(value: number): number {
  return ((value >>> 0) * 2 + 1) % 2 ** 32;
}

export class DebugExit implements BusDevice {
  readonly name = 'isa-debug-exit';
  private done = false;
  constructor(private readonly onExit: (status: ExitStatus) => void) {}
  read(): number {
    return 0;
  }
  write(_offset: number, size: AccessSize, value: number): void {
    if (this.done) return;
    this.done = true;
    const mask = size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    this.onExit({ kind: 'debug-exit', code: debugExitCode((value & mask) >>> 0) });
  }
}
