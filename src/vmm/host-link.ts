/**
 * The link between a VM's main-thread handle (Machine) and its machine thread.
 *
 * The machine thread spends its life blocked in guest code (KVM_RUN, or the
 * emulator's loop), so it cannot use its event loop. Everything crosses in
 * shared memory instead:
 *  - console input: main -> machine, a ByteRing; the engine drains it in poll()
 *  - console output: machine -> main, a ByteRing; main wakes with waitAsync
 *  - control: a stop request flag
 * After writing, the main thread "kicks" the machine thread: a notify wakes an
 * emulator sleeping in WFI, and for kvm a signal makes KVM_RUN return EINTR
 * (the kvm engine tells us its thread id through `setKick`).
 */
import type { ByteSink } from '../devices/device.js';
import { ByteRing } from './byte-ring.js';
import type { EngineHost, ExitStatus } from './engine.js';

const STOP = 0;
const CTL_WORDS = 4;

export interface HostLinkBuffers {
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

export function createHostLinkBuffers(): HostLinkBuffers {
  return {
    input: new ByteRing(64 * 1024).sab,
    output: new ByteRing(1024 * 1024).sab,
    control: new SharedArrayBuffer(CTL_WORDS * 4),
  };
}

/** Main-thread side. */
export class HostLinkMain {
  readonly input: ByteRing;
  readonly output: ByteRing;
  private readonly ctl: Int32Array;
  private kickFn: (() => void) | undefined;
  private pendingInput: Uint8Array[] = [];

  constructor(readonly buffers: HostLinkBuffers) {
    this.input = new ByteRing(buffers.input);
    this.output = new ByteRing(buffers.output);
    this.ctl = new Int32Array(buffers.control);
  }

  /** Set how to interrupt the machine thread when it is blocked in guest code. */
  setKick(fn: () => void): void {
    this.kickFn = fn;
  }

  kick(): void {
    this.kickFn?.();
  }

  /** Queue console input; bytes that do not fit wait here until `flushInput`. */
  sendInput(bytes: Uint8Array): void {
    this.pendingInput.push(bytes);
    this.flushInput();
  }

  /** Move queued input into the ring; returns true when all of it went. */
  flushInput(): boolean {
    let wrote = false;
    while (this.pendingInput.length > 0) {
      const b = this.pendingInput[0]!;
      const n = this.input.write(b);
      if (n > 0) wrote = true;
      if (n < b.length) {
        this.pendingInput[0] = b.subarray(n);
        break;
      }
      this.pendingInput.shift();
    }
    if (wrote) this.kick();
    return this.pendingInput.length === 0;
  }

  requestStop(): void {
    Atomics.store(this.ctl, STOP, 1);
    this.input.bump();
    this.kick();
  }
}

/**
 * Work that arrives on the machine thread from other threads (backend I/O
 * workers, ioeventfd watchers): `pending` is a cheap atomics check made on
 * every engine turn, `poll` delivers the work to the device models.
 */
export interface HostSource {
  pending(): boolean;
  poll(): void;
}

/**
 * How another thread wakes this machine thread (plain data, for workerData):
 * bump + notify word `index` of `sab` (the input ring's sequence word, which
 * waitForEvent sleeps on) and, once the kvm engine has installed its kick
 * signal, tgkill(kick[0], kick[1]) so KVM_RUN returns and the engine polls
 * the host. `kick` is shared so the tid can be filled in after workers start
 * (a kick before the handler exists would kill the process). See wakeMachine
 * in backends/net.ts.
 */
export interface WakeTarget {
  sab: SharedArrayBuffer;
  index: number;
  /** Int32 [tid, signal]; tid 0 = no signal yet. */
  kick?: SharedArrayBuffer;
  /** A fixed tid/signal (when known up front); `kick` is preferred. */
  tid?: number;
  signal?: number;
}

/** Index of ByteRing's sequence word (byte-ring.ts: [head, tail, seq]). */
const RING_SEQ_WORD = 2;

/** Machine-thread side: what the engine sees as its EngineHost. */
export class HostLinkWorker implements EngineHost {
  private readonly sources: HostSource[] = [];
  private readonly inputSab: SharedArrayBuffer;
  private readonly kickWords = new Int32Array(new SharedArrayBuffer(8));
  private readonly input: ByteRing;
  private readonly output: ByteRing;
  private readonly ctl: Int32Array;
  private readonly sleepWord = new Int32Array(new SharedArrayBuffer(4));
  /** Where console input goes; returns how many bytes the device accepted. */
  consoleInput: (bytes: Uint8Array) => number = (b) => b.length;

  constructor(buffers: HostLinkBuffers) {
    this.input = new ByteRing(buffers.input);
    this.output = new ByteRing(buffers.output);
    this.ctl = new Int32Array(buffers.control);
    this.inputSab = buffers.input;
  }

  /** Register a source of cross-thread work (polled with the console input). */
  addSource(s: HostSource): void {
    this.sources.push(s);
  }

  /** Under kvm, once the kick signal's handler is installed: wake targets also interrupt KVM_RUN. */
  setKickTarget(k: { tid: number; signal: number }): void {
    Atomics.store(this.kickWords, 1, k.signal);
    Atomics.store(this.kickWords, 0, k.tid);
  }

  /** Where workers wake this thread (see WakeTarget). */
  wakeTarget(): WakeTarget {
    return { sab: this.inputSab, index: RING_SEQ_WORD, kick: this.kickWords.buffer as SharedArrayBuffer };
  }

  /**
   * Console input the device refused (its FIFO was full) is not "pending" again
   * until the device reports room (rxSpace), new input arrives, or a short
   * retry interval passes; otherwise an idle guest that is not reading its UART
   * would keep the engine from ever sleeping.
   */
  private inputBlockedSeq = -1;
  private inputBlockedAt = 0;

  /** The console device has room again: deliver waiting input at the next poll. */
  rxSpace(): void {
    this.inputBlockedSeq = -1;
  }

  private inputPending(): boolean {
    if (this.input.available() === 0) return false;
    if (this.inputBlockedSeq < 0) return true;
    if (this.input.seq() !== this.inputBlockedSeq || performance.now() - this.inputBlockedAt > 20) {
      this.inputBlockedSeq = -1;
      return true;
    }
    return false;
  }

  pending(): boolean {
    if (Atomics.load(this.ctl, STOP) !== 0 || this.inputPending()) return true;
    for (const s of this.sources) if (s.pending()) return true;
    return false;
  }

  poll(): ExitStatus | undefined {
    if (Atomics.load(this.ctl, STOP) !== 0) return { kind: 'stopped', reason: 'stop requested' };
    for (const s of this.sources) if (s.pending()) s.poll();
    if (this.inputPending()) {
      const seq = this.input.seq();
      const bytes = this.input.peek(4096);
      const n = Math.max(0, Math.min(this.consoleInput(bytes), bytes.length));
      this.input.consume(n);
      if (n < bytes.length) {
        this.inputBlockedSeq = seq;
        this.inputBlockedAt = performance.now();
      }
    }
    return undefined;
  }

  waitForEvent(timeoutMs: number): void {
    const seen = this.input.seq();
    if (this.pending() || timeoutMs <= 0) return;
    this.input.waitForWrite(seen, timeoutMs);
  }

  /** Console output sink for devices. Blocks briefly (up to ~1 s) when the main thread is not draining, then drops. */
  /** Sees everything the guest prints on its consoles (the builder uses it to notice a kernel panic). */
  consoleTap: ((bytes: Uint8Array) => void) | undefined;

  readonly consoleOutput: ByteSink = (bytes) => {
    this.consoleTap?.(bytes);
    let off = this.output.write(bytes);
    for (let tries = 0; off < bytes.length && tries < 1000; tries++) {
      Atomics.wait(this.sleepWord, 0, 0, 1);
      off += this.output.write(bytes.subarray(off));
    }
  };
}
