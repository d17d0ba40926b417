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
import type { PrespawnData } from './prespawn.js';

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

/** A prespawned thread (prespawn.ts) imports its engine's modules while it waits for its WorkerInit. */
async function initData(data: WorkerInit | PrespawnData): Promise<WorkerInit> {
  if (!('prespawn' in data)) return data;
  const init = new Promise<WorkerInit>((resolve) => parentPort!.once('message', resolve));
  // A hint only: buildMachine imports what it really needs (errors surface there).
  const warm = data.accel === 'kvm' ? [import('../engines/kvm/index.js'), import('../boards/x86/board.js')] : [import('../engines/emu/index.js'), import('../boards/arm-virt/index.js')];
  for (const w of warm) w.catch(() => {});
  return init;
}

async function main(): Promise<void> {
  traceStartup('worker-loaded');
  const init = await initData(workerData as WorkerInit | PrespawnData);
  traceStartup('worker-init');
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
