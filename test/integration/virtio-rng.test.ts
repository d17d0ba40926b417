/**
 * virtio-rng under the emu engine: the Debian arm64 guest's virtio_rng driver
 * binds and /dev/hwrng gives bytes (from the host's getrandom via the device).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootEmu, noAssets, notBooted } from './virtio-blk-guest.js';

test('emu: the guest reads /dev/hwrng from virtio-rng', { skip: noAssets, timeout: 400_000 }, async (t) => {
  const script = [
    'echo "current=$(cat /sys/class/misc/hw_random/rng_current)"',
    'dd if=/dev/hwrng of=/tmp/r bs=256 count=4 2>/dev/null',
    'echo "bytes=$(wc -c < /tmp/r)"',
    'echo "distinct=$(od -An -v -tx1 /tmp/r | tr -s " " "\\n" | grep -v "^$" | sort -u | wc -l)"',
  ].join('\n');
  const r = await bootEmu({ script, rng: true, timeoutMs: 300_000, signal: t.signal });
  const why = notBooted(r);
  if (why) return t.skip(why);
  assert.ok(!r.timedOut, `timed out:\n${r.output.slice(-2000)}`);
  assert.match(r.output, /^current=virtio_rng\.0\r?$/m);
  assert.match(r.output, /^bytes=1024\r?$/m);
  const distinct = Number(/^distinct=(\d+)/m.exec(r.output)?.[1]);
  assert.ok(distinct > 200, `1 KiB of random bytes has ${distinct} distinct values`);
  assert.equal(r.exit, 0);
  assert.deepEqual(r.status, { kind: 'poweroff' });
  console.log(`# boot + script + poweroff: ${r.seconds.toFixed(1)} s`);
});
