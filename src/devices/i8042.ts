/**
 * An i8042 keyboard controller with nothing plugged in, just enough for
 * Linux: its probe (flush, self-test 0xAA -> 0x55, read/write of the
 * command byte, interface tests, AUX loopback with IRQ 12) completes without
 * timeouts, and its reboot method (command 0xFE, pulse the reset line) ends
 * the VM through onReset. Keyboard-device commands written to port 0x60 are
 * swallowed (no keyboard answers), which Linux's atkbd treats as "no device".
 *
 * Ports: data 0x60, status/command 0x64. The two ports are exposed as two
 * BusDevices (`dataPort`, `commandPort`) since the bus hands devices offsets.
 * Port 0x61 (system control port B) is a separate tiny device below.
 */
import type { AccessSize, BusDevice, IrqLine } from './device.js';

export const I8042_DATA_PORT = 0x60;
export const I8042_COMMAND_PORT = 0x64;
export const PORT_B = 0x61;
export const KBD_IRQ = 1;
export const AUX_IRQ = 12;

export const STATUS_OBF = 0x01;
export const STATUS_SYS = 0x04;
export const STATUS_CMD = 0x08;
export const STATUS_UNLOCKED = 0x10;
export const STATUS_AUXDATA = 0x20;

export const CTR_KBDINT = 0x01;
export const CTR_AUXINT = 0x02;
export const CTR_SYS = 0x04;
export const CTR_KBDDIS = 0x10;
export const CTR_AUXDIS = 0x20;
export const CTR_XLATE = 0x40;

export const CMD_READ_CTR = 0x20;
export const CMD_WRITE_CTR = 0x60;
export const CMD_AUX_DISABLE = 0xa7;
export const CMD_AUX_ENABLE = 0xa8;
export const CMD_AUX_TEST = 0xa9;
export const CMD_SELF_TEST = 0xaa;
export const CMD_KBD_TEST = 0xab;
export const CMD_KBD_DISABLE = 0xad;
export const CMD_KBD_ENABLE = 0xae;
export const CMD_READ_INPUT = 0xc0;
export const CMD_READ_OUTPUT = 0xd0;
export const CMD_WRITE_OUTPUT = 0xd1;
export const CMD_WRITE_KBD_OUT = 0xd2;
export const CMD_WRITE_AUX_OUT = 0xd3;
export const CMD_WRITE_AUX = 0xd4;
export const CMD_PULSE_RESET = 0xfe;

export const SELF_TEST_OK = 0x55;
/** Output port: bit 0 = reset line (active low), bit 1 = A20 gate. */
const OUTPUT_PORT_DEFAULT = 0x03;
const OUT_QUEUE_MAX = 16;

export interface I8042Options {
  onReset: () => void;
  kbdIrq?: IrqLine;
  auxIrq?: IrqLine;
}

export class I8042 {
  private ctr = CTR_KBDINT | CTR_AUXINT | CTR_SYS | CTR_XLATE;
  private outputPort = OUTPUT_PORT_DEFAULT;
  private lastWasCommand = false;
  /** A controller command that takes its argument through the data port. */
  private pendingCommand: number | undefined;
  private out: Array<{ byte: number; aux: boolean }> = [];
  private kbdLevel = false;
  private auxLevel = false;

  readonly dataPort: BusDevice;
  readonly commandPort: BusDevice;

  constructor(private readonly opts: I8042Options) {
    this.dataPort = {
      name: 'i8042-data',
      read: () => this.readData(),
      write: (_o: number, _s: AccessSize, v: number) => this.writeData(v & 0xff),
    };
    this.commandPort = {
      name: 'i8042-command',
      read: () => this.status(),
      write: (_o: number, _s: AccessSize, v: number) => this.writeCommand(v & 0xff),
    };
  }

  status(): number {
    let s = STATUS_UNLOCKED | (this.ctr & CTR_SYS ? STATUS_SYS : 0);
    if (this.lastWasCommand) s |= STATUS_CMD;
    const head = this.out[0];
    if (head !== undefined) s |= STATUS_OBF | (head.aux ? STATUS_AUXDATA : 0);
    return s;
  }

  readData(): number {
    const head = this.out.shift();
    this.updateIrqs();
    return head?.byte ?? 0;
  }

  writeData(v: number): void {
    this.lastWasCommand = false;
    const cmd = this.pendingCommand;
    this.pendingCommand = undefined;
    switch (cmd) {
      case CMD_WRITE_CTR:
        this.ctr = v;
        break;
      case CMD_WRITE_OUTPUT:
        this.outputPort = v;
        if ((v & 1) === 0) this.opts.onReset(); // reset line driven low
        break;
      case CMD_WRITE_KBD_OUT:
        this.push(v, false);
        break;
      case CMD_WRITE_AUX_OUT:
        this.push(v, true);
        break;
      default:
        // A byte for the keyboard (or, after 0xD4, the mouse): none is attached.
        break;
    }
    this.updateIrqs();
  }

  writeCommand(v: number): void {
    this.lastWasCommand = true;
    this.pendingCommand = undefined;
    switch (v) {
      case CMD_READ_CTR:
        this.push(this.ctr, false);
        break;
      case CMD_WRITE_CTR:
      case CMD_WRITE_OUTPUT:
      case CMD_WRITE_KBD_OUT:
      case CMD_WRITE_AUX_OUT:
      case CMD_WRITE_AUX:
        this.pendingCommand = v;
        break;
      case CMD_AUX_DISABLE:
        this.ctr |= CTR_AUXDIS;
        break;
      case CMD_AUX_ENABLE:
        this.ctr &= ~CTR_AUXDIS;
        break;
      case CMD_KBD_DISABLE:
        this.ctr |= CTR_KBDDIS;
        break;
      case CMD_KBD_ENABLE:
        this.ctr &= ~CTR_KBDDIS;
        break;
      case CMD_SELF_TEST:
        this.out = [];
        this.ctr |= CTR_SYS;
        this.push(SELF_TEST_OK, false);
        break;
      case CMD_KBD_TEST:
      case CMD_AUX_TEST:
        this.push(0x00, false); // interface OK
        break;
      case CMD_READ_INPUT:
        this.push(0x80, false); // keyboard not inhibited
        break;
      case CMD_READ_OUTPUT:
        this.push(this.outputPort, false);
        break;
      default:
        // 0xF0-0xFF pulse output-port bits low for 6 us; bit 0 is the CPU reset line.
        if (v >= 0xf0 && (v & 1) === 0) this.opts.onReset();
        break;
    }
    this.updateIrqs();
  }

  private push(byte: number, aux: boolean): void {
    if (this.out.length < OUT_QUEUE_MAX) this.out.push({ byte, aux });
  }

  private updateIrqs(): void {
    const head = this.out[0];
    const kbd = head !== undefined && !head.aux && (this.ctr & CTR_KBDINT) !== 0;
    const aux = head !== undefined && head.aux && (this.ctr & CTR_AUXINT) !== 0;
    if (kbd !== this.kbdLevel) {
      this.kbdLevel = kbd;
      this.opts.kbdIrq?.set(kbd);
    }
    if (aux !== this.auxLevel) {
      this.auxLevel = aux;
      this.opts.auxIrq?.set(aux);
    }
  }
}

/**
 * System control port B (0x61): bits 0-1 (speaker gate/data) are writable,
 * bit 4 toggles on every read (DRAM refresh, which old delay loops poll).
 * KVM's in-kernel PIT claims 0x61 itself when the engine creates one; this
 * device covers engines without it.
 */
export class PortB implements BusDevice {
  readonly name = 'port61';
  private value = 0;
  private refresh = false;
  read(): number {
    this.refresh = !this.refresh;
    return (this.value & 0x03) | (this.refresh ? 0x10 : 0);
  }
  write(_o: number, _s: AccessSize, v: number): void {
    this.value = v & 0x0f;
  }
}
