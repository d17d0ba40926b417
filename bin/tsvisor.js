#!/usr/bin/env node
// Entry point of the tsvisor command: runs the compiled CLI from dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('tsvisor: not built yet: run `npm run build` (or `npm ci`) in the tsvisor directory\n');
  process.exit(2);
}
// `tsvisor run`: the machine thread starts while the CLI loads (see src/cli/early.ts).
const { startEarly } = await import(new URL('../dist/src/cli/early.js', import.meta.url).href);
startEarly(process.argv.slice(2));
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
