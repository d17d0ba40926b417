#!/usr/bin/env node
// Entry point of the tsvisor command. Runs the CLI that `npm run build` bundled
// into dist/cli/tsvisor.cjs (scripts/bundle-cli.mjs; workers run from
// dist/src/), compiled with a V8 code cache: once a `tsvisor run` has started
// its VM, the compiled code is saved to dist/cli/tsvisor.cjs.v8cache (every
// build deletes it; V8 rejects a cache from another Node version), so later
// runs skip most compilation. TSVISOR_CODE_CACHE=0 neither reads nor writes it.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const bundle = fileURLToPath(new URL('../dist/cli/tsvisor.cjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('tsvisor: not built yet: run `npm run build` (or `npm ci`) in the tsvisor directory\n');
  process.exit(2);
}
const cacheFile = `${bundle}.v8cache`;
const useCache = process.env.TSVISOR_CODE_CACHE !== '0';
let cachedData;
if (useCache) {
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // no cache yet
  }
}
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`, {
  filename: bundle,
  cachedData,
});
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
const { startEarly, main } = module.exports;

/** Save the code compiled so far (the start-up path) when there was no usable cache; best effort (e.g. read-only install). */
function saveCodeCache() {
  if (!useCache || (cachedData !== undefined && !script.cachedDataRejected)) return;
  try {
    const tmp = `${cacheFile}.${process.pid}`;
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
  } catch {
    // not writable: run without a cache
  }
}

const argv = process.argv.slice(2);
// `tsvisor run` with the emu engine: its machine thread starts while the CLI sets up (see src/cli/early.ts).
startEarly(argv);
process.exitCode = await main(argv, { started: saveCodeCache });
