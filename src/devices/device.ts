/**
 * The interface every device model implements. Device models are pure state
 * machines: they know nothing about engines, threads or sockets. The bus calls
 * read/write with an offset relative to the device's base; interrupts and
 * output leave through objects injected at construction (IrqLine, sinks).
 */

/** Access sizes the bus passes to devices. 8-byte accesses are split into two 4-byte ones by the bus unless the device sets `wide`. */
export type AccessSize = 1 | 2 | 4 | 8;

export interface BusDevice {
  readonly name: string;
  /** Returns the value read (zero-extended to `size` bytes). For size 8 only when `wide` is true: may return a bigint. */
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
  /** The device handles 8-byte accesses itself (read returns the low 53 bits as number; use read64/write64). */
  readonly wide?: boolean;
  read64?(offset: number): bigint;
  write64?(offset: number, value: bigint): void;
}

/**
 * An interrupt line from a device to the interrupt controller. Level-triggered
 * devices call set(true/false); edge-triggered ones call pulse().
 * The engine supplies the implementation (KVM_IRQ_LINE / irqfd, or the
 * software GIC), so devices never know which engine runs them.
 */
export interface IrqLine {
  set(level: boolean): void;
  pulse(): void;
}

/** An IrqLine that does nothing, for devices wired to no interrupt and for tests. */
export const NO_IRQ: IrqLine = { set() {}, pulse() {} };

/** An IrqLine that records its state: for unit tests and for polling controllers. */
export class RecordingIrq implements IrqLine {
  level = false;
  pulses = 0;
  set(level: boolean): void {
    this.level = level;
  }
  pulse(): void {
    this.pulses++;
  }
}

/** Byte output from a device (serial transmit, console). */
export type ByteSink = (bytes: Uint8Array) => void;
