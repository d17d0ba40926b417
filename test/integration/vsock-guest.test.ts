/**
 * virtio-vsock with a real guest (Debian arm64 under the emu engine):
 *  1. a host program connects to the VM's Unix socket, sends `CONNECT 5000`,
 *     gets `OK <port>`, sends random bytes to a guest listener, which echoes
 *     them back;
 *  2. the guest connects out to CID 2 port 6000, which lands on the Unix
 *     socket `<path>_6000` where a host program echoes what it gets.
 * All four streams must arrive intact (sha256). The guest side is a tiny
 * static aarch64 program (guest/test-guests/virtio_vsock_tool.c, busybox has
 * no AF_VSOCK) handed over on a raw virtio-blk disk. TSV_VSOCK_KB sets the
 * size (default 512 KiB). Skips with the reason when the emu engine cannot
 * boot the guest yet, or without aarch64-linux-gnu-gcc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import { bootGuest, netSkipReason, notBooted } from './virtio-net-guest.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
let skip = netSkipReason(false);
try {
  execFileSync('aarch64-linux-gnu-gcc', ['--version'], { stdio: 'ignore' });
} catch {
  skip ??= 'aarch64-linux-gnu-gcc not installed (builds the guest-side vsock tool)';
}
if (skip) console.log(`# vsock guest: skipped: ${skip}`);
const KB = Number(process.env.TSV_VSOCK_KB ?? 512);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('vsock with a real guest: host -> guest listener (CONNECT/OK) and guest -> host <path>_<port>, data intact', { skip, timeout: 900_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsv-vsock-'));
  const sock = join(dir, 'v.sock');
  const data = randomBytes(KB * 1024);
  const hostSaw: { okLine?: string; echo?: Buffer; fromGuest?: Buffer; errors: string[] } = { errors: [] };
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = [];
    s.on('data', (d) => parts.push(d));
    s.on('end', () => {
      hostSaw.fromGuest = Buffer.concat(parts);
      s.end(hostSaw.fromGuest);
    });
    s.on('error', (e) => hostSaw.errors.push(`listener: ${e.message}`));
  });
  await new Promise<void>((r) => server.listen(`${sock}_6000`, r));
  try {
    const tool = join(dir, 'vs');
    execFileSync('aarch64-linux-gnu-gcc', ['-static', '-O2', '-o', tool, join(root, 'guest/test-guests/virtio_vsock_tool.c')]);
    const bin = readFileSync(tool);
    const disk = join(dir, 'tool.img');
    writeFileSync(disk, Buffer.concat([bin, Buffer.alloc(512 - (bin.length % 512))]));
    const script = [
      `head -c ${bin.length} /dev/vda > /tmp/vs && chmod +x /tmp/vs`,
      '/tmp/vs serve 5000 /tmp/in && echo SERVE-OK',
      "sha256sum /tmp/in | sed 's/^/IN-SHA=/'",
      '/tmp/vs connect 2 6000 /tmp/in /tmp/out && echo CONNECT-OK',
      "sha256sum /tmp/out | sed 's/^/OUT-SHA=/'",
    ].join('\n');
    let started = false;
    const hostSide = (): void => {
      // The guest listens: connect through the VM's socket.
      const c = net.connect(sock);
      let head = '';
      const echo: Buffer[] = [];
      c.on('data', (d: Buffer) => {
        if (hostSaw.okLine === undefined) {
          head += d.toString('latin1');
          const nl = head.indexOf('\n');
          if (nl < 0) return;
          hostSaw.okLine = head.slice(0, nl);
          const rest = Buffer.from(head.slice(nl + 1), 'latin1');
          if (rest.length) echo.push(rest);
          c.end(data);
        } else echo.push(d);
      });
      c.on('end', () => (hostSaw.echo = Buffer.concat(echo)));
      c.on('error', (e) => hostSaw.errors.push(`connect: ${e.message}`));
      c.write('CONNECT 5000\n');
    };
    const r = await bootGuest({
      script,
      vsock: { cid: 3, socket: sock },
      disks: [{ path: disk, readOnly: true }],
      timeoutMs: 850_000,
      onOutput: (all) => {
        if (!started && all.includes('VS-LISTENING')) {
          started = true;
          hostSide();
        }
      },
    });
    const why = notBooted(r);
    if (why) return t.skip(why);
    console.log(`# guest ran ${r.seconds.toFixed(1)} s; ${KB} KiB each way`);
    assert.equal(r.exit, 0, r.output.slice(-2000));
    assert.deepEqual(hostSaw.errors, []);
    assert.match(hostSaw.okLine ?? '', /^OK \d+$/, 'Firecracker-style OK line');
    assert.match(r.output, /SERVE-OK/);
    assert.match(r.output, /CONNECT-OK/);
    const want = sha(data);
    assert.equal(/IN-SHA=([0-9a-f]{64})/.exec(r.output)?.[1], want, 'host -> guest listener');
    assert.equal(sha(hostSaw.echo ?? Buffer.alloc(0)), want, 'guest listener -> host (echo)');
    assert.equal(sha(hostSaw.fromGuest ?? Buffer.alloc(0)), want, 'guest -> host <path>_6000');
    assert.equal(/OUT-SHA=([0-9a-f]{64})/.exec(r.output)?.[1], want, 'host <path>_6000 -> guest (echo)');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
