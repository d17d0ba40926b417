/**
 * A minimal DTB parser: turns a blob back into a tree of nodes with raw
 * property values. Used by tests (to check what the writer and the board
 * produce without depending on dtc) and by tools that inspect a tree.
 * It validates offsets against the blob size and throws on malformed input.
 */
import { FDT_MAGIC } from './fdt-writer.js';

export interface FdtNode {
  name: string;
  props: Map<string, Uint8Array>;
  children: FdtNode[];
}

export interface ParsedFdt {
  version: number;
  bootCpuId: number;
  reservations: Array<{ address: bigint; size: bigint }>;
  root: FdtNode;
}

export function parseFdt(blob: Uint8Array): ParsedFdt {
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (blob.length < 40 || v.getUint32(0) !== FDT_MAGIC) throw new Error('fdt: bad magic');
  const total = v.getUint32(4);
  const offStruct = v.getUint32(8);
  const offStrings = v.getUint32(12);
  const offRsv = v.getUint32(16);
  if (total > blob.length) throw new Error('fdt: totalsize larger than blob');
  const dec = new TextDecoder();
  const cstr = (off: number): { s: string; end: number } => {
    let e = off;
    while (e < total && blob[e] !== 0) e++;
    if (e >= total) throw new Error('fdt: unterminated string');
    return { s: dec.decode(blob.subarray(off, e)), end: e + 1 };
  };

  const reservations: ParsedFdt['reservations'] = [];
  for (let o = offRsv; ; o += 16) {
    const address = v.getBigUint64(o);
    const size = v.getBigUint64(o + 8);
    if (address === 0n && size === 0n) break;
    reservations.push({ address, size });
  }

  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  let p = offStruct;
  for (;;) {
    const tok = v.getUint32(p);
    p += 4;
    if (tok === 1) {
      const { s, end } = cstr(p);
      p = (end + 3) & ~3;
      const node: FdtNode = { name: s, props: new Map(), children: [] };
      if (stack.length) stack[stack.length - 1]!.children.push(node);
      else root = node;
      stack.push(node);
    } else if (tok === 2) {
      if (!stack.pop()) throw new Error('fdt: unbalanced END_NODE');
    } else if (tok === 3) {
      const len = v.getUint32(p);
      const nameOff = v.getUint32(p + 4);
      p += 8;
      if (p + len > total) throw new Error('fdt: property past end');
      const node = stack[stack.length - 1];
      if (!node) throw new Error('fdt: property outside node');
      node.props.set(cstr(offStrings + nameOff).s, blob.slice(p, p + len));
      p = (p + len + 3) & ~3;
    } else if (tok === 4) {
      // NOP
    } else if (tok === 9) {
      break;
    } else {
      throw new Error(`fdt: bad token ${tok} at ${p - 4}`);
    }
  }
  if (!root || stack.length) throw new Error('fdt: incomplete structure');
  return { version: v.getUint32(20), bootCpuId: v.getUint32(28), reservations, root };
}

/** The node at a path like '/cpus/cpu@0', or undefined. */
export function fdtFind(root: FdtNode, path: string): FdtNode | undefined {
  let n: FdtNode | undefined = root;
  for (const part of path.split('/').filter(Boolean)) {
    n = n.children.find((c: FdtNode) => c.name === part);
    if (!n) return undefined;
  }
  return n;
}

export function propCells(value: Uint8Array | undefined): number[] {
  if (!value) return [];
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= value.length; i += 4) out.push(v.getUint32(i));
  return out;
}

export function propStrings(value: Uint8Array | undefined): string[] {
  if (!value || value.length === 0) return [];
  const s = new TextDecoder().decode(value);
  return s.replace(/\0$/, '').split('\0');
}
