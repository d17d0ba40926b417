/**
 * A worker thread running one application-processor vCPU (index >= 1). It
 * blocks in KVM_RUN; exits that need a device model are forwarded to the
 * machine thread through the mailbox (see mailbox.ts). Exits that end the VM
 * are forwarded as KIND_FATAL. Everything in-kernel (LAPIC, IOAPIC, HLT,
 * INIT/SIPI) never leaves KVM_RUN.
 */
import { workerData } from 'node:worker_threads';
import { sys } from '../../sys/native.js';
import * as K from '../../sys/kvm-abi.js';
import * as M from './mailbox.js';
import { VcpuRun, RUN_INTERRUPTED, prepareVcpuThread, describeFatalExit } from './vcpu.js';
import { systemEventStatus } from './status.js';
import { describeVcpu } from './regs.js';
import type { ExitStatus } from '../../vmm/engine.js';

const d = workerData as M.VcpuWorkerData;
const ctl = new Int32Array(d.control);
const mb = new Int32Array(d.mailbox);
const mbBytes = new Uint8Array(d.mailbox);

prepareVcpuThread(d.signo);
Atomics.store(ctl, M.CTL_TID + d.index, sys().gettid());
Atomics.notify(ctl, M.CTL_TID + d.index);

/** Hand the mailbox to the machine thread and wait for its answer. Returns false when the VM is stopping. */
function forward(): boolean {
  Atomics.store(mb, M.MB_STATE, M.STATE_REQUEST);
  Atomics.add(ctl, M.CTL_DOORBELL, 1);
  if (Atomics.load(ctl, M.CTL_IN_RUN) !== 0) {
    try {
      sys().tgkill(d.machineTid, d.signo);
    } catch {
      return false; // the machine thread is gone
    }
  }
  // No spinning before the wait: on a 2-core host a spinning vCPU thread steals the core the machine thread needs
  // (measured: spinning made the hand-off slower, not faster).
  while (Atomics.load(mb, M.MB_STATE) === M.STATE_REQUEST) {
    if (Atomics.load(ctl, M.CTL_STOP) !== 0) return false;
    Atomics.wait(mb, M.MB_STATE, M.STATE_REQUEST, 50);
  }
  Atomics.store(mb, M.MB_STATE, M.STATE_IDLE);
  return Atomics.load(mb, M.MB_RESULT) === M.RESULT_OK;
}

function fatal(status: ExitStatus): void {
  const msg = new TextEncoder().encode(JSON.stringify(status)).subarray(0, M.MB_DATA_BYTES);
  mbBytes.set(msg, M.MB_DATA);
  mb[M.MB_KIND] = M.KIND_FATAL;
  mb[M.MB_SIZE] = msg.length;
  forward();
}

function loop(): void {
  while (Atomics.load(ctl, M.CTL_GO) === 0 && Atomics.load(ctl, M.CTL_STOP) === 0) Atomics.wait(ctl, M.CTL_GO, 0, 100);
  // The VM may have ended before this worker got going; its vCPU fd may already be closed.
  if (Atomics.load(ctl, M.CTL_STOP) !== 0) return;
  const v = new VcpuRun(d.vcpuFd, d.mmapSize);
  const run = v.run;
  const R = K.kvm_run;
  while (Atomics.load(ctl, M.CTL_STOP) === 0) {
    let reason: number;
    try {
      reason = v.enter();
    } catch (e) {
      fatal({ kind: 'error', message: `vCPU ${d.index}: KVM_RUN failed: ${(e as Error).message}` });
      return;
    }
    switch (reason) {
      case RUN_INTERRUPTED:
        sys().consumeSignal(d.signo);
        break;
      case K.KVM_EXIT_IO: {
        const size = run.getUint8(R.io_size);
        const count = run.getUint32(R.io_count, true);
        const off = v.ioDataOffset(size, count);
        const len = size * count;
        if (off < 0 || len > M.MB_DATA_BYTES) {
          fatal({ kind: 'error', message: `vCPU ${d.index}: malformed KVM_EXIT_IO (size ${size} count ${count})` });
          return;
        }
        const out = run.getUint8(R.io_direction) === K.KVM_EXIT_IO_OUT;
        mb[M.MB_KIND] = M.KIND_IO;
        mb[M.MB_WRITE] = out ? 1 : 0;
        mb[M.MB_SIZE] = size;
        mb[M.MB_ADDR_LO] = run.getUint16(R.io_port, true);
        mb[M.MB_ADDR_HI] = count;
        if (out) mbBytes.set(v.runBytes.subarray(off, off + len), M.MB_DATA);
        if (!forward()) return;
        if (!out) v.runBytes.set(mbBytes.subarray(M.MB_DATA, M.MB_DATA + len), off);
        break;
      }
      case K.KVM_EXIT_MMIO: {
        const isWrite = run.getUint8(R.mmio_is_write) !== 0;
        const len = Math.min(run.getUint32(R.mmio_len, true), 8);
        mb[M.MB_KIND] = M.KIND_MMIO;
        mb[M.MB_WRITE] = isWrite ? 1 : 0;
        mb[M.MB_SIZE] = len;
        mb[M.MB_ADDR_LO] = run.getUint32(R.mmio_phys_addr, true);
        mb[M.MB_ADDR_HI] = run.getUint32(R.mmio_phys_addr + 4, true);
        mbBytes.set(v.runBytes.subarray(R.mmio_data, R.mmio_data + 8), M.MB_DATA);
        if (!forward()) return;
        if (!isWrite) v.runBytes.set(mbBytes.subarray(M.MB_DATA, M.MB_DATA + 8), R.mmio_data);
        break;
      }
      case K.KVM_EXIT_SHUTDOWN:
        fatal({ kind: 'triple-fault' });
        return;
      case K.KVM_EXIT_SYSTEM_EVENT:
        fatal(systemEventStatus(run.getUint32(R.system_event_type, true)));
        return;
      case K.KVM_EXIT_INTR:
        break;
      default:
        fatal({ kind: 'error', message: `${describeFatalExit(v, reason, d.index)}; ${describeVcpu(v.fd)}` });
        return;
    }
  }
}

try {
  loop();
} finally {
  Atomics.store(ctl, M.CTL_EXITED + d.index, 1);
  Atomics.notify(ctl, M.CTL_EXITED + d.index);
}
