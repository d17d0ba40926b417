/**
 * One KVM vCPU as seen from the thread that runs it: its fd, its kvm_run page
 * (mmap'd by that thread) and KVM_RUN. Also the per-vCPU set-up done once by
 * the machine thread (CPUID, MSRs, LAPIC, signal mask).
 */
import { sys, MAP_SHARED, PROT_READ, PROT_WRITE, EINTR, EAGAIN } from '../../sys/native.js';
import * as K from '../../sys/kvm-abi.js';

/** KVM_RUN was interrupted by a signal (a kick) rather than a guest exit. */
export const RUN_INTERRUPTED = -1;

export class VcpuRun {
  readonly run: DataView;
  readonly runBytes: Uint8Array;
  private readonly s = sys();

  constructor(
    readonly fd: number,
    mmapSize: number,
  ) {
    const m = sys().mmap(mmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    this.runBytes = new Uint8Array(m.buffer);
    this.run = new DataView(m.buffer);
  }

  /** KVM_RUN once. Returns the exit reason, or RUN_INTERRUPTED after a kick (EINTR / immediate_exit). */
  enter(): number {
    const r = this.s.kvmRun(this.fd);
    if (r < 0) {
      if (r === -EINTR || r === -EAGAIN) return RUN_INTERRUPTED;
      throw new Error(`KVM_RUN failed: errno ${-r}`);
    }
    return this.run.getUint32(K.kvm_run.exit_reason, true);
  }

  /**
   * Byte offset in kvm_run of the current KVM_EXIT_IO's data, or -1 when it
   * would not lie inside the mapping (never for a sane kernel; checked anyway).
   */
  ioDataOffset(size: number, count: number): number {
    const off = Number(this.run.getBigUint64(K.kvm_run.io_data_offset, true));
    return off >= 0 && off + size * count <= this.run.byteLength ? off : -1;
  }
}

/**
 * KVM_SET_SIGNAL_MASK with an empty set: inside KVM_RUN no signal is blocked.
 * The running thread keeps the kick signal blocked outside KVM_RUN, so a kick
 * that arrives just before KVM_RUN stays pending and makes KVM_RUN return
 * EINTR at once: no lost wake-ups, whoever sends the kick.
 */
export function unblockSignalsInRun(vcpuFd: number): void {
  const KERNEL_SIGSET_BYTES = 8;
  const b = new Uint8Array(K.kvm_signal_mask.SIZE + KERNEL_SIGSET_BYTES);
  new DataView(b.buffer).setUint32(K.kvm_signal_mask.len, KERNEL_SIGSET_BYTES, true);
  sys().ioctl(vcpuFd, K.KVM_SET_SIGNAL_MASK, b);
}

/** Prepare the calling thread to run vCPUs: kick handler installed, kick signal blocked outside KVM_RUN. */
export function prepareVcpuThread(signo: number): void {
  sys().installKickSignal(signo);
  sys().blockSignal(signo);
}

export function setMpState(vcpuFd: number, state: number): void {
  sys().ioctl(vcpuFd, K.KVM_SET_MP_STATE, new Uint32Array([state]));
}

export function getMpState(vcpuFd: number): number {
  const b = new Uint32Array(1);
  sys().ioctl(vcpuFd, K.KVM_GET_MP_STATE, b);
  return b[0]!;
}

/** Human-readable description of a fatal exit, for {kind:'error'}. */
export function describeFatalExit(v: VcpuRun, reason: number, index: number): string {
  const r = v.run;
  switch (reason) {
    case K.KVM_EXIT_FAIL_ENTRY:
      return `vCPU ${index}: KVM_EXIT_FAIL_ENTRY hardware_entry_failure_reason=0x${r
        .getBigUint64(K.kvm_run.fail_entry_hardware_entry_failure_reason, true)
        .toString(16)} cpu=${r.getUint32(K.kvm_run.fail_entry_cpu, true)}`;
    case K.KVM_EXIT_INTERNAL_ERROR: {
      const n = Math.min(r.getUint32(K.kvm_run.internal_ndata, true), 16);
      const data: string[] = [];
      for (let i = 0; i < n; i++) data.push('0x' + r.getBigUint64(K.kvm_run.internal_data + 8 * i, true).toString(16));
      return `vCPU ${index}: KVM_EXIT_INTERNAL_ERROR suberror=${r.getUint32(K.kvm_run.internal_suberror, true)} data=[${data.join(', ')}]`;
    }
    default:
      return `vCPU ${index}: unhandled KVM exit reason ${reason}`;
  }
}
