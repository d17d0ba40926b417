/**
 * The machine thread's side of vCPUs 1..N-1: one worker per AP (vcpu-worker.ts),
 * the shared control block and mailboxes (mailbox.ts), serving forwarded
 * exits against the buses, and stopping the workers.
 */
import type { Worker } from 'node:worker_threads';
import { sys } from '../../sys/native.js';
import { startWorker } from '../../sys/worker.js';
import type { Bus } from '../../devices/bus.js';
import type { ExitStatus } from '../../vmm/engine.js';
import { handleIo, handleMmio } from './exits.js';
import * as M from './mailbox.js';

/** How long run() waits for AP workers to leave KVM_RUN when the VM ends. */
const STOP_TIMEOUT_MS = 2000;

export class ApThreads {
  private readonly control = new SharedArrayBuffer(M.CTL_WORDS * 4);
  private readonly ctl = new Int32Array(this.control);
  private readonly mailboxes: Array<{ words: Int32Array; view: DataView }> = [];
  private readonly workers: Worker[] = [];
  /** Exits served for APs (statistics). */
  served = 0;

  /** Starts a worker for each of vcpuFds[1..]; they wait for go() before their first KVM_RUN. */
  constructor(
    private readonly vcpuFds: readonly number[],
    mmapSize: number,
    machineTid: number,
    private readonly signal: number,
  ) {
    for (let index = 1; index < vcpuFds.length; index++) {
      const mailbox = new SharedArrayBuffer(M.MB_BYTES);
      this.mailboxes[index] = { words: new Int32Array(mailbox), view: new DataView(mailbox) };
      const data: M.VcpuWorkerData = { index, vcpuFd: vcpuFds[index]!, mmapSize, machineTid, signo: signal, control: this.control, mailbox };
      const w = startWorker('./vcpu-worker.js', import.meta.url, { workerData: data });
      // Reported once the machine thread's event loop runs again (after run()); that vCPU then never started.
      w.on('error', (e) => console.error(`tsvisor: vCPU ${index} worker failed: ${e.message}`));
      w.unref();
      this.workers.push(w);
    }
  }

  go(): void {
    Atomics.store(this.ctl, M.CTL_GO, 1);
    Atomics.notify(this.ctl, M.CTL_GO);
  }

  /** Some AP is waiting for its exit to be served (one Atomics.load). */
  pending(): boolean {
    return Atomics.load(this.ctl, M.CTL_DOORBELL) !== 0;
  }

  /**
   * Call right before KVM_RUN on vCPU 0: announces it (so workers kick) and
   * returns false when an AP is already waiting, in which case serve first.
   */
  enteringRun(): boolean {
    Atomics.store(this.ctl, M.CTL_IN_RUN, 1);
    if (Atomics.load(this.ctl, M.CTL_DOORBELL) === 0) return true;
    Atomics.store(this.ctl, M.CTL_IN_RUN, 0);
    return false;
  }

  /** Call when KVM_RUN on vCPU 0 has returned: workers need not kick until the next enteringRun(). */
  leftRun(): void {
    Atomics.store(this.ctl, M.CTL_IN_RUN, 0);
  }

  /** Serve every mailbox in REQUEST state. Returns a status when an AP reported a VM-ending exit. */
  serve(pio: Bus, mmio: Bus): ExitStatus | undefined {
    let result: ExitStatus | undefined;
    for (let i = 1; i < this.vcpuFds.length; i++) {
      const mb = this.mailboxes[i]!;
      const w = mb.words;
      if (Atomics.load(w, M.MB_STATE) !== M.STATE_REQUEST) continue;
      let answer = M.RESULT_OK;
      switch (w[M.MB_KIND]) {
        case M.KIND_IO:
          handleIo(pio, w[M.MB_WRITE] !== 0, w[M.MB_SIZE]!, w[M.MB_ADDR_LO]!, w[M.MB_ADDR_HI]!, mb.view, M.MB_DATA);
          break;
        case M.KIND_MMIO: {
          const addr = (w[M.MB_ADDR_LO]! >>> 0) + (w[M.MB_ADDR_HI]! >>> 0) * 0x1_0000_0000;
          handleMmio(mmio, w[M.MB_WRITE] !== 0, addr, w[M.MB_SIZE]!, mb.view, M.MB_DATA);
          break;
        }
        case M.KIND_FATAL:
          result ??= decodeFatal(new Uint8Array(mb.view.buffer, M.MB_DATA, Math.min(w[M.MB_SIZE]!, M.MB_DATA_BYTES)));
          answer = M.RESULT_STOP;
          break;
      }
      this.served++;
      this.reply(w, answer);
      Atomics.sub(this.ctl, M.CTL_DOORBELL, 1);
    }
    return result;
  }

  private reply(w: Int32Array, answer: number): void {
    w[M.MB_RESULT] = answer;
    Atomics.store(w, M.MB_STATE, M.STATE_REPLY);
    Atomics.notify(w, M.MB_STATE);
  }

  /** Make every worker leave KVM_RUN and its loop; wait (bounded) until they have. */
  stop(): void {
    if (this.workers.length === 0) return;
    Atomics.store(this.ctl, M.CTL_STOP, 1);
    Atomics.notify(this.ctl, M.CTL_GO);
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    for (let i = 1; i < this.vcpuFds.length; i++) {
      // A worker that has not published its tid yet will read CTL_STOP before it touches its vCPU
      // (it stores the tid, then reads the flag; we stored the flag, then read the tid): nothing to wait for.
      if (Atomics.load(this.ctl, M.CTL_TID + i) === 0) continue;
      while (Atomics.load(this.ctl, M.CTL_EXITED + i) === 0 && Date.now() < deadline) {
        const mb = this.mailboxes[i]!.words;
        if (Atomics.load(mb, M.MB_STATE) === M.STATE_REQUEST) this.reply(mb, M.RESULT_STOP);
        try {
          sys().tgkill(Atomics.load(this.ctl, M.CTL_TID + i), this.signal);
        } catch {
          // the thread is already gone
        }
        Atomics.wait(this.ctl, M.CTL_EXITED + i, 0, 20);
      }
    }
  }

  terminate(): void {
    for (const w of this.workers) void w.terminate();
  }
}

function decodeFatal(bytes: Uint8Array): ExitStatus {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as ExitStatus;
  } catch {
    return { kind: 'error', message: 'a vCPU worker reported an unreadable fatal exit' };
  }
}
