/**
 * GICv2 distributor register frame (GICD_*, 4 KiB, mapped in a 64 KiB window
 * at 0x08000000 on the virt board). Banked registers (INTIDs 0-31) are those
 * of the CPU making the access, as reported by GicV2.currentCpu().
 *
 * Byte and halfword accesses are accepted everywhere (the spec requires them
 * for IPRIORITYR, ITARGETSR, CPENDSGIR and SPENDSGIR); on bitmap registers a
 * narrow write only touches the bits it covers.
 */
import type { AccessSize, BusDevice } from './device.js';
import type { GicV2 } from './gicv2.js';

const GICD_IIDR_VALUE = 0x0200143b; // Arm (0x43b), as on a GIC-400
/** PIDR4..7, PIDR0..3, CIDR0..3 at 0xFD0..0xFFC (GICv2: PIDR2.ArchRev = 2). */
const ID_REGS = [0x04, 0x00, 0x00, 0x00, 0x90, 0xb4, 0x2b, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

export class GicV2Distributor implements BusDevice {
  readonly name = 'gicv2-dist';

  constructor(private readonly gic: GicV2) {}

  read(offset: number, size: AccessSize): number {
    const shift = (offset & 3) * 8;
    const word = this.readWord(offset & ~3);
    const bits = size >= 4 ? 32 : size * 8;
    return bits === 32 ? word >>> 0 : (word >>> shift) & ((1 << bits) - 1);
  }

  write(offset: number, size: AccessSize, value: number): void {
    const shift = (offset & 3) * 8;
    const mask = size >= 4 ? 0xffffffff : ((1 << (size * 8)) - 1) << shift;
    this.writeWord(offset & ~3, ((value << shift) & mask) >>> 0, mask >>> 0);
  }

  private readWord(o: number): number {
    const g = this.gic;
    const cpu = this.cpu();
    if (o === 0x000) return g.distCtlr;
    if (o === 0x004) return (g.nwords - 1) | ((g.ncpu - 1) << 5);
    if (o === 0x008) return GICD_IIDR_VALUE;
    if (o >= 0x080 && o < 0x400) {
      const w = ((o & 0x7f) >>> 2);
      if (w >= g.nwords) return 0;
      const i = g.widx(cpu, w);
      switch (o & ~0x7f) {
        case 0x080: return g.group[i]! >>> 0;
        case 0x100:
        case 0x180: return g.enabled[i]! >>> 0;
        case 0x200:
        case 0x280: return (g.pendLatch[i]! | (g.level[i]! & ~g.edge[i]!)) >>> 0;
        case 0x300:
        case 0x380: return g.active[i]! >>> 0;
      }
      return 0;
    }
    if (o >= 0x400 && o < 0x800) return this.bytes(o - 0x400, (id) => g.priority[g.pidx(cpu, id)]!);
    if (o >= 0x800 && o < 0xc00) {
      return this.bytes(o - 0x800, (id) => (id < 32 ? 1 << cpu : g.targets[id - 32]!));
    }
    if (o >= 0xc00 && o < 0xd00) {
      const first = (o - 0xc00) * 4; // 16 INTIDs per word
      if (first >= g.nirq) return 0;
      const e = g.edge[g.widx(cpu, first >>> 5)]! >>> (first & 31);
      let v = 0;
      for (let k = 0; k < 16; k++) if (e & (1 << k)) v |= 2 << (2 * k);
      return v >>> 0;
    }
    if (o >= 0xf10 && o < 0xf30) {
      const first = (o & 0xf) ; // SGI number of the first byte
      let v = 0;
      for (let k = 0; k < 4; k++) v |= g.sgiSources[cpu * 16 + first + k]! << (8 * k);
      return v >>> 0;
    }
    if (o >= 0xfd0) return ID_REGS[(o - 0xfd0) >>> 2] ?? 0;
    return 0;
  }

  private writeWord(o: number, v: number, mask: number): void {
    const g = this.gic;
    const cpu = this.cpu();
    if (o === 0x000) {
      g.distCtlr = v & 3;
      g.update();
      return;
    }
    if (o >= 0x080 && o < 0x400) {
      const w = (o & 0x7f) >>> 2;
      if (w >= g.nwords) return;
      const i = g.widx(cpu, w);
      // SGI pending bits are changed through SPENDSGIR/CPENDSGIR only.
      const pendMask = w === 0 ? 0xffff0000 : 0xffffffff;
      switch (o & ~0x7f) {
        case 0x080: g.group[i] = (g.group[i]! & ~mask) | (v & mask); return;
        case 0x100: g.enabled[i]! |= v; break;
        case 0x180: g.enabled[i]! &= ~v; break;
        case 0x200: g.pendLatch[i]! |= v & pendMask; break;
        case 0x280: g.pendLatch[i]! &= ~(v & pendMask); break;
        case 0x300: g.active[i]! |= v; break;
        case 0x380: g.active[i]! &= ~v; break;
        default: return;
      }
      g.update();
      return;
    }
    if (o >= 0x400 && o < 0x800) {
      this.setBytes(o - 0x400, v, mask, (id, b) => { g.priority[g.pidx(cpu, id)] = b; });
      g.update();
      return;
    }
    if (o >= 0x800 && o < 0xc00) {
      // INTIDs 0-31 are read-only here (each CPU sees itself).
      this.setBytes(o - 0x800, v, mask, (id, b) => { if (id >= 32) g.targets[id - 32] = b & ((1 << g.ncpu) - 1); });
      g.update();
      return;
    }
    if (o >= 0xc00 && o < 0xd00) {
      const first = (o - 0xc00) * 4;
      if (first < 16 || first >= g.nirq) return; // SGIs: always edge, read-only
      const i = g.widx(cpu, first >>> 5);
      for (let k = 0; k < 16; k++) {
        if (!(mask & (2 << (2 * k)))) continue;
        const bit = 1 << ((first + k) & 31);
        if (v & (2 << (2 * k))) g.edge[i]! |= bit;
        else g.edge[i]! &= ~bit;
      }
      g.update();
      return;
    }
    if (o === 0xf00) {
      g.sendSgi(cpu, v);
      return;
    }
    if (o >= 0xf10 && o < 0xf30) {
      const set = o >= 0xf20;
      const first = o & 0xf;
      for (let k = 0; k < 4; k++) {
        const srcs = (v >>> (8 * k)) & 0xff & ((1 << g.ncpu) - 1);
        const j = cpu * 16 + first + k;
        g.sgiSources[j] = set ? g.sgiSources[j]! | srcs : g.sgiSources[j]! & ~srcs;
        g.syncSgiPending(cpu, first + k);
      }
      g.update();
    }
  }

  /** Four byte-per-INTID fields packed in a word, starting at INTID `first`. */
  private bytes(first: number, get: (id: number) => number): number {
    let v = 0;
    for (let k = 0; k < 4; k++) if (first + k < this.gic.nirq) v |= get(first + k) << (8 * k);
    return v >>> 0;
  }

  private setBytes(first: number, v: number, mask: number, set: (id: number, b: number) => void): void {
    for (let k = 0; k < 4; k++) {
      if (!((mask >>> (8 * k)) & 0xff) || first + k >= this.gic.nirq) continue;
      set(first + k, (v >>> (8 * k)) & 0xff);
    }
  }

  private cpu(): number {
    const c = this.gic.currentCpu();
    return c >= 0 && c < this.gic.ncpu ? c : 0;
  }
}
