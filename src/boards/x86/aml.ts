/**
 * The few AML (ACPI Machine Language) encodings the x86 board's DSDT needs:
 * scopes, devices, named integers/strings/packages and resource templates.
 * Encodings from the ACPI specification, chapter 20 (AML grammar) and 6.4
 * (resource descriptors).
 */

/** PkgLength: the encoded length counts itself (1-4 bytes) plus `contentLength`. */
export function pkgLength(contentLength: number): number[] {
  for (let n = 1; n <= 4; n++) {
    const total = contentLength + n;
    if (n === 1 && total < 0x40) return [total];
    if (n > 1 && total < 2 ** (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (total & 0x0f)];
      for (let i = 1; i < n; i++) out.push((total >>> (4 + 8 * (i - 1))) & 0xff);
      return out;
    }
  }
  throw new RangeError(`AML package too large (${contentLength})`);
}

/** A 4-character NameSeg, padded with '_' as ACPI requires. */
export function nameSeg(name: string): number[] {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(name)) throw new RangeError(`bad AML name ${name}`);
  return [...name.padEnd(4, '_')].map((c) => c.charCodeAt(0));
}

export function integer(v: number): number[] {
  if (v === 0) return [0x00]; // ZeroOp
  if (v === 1) return [0x01]; // OneOp
  if (v <= 0xff) return [0x0a, v]; // BytePrefix
  if (v <= 0xffff) return [0x0b, v & 0xff, v >>> 8]; // WordPrefix
  return [0x0c, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]; // DWordPrefix
}

export function string(s: string): number[] {
  return [0x0d, ...[...s].map((c) => c.charCodeAt(0) & 0x7f), 0x00];
}

/** Name(NAME, data) */
export function name(n: string, data: number[]): number[] {
  return [0x08, ...nameSeg(n), ...data];
}

/** Package(){integers...} */
export function packageOf(values: number[]): number[] {
  const body = [values.length, ...values.flatMap(integer)];
  return [0x12, ...pkgLength(body.length), ...body];
}

/** Scope(\NAME){...} rooted at the namespace root. */
export function scope(rootName: string, body: number[]): number[] {
  const content = [0x5c, ...nameSeg(rootName), ...body];
  return [0x10, ...pkgLength(content.length), ...content];
}

/** Device(NAME){...} */
export function device(n: string, body: number[]): number[] {
  const content = [...nameSeg(n), ...body];
  return [0x5b, 0x82, ...pkgLength(content.length), ...content];
}

/** Buffer holding a resource template (descriptors + end tag). */
export function resourceTemplate(descriptors: number[]): number[] {
  const bytes = [...descriptors, 0x79, 0x00]; // End Tag, checksum 0 = "treat as valid"
  const body = [...integer(bytes.length), ...bytes];
  return [0x11, ...pkgLength(body.length), ...body];
}

const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

/** Memory32Fixed(ReadWrite, base, length) */
export function memory32Fixed(base: number, length: number): number[] {
  return [0x86, 0x09, 0x00, 0x01, ...le32(base), ...le32(length)];
}

/** Interrupt(ResourceConsumer, Edge|Level, ActiveHigh, Exclusive) { gsi } */
export function extendedInterrupt(gsi: number, edge: boolean): number[] {
  const flags = 0x01 | (edge ? 0x02 : 0); // consumer; bit 1 edge; active high; exclusive
  return [0x89, 0x06, 0x00, flags, 0x01, ...le32(gsi)];
}
