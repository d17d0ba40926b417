#!/usr/bin/env node
// Entry point of the tsvisor command: runs the CLI bundled by `npm run build`
// (dist/cli/, made by scripts/bundle-cli.mjs from src/cli; workers run from dist/src/).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('tsvisor: not built yet: run `npm run build` (or `npm ci`) in the tsvisor directory\n');
  process.exit(2);
}
// `tsvisor run` with the emu engine: its machine thread starts while the CLI loads (see src/cli/early.ts).
const { startEarly } = await import(new URL('../dist/cli/early.js', import.meta.url).href);
startEarly(process.argv.slice(2));
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
