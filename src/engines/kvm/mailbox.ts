/**
 * Shared memory between the machine thread and the vCPU workers (vCPUs 1..N-1).
 *
 * Device models live on the machine thread only, so a worker whose vCPU exits
 * on port I/O or MMIO copies the exit into its mailbox, bumps the doorbell,
 * kicks the machine thread (signal: its KVM_RUN for vCPU 0 returns EINTR) and
 * waits; the machine thread handles it against the buses, writes the result
 * back, and notifies. All words are Int32 so Atomics.wait/notify work.
 */

/** Control block words. */
export const CTL_DOORBELL = 0; // number of mailboxes in state REQUEST (hint, may lag)
export const CTL_STOP = 1; // 1: workers must leave their run loops
export const CTL_GO = 2; // 1: workers may enter KVM_RUN
/**
 * 1 while the machine thread is in (or about to enter) KVM_RUN for vCPU 0.
 * Workers only kick it then: otherwise it will see the doorbell anyway. The
 * machine thread stores 1 before it reads the doorbell and a worker bumps the
 * doorbell before it reads this word, so (all seq-cst) one of them sees the other.
 */
export const CTL_IN_RUN = 3;
/** Per-worker words start here: tid at CTL_TID + i, exited at CTL_EXITED + i (i = vCPU index). */
export const CTL_TID = 64;
export const CTL_EXITED = 128;
export const CTL_WORDS = 192;

/** Mailbox words. */
export const MB_STATE = 0;
export const MB_KIND = 1;
export const MB_WRITE = 2; // io: direction is OUT; mmio: is_write
export const MB_SIZE = 3; // io: access size; mmio: len
export const MB_ADDR_LO = 4; // io: port; mmio: phys_addr low 32 bits
export const MB_ADDR_HI = 5; // io: count; mmio: phys_addr high 32 bits
export const MB_RESULT = 6;
export const MB_EXITS = 7; // exits this vCPU has forwarded (statistics)
/** Byte offset of the data area (io data, mmio data, or a fatal message). */
export const MB_DATA = 64;
export const MB_DATA_BYTES = 4096;
export const MB_BYTES = MB_DATA + MB_DATA_BYTES;

export const STATE_IDLE = 0;
export const STATE_REQUEST = 1;
export const STATE_REPLY = 2;

export const KIND_IO = 1;
export const KIND_MMIO = 2;
/** The vCPU hit an exit that ends the VM; MB_SIZE = message length, data = UTF-8 JSON ExitStatus. */
export const KIND_FATAL = 3;

export const RESULT_OK = 0;
/** The VM is stopping: the worker must leave its loop. */
export const RESULT_STOP = 1;

export interface VcpuWorkerData {
  index: number;
  vcpuFd: number;
  mmapSize: number;
  machineTid: number;
  signo: number;
  control: SharedArrayBuffer;
  mailbox: SharedArrayBuffer;
}
