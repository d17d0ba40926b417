/**
 * MC146818 CMOS RTC at ports 0x70 (index) / 0x71 (data).
 *
 * The clock is the host's (plus an offset the guest may set by writing the
 * time registers). Values are BCD unless register B's DM bit selects binary;
 * hours follow register B's 24/12-hour bit (12-hour: bit 7 = PM). Register A
 * never reports update-in-progress, so a guest polling UIP never waits.
 * Bit 7 of an index write is the NMI mask, kept but not acted on (the kvm
 * engine owns NMIs). No periodic/alarm interrupts: register C reads 0.
 */
import type { AccessSize, BusDevice } from './device.js';

export const RTC_PORT = 0x70;
export const RTC_SECONDS = 0x00;
export const RTC_MINUTES = 0x02;
export const RTC_HOURS = 0x04;
export const RTC_DAY_OF_WEEK = 0x06;
export const RTC_DAY_OF_MONTH = 0x07;
export const RTC_MONTH = 0x08;
export const RTC_YEAR = 0x09;
export const RTC_REG_A = 0x0a;
export const RTC_REG_B = 0x0b;
export const RTC_REG_C = 0x0c;
export const RTC_REG_D = 0x0d;
export const RTC_CENTURY = 0x32;

export const REG_A_UIP = 0x80;
/** 32.768 kHz time base, 1024 Hz rate: the power-on value BIOSes leave. */
export const REG_A_DEFAULT = 0x26;
export const REG_B_SET = 0x80;
export const REG_B_DM_BINARY = 0x04;
export const REG_B_24H = 0x02;
export const REG_D_VRT = 0x80;
export const NMI_DISABLE = 0x80;

const toBcd = (v: number): number => ((Math.floor(v / 10) % 10) << 4) | v % 10;
const fromBcd = (v: number): number => (v >> 4) * 10 + (v & 0x0f);

export interface CmosRtcOptions {
  /** Host clock in ms since the epoch; injectable for tests. */
  now?: () => number;
}

export class CmosRtc implements BusDevice {
  readonly name = 'cmos-rtc';
  private index = 0;
  /** Bit 7 of the last index write. */
  nmiMasked = false;
  private readonly ram = new Uint8Array(128);
  private offsetMs = 0;
  private readonly now: () => number;

  constructor(opts: CmosRtcOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.ram[RTC_REG_A] = REG_A_DEFAULT;
    this.ram[RTC_REG_B] = REG_B_24H;
    this.ram[RTC_REG_D] = REG_D_VRT;
  }

  /** Sets a CMOS NVRAM byte (board setup, e.g. memory size registers). */
  setNvram(index: number, value: number): void {
    if (index >= 0x0e && index < 0x80) this.ram[index] = value & 0xff;
  }

  read(offset: number, _size: AccessSize): number {
    if (offset === 0) return 0xff; // the index register is write-only
    return this.readRegister(this.index);
  }

  write(offset: number, _size: AccessSize, value: number): void {
    if (offset === 0) {
      this.index = value & 0x7f;
      this.nmiMasked = (value & NMI_DISABLE) !== 0;
    } else {
      this.writeRegister(this.index, value & 0xff);
    }
  }

  private binary(): boolean {
    return (this.ram[RTC_REG_B]! & REG_B_DM_BINARY) !== 0;
  }

  private enc(v: number): number {
    return this.binary() ? v : toBcd(v);
  }

  private dec(v: number): number {
    return this.binary() ? v : fromBcd(v);
  }

  private date(): Date {
    return new Date(this.now() + this.offsetMs);
  }

  private readRegister(i: number): number {
    const d = this.date();
    switch (i) {
      case RTC_SECONDS:
        return this.enc(d.getUTCSeconds());
      case RTC_MINUTES:
        return this.enc(d.getUTCMinutes());
      case RTC_HOURS:
        return this.encodeHours(d.getUTCHours());
      case RTC_DAY_OF_WEEK:
        return this.enc(d.getUTCDay() + 1);
      case RTC_DAY_OF_MONTH:
        return this.enc(d.getUTCDate());
      case RTC_MONTH:
        return this.enc(d.getUTCMonth() + 1);
      case RTC_YEAR:
        return this.enc(d.getUTCFullYear() % 100);
      case RTC_CENTURY:
        return this.enc(Math.floor(d.getUTCFullYear() / 100));
      case RTC_REG_A:
        return this.ram[RTC_REG_A]! & ~REG_A_UIP;
      case RTC_REG_C:
        return 0;
      case RTC_REG_D:
        return REG_D_VRT;
      default:
        return this.ram[i]!;
    }
  }

  private encodeHours(h: number): number {
    if (this.ram[RTC_REG_B]! & REG_B_24H) return this.enc(h);
    const h12 = h % 12 === 0 ? 12 : h % 12;
    return this.enc(h12) | (h >= 12 ? 0x80 : 0);
  }

  private decodeHours(v: number): number {
    if (this.ram[RTC_REG_B]! & REG_B_24H) return this.dec(v);
    const h12 = this.dec(v & 0x7f) % 12;
    return v & 0x80 ? h12 + 12 : h12;
  }

  private writeRegister(i: number, v: number): void {
    switch (i) {
      case RTC_SECONDS:
      case RTC_MINUTES:
      case RTC_HOURS:
      case RTC_DAY_OF_MONTH:
      case RTC_MONTH:
      case RTC_YEAR:
      case RTC_CENTURY:
        this.setTimeField(i, v);
        return;
      case RTC_DAY_OF_WEEK:
        return; // derived from the date
      case RTC_REG_A:
        this.ram[i] = v & ~REG_A_UIP;
        return;
      case RTC_REG_C:
      case RTC_REG_D:
        return; // read-only
      default:
        this.ram[i] = v;
    }
  }

  /** A guest write to a time field moves the guest clock: keep it as an offset from the host clock. */
  private setTimeField(i: number, v: number): void {
    const d = this.date();
    let sec = d.getUTCSeconds();
    let min = d.getUTCMinutes();
    let hour = d.getUTCHours();
    let day = d.getUTCDate();
    let month = d.getUTCMonth() + 1;
    let year = d.getUTCFullYear();
    const n = this.dec(v);
    if (i === RTC_SECONDS) sec = n;
    else if (i === RTC_MINUTES) min = n;
    else if (i === RTC_HOURS) hour = this.decodeHours(v);
    else if (i === RTC_DAY_OF_MONTH) day = n;
    else if (i === RTC_MONTH) month = n;
    else if (i === RTC_YEAR) year = Math.floor(year / 100) * 100 + (n % 100);
    else year = n * 100 + (year % 100);
    const t = Date.UTC(year, month - 1, day, hour, min, sec, d.getUTCMilliseconds());
    if (Number.isFinite(t)) this.offsetMs = t - this.now();
  }
}
