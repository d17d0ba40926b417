/**
 * Start-up: a machine thread started before the Machine that will use it
 * exists. Node takes tens of ms to bring up a worker; the CLI calls
 * `prespawnMachineThread` first thing (bin/tsvisor.js, before it even loads
 * the CLI's modules), so that bring-up, and the thread's import of the
 * engine's modules, overlap the main thread's own loading and config
 * validation. The next `Machine.start()` whose engine matches adopts the
 * thread and posts it its WorkerInit; an unused one is unref'd and never
 * keeps the process alive.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../sys/worker.js';

/** workerData of a prespawned machine thread: it waits for its WorkerInit as the first message. */
export interface PrespawnData {
  prespawn: true;
  /** Engine whose modules the thread imports while it waits. */
  accel: 'kvm' | 'emu';
}

interface Pending {
  worker: Worker;
  accel: 'kvm' | 'emu';
  dead: boolean;
}

let pending: Pending | undefined;

export function prespawnMachineThread(accel: 'kvm' | 'emu'): void {
  if (pending !== undefined) return;
  const data: PrespawnData = { prespawn: true, accel };
  const worker = startWorker('./machine-worker.js', import.meta.url, { workerData: data });
  const p: Pending = { worker, accel, dead: false };
  // Until adopted, failures only mean "start a fresh one".
  const onEnd = (): void => {
    p.dead = true;
  };
  worker.on('error', onEnd);
  worker.on('exit', onEnd);
  worker.unref();
  pending = p;
}

/** The prespawned thread, if it is alive and preloaded for `accel` (else it is ended). One taker only. */
export function takePrespawned(accel: string): Worker | undefined {
  const p = pending;
  pending = undefined;
  if (p === undefined) return undefined;
  if (p.dead || p.accel !== accel) {
    void p.worker.terminate();
    return undefined;
  }
  p.worker.removeAllListeners('error');
  p.worker.removeAllListeners('exit');
  p.worker.ref();
  return p.worker;
}
