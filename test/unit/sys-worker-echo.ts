/** Worker module for sys-worker.test.ts: echoes workerData back, proving a .ts worker loaded. */
import { parentPort, workerData } from 'node:worker_threads';

const typed: { n: number } = workerData as { n: number };
parentPort!.postMessage({ doubled: typed.n * 2 });
