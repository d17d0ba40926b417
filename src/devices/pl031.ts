/**
 * Arm PrimeCell RTC PL031 (Arm DDI 0224) at 0x09010000 on the virt board,
 * so the guest's rtc-pl031 driver sets the system clock at boot.
 *
 * The counter is seconds since the epoch: the host clock plus an offset the
 * guest changes by writing RTCLR. The match interrupt (RTCMR) is evaluated
 * whenever a register is accessed and when the owner calls poll(), so the
 * model needs no timer of its own.
 */
import type { AccessSize, BusDevice, IrqLine } from './device.js';

const DR = 0x00, MR = 0x04, LR = 0x08, CR = 0x0c, IMSC = 0x10, RIS = 0x14, MIS = 0x18, ICR = 0x1c;
/** PeriphID0-3 (PL031 r1p0) then PCellID0-3 at 0xFE0..0xFFC. */
const ID_REGS = [0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

export class Pl031 implements BusDevice {
  readonly name = 'pl031';
  /** Guest seconds minus host seconds. */
  private offset = 0;
  private match = 0;
  private imsc = 0;
  private ris = 0;
  /** Last counter value seen, so a match is detected when the counter passes it. */
  private lastCount: number;
  private irqLevel = false;

  /** `nowMs` gives host wall-clock time in milliseconds (Date.now by default; tests inject a fake). */
  constructor(private readonly irq: IrqLine, private readonly nowMs: () => number = Date.now) {
    this.lastCount = this.counter();
  }

  read(offset: number, _size: AccessSize): number {
    this.poll();
    switch (offset) {
      case DR: return this.counter();
      case MR: return this.match;
      case LR: return this.counter();
      case CR: return 1; // always started
      case IMSC: return this.imsc;
      case RIS: return this.ris;
      case MIS: return this.ris & this.imsc;
    }
    if (offset >= 0xfe0 && offset < 0x1000) return ID_REGS[(offset - 0xfe0) >>> 2]!;
    return 0;
  }

  write(offset: number, _size: AccessSize, value: number): void {
    this.poll();
    switch (offset) {
      case MR: this.match = value >>> 0; break;
      case LR:
        this.offset = (value >>> 0) - this.hostSeconds();
        this.lastCount = this.counter();
        break;
      case IMSC: this.imsc = value & 1; break;
      case ICR: this.ris &= ~(value & 1); break;
      default: return; // DR, CR (start is write-once 1), RIS, MIS: read-only
    }
    this.checkMatch();
    this.updateIrq();
  }

  /** Check the alarm; call periodically (e.g. once a second) if the guest uses RTC alarms. */
  poll(): void {
    this.checkMatch();
    this.updateIrq();
  }

  private checkMatch(): void {
    const now = this.counter();
    const from = this.lastCount;
    this.lastCount = now;
    // Fire when the counter stepped onto the match value since the last look:
    // match in (from, now], u32 wrap-safe. A jump by RTCLR does not count.
    if (now !== from && ((this.match - from) >>> 0) !== 0 && ((this.match - from) >>> 0) <= ((now - from) >>> 0)) this.ris |= 1;
  }

  private hostSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  private counter(): number {
    return (this.hostSeconds() + this.offset) >>> 0;
  }

  private updateIrq(): void {
    const level = (this.ris & this.imsc) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }
}
