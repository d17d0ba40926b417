/**
 * Starting a worker_threads Worker on one of our modules, both from compiled
 * code (dist/**.js) and from the TypeScript sources under `node --import tsx`.
 *
 * Why: tsx's `--import tsx` hook only registers on the main thread (it checks
 * isMainThread), so a Worker pointed at a .ts file fails with "Unknown file
 * extension .ts" even though workers inherit execArgv. Under tsx we start the
 * worker with a tiny bootstrap that registers tsx's ESM loader in the worker
 * first and then imports the real module.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * `relJs` is the worker module's path relative to `base` (pass import.meta.url)
 * spelled with .js, e.g. './vcpu-worker.js'. The .ts sibling is used when the
 * .js does not exist (running from sources).
 */
export function startWorker(relJs: string, base: string, options: WorkerOptions = {}): Worker {
  const js = new URL(relJs, base);
  if (existsSync(fileURLToPath(js))) return new Worker(js, options);
  const ts = new URL(relJs.replace(/\.js$/, '.ts'), base);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot =
    `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(ts.href)}); })` +
    `.catch((e) => { process.nextTick(() => { throw e; }); });`;
  return new Worker(boot, { ...options, eval: true });
}
