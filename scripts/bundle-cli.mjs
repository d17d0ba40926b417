// Part of `npm run build` (after tsc): bundles the tsvisor command's main
// thread (src/cli/early.ts + src/cli/main.ts and everything they import,
// including the kvm engine and x86 board that `tsvisor run --accel kvm` runs on
// that thread) into a few ES modules in dist/cli/, which bin/tsvisor.js loads.
// Why: loading ~45 separate modules costs Node ~30 ms of start-up CPU; the
// bundle ~10 ms (see BENCHMARKS.md, "Start-up").
//
// Worker threads (machine thread, vCPU, I/O workers) still start from tsc's
// dist/src/**: each module's `import.meta.url` is rewritten to the URL its tsc
// output has, so `startWorker('./x.js', import.meta.url)` and the addon lookup
// resolve exactly as in dist/src. Dynamic imports (emu engine, virtio) become
// separate chunks, loaded only when used.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/cli`;

/** `import.meta.url` of src/a/b.ts becomes the URL of dist/src/a/b.js, relative to the chunk in dist/cli/. */
const tscUrls = {
  name: 'tsc-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      if (contents.includes('import.meta.url')) {
        const js = `../${relative(root, args.path).replaceAll('\\', '/').replace(/\.ts$/, '.js')}`;
        contents = contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(js)}, import.meta.url).href`);
      }
      return { contents, loader: 'ts' };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { early: 'src/cli/early.ts', main: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  plugins: [tscUrls],
  logLevel: 'warning',
});
