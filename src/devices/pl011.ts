/**
 * Arm PrimeCell UART PL011 (Arm DDI 0183), as the virt board's console
 * (0x09000000, SPI 1). A pure state machine: bytes leave through a ByteSink,
 * the combined interrupt through an IrqLine, bytes arrive via receive().
 *
 * Transmission is instantaneous: the TX FIFO is always empty, so FR.TXFE is
 * always set, TXFF and BUSY never are (earlycon polls FR and writes DR), and
 * TXIS is asserted whenever the transmitter is enabled, as the amba-pl011
 * driver expects of a FIFO that has drained below its trigger level.
 *
 * Reception: a 32-entry FIFO (1 entry when LCR_H.FEN is clear). RXIS follows
 * the IFLS trigger level; RTIS (receive timeout) is raised as soon as data is
 * waiting, because the host delivers bursts and the "line idle" moment is the
 * end of each burst. receive() only accepts what fits so the host can apply
 * back-pressure instead of losing bytes.
 */
import type { AccessSize, BusDevice, ByteSink, IrqLine } from './device.js';

export const PL011_FIFO_DEPTH = 32;

// Register offsets.
const DR = 0x000, RSR = 0x004, FR = 0x018, ILPR = 0x020, IBRD = 0x024, FBRD = 0x028;
const LCR_H = 0x02c, CR = 0x030, IFLS = 0x034, IMSC = 0x038, RIS = 0x03c, MIS = 0x040, ICR = 0x044, DMACR = 0x048;

// FR bits.
export const FR_BUSY = 1 << 3, FR_RXFE = 1 << 4, FR_TXFF = 1 << 5, FR_RXFF = 1 << 6, FR_TXFE = 1 << 7;
// Interrupt bits (IMSC/RIS/MIS/ICR).
export const INT_RX = 1 << 4, INT_TX = 1 << 5, INT_RT = 1 << 6;
const INT_ALL = 0x7ff;
// CR bits.
const CR_UARTEN = 1 << 0, CR_TXE = 1 << 8;
const LCR_H_FEN = 1 << 4;

/** PeriphID0-3 then PCellID0-3 at 0xFE0..0xFFC: a PL011 r1p5, what amba bus probing matches. */
const ID_REGS = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

export class Pl011 implements BusDevice {
  readonly name = 'pl011';
  private readonly fifo = new Uint8Array(PL011_FIFO_DEPTH);
  private head = 0;
  private count = 0;

  private lcrH = 0;
  private cr = 0x300;
  private ifls = 0x12;
  private imsc = 0;
  private ibrd = 0;
  private fbrd = 0;
  private ilpr = 0;
  private dmacr = 0;
  /** Latched interrupt sources other than TX (RX, RT and the error/modem bits, which we never raise). */
  private risLatch = 0;
  /** TXIS was cleared through ICR and no byte has been written since. */
  private txisCleared = false;
  private irqLevel = false;
  /** receive() turned bytes away; call onRxSpace when the guest frees room. */
  private starved = false;

  /** `onRxSpace` is called when the RX FIFO has room again after receive() accepted less than offered. */
  constructor(private readonly irq: IrqLine, private readonly sink: ByteSink, private readonly onRxSpace?: () => void) {}

  /** Bytes the RX FIFO can accept now. */
  get rxSpace(): number {
    return Math.max(0, this.capacity() - this.count);
  }

  /** Host → guest. Returns how many bytes were accepted (the rest must be offered again later). */
  receive(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.rxSpace);
    if (n < bytes.length) this.starved = true;
    for (let k = 0; k < n; k++) {
      this.fifo[(this.head + this.count) % PL011_FIFO_DEPTH] = bytes[k]!;
      this.count++;
    }
    if (n > 0) {
      this.risLatch |= INT_RT;
      if (this.count >= this.rxTrigger()) this.risLatch |= INT_RX;
      this.updateIrq();
    }
    return n;
  }

  read(offset: number, _size: AccessSize): number {
    switch (offset) {
      case DR: return this.readDr();
      case RSR: return 0; // no framing/parity/break/overrun errors ever
      case FR: {
        let fr = FR_TXFE;
        if (this.count === 0) fr |= FR_RXFE;
        if (this.count >= this.capacity()) fr |= FR_RXFF;
        return fr;
      }
      case ILPR: return this.ilpr;
      case IBRD: return this.ibrd;
      case FBRD: return this.fbrd;
      case LCR_H: return this.lcrH;
      case CR: return this.cr;
      case IFLS: return this.ifls;
      case IMSC: return this.imsc;
      case RIS: return this.ris();
      case MIS: return this.ris() & this.imsc;
      case DMACR: return this.dmacr;
    }
    if (offset >= 0xfe0 && offset < 0x1000) return ID_REGS[(offset - 0xfe0) >>> 2]!;
    return 0;
  }

  write(offset: number, _size: AccessSize, value: number): void {
    switch (offset) {
      case DR:
        // A fresh array per byte: the sink may keep it (console output is not a hot path).
        this.sink(Uint8Array.of(value & 0xff));
        // The byte left at once: the FIFO passed back below its trigger level.
        this.txisCleared = false;
        break;
      case RSR: break; // ECR: clear errors (there are none)
      case ILPR: this.ilpr = value & 0xff; return;
      case IBRD: this.ibrd = value & 0xffff; return;
      case FBRD: this.fbrd = value & 0x3f; return;
      case LCR_H:
        // Bytes already queued stay readable if FEN is cleared; rxSpace is then 0 until drained.
        this.lcrH = value & 0xff;
        break;
      case CR: this.cr = value & 0xff87; break;
      case IFLS: this.ifls = value & 0x3f; break;
      case IMSC: this.imsc = value & INT_ALL; break;
      case ICR:
        this.risLatch &= ~value;
        if (value & INT_TX) this.txisCleared = true;
        break;
      case DMACR: this.dmacr = value & 7; return;
      default: return;
    }
    this.updateIrq();
  }

  private readDr(): number {
    if (this.count === 0) return 0;
    const b = this.fifo[this.head]!;
    this.head = (this.head + 1) % PL011_FIFO_DEPTH;
    this.count--;
    if (this.count < this.rxTrigger()) this.risLatch &= ~INT_RX;
    // Data still waiting: the timeout fires again; an empty FIFO clears it.
    if (this.count === 0) this.risLatch &= ~INT_RT;
    else this.risLatch |= INT_RT;
    this.updateIrq();
    if (this.starved) {
      this.starved = false;
      this.onRxSpace?.();
    }
    return b;
  }

  private capacity(): number {
    return this.lcrH & LCR_H_FEN ? PL011_FIFO_DEPTH : 1;
  }

  /** RX trigger level in bytes from IFLS.RXIFLSEL (1/8, 1/4, 1/2, 3/4, 7/8 full). */
  private rxTrigger(): number {
    if (!(this.lcrH & LCR_H_FEN)) return 1;
    const sel = (this.ifls >>> 3) & 7;
    return [4, 8, 16, 24, 28][sel] ?? 16;
  }

  private ris(): number {
    let r = this.risLatch;
    if (!this.txisCleared && (this.cr & (CR_UARTEN | CR_TXE)) === (CR_UARTEN | CR_TXE)) r |= INT_TX;
    return r;
  }

  private updateIrq(): void {
    const level = (this.ris() & this.imsc) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }
}
