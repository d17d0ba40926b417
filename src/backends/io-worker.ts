/**
 * The block I/O worker thread: owns a BlockFile and executes the requests the
 * machine thread posts in shared memory (see block-async.ts for the layout),
 * so file I/O (and fdatasync) never blocks the thread running the guest.
 * After each completion it bumps and notifies the machine thread's wake word
 * (the host link's input sequence word), which wakes an idle emu engine and
 * makes EngineHost.pending() look at the completion ring.
 */
import { workerData } from 'node:worker_threads';
import { sys } from '../sys/native.js';
import { BlockFile } from './block-file.js';
import { IoLayout, OP_DISCARD, OP_FLUSH, OP_READ, OP_WRITE, OP_ZEROES, type IoWorkerInit } from './block-async.js';

const init = workerData as IoWorkerInit;
const L = new IoLayout(init.sab, init.slots, init.slotBytes);
const wake = init.wake ? new Int32Array(init.wake.sab) : undefined;
const file = new BlockFile(init.path, { readOnly: init.readOnly, direct: init.direct });

function run(slot: number): number {
  const op = L.op[slot]!;
  const pos = L.pos[slot]!;
  const len = L.len[slot]!;
  try {
    switch (op) {
      case OP_READ:
        file.read(L.staging(slot, len), pos);
        return 0;
      case OP_WRITE:
        file.write(L.staging(slot, len), pos);
        return 0;
      case OP_FLUSH:
        file.flush();
        return 0;
      case OP_ZEROES:
        file.writeZeroes(pos, len);
        return 0;
      case OP_DISCARD:
        file.discard(pos, len);
        return 0;
      default:
        return -1;
    }
  } catch {
    return -1;
  }
}

for (;;) {
  const seen = Atomics.load(L.ctl, IoLayout.SUBMIT_SEQ);
  let did = false;
  while (L.sqTail() !== Atomics.load(L.ctl, IoLayout.SQ_HEAD)) {
    const tail = L.sqTail();
    const slot = L.sq[tail % init.slots]!;
    L.result[slot] = run(slot);
    Atomics.store(L.ctl, IoLayout.SQ_TAIL, (tail + 1) | 0);
    const head = Atomics.load(L.ctl, IoLayout.CQ_HEAD);
    L.cq[head % init.slots] = slot;
    Atomics.store(L.ctl, IoLayout.CQ_HEAD, (head + 1) | 0);
    Atomics.notify(L.ctl, IoLayout.CQ_HEAD); // for drain()
    did = true;
    if (wake) {
      const t = init.wake!;
      Atomics.add(wake, t.index, 1);
      Atomics.notify(wake, t.index);
      // Under kvm, also interrupt KVM_RUN: tid/signal fixed, or published later in a shared [tid, signal] pair.
      const kick = (t as { kick?: SharedArrayBuffer }).kick;
      const kv = kick ? new Int32Array(kick) : undefined;
      const tid = kv ? Atomics.load(kv, 0) : t.tid;
      const signal = kv ? Atomics.load(kv, 1) : t.signal;
      if (tid !== undefined && tid !== 0 && signal !== undefined) {
        try {
          sys().tgkill(tid, signal);
        } catch {
          // the machine thread is gone
        }
      }
    }
  }
  if (did) continue;
  if (Atomics.load(L.ctl, IoLayout.STOP) !== 0) break;
  Atomics.wait(L.ctl, IoLayout.SUBMIT_SEQ, seen, 1000);
}
file.close();
