/**
 * Optional ARMv8.0 Cryptographic Extension: AESE/AESD/AESMC/AESIMC,
 * SHA1C/P/M/H/SU0/SU1, SHA256H/H2/SU0/SU1 and PMULL/PMULL2 (64x64->128).
 * Whether the guest may use them is up to the ID registers the core reports
 * (ID_AA64ISAR0_EL1.AES = 2, SHA1 = 1, SHA2 = 1 when these are advertised).
 *
 * AES state byte i is row i % 4, column i / 4 (FIPS-197 column-major order).
 */
import { type VViews, R, commitR } from './views.js';

const SBOX = new Uint8Array(256), INV_SBOX = new Uint8Array(256);
function xtime(x: number): number { return ((x << 1) ^ (x & 0x80 ? 0x1b : 0)) & 0xff; }
function gmul(a: number, b: number): number {
  let r = 0;
  for (; b; b >>= 1, a = xtime(a)) if (b & 1) r ^= a;
  return r;
}
(function buildSbox() {
  // Multiplicative inverse in GF(2^8) followed by the affine transform.
  for (let x = 0; x < 256; x++) {
    let inv = 0;
    if (x) for (let y = 1; y < 256; y++) if (gmul(x, y) === 1) { inv = y; break; }
    let s = inv;
    for (let k = 1; k < 5; k++) s ^= ((inv << k) | (inv >>> (8 - k))) & 0xff;
    s ^= 0x63;
    SBOX[x] = s;
    INV_SBOX[s] = x;
  }
})();

const st = new Uint8Array(16), tmp = new Uint8Array(16);

function aesRound(vw: VViews, rd: number, rn: number, decrypt: boolean): void {
  const u8 = vw.u8;
  for (let i = 0; i < 16; i++) st[i] = u8[16 * rd + i] ^ u8[16 * rn + i];
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      // ShiftRows moves row r left by r columns; InvShiftRows right.
      const src = r + 4 * ((decrypt ? c - r + 4 : c + r) % 4);
      tmp[r + 4 * c] = decrypt ? INV_SBOX[st[src]] : SBOX[st[src]];
    }
  }
  for (let i = 0; i < 16; i++) R.u8[i] = tmp[i];
  commitR(vw, rd, 16);
}

function mixColumns(vw: VViews, rd: number, rn: number, inverse: boolean): void {
  const u8 = vw.u8, b = 16 * rn;
  const m = inverse ? [14, 11, 13, 9] : [2, 3, 1, 1];
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      let x = 0;
      for (let k = 0; k < 4; k++) x ^= gmul(u8[b + 4 * c + ((r + k) % 4)], m[k]);
      R.u8[4 * c + r] = x;
    }
  }
  commitR(vw, rd, 16);
}

/** Two-register AES group (0x4e28_0800 | opcode << 12). */
export function aes(vw: VViews, insn: number): boolean {
  if ((insn >>> 22) & 3) return false;
  const opc = (insn >>> 12) & 31, rd = insn & 31, rn = (insn >>> 5) & 31;
  switch (opc) {
    case 4: aesRound(vw, rd, rn, false); return true;
    case 5: aesRound(vw, rd, rn, true); return true;
    case 6: mixColumns(vw, rd, rn, false); return true;
    case 7: mixColumns(vw, rd, rn, true); return true;
  }
  return false;
}

const rol = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;
const ror = (x: number, n: number): number => ((x >>> n) | (x << (32 - n))) >>> 0;
const choose = (x: number, y: number, z: number): number => (((y ^ z) & x) ^ z) >>> 0;
const parity = (x: number, y: number, z: number): number => (x ^ y ^ z) >>> 0;
const majority = (x: number, y: number, z: number): number => ((x & y) | ((x | y) & z)) >>> 0;

/** Three-register SHA group (SHA1C/P/M/SU0, SHA256H/H2/SU1). */
export function sha3reg(vw: VViews, insn: number): boolean {
  if ((insn >>> 22) & 3) return false;
  const opc = (insn >>> 12) & 7, rd = insn & 31, rn = (insn >>> 5) & 31, rm = (insn >>> 16) & 31;
  const u = vw.u32;
  const d = [u[4 * rd], u[4 * rd + 1], u[4 * rd + 2], u[4 * rd + 3]];
  const n = [u[4 * rn], u[4 * rn + 1], u[4 * rn + 2], u[4 * rn + 3]];
  const m = [u[4 * rm], u[4 * rm + 1], u[4 * rm + 2], u[4 * rm + 3]];
  let out: number[];
  switch (opc) {
    case 0: case 1: case 2: { // SHA1C, SHA1P, SHA1M: X = Vd, Y = Sn, W = Vm
      const f = opc === 0 ? choose : opc === 1 ? parity : majority;
      const x = d.slice();
      let y = n[0];
      for (let e = 0; e < 4; e++) {
        y = (y + rol(x[0], 5) + f(x[1], x[2], x[3]) + m[e]) >>> 0;
        x[1] = rol(x[1], 30);
        // <Y, X> = ROL(Y:X, 32)
        const top = x[3];
        x[3] = x[2]; x[2] = x[1]; x[1] = x[0]; x[0] = y; y = top;
      }
      out = x;
      break;
    }
    case 3: // SHA1SU0
      out = [d[2] ^ d[0] ^ m[0], d[3] ^ d[1] ^ m[1], n[0] ^ d[2] ^ m[2], n[1] ^ d[3] ^ m[3]];
      break;
    case 4: case 5: { // SHA256H (X = Vd, Y = Vn), SHA256H2 (X = Vn, Y = Vd)
      const part1 = opc === 4;
      const x = part1 ? d.slice() : n.slice(), y = part1 ? n.slice() : d.slice();
      for (let e = 0; e < 4; e++) {
        const chs = choose(y[0], y[1], y[2]), maj = majority(x[0], x[1], x[2]);
        const t = (y[3] + (ror(y[0], 6) ^ ror(y[0], 11) ^ ror(y[0], 25)) + chs + m[e]) >>> 0;
        x[3] = (t + x[3]) >>> 0;
        y[3] = (t + (ror(x[0], 2) ^ ror(x[0], 13) ^ ror(x[0], 22)) + maj) >>> 0;
        // <Y, X> = ROL(Y:X, 32) over 256 bits
        const x3 = x[3], y3 = y[3];
        x[3] = x[2]; x[2] = x[1]; x[1] = x[0]; x[0] = y3;
        y[3] = y[2]; y[2] = y[1]; y[1] = y[0]; y[0] = x3;
      }
      out = part1 ? x : y;
      break;
    }
    case 6: { // SHA256SU1
      const t0 = [n[1], n[2], n[3], m[0]];
      const r = [0, 0, 0, 0];
      for (let e = 0; e < 2; e++) {
        const elt = m[2 + e];
        r[e] = ((ror(elt, 17) ^ ror(elt, 19) ^ (elt >>> 10)) + d[e] + t0[e]) >>> 0;
      }
      for (let e = 2; e < 4; e++) {
        const elt = r[e - 2];
        r[e] = ((ror(elt, 17) ^ ror(elt, 19) ^ (elt >>> 10)) + d[e] + t0[e]) >>> 0;
      }
      out = r;
      break;
    }
    default: return false;
  }
  for (let i = 0; i < 4; i++) R.u32[i] = out[i];
  commitR(vw, rd, 16);
  return true;
}

/** Two-register SHA group (SHA1H, SHA1SU1, SHA256SU0). */
export function sha2reg(vw: VViews, insn: number): boolean {
  if ((insn >>> 22) & 3) return false;
  const opc = (insn >>> 12) & 31, rd = insn & 31, rn = (insn >>> 5) & 31;
  const u = vw.u32;
  const d = [u[4 * rd], u[4 * rd + 1], u[4 * rd + 2], u[4 * rd + 3]];
  const n = [u[4 * rn], u[4 * rn + 1], u[4 * rn + 2], u[4 * rn + 3]];
  switch (opc) {
    case 0: // SHA1H
      R.u32.fill(0); R.u32[0] = rol(n[0], 30);
      break;
    case 1: { // SHA1SU1
      const t = [d[0] ^ n[1], d[1] ^ n[2], d[2] ^ n[3], d[3]];
      R.u32[0] = rol(t[0], 1); R.u32[1] = rol(t[1], 1); R.u32[2] = rol(t[2], 1);
      R.u32[3] = rol(t[3], 1) ^ rol(t[0], 2);
      break;
    }
    case 2: { // SHA256SU0
      const t = [d[1], d[2], d[3], n[0]];
      for (let e = 0; e < 4; e++) R.u32[e] = ((ror(t[e], 7) ^ ror(t[e], 18) ^ (t[e] >>> 3)) + d[e]) >>> 0;
      break;
    }
    default: return false;
  }
  commitR(vw, rd, 16);
  return true;
}

/** PMULL/PMULL2 Vd.1Q, Vn.1D/2D, Vm.1D/2D: 64x64 -> 128-bit carry-less product. */
export function pmull64(vw: VViews, insn: number): void {
  const q = (insn >>> 30) & 1, rd = insn & 31, rn = (insn >>> 5) & 31, rm = (insn >>> 16) & 31;
  const a = vw.b64[2 * rn + q], b = vw.b64[2 * rm + q];
  let r = 0n;
  for (let i = 0n; i < 64n; i++) if ((b >> i) & 1n) r ^= a << i;
  R.b64[0] = BigInt.asUintN(64, r);
  R.b64[1] = r >> 64n;
  commitR(vw, rd, 16);
}
