/**
 * What a CPU engine (kvm or emu) gives the VMM, and what the VMM gives it.
 *
 * Threads: the main thread of a tsvisor process runs the public API / CLI and
 * spawns one "machine thread" (a worker) per VM. The machine thread builds the
 * board, the devices and the engine, and then calls `engine.run()`, which
 * blocks that thread running guest code: the kvm engine sits in KVM_RUN for
 * vCPU 0 (other vCPUs run in their own workers and hand their exits to the
 * machine thread), the emu engine interprets/translates all vCPUs in turn.
 * Device models therefore always run on the machine thread, one at a time.
 *
 * Because run() blocks, the machine thread cannot receive messages while the
 * guest runs. The main thread reaches it through a HostLink: a shared-memory
 * input ring plus a control word, and a kick (a signal for kvm, a flag checked
 * at block boundaries for emu). The engine calls `host.poll()` whenever it
 * comes back from guest code after a kick, and at least every few ms.
 */

export type ExitStatus =
  | { kind: 'poweroff' }
  | { kind: 'reset' }
  | { kind: 'triple-fault' }
  | { kind: 'panic'; message: string }
  | { kind: 'debug-exit'; code: number }
  | { kind: 'stopped'; reason: string }
  | { kind: 'error'; message: string };

/** Exit code of the tsvisor process for a VM exit status. */
export function exitCodeFor(s: ExitStatus): number {
  switch (s.kind) {
    case 'poweroff':
      return 0;
    case 'stopped':
      return 0;
    case 'debug-exit':
      return s.code;
    case 'reset':
      return 3;
    case 'triple-fault':
      return 4;
    case 'panic':
      return 5;
    case 'error':
      return 1;
  }
}

export interface Engine {
  /** Run guest code until the VM ends; blocks the calling (machine) thread. */
  run(): ExitStatus;
  /** Ask run() to return soon with `stopped` (callable from device code on the machine thread). */
  requestStop(status: ExitStatus): void;
}

/** Services the machine thread gives an engine. */
export interface EngineHost {
  /**
   * Drain pending input from the main thread (console bytes, stop requests)
   * into the devices. Returns an ExitStatus when the main thread asked the VM
   * to stop.
   */
  poll(): ExitStatus | undefined;
  /** True when the main thread has posted something since the last poll (cheap: one Atomics.load). */
  pending(): boolean;
  /**
   * Block the machine thread for at most timeoutMs, returning early when the
   * main thread posts input (Atomics.wait on the host link). The emu engine
   * calls it when every vCPU is in WFI. Optional: without it the engine sleeps
   * the whole timeout.
   */
  waitForEvent?(timeoutMs: number): void;
}
