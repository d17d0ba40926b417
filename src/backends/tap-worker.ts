/**
 * The tap I/O thread (see tap.ts): blocks in poll(2) on the tap fd and the
 * doorbell, moves frames between the tap and the shared rings, and wakes the
 * machine thread after each batch of received frames.
 */
import { workerData } from 'node:worker_threads';
import { sys, POLLIN, EAGAIN, EINTR } from '../sys/native.js';
import { FrameRing } from './net-ring.js';
import { MAX_NET_FRAME, wakeMachine } from './net.js';
import { RX_DONE, RX_STOP, RX_WAITING, TX_SPACE, TX_WAITING, type TapWorkerData } from './tap.js';

const d = workerData as TapWorkerData;
const s = sys();
const rx = new FrameRing(d.rx);
const tx = new FrameRing(d.tx);
const both = new Int32Array([d.fd, d.doorbell]);
const bellOnly = new Int32Array([d.doorbell]);
const readMax = Math.min(MAX_NET_FRAME, rx.maxFrame);
const tgkill = (tid: number, sig: number): void => s.tgkill(tid, sig);

function drainTx(): boolean {
  let wrote = false;
  for (let f = tx.peek(); f !== undefined; f = tx.peek()) {
    const n = s.writeFd(d.fd, f, 0, f.length);
    if (n === -EAGAIN || n === -EINTR) return wrote; // retried after a short poll
    // Any other error (e.g. EIO while the link is down, EINVAL for a bad GSO header from the guest): drop the frame.
    tx.pop();
    wrote = true;
  }
  return wrote;
}

function fillRx(): { got: number; full: boolean } {
  let got = 0;
  for (;;) {
    let v = rx.reserve(readMax);
    if (v === undefined) {
      Atomics.store(rx.ctl, RX_WAITING, 1);
      v = rx.reserve(readMax);
      if (v === undefined) return { got, full: true };
      Atomics.store(rx.ctl, RX_WAITING, 0);
    }
    const n = s.readFd(d.fd, v, 0, v.length);
    if (n <= 0) return { got, full: false };
    rx.commit(n);
    got++;
    if (got >= 256) return { got, full: false };
  }
}

for (;;) {
  if (Atomics.load(rx.ctl, RX_STOP) !== 0) break;
  const wrote = drainTx();
  if (wrote && Atomics.load(tx.ctl, TX_WAITING) !== 0) {
    Atomics.store(tx.ctl, TX_WAITING, 0);
    Atomics.add(tx.ctl, TX_SPACE, 1);
    wakeMachine(d.wake, tgkill);
  }
  const { got, full } = fillRx();
  if (got > 0) wakeMachine(d.wake, tgkill);
  if (got >= 256) continue;
  const txBlocked = !tx.isEmpty();
  const r = s.pollFds(full ? bellOnly : both, POLLIN, txBlocked ? 1 : 1000);
  if (r > 0 && (full ? r & 1 : r & 2)) s.eventfdRead(d.doorbell);
}
Atomics.store(rx.ctl, RX_DONE, 1);
Atomics.notify(rx.ctl, RX_DONE);
