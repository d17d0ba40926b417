/**
 * TapBackend against a real tap inside a network namespace this test creates
 * (tsv-test-<random>, deleted at the end). We play the guest: send an ARP
 * request for the namespace side's address and an ICMP echo, and expect the
 * namespace's kernel to answer through the tap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { TapBackend } from '../../src/backends/tap.js';
import { FrameRing } from '../../src/backends/net-ring.js';
import { VNET_HDR_LEN } from '../../src/backends/net.js';

function canRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, /dev/net/tun)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'no ip(8)';
  }
  return undefined;
}

const skip = canRun();
if (skip) console.log(`# tap-backend: skipped: ${skip}`);

const MAC_G = Uint8Array.from([0x52, 0x54, 0x00, 0xaa, 0xbb, 0x01]);
const IP_G = [10, 77, 0, 2];
const IP_H = [10, 77, 0, 1];

function arpRequest(): Uint8Array {
  const f = new Uint8Array(VNET_HDR_LEN + 42);
  const e = f.subarray(VNET_HDR_LEN);
  e.fill(0xff, 0, 6);
  e.set(MAC_G, 6);
  e.set([0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1], 12);
  e.set(MAC_G, 22);
  e.set(IP_G, 28);
  e.set(IP_H, 38);
  return f;
}

function csum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function icmpEcho(dstMac: Uint8Array, seq: number): Uint8Array {
  const payload = 32;
  const f = new Uint8Array(VNET_HDR_LEN + 14 + 20 + 8 + payload);
  const e = f.subarray(VNET_HDR_LEN);
  e.set(dstMac, 0);
  e.set(MAC_G, 6);
  e.set([0x08, 0x00], 12);
  const ip = e.subarray(14, 34);
  ip.set([0x45, 0, 0, 20 + 8 + payload, 0, seq, 0x40, 0, 64, 1, 0, 0, ...IP_G, ...IP_H]);
  const c = csum(ip);
  ip[10] = c >> 8;
  ip[11] = c & 0xff;
  const icmp = e.subarray(34);
  icmp.set([8, 0, 0, 0, 0x12, 0x34, 0, seq]);
  for (let i = 0; i < payload; i++) icmp[8 + i] = i;
  const c2 = csum(icmp);
  icmp[2] = c2 >> 8;
  icmp[3] = c2 & 0xff;
  return f;
}

async function waitFrame(tap: TapBackend, match: (eth: Uint8Array) => boolean, ms = 3000): Promise<Uint8Array> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (let f = tap.peek(); f !== undefined; f = tap.peek()) {
      const eth = f.slice(VNET_HDR_LEN);
      tap.pop();
      if (match(eth)) return eth;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('no matching frame from the tap');
}

test('frame ring: wrap, back-pressure, order', () => {
  const r = new FrameRing(1024);
  let n = 0;
  let m = 0;
  for (let round = 0; round < 200; round++) {
    while (r.push(new Uint8Array(1 + ((n * 37) % 300)).fill(n & 0xff))) n++;
    for (let k = 0; k < 1 + (round % 3); k++) {
      const f = r.peek();
      if (!f) break;
      assert.equal(f.length, 1 + ((m * 37) % 300));
      assert.ok(f.every((b) => b === (m & 0xff)));
      r.pop();
      m++;
    }
  }
  assert.ok(n > 300 && m > 300);
  assert.throws(() => r.reserve(r.capacity));
});

test('tap backend in a private netns: ARP and ping answered by the namespace kernel', { skip, timeout: 20000 }, async () => {
  const ns = `tsv-test-${randomBytes(4).toString('hex')}`;
  const ifname = 'tsvtap0';
  execFileSync('ip', ['netns', 'add', ns]);
  let tap: TapBackend | undefined;
  try {
    tap = new TapBackend({ ifname, netns: ns });
    execFileSync('ip', ['-n', ns, 'addr', 'add', `${IP_H.join('.')}/24`, 'dev', ifname]);
    execFileSync('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
    // The tap lives in the namespace only: the host's namespace has no such interface.
    assert.throws(() => execFileSync('ip', ['link', 'show', ifname], { stdio: 'ignore' }));
    let reply: Uint8Array | undefined;
    for (let i = 0; i < 5 && !reply; i++) {
      assert.equal(tap.send(arpRequest()), true);
      tap.flush();
      reply = await waitFrame(tap, (e) => e[12] === 0x08 && e[13] === 0x06 && e[21] === 2, 1000).catch(() => undefined);
    }
    assert.ok(reply, 'ARP reply');
    const hostMac = reply.slice(6, 12);
    assert.deepEqual([...reply.subarray(28, 32)], IP_H);
    tap.send(icmpEcho(hostMac, 1));
    tap.flush();
    const echo = await waitFrame(tap, (e) => e[12] === 0x08 && e[13] === 0x00 && e[23] === 1 && e[34] === 0);
    assert.deepEqual([...echo.subarray(30, 34)], IP_G);
    assert.equal(echo[41], 1, 'sequence number echoed');
  } finally {
    tap?.close();
    execFileSync('ip', ['netns', 'del', ns]);
  }
});
