/**
 * The Unix-socket vsock backend (real worker thread, real sockets) driven by a
 * fake guest: host-initiated (CONNECT <port> / OK <hostport>) and
 * guest-initiated (<path>_<port>) connections, data both ways, intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { UnixVsockBackend } from '../../src/backends/unix-vsock.js';
import { OP_CREDIT_UPDATE, OP_REQUEST, OP_RESPONSE, OP_RW, OP_SHUTDOWN } from '../../src/virtio/vsock.js';
import { FakeVsockGuest, type Pkt } from './vsock-guest.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function pumpUntil(be: UnixVsockBackend, g: FakeVsockGuest, onPkt: (p: Pkt) => void, done: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out');
    if (be.pending()) be.poll();
    for (const p of g.collect()) onPkt(p);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'tsv-vsock-'));
  const path = join(dir, 'v.sock');
  const be = new UnixVsockBackend({ path });
  const g = new FakeVsockGuest(be, 64, 4096 + 44);
  return { dir, path, be, g };
}

/** Guest side of one connection: collects RW data, returns credit, sends data in 4 KiB packets. */
class GuestConn {
  got: Buffer[] = [];
  gotBytes = 0;
  eof = false;
  constructor(
    readonly g: FakeVsockGuest,
    readonly port: number,
    readonly peerPort: number,
  ) {}
  onPkt(p: Pkt): void {
    if (p.dstPort !== this.port || p.srcPort !== this.peerPort) return;
    if (p.op === OP_RW) {
      this.got.push(Buffer.from(p.data));
      this.gotBytes += p.data.length;
      this.g.send({ op: OP_CREDIT_UPDATE, srcPort: this.port, dstPort: this.peerPort, bufAlloc: 65536, fwdCnt: this.gotBytes });
    }
    if (p.op === OP_SHUTDOWN) this.eof = true;
  }
  write(data: Uint8Array): void {
    for (let off = 0; off < data.length; off += 4096) {
      this.g.send({ op: OP_RW, srcPort: this.port, dstPort: this.peerPort, bufAlloc: 65536, fwdCnt: this.gotBytes, data: data.subarray(off, off + 4096) });
    }
  }
}

test('host connects to a guest port: CONNECT/OK handshake, 300 KiB each way intact, EOF', { timeout: 30000 }, async () => {
  const { dir, path, be, g } = setup();
  try {
    await pumpUntil(be, g, () => {}, () => be.listening);
    const sock = net.connect(path);
    const fromGuest: Buffer[] = [];
    let hello = '';
    let okSeen = false;
    sock.on('data', (b) => {
      if (!okSeen) {
        hello += b.toString('latin1');
        const nl = hello.indexOf('\n');
        if (nl >= 0) {
          okSeen = true;
          const rest = Buffer.from(hello.slice(nl + 1), 'latin1');
          hello = hello.slice(0, nl);
          if (rest.length) fromGuest.push(rest);
        }
      } else fromGuest.push(b);
    });
    let ended = false;
    sock.on('end', () => (ended = true));
    sock.write('CONNECT 5000\n');
    let conn: GuestConn | undefined;
    await pumpUntil(
      be,
      g,
      (p) => {
        if (p.op === OP_REQUEST && p.dstPort === 5000) {
          conn = new GuestConn(g, 5000, p.srcPort);
          g.send({ op: OP_RESPONSE, srcPort: 5000, dstPort: p.srcPort, bufAlloc: 65536 });
        } else conn?.onPkt(p);
      },
      () => okSeen,
    );
    assert.match(hello, /^OK \d+$/);
    assert.equal(Number(hello.slice(3)), conn!.peerPort);
    const up = randomBytes(300 * 1024);
    const down = randomBytes(300 * 1024);
    sock.write(up);
    conn!.write(down.subarray(0, 200 * 1024));
    await pumpUntil(be, g, (p) => conn!.onPkt(p), () => conn!.gotBytes >= up.length && Buffer.concat(fromGuest).length >= 200 * 1024);
    // The rest after the host drained: the device's credit limits what the guest may send at once.
    conn!.write(down.subarray(200 * 1024));
    await pumpUntil(be, g, (p) => conn!.onPkt(p), () => Buffer.concat(fromGuest).length >= down.length);
    assert.equal(sha(Buffer.concat(conn!.got)), sha(up));
    assert.equal(sha(Buffer.concat(fromGuest)), sha(down));
    sock.end();
    await pumpUntil(be, g, (p) => conn!.onPkt(p), () => conn!.eof);
    sock.destroy();
    assert.equal(ended, false);
  } finally {
    be.dispose();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(existsSync(path), false, 'socket file removed on dispose');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('guest connects to host port P: <path>_P gets the connection, data both ways; refused port -> RST', { timeout: 30000 }, async () => {
  const { dir, path, be, g } = setup();
  const server = net.createServer({ allowHalfOpen: true });
  const hostGot: Buffer[] = [];
  const toGuest = randomBytes(150 * 1024);
  server.on('connection', (s) => {
    s.on('data', (b) => hostGot.push(b));
    s.write(toGuest);
  });
  await new Promise<void>((r) => server.listen(`${path}_6000`, r));
  try {
    await pumpUntil(be, g, () => {}, () => be.listening);
    const conn = new GuestConn(g, 41000, 6000);
    let responded = false;
    let rst = false;
    g.send({ op: OP_REQUEST, srcPort: 41000, dstPort: 6000, bufAlloc: 65536 });
    g.send({ op: OP_REQUEST, srcPort: 41001, dstPort: 6001, bufAlloc: 65536 }); // nobody listens
    await pumpUntil(
      be,
      g,
      (p) => {
        if (p.op === OP_RESPONSE && p.dstPort === 41000) responded = true;
        else if (p.op === 3 && p.dstPort === 41001) rst = true;
        else conn.onPkt(p);
      },
      () => responded && rst,
    );
    const up = randomBytes(100 * 1024);
    conn.write(up);
    await pumpUntil(be, g, (p) => conn.onPkt(p), () => conn.gotBytes >= toGuest.length && Buffer.concat(hostGot).length >= up.length);
    assert.equal(sha(Buffer.concat(conn.got)), sha(toGuest));
    assert.equal(sha(Buffer.concat(hostGot)), sha(up));
  } finally {
    be.dispose();
    server.close();
    await new Promise((r) => setTimeout(r, 50));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('malformed CONNECT lines are closed without reaching the guest', { timeout: 10000 }, async () => {
  const { dir, path, be, g } = setup();
  try {
    await pumpUntil(be, g, () => {}, () => be.listening);
    for (const line of ['HELLO\n', 'CONNECT abc\n', 'CONNECT 99999999999\n', 'X'.repeat(200)]) {
      const s = net.connect(path);
      s.on('error', () => {});
      s.write(line);
      await new Promise<void>((r) => {
        s.on('close', () => r());
        setTimeout(() => {
          s.destroy();
          r();
        }, 2000);
      });
    }
    if (be.pending()) be.poll();
    assert.equal(g.collect().length, 0);
    assert.equal(g.dev.connectionCount, 0);
  } finally {
    be.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
