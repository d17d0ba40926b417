import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNetFlag, parseVsockFlag, resolveNetOptions, NetOptionError } from '../../src/backends/net-options.js';
import { resolveConfig, ConfigError } from '../../src/vmm/config.js';

test('--net and --vsock flags parse; bad ones say what to write', () => {
  assert.deepEqual(parseNetFlag('tap=tap0'), { tap: 'tap0' });
  assert.deepEqual(parseNetFlag('tap=t1,mac=52:54:00:00:00:02,netns=ns1'), { tap: 't1', mac: '52:54:00:00:00:02', netns: 'ns1' });
  assert.throws(() => parseNetFlag('mac=52:54:00:00:00:02'), /needs tap=NAME/);
  assert.throws(() => parseNetFlag('tap=a,speed=10'), /unknown --net option/);
  assert.deepEqual(parseVsockFlag('cid=3,socket=/tmp/v.sock'), { cid: 3, socket: '/tmp/v.sock' });
  assert.throws(() => parseVsockFlag('cid=3'), /cid=N,socket=PATH/);
  assert.throws(() => parseVsockFlag('cid=x,socket=/tmp/a'), NetOptionError);
});

test('resolve: MACs generated stably and locally administered; validation of names, CIDs, paths', () => {
  const a = resolveNetOptions([{ tap: 'tap0' }, { tap: 'tap1', mac: '52:54:00:AA:BB:CC' }], undefined);
  assert.match(a.nics[0]!.mac!, /^52:/);
  assert.equal(a.nics[1]!.mac, '52:54:00:aa:bb:cc');
  assert.deepEqual(resolveNetOptions([{ tap: 'tap0' }], undefined).nics[0]!.mac, a.nics[0]!.mac, 'stable');
  assert.throws(() => resolveNetOptions([{ tap: 'x'.repeat(16) }], undefined), /bad tap name/);
  assert.throws(() => resolveNetOptions([{ tap: 'a' }, { tap: 'a' }], undefined), /used twice/);
  assert.throws(() => resolveNetOptions([{ tap: 'a', mac: '01:00:5e:00:00:01' }], undefined), /multicast/);
  assert.throws(() => resolveNetOptions([{ tap: 'a', netns: 'no-such-ns-xyz' }], undefined), /does not exist/);
  assert.throws(() => resolveNetOptions([], { cid: 2, socket: '/tmp/x.sock' }), /cid must be/);
  assert.throws(() => resolveNetOptions([], { cid: 3, socket: '/no/such/dir/x.sock' }), /does not exist/);
  const dir = mkdtempSync(join(tmpdir(), 'tsv-netopt-'));
  try {
    writeFileSync(join(dir, 'file'), 'x');
    assert.throws(() => resolveNetOptions([], { cid: 3, socket: join(dir, 'file') }), /not a socket/);
    assert.deepEqual(resolveNetOptions([], { cid: 3, socket: join(dir, 'v.sock') }).vsock, { cid: 3, socket: join(dir, 'v.sock') });
    // Through resolveConfig: ConfigError with the same message.
    writeFileSync(join(dir, 'k'), 'kernel');
    assert.throws(() => resolveConfig({ kernel: join(dir, 'k'), accel: 'emu', vsock: { cid: 1, socket: join(dir, 'v.sock') } }, { hardwareKvm: false }), ConfigError);
    const cfg = resolveConfig({ kernel: join(dir, 'k'), accel: 'emu', nics: [{ tap: 'tsv0' }] }, { hardwareKvm: false });
    assert.equal(cfg.nics.length, 1);
    assert.match(cfg.nics[0]!.mac!, /^52:/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
