/**
 * Machine: the public handle of one VM, living on the caller's (main) thread.
 *
 *   const m = new Machine({ kernel, initrd, append, memory: '512M', cpus: 1 });
 *   m.serial.output.pipe(process.stdout);
 *   await m.start();
 *   m.serial.write('ls\n');
 *   const status = await m.wait();
 *
 * start() validates the configuration (ConfigError on bad input) and spawns the
 * machine thread (machine-worker.ts), which builds board + engine + devices and
 * runs the guest. Console bytes cross in shared-memory rings (host-link.ts).
 *
 * `{ thread: 'caller' }` (kvm only; the CLI uses it) has no machine thread:
 * the VM is built and vCPU 0 runs on the calling thread, which serves its event
 * loop whenever KVM_RUN is interrupted (at least every 10 ms: the engine's poll
 * timer). That saves a worker's start-up (~35 ms CPU) and a V8 heap, but the
 * caller's other work only runs in those gaps.
 */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../sys/worker.js';
import { ConfigError, resolveConfig, type MachineConfig, type MachineOptions } from './config.js';
import type { ExitStatus } from './engine.js';
import { createHostLinkBuffers, HostLinkMain, HostLinkWorker, type HostLinkBuffers } from './host-link.js';
import type { ByteSink } from '../devices/device.js';
import { hostFacts } from './host-facts.js';
import type { WorkerMessage, WorkerInit } from './machine-worker.js';
import { createKicker } from './kick.js';
import { takePrespawned } from './prespawn.js';
import { traceStartup } from '../sys/startup-trace.js';

export type MachineState = 'created' | 'starting' | 'running' | 'exited';

export interface MachineRunOptions {
  /** Where the VM runs: 'worker' (default: a machine thread) or 'caller' (kvm only, see above; other engines use a worker). */
  thread?: 'worker' | 'caller';
}

/** The host link of a VM run on the caller's thread: console output goes straight to `sink`. */
class CallerHostLink extends HostLinkWorker {
  constructor(
    buffers: HostLinkBuffers,
    private readonly sink: ByteSink,
  ) {
    super(buffers);
  }

  override readonly consoleOutput: ByteSink = (bytes) => {
    this.consoleTap?.(bytes);
    this.sink(bytes);
  };
}

export class Machine extends EventEmitter {
  readonly config: MachineConfig;
  private link: HostLinkMain;
  private worker: Worker | undefined;
  private exitPromise: Promise<ExitStatus>;
  private resolveExit!: (s: ExitStatus) => void;
  private outputLoop: Promise<void> | undefined;
  private _state: MachineState = 'created';
  private _status: ExitStatus | undefined;

  /** Console (serial port) of the guest. */
  readonly serial: { output: PassThrough; write: (data: string | Uint8Array) => void };

  /** Validates the options at once; throws ConfigError. */
  private readonly onCaller: boolean;

  constructor(options: MachineOptions, run: MachineRunOptions = {}) {
    super();
    this.config = resolveConfig(options, hostFacts());
    this.onCaller = run.thread === 'caller' && this.config.accel === 'kvm';
    this.link = new HostLinkMain(createHostLinkBuffers());
    this.exitPromise = new Promise((r) => (this.resolveExit = r));
    // Created on first use (the kvm CLI's start-up reaches the first KVM_RUN without loading node:stream).
    let output: PassThrough | undefined;
    this.serial = {
      get output(): PassThrough {
        return (output ??= new PassThrough());
      },
      write: (data) => this.link.sendInput(typeof data === 'string' ? Buffer.from(data, 'utf8') : data),
    };
  }

  get state(): MachineState {
    return this._state;
  }

  /** The exit status once the VM has ended. */
  get status(): ExitStatus | undefined {
    return this._status;
  }

  /** Start the VM; resolves once the machine thread has built it and entered guest code. */
  async start(): Promise<void> {
    if (this._state !== 'created') throw new Error(`cannot start a machine that is ${this._state}`);
    this._state = 'starting';
    if (this.onCaller) return this.startOnCaller();
    const init: WorkerInit = { config: this.config, buffers: this.link.buffers };
    const early = takePrespawned(this.config.accel);
    early?.postMessage(init);
    const worker = early ?? startWorker('./machine-worker.js', import.meta.url, { workerData: init });
    this.worker = worker;
    this.outputLoop = this.pumpOutput();
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'running':
            if (m.kick) this.link.setKick(createKicker(m.kick.tid, m.kick.signal));
            this._state = 'running';
            this.emit('running');
            resolve();
            break;
          case 'exit':
            this.finish(m.status);
            resolve();
            break;
          case 'config-error':
            reject(new ConfigError(m.message));
            this.finish({ kind: 'error', message: m.message });
            break;
        }
      });
      worker.on('error', (e) => {
        const status: ExitStatus = { kind: 'error', message: e instanceof Error ? e.message : String(e) };
        reject(e);
        this.finish(status);
      });
      worker.on('exit', (code) => {
        if (this._state !== 'exited') {
          const status: ExitStatus = { kind: 'error', message: `machine thread ended unexpectedly (code ${code})` };
          reject(new Error(status.message));
          this.finish(status);
        }
      });
    });
  }

  /** Build the VM on this thread, then run it in slices that let this thread's event loop run. */
  private async startOnCaller(): Promise<void> {
    const [{ buildMachine, BuildError }, { KvmEngine }] = await Promise.all([import('./builder.js'), import('../engines/kvm/engine.js')]);
    traceStartup('engine-loaded');
    const host = new CallerHostLink(this.link.buffers, (bytes) => this.serial.output.write(Buffer.from(bytes)));
    let built;
    try {
      built = await buildMachine(this.config, host);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.finish({ kind: 'error', message });
      throw e instanceof BuildError ? new ConfigError(message) : e;
    }
    traceStartup('built');
    const engine = built.engine;
    if (!(engine instanceof KvmEngine)) throw new Error('a VM on the calling thread needs the kvm engine');
    this._state = 'running';
    this.emit('running');
    const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    // The first slice runs now: start() resolves once the guest has run (until KVM_RUN is first interrupted).
    void (async () => {
      let status: ExitStatus;
      try {
        status = await engine.runYielding(pause);
      } catch (e) {
        status = { kind: 'error', message: e instanceof Error ? e.message : String(e) };
      }
      try {
        built.dispose?.();
      } catch {
        // Best effort, as on the machine thread.
      }
      this.finish(status);
    })();
  }

  /** Resolves with the exit status when the VM ends (poweroff, reset, stop, error). */
  wait(): Promise<ExitStatus> {
    return this.exitPromise;
  }

  /** Ask the VM to stop; resolves with its exit status. */
  async stop(): Promise<ExitStatus> {
    if (this._state === 'exited') return this._status!;
    if (this._state === 'created') {
      this.finish({ kind: 'stopped', reason: 'never started' });
      return this._status!;
    }
    this.link.requestStop();
    const timer = setTimeout(() => void this.worker?.terminate(), 5000);
    const s = await this.exitPromise;
    clearTimeout(timer);
    return s;
  }

  private async pumpOutput(): Promise<void> {
    const ring = this.link.output;
    // Atomics.waitAsync does not keep Node's event loop alive: hold a timer while the VM lives.
    const keepAlive = setInterval(() => {}, 1 << 30);
    try {
      await this.pumpLoop(ring);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async pumpLoop(ring: HostLinkMain['output']): Promise<void> {
    for (;;) {
      const seen = ring.seq();
      if (ring.available() > 0) {
        this.serial.output.write(Buffer.from(ring.read()));
        continue;
      }
      if (this._state === 'exited') return;
      // Also retry queued input that did not fit: the guest may have drained the ring.
      this.link.flushInput();
      await ring.waitForWriteAsync(seen, 50);
    }
  }

  private finish(status: ExitStatus): void {
    if (this._state === 'exited') return;
    this._state = 'exited';
    this._status = status;
    const done = async (): Promise<void> => {
      await this.outputLoop;
      const ring = this.link.output;
      if (ring.available() > 0) this.serial.output.write(Buffer.from(ring.read()));
      this.serial.output.end();
      this.emit('exit', status);
      this.resolveExit(status);
    };
    void done();
  }
}
