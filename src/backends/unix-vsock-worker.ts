/**
 * The vsock Unix-socket thread (see unix-vsock.ts): a net.Server on the VM's
 * socket path for host-initiated connections, net.connect to `<path>_<port>`
 * for guest-initiated ones, and the message pump to/from the machine thread.
 */
import { workerData } from 'node:worker_threads';
import * as net from 'node:net';
import { unlinkSync, lstatSync } from 'node:fs';
import { sys } from '../sys/native.js';
import { FrameRing, PUSH_SEQ } from './net-ring.js';
import { wakeMachine } from './net.js';
import * as U from './unix-vsock.js';

const d = workerData as U.UnixVsockWorkerData;
const toW = new FrameRing(d.toWorker);
const fromW = new FrameRing(d.fromWorker);
const tgkill = (tid: number, sig: number): void => sys().tgkill(tid, sig);

/** Host data the guest has not taken yet, per connection, before we stop reading the socket. */
const WINDOW = 512 * 1024;
const MAX_LINE = 64;

interface HConn {
  id: number;
  sock: net.Socket;
  unconsumed: number;
  paused: boolean;
  closedByDevice: boolean;
}

const conns = new Map<number, HConn>();
let nextHostId = 1;
const overflow: Array<{ type: number; id: number; arg: number; payload?: Uint8Array }> = [];
let wakeQueued = false;
let retryTimer: NodeJS.Timeout | undefined;

function wake(): void {
  if (wakeQueued) return;
  wakeQueued = true;
  setImmediate(() => {
    wakeQueued = false;
    wakeMachine(d.wake, tgkill);
  });
}

function flush(): void {
  while (overflow.length > 0) {
    const m = overflow[0]!;
    if (!U.encodeMsg(fromW, m.type, m.id, m.arg, m.payload)) {
      retryTimer ??= setTimeout(() => {
        retryTimer = undefined;
        flush();
      }, 1);
      return;
    }
    overflow.shift();
  }
}

function post(type: number, id: number, arg: number, payload?: Uint8Array): void {
  if (overflow.length === 0 && U.encodeMsg(fromW, type, id, arg, payload)) {
    wake();
    return;
  }
  overflow.push({ type, id, arg, payload: payload ? Uint8Array.from(payload) : undefined });
  flush();
  wake();
}

function attach(c: HConn): void {
  const s = c.sock;
  s.on('data', (b: Buffer) => {
    for (let off = 0; off < b.length; off += 65536) post(U.W_DATA, c.id, 0, b.subarray(off, off + 65536));
    c.unconsumed += b.length;
    if (c.unconsumed > WINDOW && !c.paused) {
      c.paused = true;
      s.pause();
    }
  });
  s.on('end', () => {
    if (!c.closedByDevice) post(U.W_HOST_SHUTDOWN, c.id, 0);
  });
}

/** Report the socket's end to the device once (whatever state the connection is in). */
function watchClose(c: HConn): void {
  c.sock.on('error', () => {
    // 'close' follows
  });
  c.sock.once('close', () => {
    if (conns.get(c.id) === c) conns.delete(c.id);
    if (!c.closedByDevice) post(U.W_HOST_CLOSE, c.id, 0);
  });
}

function onHostConnection(sock: net.Socket): void {
  let line = '';
  const onData = (b: Buffer): void => {
    const nl = b.indexOf(10);
    line += b.subarray(0, nl < 0 ? b.length : nl).toString('latin1');
    if (line.length > MAX_LINE) {
      sock.destroy();
      return;
    }
    if (nl < 0) return;
    sock.off('data', onData);
    const m = /^CONNECT (\d{1,10})$/.exec(line.trimEnd());
    const port = m ? Number(m[1]) : NaN;
    if (!m || port > 0xffffffff) {
      sock.destroy();
      return;
    }
    const id = nextHostId;
    nextHostId = nextHostId >= 0x7fff_ffff ? 1 : nextHostId + 1;
    const c: HConn = { id, sock, unconsumed: 0, paused: false, closedByDevice: false };
    conns.set(id, c);
    watchClose(c);
    // Nothing from the host goes to the guest before OK: hold the socket until the guest accepts.
    sock.pause();
    const rest = b.subarray(nl + 1);
    if (rest.length > 0) sock.unshift(rest);
    post(U.W_HOST_CONNECT, id, port);
  };
  sock.on('data', onData);
  sock.on('error', () => {});
}

function handle(type: number, id: number, arg: number, payload: Uint8Array): void {
  const c = conns.get(id);
  switch (type) {
    case U.M_GUEST_CONNECT: {
      const sock = net.createConnection({ path: `${d.path}_${arg}`, allowHalfOpen: true });
      const nc: HConn = { id, sock, unconsumed: 0, paused: false, closedByDevice: false };
      conns.set(id, nc);
      let connected = false;
      sock.once('connect', () => {
        connected = true;
        post(U.W_CONNECT_RESULT, id, 1);
        watchClose(nc);
        attach(nc);
      });
      sock.once('error', () => {
        if (!connected) {
          conns.delete(id);
          nc.closedByDevice = true;
          post(U.W_CONNECT_RESULT, id, 0);
        }
      });
      break;
    }
    case U.M_ACCEPT:
      if (c) {
        c.sock.write(`OK ${arg}\n`);
        attach(c);
        c.sock.resume();
      }
      break;
    case U.M_SEND:
      if (c) {
        const n = payload.length;
        c.sock.write(Buffer.from(payload), () => post(U.W_WRITTEN, id, n));
      }
      break;
    case U.M_SHUTDOWN:
      c?.sock.end();
      break;
    case U.M_CLOSE:
      if (c) {
        c.closedByDevice = true;
        conns.delete(id);
        // Let queued writes go out, then close.
        c.sock.end(() => c.sock.destroy());
        setTimeout(() => c.sock.destroy(), 1000).unref();
      }
      break;
    case U.M_CONSUMED:
      if (c) {
        c.unconsumed = Math.max(0, c.unconsumed - arg);
        if (c.paused && c.unconsumed <= WINDOW / 2) {
          c.paused = false;
          c.sock.resume();
        }
      }
      break;
    case U.M_STOP:
      stop();
      break;
  }
}

let stopped = false;
function stop(): void {
  stopped = true;
  server.close();
  for (const c of conns.values()) c.sock.destroy();
  conns.clear();
  try {
    unlinkSync(d.path);
  } catch {
    // gone already
  }
  setImmediate(() => process.exit(0));
}

async function pump(): Promise<void> {
  while (!stopped) {
    const seen = Atomics.load(toW.ctl, PUSH_SEQ);
    let n = 0;
    for (let m = toW.peek(); m !== undefined && n < 4096; m = toW.peek(), n++) {
      const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
      const type = dv.getUint32(0, true);
      const id = dv.getUint32(4, true);
      const arg = dv.getUint32(8, true);
      const payload = type === U.M_SEND ? m.slice(U.MSG_HDR) : new Uint8Array(0);
      toW.pop();
      handle(type, id, arg, payload);
      if (stopped) return;
    }
    if (n > 0) {
      // Let socket I/O run between batches.
      await new Promise((r) => setImmediate(r));
      continue;
    }
    const r = Atomics.waitAsync(toW.ctl, PUSH_SEQ, seen);
    if (r.async) await r.value;
  }
}

// A stale socket file from an earlier run would make listen fail.
try {
  if (lstatSync(d.path).isSocket()) unlinkSync(d.path);
} catch {
  // no such file
}
const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, onHostConnection);
server.on('error', (e) => post(U.W_ERROR, 0, 0, new TextEncoder().encode(`cannot listen on ${d.path}: ${e.message}`)));
server.listen(d.path, () => post(U.W_LISTENING, 0, 0));
void pump();
