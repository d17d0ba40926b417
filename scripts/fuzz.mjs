#!/usr/bin/env node
// Long virtio fuzz run: node scripts/fuzz.mjs [seconds=300] [seed]
// (npm run fuzz -- 600 42). Exits 1 on the first failure, printing its seed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const seconds = Number(process.argv[2] ?? 300);
const seed = process.argv[3] ?? String(Date.now() & 0x7fffffff);
const root = fileURLToPath(new URL('..', import.meta.url));
const code = `import('./test/fuzz/virtio-fuzz.ts').then((m) => {
  const s = m.runFuzz({ seconds: ${seconds}, seed: ${Number(seed)}, log: console.log });
  for (const f of s.failures) console.error(f);
  process.exit(s.failures.length ? 1 : 0);
});`;
const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
