import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  OP_CREDIT_REQUEST,
  OP_CREDIT_UPDATE,
  OP_REQUEST,
  OP_RESPONSE,
  OP_RST,
  OP_RW,
  OP_SHUTDOWN,
  SHUTDOWN_RCV,
  SHUTDOWN_SEND,
  VSOCK_BUF_ALLOC,
  VSOCK_HOST_CID,
  VSOCK_MAX_CONNS,
  VirtioVsock,
  type VsockBackend,
  type VsockBackendListener,
} from '../../src/virtio/vsock.js';
import { FakeVsockGuest, GUEST_CID } from './vsock-guest.js';

class RecordingBackend implements VsockBackend {
  listener: VsockBackendListener | undefined;
  calls: Array<[string, number, number | Uint8Array]> = [];
  guestConnect(id: number, port: number) {
    this.calls.push(['guestConnect', id, port]);
  }
  accept(id: number, hostPort: number) {
    this.calls.push(['accept', id, hostPort]);
  }
  send(id: number, data: Uint8Array) {
    this.calls.push(['send', id, data.slice()]);
  }
  shutdown(id: number) {
    this.calls.push(['shutdown', id, 0]);
  }
  close(id: number) {
    this.calls.push(['close', id, 0]);
  }
  consumed(id: number, n: number) {
    this.calls.push(['consumed', id, n]);
  }
  pending() {
    return false;
  }
  poll() {}
  dispose() {}
  take(kind: string) {
    const out = this.calls.filter((c) => c[0] === kind);
    this.calls = this.calls.filter((c) => c[0] !== kind);
    return out;
  }
}

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);
}

function setup() {
  const be = new RecordingBackend();
  const g = new FakeVsockGuest(be);
  return { be, g, dev: g.dev };
}

test('config: guest CID; bad CIDs refused', () => {
  const { dev } = setup();
  assert.equal(dev.readConfig(0, 4), GUEST_CID);
  assert.equal(dev.readConfig(4, 4), 0);
  for (const cid of [0, 1, 2, 2 ** 32, 1.5]) assert.throws(() => new VirtioVsock({ guestCid: cid, backend: new RecordingBackend() }), RangeError);
});

test('guest connects out: REQUEST -> backend connect -> RESPONSE; data both ways; credit honoured', () => {
  const { be, g } = setup();
  g.send({ op: OP_REQUEST, srcPort: 40000, dstPort: 1234, bufAlloc: 1000 });
  const [[, id, port]] = be.take('guestConnect') as Array<[string, number, number]>;
  assert.equal(port, 1234);
  be.listener!.connectResult(id, true);
  const resp = g.collect();
  assert.equal(resp.length, 1);
  assert.equal(resp[0]!.op, OP_RESPONSE);
  assert.equal(resp[0]!.srcCid, VSOCK_HOST_CID);
  assert.equal(resp[0]!.dstCid, GUEST_CID);
  assert.equal(resp[0]!.srcPort, 1234);
  assert.equal(resp[0]!.dstPort, 40000);
  assert.equal(resp[0]!.bufAlloc, VSOCK_BUF_ALLOC);
  // guest -> host
  const d1 = bytes(3000, 1);
  g.send({ op: OP_RW, srcPort: 40000, dstPort: 1234, data: d1, bufAlloc: 1000 });
  assert.deepEqual(be.take('send').map((c) => c[2]), [d1]);
  // host -> guest: limited to the guest's 1000 bytes of credit
  be.listener!.data(id, bytes(2500, 2));
  let pk = g.collect();
  assert.equal(pk.length, 1);
  assert.equal(pk[0]!.op, OP_RW);
  assert.equal(pk[0]!.len, 1000);
  assert.deepEqual(pk[0]!.data, bytes(2500, 2).subarray(0, 1000));
  assert.deepEqual(be.take('consumed').map((c) => c[2]), [1000]);
  // The guest read it: CREDIT_UPDATE with fwd_cnt 1000 releases more.
  g.send({ op: OP_CREDIT_UPDATE, srcPort: 40000, dstPort: 1234, bufAlloc: 1000, fwdCnt: 1000 });
  pk = g.collect();
  assert.deepEqual(pk.map((p) => p.len), [1000]);
  g.send({ op: OP_CREDIT_UPDATE, srcPort: 40000, dstPort: 1234, bufAlloc: 1000, fwdCnt: 2000 });
  pk = g.collect();
  assert.deepEqual(pk.map((p) => p.len), [500]);
  assert.deepEqual(pk[0]!.data, bytes(2500, 2).subarray(2000));
  // Host took the guest's data: after a quarter of buf_alloc, a CREDIT_UPDATE tells the guest.
  be.listener!.written(id, VSOCK_BUF_ALLOC / 4);
  pk = g.collect();
  assert.equal(pk[0]!.op, OP_CREDIT_UPDATE);
  assert.equal(pk[0]!.fwdCnt, VSOCK_BUF_ALLOC / 4);
  // CREDIT_REQUEST is answered.
  g.send({ op: OP_CREDIT_REQUEST, srcPort: 40000, dstPort: 1234 });
  assert.equal(g.collect()[0]!.op, OP_CREDIT_UPDATE);
  // Host EOF: SHUTDOWN(SEND) to the guest; guest full shutdown -> RST and close.
  be.listener!.hostShutdown(id);
  pk = g.collect();
  assert.equal(pk[0]!.op, OP_SHUTDOWN);
  assert.equal(pk[0]!.flags, SHUTDOWN_SEND);
  g.send({ op: OP_SHUTDOWN, srcPort: 40000, dstPort: 1234, flags: SHUTDOWN_SEND | SHUTDOWN_RCV });
  assert.equal(be.take('shutdown').length, 1);
  assert.equal(be.take('close').length, 1);
  assert.equal(g.collect()[0]!.op, OP_RST);
  assert.equal(g.dev.connectionCount, 0);
});

test('guest connection refused by the host -> RST', () => {
  const { be, g } = setup();
  g.send({ op: OP_REQUEST, srcPort: 40001, dstPort: 9 });
  const [[, id]] = be.take('guestConnect') as Array<[string, number, number]>;
  be.listener!.connectResult(id, false);
  const pk = g.collect();
  assert.equal(pk[0]!.op, OP_RST);
  assert.equal(pk[0]!.dstPort, 40001);
});

test('host connects in: REQUEST to the guest, RESPONSE -> accept with the host port; RST refuses', () => {
  const { be, g } = setup();
  be.listener!.hostConnect(7, 5000);
  let pk = g.collect();
  assert.equal(pk[0]!.op, OP_REQUEST);
  assert.equal(pk[0]!.dstPort, 5000);
  const hostPort = pk[0]!.srcPort;
  g.send({ op: OP_RESPONSE, srcPort: 5000, dstPort: hostPort, bufAlloc: 65536 });
  assert.deepEqual(be.take('accept'), [['accept', 7, hostPort]]);
  // Data queued before the guest accepted is delivered now.
  be.listener!.data(7, bytes(10, 3));
  pk = g.collect();
  assert.deepEqual(pk[0]!.data, bytes(10, 3));
  // A second host connection the guest refuses.
  be.listener!.hostConnect(8, 5001);
  pk = g.collect();
  g.send({ op: OP_RST, srcPort: 5001, dstPort: pk[0]!.srcPort });
  assert.deepEqual(be.take('close'), [['close', 8, 0]]);
  assert.equal(g.dev.connectionCount, 1);
});

test('hostile guest: wrong CIDs, unknown connections, bad ops, credit overrun, bad lengths', () => {
  const { be, g, dev } = setup();
  g.send({ op: OP_RW, srcPort: 1, dstPort: 2, data: bytes(10, 1) }); // unknown connection
  g.send({ op: OP_REQUEST, srcCid: 99, srcPort: 1, dstPort: 2 }); // spoofed source CID
  g.send({ op: OP_REQUEST, dstCid: 77, srcPort: 1, dstPort: 2 }); // not the host
  g.send({ op: OP_RW, srcPort: 1, dstPort: 2, len: 0xffffffff }); // len beyond the buffer
  g.send({ op: 99, srcPort: 1, dstPort: 2 });
  const pk = g.collect();
  assert.ok(pk.length >= 4 && pk.every((p) => p.op === OP_RST), JSON.stringify(pk.map((p) => p.op)));
  assert.equal(be.take('guestConnect').length, 0);
  // Credit overrun: more than VSOCK_BUF_ALLOC in flight without the host taking it -> reset.
  g.send({ op: OP_REQUEST, srcPort: 50000, dstPort: 80 });
  const [[, id]] = be.take('guestConnect') as Array<[string, number, number]>;
  be.listener!.connectResult(id, true);
  g.collect();
  for (let i = 0; i < VSOCK_BUF_ALLOC / 4096 + 2; i++) g.send({ op: OP_RW, srcPort: 50000, dstPort: 80, data: bytes(4096, i) });
  assert.equal(be.take('close').length, 1);
  assert.ok(g.collect().some((p) => p.op === OP_RST));
  // A chain shorter than a header is ignored; the device keeps working.
  const a = g.drv.alloc(8);
  g.drv.rings[1]!.add([{ addr: a, len: 8, write: false }]);
  dev.queueNotify(1);
  assert.equal(g.drv.resetReason, undefined);
  // A descriptor outside RAM: needs reset, no throw.
  g.drv.rings[1]!.rawDesc(100, 0x10, 64, 0, 0);
  g.drv.rings[1]!.rawAvail(100);
  dev.queueNotify(1);
  assert.match(g.drv.resetReason ?? '', /RAM/);
});

test('REQUEST flood is bounded', () => {
  const { be, g } = setup();
  for (let i = 0; i < VSOCK_MAX_CONNS + 50; i++) {
    g.send({ op: OP_REQUEST, srcPort: 10000 + i, dstPort: 1 });
    g.collect();
  }
  assert.equal(be.take('guestConnect').length, VSOCK_MAX_CONNS);
  assert.equal(g.dev.connectionCount, VSOCK_MAX_CONNS);
  g.dev.reset();
  assert.equal(be.take('close').length, VSOCK_MAX_CONNS);
});
