/**
 * virtio-console under the emu engine: the guest writes to /dev/hvc0 and the
 * host sees it on the VM's console stream; the host types a line, which goes
 * to hvc0 (console: 'virtio' routes input there once the driver is up) and
 * the guest reads it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootEmu, noAssets, notBooted } from './virtio-blk-guest.js';

test('emu: the guest prints on hvc0 and reads from it', { skip: noAssets, timeout: 400_000 }, async (t) => {
  const script = [
    'stty -F /dev/hvc0 -echo 2>/dev/null',
    'echo via-hvc-$((6*7)) > /dev/hvc0',
    'read -t 120 line < /dev/hvc0',
    'echo "got=[$line]"',
  ].join('\n');
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const r = await bootEmu({
    script,
    console: 'virtio',
    timeoutMs: 300_000,
    signal: t.signal,
    onOutput: (all, m) => {
      // Type once hvc0 is up; repeat (a few times) in case the first line raced the guest's open().
      if (sent === 0 && all.includes('via-hvc-42')) {
        const send = (): void => {
          if (sent++ < 5 && !/got=/.test(all)) m.serial.write('hello-from-host\n');
        };
        send();
        timer = setInterval(send, 5000);
      }
      if (/got=/.test(all) && timer) clearInterval(timer);
    },
  });
  if (timer) clearInterval(timer);
  const why = notBooted(r);
  if (why) return t.skip(why);
  assert.ok(!r.timedOut, `timed out:\n${r.output.slice(-2000)}`);
  assert.match(r.output, /via-hvc-42/);
  assert.match(r.output, /^got=\[hello-from-host\]\r?$/m);
  assert.equal(r.exit, 0);
});
