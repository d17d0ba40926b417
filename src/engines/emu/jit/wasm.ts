/**
 * A minimal WebAssembly binary encoder: enough for the block translator
 * (one module = many functions of one type, importing a memory and a few
 * JS functions). No dependency; the bytes are validated by V8 when compiled.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;

/** Opcodes used by the translator. */
export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  i32_load: 0x28,
  i64_load: 0x29,
  i32_load8_u: 0x2d,
  i64_load8_s: 0x30,
  i64_load8_u: 0x31,
  i64_load16_s: 0x32,
  i64_load16_u: 0x33,
  i64_load32_s: 0x34,
  i64_load32_u: 0x35,
  i32_store: 0x36,
  i64_store: 0x37,
  i64_store8: 0x3c,
  i64_store16: 0x3d,
  i64_store32: 0x3e,
  i32_const: 0x41,
  i64_const: 0x42,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_gt_u: 0x4b,
  i32_le_s: 0x4c,
  i32_le_u: 0x4d,
  i32_ge_s: 0x4e,
  i32_ge_u: 0x4f,
  i64_eqz: 0x50,
  i64_eq: 0x51,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_lt_u: 0x54,
  i64_gt_s: 0x55,
  i64_gt_u: 0x56,
  i64_le_s: 0x57,
  i64_le_u: 0x58,
  i64_ge_s: 0x59,
  i64_ge_u: 0x5a,
  i64_clz: 0x79,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_xor: 0x73,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  i64_add: 0x7c,
  i64_sub: 0x7d,
  i64_mul: 0x7e,
  i64_and: 0x83,
  i64_or: 0x84,
  i64_xor: 0x85,
  i64_shl: 0x86,
  i64_shr_s: 0x87,
  i64_shr_u: 0x88,
  i64_rotr: 0x8a,
  i32_wrap_i64: 0xa7,
  i64_extend_i32_s: 0xac,
  i64_extend_i32_u: 0xad,
} as const;

/** Growable byte buffer with LEB128 helpers. */
export class Bytes {
  buf = new Uint8Array(256);
  len = 0;

  private need(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  byte(b: number): this {
    this.need(1);
    this.buf[this.len++] = b;
    return this;
  }
  bytes(a: ArrayLike<number>): this {
    this.need(a.length);
    for (let i = 0; i < a.length; i++) this.buf[this.len++] = a[i]!;
    return this;
  }
  u32(v: number): this {
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }
  s32(v: number): this {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }
  /** Signed LEB128 of the 64-bit value (hi:lo). */
  s64(lo: number, hi: number): this {
    if (hi === lo >> 31) return this.s32(lo);
    let v = (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }
  name(s: string): this {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
    return this;
  }
  section(id: number, body: Bytes): this {
    this.byte(id).u32(body.len);
    return this.bytes(body.buf.subarray(0, body.len));
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Builder for one function body (code is appended by the translator). */
export class Fn {
  readonly code = new Bytes();
  private readonly localTypes: number[] = [];
  constructor(readonly params: number) {}

  /** A new local of `type`; returns its index. */
  local(type: number): number {
    this.localTypes.push(type);
    return this.params + this.localTypes.length - 1;
  }

  op(o: number): this {
    this.code.byte(o);
    return this;
  }
  get(l: number): this {
    this.code.byte(Op.local_get).u32(l);
    return this;
  }
  set(l: number): this {
    this.code.byte(Op.local_set).u32(l);
    return this;
  }
  tee(l: number): this {
    this.code.byte(Op.local_tee).u32(l);
    return this;
  }
  i32(v: number): this {
    this.code.byte(Op.i32_const).s32(v);
    return this;
  }
  i64(lo: number, hi: number): this {
    this.code.byte(Op.i64_const).s64(lo, hi);
    return this;
  }
  /** Memory access with alignment hint `align` (log2) and constant offset. */
  mem(o: number, align: number, offset: number): this {
    this.code.byte(o).u32(align).u32(offset);
    return this;
  }
  /** Structured control with an empty block type. */
  ctl(o: number): this {
    this.code.byte(o).byte(0x40);
    return this;
  }
  br(o: number, depth: number): this {
    this.code.byte(o).u32(depth);
    return this;
  }
  call(f: number): this {
    this.code.byte(Op.call).u32(f);
    return this;
  }

  /** The encoded body (locals + code + end). */
  encode(out: Bytes): void {
    const body = new Bytes();
    // Group runs of equal local types.
    const groups: Array<[number, number]> = [];
    for (const t of this.localTypes) {
      const g = groups[groups.length - 1];
      if (g !== undefined && g[1] === t) g[0]++;
      else groups.push([1, t]);
    }
    body.u32(groups.length);
    for (const [n, t] of groups) body.u32(n).byte(t);
    body.bytes(this.code.buf.subarray(0, this.code.len));
    body.byte(Op.end);
    out.u32(body.len).bytes(body.buf.subarray(0, body.len));
  }
}

export interface FuncType {
  params: number[];
  results: number[];
}

/**
 * Encode a module: imports `env.mem` (memory of `memPages`, maximum the
 * same) and the given function imports, defines `fns` (all of type
 * `fnType`) and exports them as "f0", "f1", ...
 */
export function encodeModule(
  memPages: number,
  imports: Array<{ name: string; type: FuncType }>,
  fnType: FuncType,
  fns: Fn[],
): Uint8Array {
  const types: FuncType[] = [];
  const typeIndex = (t: FuncType): number => {
    const k = types.findIndex(
      (u) => u.params.join() === t.params.join() && u.results.join() === t.results.join(),
    );
    if (k >= 0) return k;
    types.push(t);
    return types.length - 1;
  };
  const importTypes = imports.map((i) => typeIndex(i.type));
  const fnTypeIndex = typeIndex(fnType);

  const out = new Bytes();
  out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const ts = new Bytes().u32(types.length);
  for (const t of types) {
    ts.byte(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results);
  }
  out.section(1, ts);
  const im = new Bytes().u32(imports.length + 1);
  im.name('env').name('mem').byte(0x02).byte(0x01).u32(memPages).u32(memPages);
  imports.forEach((imp, k) => im.name('env').name(imp.name).byte(0x00).u32(importTypes[k]!));
  out.section(2, im);
  const fs = new Bytes().u32(fns.length);
  for (let k = 0; k < fns.length; k++) fs.u32(fnTypeIndex);
  out.section(3, fs);
  const ex = new Bytes().u32(fns.length);
  for (let k = 0; k < fns.length; k++) ex.name(`f${k}`).byte(0x00).u32(imports.length + k);
  out.section(7, ex);
  const code = new Bytes().u32(fns.length);
  for (const f of fns) f.encode(code);
  out.section(10, code);
  return out.done();
}
