/** Watcher thread for virtio-pci ioeventfds (see pci-kvm.ts). */
import { workerData } from 'node:worker_threads';
import { sys, POLLIN } from '../sys/native.js';
import { wakeMachine } from '../backends/net.js';
import type { NotifyWorkerData } from './pci-kvm.js';

const d = workerData as NotifyWorkerData;
const s = sys();
const bits = new Int32Array(d.bits);
const stop = new Int32Array(d.stop);
const fds = new Int32Array([d.stopFd, ...d.fds]);
const tgkill = (tid: number, sig: number): void => s.tgkill(tid, sig);

for (;;) {
  if (Atomics.load(stop, 0) !== 0) break;
  const r = s.pollFds(fds, POLLIN, 1000);
  if (r <= 0) continue;
  if (r & 1) continue; // the stop eventfd: re-check the flag (never read, so every watcher sees it)
  let any = false;
  for (let i = 0; i < d.fds.length; i++) {
    if ((r & (1 << (i + 1))) === 0) continue;
    s.eventfdRead(d.fds[i]!);
    const bit = d.base + i;
    Atomics.or(bits, bit >> 5, 1 << (bit & 31));
    any = true;
  }
  if (any) wakeMachine(d.wake, tgkill);
}
Atomics.add(stop, 1, 1);
Atomics.notify(stop, 1);
