/**
 * GICv2m MSI frame (Arm Server Base System Architecture, appendix "GICv2m"):
 * the smallest MSI controller a GICv2 system can have. A 4 KiB MMIO frame
 * owns a range of SPIs; a 16- or 32-bit write of an INTID to MSI_SETSPI_NS
 * raises that SPI as an edge. PCI functions target it with MSI/MSI-X
 * messages (address = frame + 0x40, data = INTID); Linux finds it as an
 * `arm,gic-v2m-frame` child of the GIC node and reads the SPI range from
 * MSI_TYPER.
 *
 * Guest writes are untrusted: any offset/size/value, an INTID outside the
 * frame's range is ignored (counted).
 */
import type { AccessSize, BusDevice } from './device.js';

export const V2M_MSI_TYPER = 0x008;
export const V2M_MSI_SETSPI_NS = 0x040;
export const V2M_MSI_IIDR = 0xfcc;
export const V2M_FRAME_SIZE = 0x1000;

export class GicV2m implements BusDevice {
  readonly name = 'gicv2m';
  /** Messages that raised an SPI, and ones refused (INTID outside the frame's range). */
  readonly stats = { raised: 0, refused: 0 };

  /**
   * @param firstIntid first INTID of the frame's SPIs (>= 32)
   * @param count number of SPIs (1..1023 - firstIntid)
   * @param raise pulse INTID `intid` (an edge on the GIC)
   */
  constructor(
    readonly firstIntid: number,
    readonly count: number,
    private readonly raise: (intid: number) => void,
  ) {
    if (!Number.isInteger(firstIntid) || !Number.isInteger(count) || firstIntid < 32 || count < 1 || firstIntid + count > 1020) {
      throw new RangeError(`gicv2m: bad SPI range ${firstIntid}+${count}`);
    }
  }

  read(offset: number, size: AccessSize): number {
    if (size !== 4 || (offset & 3) !== 0) return 0;
    if (offset === V2M_MSI_TYPER) return ((this.firstIntid & 0x3ff) << 16) | (this.count & 0x3ff);
    // MSI_IIDR 0: no vendor quirks (Linux special-cases some IIDR values).
    return 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset !== V2M_MSI_SETSPI_NS || (size !== 2 && size !== 4)) return;
    this.setSpi(value);
  }

  /** An MSI message's data arriving at MSI_SETSPI_NS. */
  setSpi(value: number): void {
    const intid = value & 0x3ff;
    if (intid < this.firstIntid || intid >= this.firstIntid + this.count) {
      this.stats.refused++;
      return;
    }
    this.stats.raised++;
    this.raise(intid);
  }
}
