/**
 * A flattened-device-tree (DTB) writer, version 17 of the format described in
 * the Devicetree Specification (chapter 5, "Flattened Devicetree Format").
 *
 * Usage: beginNode('') for the root, properties, child nodes, endNode(), then
 * finish(). The blob layout is: 40-byte header, memory reservation map
 * (8-byte aligned, terminated by a zero entry), structure block (tokens,
 * 4-byte aligned), strings block (property names, deduplicated).
 *
 * The writer enforces the rules a reader relies on, so that a caller's mistake
 * is an exception here rather than a kernel that silently ignores a node:
 * properties come before child nodes, property names are unique within a
 * node, nodes are balanced, node and property names use the allowed
 * characters.
 */

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;

const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_END = 0x9;
const HEADER_SIZE = 40;

/** A growable big-endian byte buffer. */
class ByteBuf {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
  }
  u64(v: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, v);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  /** Zero padding up to a multiple of `n`. */
  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.reserve(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  data(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const NODE_NAME_RE = /^[A-Za-z0-9,._+-]{1,31}(@[A-Za-z0-9,._+-]+)?$/;
const PROP_NAME_RE = /^[A-Za-z0-9,._+?#-]{1,31}$/;
const U32_MAX = 0xffffffff;

interface OpenNode {
  name: string;
  props: Set<string>;
  hasChildren: boolean;
}

export class FdtWriter {
  private readonly struct = new ByteBuf();
  private readonly strings = new ByteBuf();
  private readonly stringOffsets = new Map<string, number>();
  private readonly reservations: Array<{ address: bigint; size: bigint }> = [];
  private readonly stack: OpenNode[] = [];
  private rootDone = false;
  private nextPhandle = 1;
  private finished = false;

  /** Add an entry to the memory reservation map (memory the OS must not use). */
  addReservation(address: number | bigint, size: number | bigint): void {
    this.reservations.push({ address: BigInt(address), size: BigInt(size) });
  }

  /** A fresh phandle value (1, 2, ...), to be set with property('phandle', ...) on its node. */
  allocPhandle(): number {
    return this.nextPhandle++;
  }

  /** Open a node. The first node must be the root, named ''. */
  beginNode(name: string): void {
    this.checkOpen();
    if (this.stack.length === 0) {
      if (this.rootDone) throw new Error('fdt: only one root node');
      if (name !== '') throw new Error(`fdt: the root node must be named '', not '${name}'`);
    } else {
      if (!NODE_NAME_RE.test(name)) throw new Error(`fdt: bad node name '${name}'`);
      this.stack[this.stack.length - 1]!.hasChildren = true;
    }
    this.struct.u32(FDT_BEGIN_NODE);
    this.struct.bytes(Buffer.from(name + '\0', 'utf8'));
    this.struct.align(4);
    this.stack.push({ name, props: new Set(), hasChildren: false });
  }

  endNode(): void {
    this.checkOpen();
    if (this.stack.length === 0) throw new Error('fdt: endNode without beginNode');
    this.stack.pop();
    this.struct.u32(FDT_END_NODE);
    if (this.stack.length === 0) this.rootDone = true;
  }

  /** A property with a raw value. */
  property(name: string, value: Uint8Array): void {
    this.checkOpen();
    const node = this.stack[this.stack.length - 1];
    if (node === undefined) throw new Error(`fdt: property '${name}' outside any node`);
    if (!PROP_NAME_RE.test(name)) throw new Error(`fdt: bad property name '${name}'`);
    if (node.hasChildren) throw new Error(`fdt: property '${name}' after a child node of '${node.name}'`);
    if (node.props.has(name)) throw new Error(`fdt: duplicate property '${name}' in '${node.name}'`);
    node.props.add(name);
    this.struct.u32(FDT_PROP);
    this.struct.u32(value.length);
    this.struct.u32(this.stringOffset(name));
    this.struct.bytes(value);
    this.struct.align(4);
  }

  /** A boolean property (no value). */
  propertyEmpty(name: string): void {
    this.property(name, new Uint8Array(0));
  }

  /** A list of 32-bit big-endian cells. */
  propertyCells(name: string, cells: readonly number[]): void {
    const b = new Uint8Array(cells.length * 4);
    const v = new DataView(b.buffer);
    cells.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c > U32_MAX) throw new RangeError(`fdt: cell ${c} of '${name}' is not a u32`);
      v.setUint32(i * 4, c);
    });
    this.property(name, b);
  }

  propertyU32(name: string, value: number): void {
    this.propertyCells(name, [value]);
  }

  /** One 64-bit value (two cells, high first). */
  propertyU64(name: string, value: number | bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(value)));
    this.property(name, b);
  }

  propertyString(name: string, value: string): void {
    this.propertyStrings(name, [value]);
  }

  /** A string list: each string NUL-terminated, concatenated. */
  propertyStrings(name: string, values: readonly string[]): void {
    for (const s of values) if (s.includes('\0')) throw new Error(`fdt: string in '${name}' contains NUL`);
    this.property(name, Buffer.from(values.map((s) => s + '\0').join(''), 'utf8'));
  }

  /** Assemble the blob. `bootCpuId` is the header's boot_cpuid_phys. */
  finish(bootCpuId = 0): Uint8Array {
    this.checkOpen();
    if (!this.rootDone) throw new Error(`fdt: ${this.stack.length ? 'unclosed node' : 'no root node'}`);
    this.finished = true;
    this.struct.u32(FDT_END);

    const rsv = new ByteBuf();
    for (const r of this.reservations) {
      rsv.u64(r.address);
      rsv.u64(r.size);
    }
    rsv.u64(0n);
    rsv.u64(0n);

    const offRsv = HEADER_SIZE; // already 8-byte aligned
    const offStruct = offRsv + rsv.length;
    const offStrings = offStruct + this.struct.length;
    const total = offStrings + this.strings.length;

    const out = new Uint8Array(total);
    const v = new DataView(out.buffer);
    const header = [
      FDT_MAGIC, total, offStruct, offStrings, offRsv,
      FDT_VERSION, FDT_LAST_COMP_VERSION, bootCpuId,
      this.strings.length, this.struct.length,
    ];
    header.forEach((h, i) => v.setUint32(i * 4, h));
    out.set(rsv.data(), offRsv);
    out.set(this.struct.data(), offStruct);
    out.set(this.strings.data(), offStrings);
    return out;
  }

  private stringOffset(name: string): number {
    let off = this.stringOffsets.get(name);
    if (off === undefined) {
      off = this.strings.length;
      this.strings.bytes(Buffer.from(name + '\0', 'utf8'));
      this.stringOffsets.set(name, off);
    }
    return off;
  }

  private checkOpen(): void {
    if (this.finished) throw new Error('fdt: writer already finished');
  }
}
