/**
 * A 16550A UART (8 registers, port I/O; COM1 is 0x3F8, IRQ 4).
 *
 * Transmission is instantaneous: a THR write goes straight to the ByteSink
 * (or, in loopback, into the receive FIFO), so THR is always empty again when
 * the guest next looks. Reception comes from the host through receive(),
 * which accepts only what fits in the receive FIFO: the caller keeps the
 * rest and retries after `onRxSpace` fires (back-pressure, never overrun).
 *
 * Interrupt identification follows the 16550A priority RLS > RDA/timeout >
 * THRE > MS. The THRE interrupt has the semantics Linux's 8250 driver
 * relies on: it becomes pending when ETBEI is turned on while THR is empty
 * and after every transmitted byte, and is cleared by an IIR read that
 * reports it or by a THR write. With the FIFO enabled and fewer bytes than
 * the trigger level, we report a character timeout at once (there is no
 * character clock to wait for).
 */
import type { AccessSize, BusDevice, ByteSink, IrqLine } from './device.js';

export const COM1_BASE = 0x3f8;
export const COM1_IRQ = 4;
export const UART_FIFO_SIZE = 16;

// Register offsets.
export const UART_RBR = 0; // read, DLAB=0
export const UART_THR = 0; // write, DLAB=0
export const UART_DLL = 0; // DLAB=1
export const UART_IER = 1; // DLAB=0
export const UART_DLM = 1; // DLAB=1
export const UART_IIR = 2; // read
export const UART_FCR = 2; // write
export const UART_LCR = 3;
export const UART_MCR = 4;
export const UART_LSR = 5;
export const UART_MSR = 6;
export const UART_SCR = 7;

export const IER_RDI = 0x01;
export const IER_THRI = 0x02;
export const IER_RLSI = 0x04;
export const IER_MSI = 0x08;

export const IIR_NO_INT = 0x01;
export const IIR_MSI = 0x00;
export const IIR_THRI = 0x02;
export const IIR_RDI = 0x04;
export const IIR_RLSI = 0x06;
export const IIR_TIMEOUT = 0x0c;
export const IIR_FIFO_ENABLED = 0xc0;

export const FCR_ENABLE_FIFO = 0x01;
export const FCR_CLEAR_RCVR = 0x02;
export const FCR_CLEAR_XMIT = 0x04;

export const LCR_DLAB = 0x80;

export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;

export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_PE = 0x04;
export const LSR_FE = 0x08;
export const LSR_BI = 0x10;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;
const LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;
/** Modem lines seen when not in loopback: a terminal is attached and ready. */
const MSR_LINES_CONNECTED = MSR_CTS | MSR_DSR | MSR_DCD;

const TRIGGER_LEVELS = [1, 4, 8, 14] as const;

/** What the guest last wrote to the configuration registers, and how often. */
export interface UartProgramming {
  lcr: number | undefined;
  /** Divisor latch (DLM << 8 | DLL) once either half was written. */
  divisor: number | undefined;
  fcr: number | undefined;
  mcr: number | undefined;
  writes: { lcr: number; dll: number; dlm: number; fcr: number; mcr: number };
}

export interface Uart16550Options {
  name?: string;
  irq: IrqLine;
  sink: ByteSink;
  /** Called when the receive FIFO gains free space after the guest read from it. */
  onRxSpace?: () => void;
}

export class Uart16550 implements BusDevice {
  readonly name: string;
  readonly programmed: UartProgramming = {
    lcr: undefined,
    divisor: undefined,
    fcr: undefined,
    mcr: undefined,
    writes: { lcr: 0, dll: 0, dlm: 0, fcr: 0, mcr: 0 },
  };

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErrors = 0;
  private msrDeltas = 0;
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  private fifoEnabled = false;
  private triggerLevel = 1;
  private thrPending = false;
  private rx: number[] = [];
  private irqLevel = false;
  private readonly irq: IrqLine;
  private readonly sink: ByteSink;
  private readonly onRxSpace: (() => void) | undefined;

  constructor(opts: Uart16550Options) {
    this.name = opts.name ?? 'uart16550';
    this.irq = opts.irq;
    this.sink = opts.sink;
    this.onRxSpace = opts.onRxSpace;
  }

  /** Bytes of receive FIFO currently free (1 in non-FIFO mode: just RBR). */
  rxFree(): number {
    return Math.max(0, this.rxCapacity() - this.rx.length);
  }

  /** Host input. Returns how many bytes were accepted; the caller retries the rest later. */
  receive(bytes: Uint8Array): number {
    if (this.mcr & MCR_LOOP) return 0; // in loopback the serial input is disconnected
    const n = Math.min(bytes.length, this.rxFree());
    for (let i = 0; i < n; i++) this.rx.push(bytes[i]!);
    if (n > 0) this.updateIrq();
    return n;
  }

  read(offset: number, _size: AccessSize): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case UART_RBR:
        return dlab ? this.dll : this.readRbr();
      case UART_IER:
        return dlab ? this.dlm : this.ier;
      case UART_IIR:
        return this.readIir();
      case UART_LCR:
        return this.lcr;
      case UART_MCR:
        return this.mcr;
      case UART_LSR:
        return this.readLsr();
      case UART_MSR:
        return this.readMsr();
      case UART_SCR:
        return this.scr;
      default:
        return 0xff;
    }
  }

  write(offset: number, _size: AccessSize, value: number): void {
    const v = value & 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case UART_THR:
        if (dlab) {
          this.dll = v;
          this.programmed.writes.dll++;
          this.programmed.divisor = (this.dlm << 8) | this.dll;
        } else this.transmit(v);
        break;
      case UART_IER:
        if (dlab) {
          this.dlm = v;
          this.programmed.writes.dlm++;
          this.programmed.divisor = (this.dlm << 8) | this.dll;
        } else this.writeIer(v);
        break;
      case UART_FCR:
        this.writeFcr(v);
        break;
      case UART_LCR:
        this.lcr = v;
        this.programmed.lcr = v;
        this.programmed.writes.lcr++;
        break;
      case UART_MCR:
        this.writeMcr(v);
        break;
      case UART_SCR:
        this.scr = v;
        break;
      default:
        break; // LSR and MSR are read-only
    }
  }

  private rxCapacity(): number {
    return this.fifoEnabled ? UART_FIFO_SIZE : 1;
  }

  private readRbr(): number {
    const wasFull = this.rxFree() === 0;
    const b = this.rx.shift() ?? 0;
    this.updateIrq();
    if (wasFull && !(this.mcr & MCR_LOOP)) this.onRxSpace?.();
    return b;
  }

  private transmit(v: number): void {
    this.thrPending = false;
    if (this.mcr & MCR_LOOP) {
      if (this.rx.length < this.rxCapacity()) this.rx.push(v);
      else this.lsrErrors |= LSR_OE;
    } else {
      this.sink(Uint8Array.of(v));
    }
    // The byte left THR at once: THR is empty again, which is a new THRE event.
    if (this.ier & IER_THRI) this.thrPending = true;
    this.updateIrq();
  }

  private writeIer(v: number): void {
    const changed = (this.ier ^ v) & 0x0f;
    this.ier = v & 0x0f;
    if (changed & IER_THRI) this.thrPending = (this.ier & IER_THRI) !== 0; // THR is always empty
    this.updateIrq();
  }

  private writeFcr(v: number): void {
    this.programmed.fcr = v;
    this.programmed.writes.fcr++;
    const enable = (v & FCR_ENABLE_FIFO) !== 0;
    if (enable !== this.fifoEnabled) {
      // Switching FIFO mode empties both FIFOs (16550A datasheet).
      this.rx = [];
      this.fifoEnabled = enable;
    }
    if (v & FCR_CLEAR_RCVR) this.rx = [];
    // FCR_CLEAR_XMIT: the transmit FIFO is always empty here.
    this.triggerLevel = TRIGGER_LEVELS[(v >> 6) & 3]!;
    this.updateIrq();
    if (this.rxFree() > 0 && !(this.mcr & MCR_LOOP)) this.onRxSpace?.();
  }

  private writeMcr(v: number): void {
    this.programmed.mcr = v;
    this.programmed.writes.mcr++;
    const before = this.modemLines();
    this.mcr = v & 0x1f;
    this.noteModemChange(before, this.modemLines());
    this.updateIrq();
  }

  /** The MSR status bits (4-7): wired to MCR outputs in loopback, "connected" otherwise. */
  private modemLines(): number {
    if (!(this.mcr & MCR_LOOP)) return MSR_LINES_CONNECTED;
    let m = 0;
    if (this.mcr & MCR_RTS) m |= MSR_CTS;
    if (this.mcr & MCR_DTR) m |= MSR_DSR;
    if (this.mcr & MCR_OUT1) m |= MSR_RI;
    if (this.mcr & MCR_OUT2) m |= MSR_DCD;
    return m;
  }

  private noteModemChange(before: number, after: number): void {
    const diff = before ^ after;
    if (diff & MSR_CTS) this.msrDeltas |= MSR_DCTS;
    if (diff & MSR_DSR) this.msrDeltas |= MSR_DDSR;
    if (diff & MSR_DCD) this.msrDeltas |= MSR_DDCD;
    if (before & MSR_RI && !(after & MSR_RI)) this.msrDeltas |= MSR_TERI; // trailing edge of RI
  }

  private readMsr(): number {
    const v = this.modemLines() | this.msrDeltas;
    this.msrDeltas = 0;
    this.updateIrq();
    return v;
  }

  private lsr(): number {
    let v = LSR_THRE | LSR_TEMT | this.lsrErrors;
    if (this.rx.length > 0) v |= LSR_DR;
    return v;
  }

  private readLsr(): number {
    const v = this.lsr();
    this.lsrErrors = 0; // reading LSR clears the error bits and the RLS interrupt
    this.updateIrq();
    return v;
  }

  /** The highest-priority pending interrupt's IIR id, or IIR_NO_INT. */
  private pendingId(): number {
    if (this.ier & IER_RLSI && this.lsrErrors & LSR_ERRORS) return IIR_RLSI;
    if (this.ier & IER_RDI && this.rx.length > 0) {
      if (!this.fifoEnabled || this.rx.length >= this.triggerLevel) return IIR_RDI;
      return IIR_TIMEOUT;
    }
    if (this.ier & IER_THRI && this.thrPending) return IIR_THRI;
    if (this.ier & IER_MSI && this.msrDeltas) return IIR_MSI;
    return IIR_NO_INT;
  }

  private readIir(): number {
    const id = this.pendingId();
    if (id === IIR_THRI) {
      this.thrPending = false; // reading IIR that reports THRE clears it
      this.updateIrq();
    }
    return id | (this.fifoEnabled ? IIR_FIFO_ENABLED : 0);
  }

  private updateIrq(): void {
    const level = this.pendingId() !== IIR_NO_INT;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }
}
