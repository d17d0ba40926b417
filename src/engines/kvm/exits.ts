/**
 * Port I/O and MMIO exits against the device buses. Used by the machine
 * thread both for vCPU 0's own exits (data straight in kvm_run) and for exits
 * other vCPUs forward through their mailbox (data in the mailbox): so these
 * take the exit's fields and a byte view of its data, not a kvm_run.
 */
import type { Bus } from '../../devices/bus.js';
import type { AccessSize } from '../../devices/device.js';

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffff_ffff] as const;

/**
 * KVM_EXIT_IO: `count` accesses of `size` bytes at `port` (count > 1 for rep
 * ins/outs). `data` holds count*size bytes from byte `base`. Unmapped reads return all-ones.
 */
export function handleIo(pio: Bus, out: boolean, size: number, port: number, count: number, data: DataView, base: number): void {
  if (size !== 1 && size !== 2 && size !== 4) return; // KVM only produces 1/2/4; ignore anything else
  for (let i = 0, off = base; i < count; i++, off += size) {
    if (out) {
      const v = size === 1 ? data.getUint8(off) : size === 2 ? data.getUint16(off, true) : data.getUint32(off, true);
      pio.write(port, size, v);
    } else {
      const r = pio.read(port, size);
      const v = r === undefined ? ALL_ONES[size] : Number(r);
      if (size === 1) data.setUint8(off, v & 0xff);
      else if (size === 2) data.setUint16(off, v & 0xffff, true);
      else data.setUint32(off, v >>> 0, true);
    }
  }
}

/**
 * KVM_EXIT_MMIO: one access of `len` bytes at `addr`; `data` holds the 8-byte
 * data field at byte `base`. Unmapped reads return all-ones, unmapped writes are dropped.
 */
export function handleMmio(mmio: Bus, isWrite: boolean, addr: number, len: number, data: DataView, base: number): void {
  if (len === 1 || len === 2 || len === 4 || len === 8) {
    const size = len as AccessSize;
    if (isWrite) {
      const v =
        size === 1 ? data.getUint8(base) : size === 2 ? data.getUint16(base, true) : size === 4 ? data.getUint32(base, true) : data.getBigUint64(base, true);
      mmio.write(addr, size, v);
    } else {
      const r = mmio.read(addr, size);
      if (size === 8) data.setBigUint64(base, r === undefined ? 0xffff_ffff_ffff_ffffn : BigInt.asUintN(64, BigInt(r)), true);
      else {
        const v = r === undefined ? ALL_ONES[size] : Number(r);
        if (size === 1) data.setUint8(base, v & 0xff);
        else if (size === 2) data.setUint16(base, v & 0xffff, true);
        else data.setUint32(base, v >>> 0, true);
      }
    }
    return;
  }
  // Odd lengths (not produced by normal instructions): byte by byte.
  for (let i = 0; i < Math.min(len, 8); i++) {
    if (isWrite) mmio.write(addr + i, 1, data.getUint8(base + i));
    else {
      const r = mmio.read(addr + i, 1);
      data.setUint8(base + i, r === undefined ? 0xff : Number(r) & 0xff);
    }
  }
}
