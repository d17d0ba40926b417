/**
 * virtio-net with a real guest: Debian arm64 under the emu engine, a tap in a
 * network namespace this test creates (deleted at the end). The guest sets
 * its address, pings the namespace side, and moves data over TCP with busybox
 * nc both ways; checksums must match: the namespace side sends random bytes
 * to the guest, the guest stores them, checksums them and sends them back.
 * Size: TSV_NET_MB (default 2 MiB each way; the figure is 64).
 * Skips with the reason when the emu engine cannot boot the guest yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootGuest, netSkipReason, notBooted, TestNetns } from './virtio-net-guest.js';

const skip = netSkipReason(true);
if (skip) console.log(`# virtio-net guest: skipped: ${skip}`);
const MB = Number(process.env.TSV_NET_MB ?? 2);
const BYTES = Math.round(MB * 1024 * 1024);

// The namespace side: port 5000 swallows a stream and reports its size and sha256;
// port 5001 sends BYTES random bytes (reporting their sha256) and closes.
const SERVER = `
import * as net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
const data = randomBytes(${BYTES});
console.log('SENT ' + data.length + ' ' + createHash('sha256').update(data).digest('hex'));
net.createServer((s) => {
  const h = createHash('sha256'); let bytes = 0;
  s.on('data', (d) => { h.update(d); bytes += d.length; });
  s.on('end', () => { console.log('RECV ' + bytes + ' ' + h.digest('hex')); s.end(); });
}).listen(5000, '10.99.0.1');
net.createServer({ allowHalfOpen: true }, (s) => {
  s.end(data);
  s.on('error', () => {});
}).listen(5001, '10.99.0.1', () => console.log('LISTENING'));
`;

test('guest with two NICs on taps in a private netns: addresses, ping, TCP both ways with equal sha256', { skip, timeout: 1_200_000 }, async (t) => {
  const ns = new TestNetns();
  const lines: string[] = [];
  try {
    const script = [
      'ip link set eth0 up',
      'ip addr add 10.99.0.2/24 dev eth0',
      'ping -c 3 -W 5 10.99.0.1 && echo PING-OK',
      // A second NIC on a second tap: its own MAC, its own subnet.
      'ip link set eth1 up',
      'ip addr add 10.98.0.2/24 dev eth1',
      'ping -c 2 -W 5 10.98.0.1 && echo PING2-OK',
      "cat /sys/class/net/eth0/address /sys/class/net/eth1/address | sed 's/^/MAC=/'",
      `t0=$(date +%s); nc 10.99.0.1 5001 </dev/null >/tmp/d; t1=$(date +%s); echo DOWN-SECS=$((t1-t0))`,
      `sha256sum /tmp/d | sed 's/^/DOWN-SHA=/'`,
      `t0=$(date +%s); nc 10.99.0.1 5000 </tmp/d; t1=$(date +%s); echo UP-SECS=$((t1-t0))`,
      'cat /sys/class/net/eth0/statistics/rx_packets /sys/class/net/eth0/statistics/tx_packets',
    ].join('\n');
    const r = await bootGuest({
      script,
      nics: [
        { tap: 'tsvnet0', netns: ns.name },
        { tap: 'tsvnet1', netns: ns.name, mac: '52:54:00:12:34:56' },
      ],
      memory: MB > 48 ? '768M' : '256M',
      timeoutMs: 1_100_000,
      onStart: async () => {
        await ns.configure('tsvnet0', '10.99.0.1/24');
        await ns.configure('tsvnet1', '10.98.0.1/24');
        await new Promise<void>((resolve) => {
          ns.node(SERVER, (l) => {
            lines.push(l);
            if (l === 'LISTENING') resolve();
          });
        });
      },
    });
    const why = notBooted(r);
    if (why) return t.skip(why);
    console.log(`# guest ran ${r.seconds.toFixed(1)} s; ${r.output.split('\n').filter((l) => /SECS|PING|SHA/.test(l)).join(' | ')}`);
    assert.equal(r.exit, 0, r.output.slice(-2000));
    assert.match(r.output, /PING-OK/);
    assert.match(r.output, /PING2-OK/, 'second NIC');
    const macs = [...r.output.matchAll(/MAC=([0-9a-f:]{17})/g)].map((m) => m[1]);
    assert.equal(macs.length, 2);
    assert.match(macs[0]!, /^52:/, 'generated MAC is locally administered');
    assert.equal(macs[1], '52:54:00:12:34:56', 'user MAC');
    const sent = lines.find((l) => l.startsWith('SENT '));
    assert.ok(sent);
    const [, bytes, sum] = sent.split(' ');
    assert.equal(Number(bytes), BYTES);
    const down = /DOWN-SHA=([0-9a-f]{64})/.exec(r.output);
    assert.ok(down, r.output.slice(-1500));
    assert.equal(down[1], sum, 'namespace -> guest stream intact');
    const recv = lines.find((l) => l.startsWith('RECV '));
    assert.ok(recv, `namespace server got nothing: ${lines.join(' | ')}\n${r.output.slice(-1500)}`);
    assert.equal(recv, `RECV ${BYTES} ${sum}`, 'guest -> namespace stream intact');
    const up = /UP-SECS=(\d+)/.exec(r.output);
    const dn = /DOWN-SECS=(\d+)/.exec(r.output);
    if (up && dn) console.log(`# ${MB} MiB each way: down ${dn[1]} s, up ${up[1]} s (guest clock, 1 s resolution)`);
  } finally {
    ns.dispose();
  }
});
