// Part of `npm run build` (after tsc): bundles what the tsvisor command runs on
// its main thread (src/cli/early.ts + main.ts and everything they import, the
// kvm engine and x86 board included) into one CommonJS file,
// dist/cli/tsvisor.cjs, which bin/tsvisor.js compiles with a V8 code cache.
// Why: Node 20 loads one script with a code cache much faster than ~45 ES
// modules (no per-module resolution, no lazy compilation of the functions the
// start-up path runs); see BENCHMARKS.md, "Start-up".
//
// Worker threads (machine thread, vCPU, I/O workers) still start from tsc's
// dist/src/**: each module's `import.meta.url` becomes the URL its tsc output
// has, so `startWorker('./x.js', import.meta.url)` and the addon lookup
// resolve exactly as in dist/src. The emu engine and Arm board only ever run
// on a machine thread, so the bundle leaves them out.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/cli`;

const plugin = {
  name: 'tsvisor-cli',
  setup(b) {
    // src/a/b.ts: import.meta.url -> URL of dist/src/a/b.js (relative to the bundle in dist/cli/).
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      const rel = relative(root, args.path).replaceAll('\\', '/');
      if (contents.includes('import.meta.url')) {
        const js = JSON.stringify(`../${rel.replace(/\.ts$/, '.js')}`);
        contents = contents.replaceAll('import.meta.url', `new URL(${js}, __tsvisorBundleUrl).href`);
      }
      // Only used when a worker's .js is missing (running from sources); CommonJS has require.resolve.
      contents = contents.replaceAll('import.meta.resolve(', '__tsvisorResolve(');
      return { contents, loader: 'ts' };
    });
    // node:worker_threads and node:stream are loaded on first use (kvm with 1 vCPU and no virtio
    // device never starts a worker; the console's streams are made after the first KVM_RUN; each
    // costs ~2 ms of start-up CPU): the bundled code gets getters for their exports.
    b.onResolve({ filter: /^node:(worker_threads|stream)$/ }, (args) => (args.importer.endsWith('.ts') ? { path: args.path, namespace: 'lazy-builtin' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((n) => n !== 'default');
      const getters = names.map((n) => `get ${n}() { return require(${JSON.stringify(args.path)}).${n}; }`);
      return { contents: `module.exports = { ${getters.join(', ')} };`, loader: 'js' };
    });
    b.onResolve({ filter: /\/(engines\/emu|boards\/arm-virt)\/index\.js$/ }, (args) => ({ path: args.path, namespace: 'machine-thread-only' }));
    b.onLoad({ filter: /.*/, namespace: 'machine-thread-only' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} runs on a machine thread only (not in the CLI bundle)`)});`,
      loader: 'js',
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  stdin: {
    contents: "export { startEarly } from './src/cli/early.ts';\nexport { main } from './src/cli/main.ts';\n",
    resolveDir: root,
    sourcefile: 'tsvisor-cli-entry.ts',
    loader: 'ts',
  },
  outfile: `${outdir}/tsvisor.cjs`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  banner: {
    js:
      'const __tsvisorBundleUrl = require("node:url").pathToFileURL(__filename).href;\n' +
      'const __tsvisorResolve = (s) => require("node:url").pathToFileURL(require.resolve(s)).href;',
  },
  sourcemap: 'linked',
  plugins: [plugin],
  logLevel: 'warning',
});
