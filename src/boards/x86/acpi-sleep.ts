/**
 * The hardware-reduced ACPI sleep control/status registers (FADT
 * SLEEP_CONTROL_REG / SLEEP_STATUS_REG), one byte each at ACPI_SLEEP_PORT.
 * Linux powers off by writing SLP_TYP(\_S5) << 2 | SLP_EN to the control
 * register; we turn that into {kind: 'poweroff'}. Other sleep states are not
 * supported and are ignored. The status register reads 0 (no wake event).
 */
import type { AccessSize, BusDevice } from '../../devices/device.js';
import type { ExitStatus } from '../../vmm/engine.js';
import { SLP_EN, SLP_TYP_SHIFT, S5_SLP_TYP } from './acpi.js';

export class AcpiSleep implements BusDevice {
  readonly name = 'acpi-sleep';
  constructor(private readonly onExit: (status: ExitStatus) => void) {}
  read(): number {
    return 0;
  }
  write(offset: number, _size: AccessSize, value: number): void {
    if (offset !== 0 || (value & SLP_EN) === 0) return;
    if (((value >> SLP_TYP_SHIFT) & 7) === S5_SLP_TYP) this.onExit({ kind: 'poweroff' });
  }
}
