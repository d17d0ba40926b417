/**
 * DecodeBitMasks() from the Arm ARM (shared/functions/bitmasks), evaluated
 * once at decode time. Returns undefined for reserved encodings.
 */

export interface BitMasks {
  wmask: bigint;
  tmask: bigint;
}

function replicate(v: bigint, esize: number, width: number): bigint {
  let r = 0n;
  for (let i = 0; i < width; i += esize) r |= v << BigInt(i);
  return r;
}

function ones(n: number): bigint {
  return (1n << BigInt(n)) - 1n;
}

function ror(v: bigint, r: number, esize: number): bigint {
  if (r === 0) return v;
  const m = ones(esize);
  return ((v >> BigInt(r)) | (v << BigInt(esize - r))) & m;
}

export function decodeBitMasks(
  n: number,
  imms: number,
  immr: number,
  immediate: boolean,
  width: number,
): BitMasks | undefined {
  const combined = (n << 6) | (~imms & 0x3f);
  if (combined === 0) return undefined;
  const len = 31 - Math.clz32(combined);
  if (len < 1) return undefined;
  const levels = (1 << len) - 1;
  if (immediate && (imms & levels) === levels) return undefined;
  const s = imms & levels;
  const r = immr & levels;
  const diff = (s - r) & 0x3f;
  const esize = 1 << len;
  if (esize > width) return undefined;
  const d = diff & levels;
  const welem = ones(s + 1);
  const telem = ones(d + 1);
  return {
    wmask: replicate(ror(welem, r, esize), esize, width),
    tmask: replicate(telem, esize, width),
  };
}
