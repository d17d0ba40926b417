/**
 * The machine thread: one per VM. Builds the VM from its MachineConfig with the
 * builder, reports how it can be kicked, then blocks in engine.run() until the
 * guest ends, and reports the exit status.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MachineConfig } from './config.js';
import type { ExitStatus } from './engine.js';
import { HostLinkWorker, type HostLinkBuffers } from './host-link.js';
import { buildMachine, BuildError } from './builder.js';
import { traceStartup } from '../sys/startup-trace.js';

export interface WorkerInit {
  config: MachineConfig;
  buffers: HostLinkBuffers;
}

export type WorkerMessage =
  | { type: 'running'; kick?: { tid: number; signal: number } }
  | { type: 'exit'; status: ExitStatus }
  | { type: 'config-error'; message: string };

function post(m: WorkerMessage): void {
  parentPort!.postMessage(m);
}

async function main(): Promise<void> {
  traceStartup('worker-loaded');
  const init = workerData as WorkerInit;
  const host = new HostLinkWorker(init.buffers);
  let built;
  try {
    built = await buildMachine(init.config, host);
  } catch (e) {
    if (e instanceof BuildError) {
      post({ type: 'config-error', message: e.message });
      return;
    }
    throw e;
  }
  traceStartup('built');
  post({ type: 'running', kick: built.kick });
  let status: ExitStatus;
  try {
    status = built.engine.run();
  } catch (e) {
    status = { kind: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  try {
    built.dispose?.();
  } catch {
    // Best effort: the process is about to drop the VM anyway.
  }
  post({ type: 'exit', status });
}

await main();
