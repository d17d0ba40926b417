#!/usr/bin/env node
// Entry point of the tsvisor command (CommonJS: bin/package.json; Node starts
// a CommonJS entry ~5 ms faster than an ES module). Runs the CLI that `npm run
// build` bundled into dist/cli/tsvisor.cjs (scripts/bundle-cli.mjs; workers
// run from dist/src/), compiled with a V8 code cache: once a `tsvisor run` has
// started its VM, the compiled code is saved to dist/cli/tsvisor.cjs.v8cache
// (every build deletes it; V8 rejects a cache from another Node version), so
// later runs skip most compilation. TSVISOR_CODE_CACHE=0 neither reads nor writes it.
'use strict';
const { existsSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

const dir = join(__dirname, '..', 'dist', 'cli');
const bundle = join(dir, 'tsvisor.cjs');
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
const cli = { exports: {} };
script.runInThisContext()(cli.exports, createRequire(bundle), cli, bundle, dir);
const { startEarly, main } = cli.exports;

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
main(argv, { started: saveCodeCache }).then((code) => {
  process.exitCode = code;
});
