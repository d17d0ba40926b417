/** `tsvisor setup`: fetch and build the default guests; guest/setup.ts does the work in a child process. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function runSetup(argv: string[]): number {
  const js = fileURLToPath(new URL('../../guest/setup.js', import.meta.url));
  const ts = js.replace(/\.js$/, '.ts');
  const args = existsSync(js) ? [js, ...argv] : ['--import', 'tsx', ts, ...argv];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  return r.status ?? 1;
}
