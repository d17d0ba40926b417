/** How the main thread interrupts a machine thread blocked in KVM_RUN: a signal to that thread (see native installKickSignal). */
import { sys } from '../sys/native.js';

export function createKicker(tid: number, signal: number): () => void {
  return () => {
    try {
      sys().tgkill(tid, signal);
    } catch {
      // The thread has already exited: nothing to interrupt.
    }
  };
}
