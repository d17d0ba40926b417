import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { atomicDir, cacheRoot, cleanStaleTemps, safeName, withLock } from '../../guest/cache.js';

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
}

test('cacheRoot: TSVISOR_CACHE, then XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(withEnv({ TSVISOR_CACHE: '/x/c', XDG_CACHE_HOME: '/y' }, cacheRoot), '/x/c');
  assert.equal(withEnv({ TSVISOR_CACHE: undefined, XDG_CACHE_HOME: '/y' }, cacheRoot), '/y/tsvisor');
  // XDG says relative values are invalid and must be ignored.
  assert.equal(withEnv({ TSVISOR_CACHE: undefined, XDG_CACHE_HOME: 'rel' }, cacheRoot), join(homedir(), '.cache', 'tsvisor'));
  assert.equal(withEnv({ TSVISOR_CACHE: undefined, XDG_CACHE_HOME: undefined }, cacheRoot), join(homedir(), '.cache', 'tsvisor'));
});

test('safeName keeps versions readable and path-safe', () => {
  assert.equal(safeName('1:1.35.0-4+deb12u1+b1'), '1_1.35.0-4+deb12u1+b1');
  assert.equal(safeName('a/b c'), 'a_b_c');
});

test('atomicDir: a failed build leaves nothing behind; a complete one is renamed in', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tsvisor-cache-'));
  try {
    const final = join(root, 'arm64', 'entry');
    await assert.rejects(
      atomicDir(final, (tmp) => {
        writeFileSync(join(tmp, 'half'), 'x');
        throw new Error('interrupted');
      }),
      /interrupted/,
    );
    assert.ok(!existsSync(final));
    assert.deepEqual(readdirSync(join(root, 'arm64')), [], 'temp dir removed');

    let builds = 0;
    assert.equal(await atomicDir(final, (tmp) => void (builds++, writeFileSync(join(tmp, 'f'), 'done'))), true);
    assert.equal(readFileSync(join(final, 'f'), 'utf8'), 'done');
    assert.equal(await atomicDir(final, () => void builds++), false, 'existing entry is not rebuilt');
    assert.equal(builds, 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cleanStaleTemps removes temp dirs of dead processes only', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsvisor-cache-'));
  try {
    // A pid that has exited: spawn a process and wait for it.
    const dead = spawnSync('true').pid!;
    mkdirSync(join(root, `entry.tmp-${dead}-abc123`));
    mkdirSync(join(root, `entry.tmp-${process.pid}-def456`));
    mkdirSync(join(root, 'entry'));
    cleanStaleTemps(root);
    assert.deepEqual(readdirSync(root).sort(), ['entry', `entry.tmp-${process.pid}-def456`]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('withLock serialises holders and takes over a dead holder\'s lock', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tsvisor-lock-'));
  try {
    const lock = join(root, 'x', '.lock');
    const events: string[] = [];
    const waits: number[] = [];
    const hold = (name: string, ms: number) =>
      withLock(
        lock,
        async () => {
          events.push(`${name}+`);
          await new Promise((r) => setTimeout(r, ms));
          events.push(`${name}-`);
          return name;
        },
        (pid) => waits.push(pid),
      );
    assert.deepEqual(await Promise.all([hold('a', 300), hold('b', 10)]), ['a', 'b']);
    assert.deepEqual(events, ['a+', 'a-', 'b+', 'b-'], 'b waited for a');
    assert.deepEqual(waits, [process.pid]);
    assert.ok(!existsSync(lock), 'released');

    writeFileSync(lock, String(spawnSync('true').pid)); // left by a process that is gone
    assert.equal(await hold('c', 0), 'c');
    assert.equal(waits.length, 1, 'no waiting on a dead holder');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
