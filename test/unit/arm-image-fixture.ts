/** Test fixture: a minimal arm64 Image (header fields per booting.rst, then filler bytes). */
const MIB = 1048576;

export function fakeImage(opts: { textOffset?: number; imageSize?: number; flags?: number; length?: number } = {}): Uint8Array {
  const b = new Uint8Array(opts.length ?? 4096);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x14000010, true); // b +0x40 (code0)
  v.setBigUint64(8, BigInt(opts.textOffset ?? 0), true);
  v.setBigUint64(16, BigInt(opts.imageSize ?? 2 * MIB), true);
  v.setBigUint64(24, BigInt(opts.flags ?? 0xa), true);
  v.setUint32(0x38, 0x644d5241, true);
  for (let i = 64; i < b.length; i++) b[i] = i & 0xff;
  return b;
}
