/**
 * User options for NICs and vsock (library and CLI), validated here so
 * config.ts only forwards them:
 *   --net tap=NAME[,mac=52:54:00:12:34:56][,netns=NS]   (repeatable)
 *   --vsock cid=N,socket=PATH
 */
import { dirname } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { formatMac, generateMac, parseMac } from './net.js';

export interface NicOptions {
  /** Tap interface to create or attach. */
  tap: string;
  /** MAC address; generated (stable per tap name and position) when absent. */
  mac?: string;
  /** Network namespace name (under /var/run/netns) where the tap lives. */
  netns?: string;
}

export interface VsockOptions {
  /** Guest CID (3 and up). */
  cid: number;
  /** Unix socket path: host programs connect here; guest connections to port P go to PATH_P. */
  socket: string;
}

export class NetOptionError extends Error {}

export function parseNetFlag(text: string): NicOptions {
  const o: Partial<NicOptions> = {};
  for (const p of text.split(',')) {
    const i = p.indexOf('=');
    const k = i < 0 ? p : p.slice(0, i);
    const v = i < 0 ? '' : p.slice(i + 1);
    if (k === 'tap') o.tap = v;
    else if (k === 'mac') o.mac = v;
    else if (k === 'netns') o.netns = v;
    else throw new NetOptionError(`unknown --net option "${p}" (use tap=NAME[,mac=MAC][,netns=NS])`);
  }
  if (!o.tap) throw new NetOptionError('--net needs tap=NAME');
  return o as NicOptions;
}

export function parseVsockFlag(text: string): VsockOptions {
  let cid: number | undefined;
  let socket: string | undefined;
  for (const p of text.split(',')) {
    const i = p.indexOf('=');
    const k = i < 0 ? p : p.slice(0, i);
    const v = i < 0 ? '' : p.slice(i + 1);
    if (k === 'cid') {
      if (!/^\d{1,10}$/.test(v)) throw new NetOptionError(`--vsock cid must be a number, not "${v}"`);
      cid = Number(v);
    }
    else if (k === 'socket') socket = v;
    else throw new NetOptionError(`unknown --vsock option "${p}" (use cid=N,socket=PATH)`);
  }
  if (cid === undefined || socket === undefined) throw new NetOptionError('--vsock needs cid=N,socket=PATH');
  return { cid, socket };
}

/** Validate and normalise (MACs filled in). Throws NetOptionError with a one-line message. */
export function resolveNetOptions(nics: readonly NicOptions[] | undefined, vsock: VsockOptions | undefined): { nics: NicOptions[]; vsock?: VsockOptions } {
  const out: NicOptions[] = [];
  const names = new Set<string>();
  for (const [i, n] of (nics ?? []).entries()) {
    if (typeof n !== 'object' || n === null || typeof n.tap !== 'string') throw new NetOptionError('each NIC needs a tap name');
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(n.tap)) throw new NetOptionError(`bad tap name "${n.tap}" (1-15 letters, digits, _ . -)`);
    const key = `${n.netns ?? ''}/${n.tap}`;
    if (names.has(key)) throw new NetOptionError(`tap ${n.tap} is used twice`);
    names.add(key);
    if (n.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(n.netns)) throw new NetOptionError(`bad network namespace name "${n.netns}"`);
    if (n.netns !== undefined && !existsSync(`/var/run/netns/${n.netns}`)) throw new NetOptionError(`network namespace ${n.netns} does not exist (ip netns add ${n.netns})`);
    let mac: string;
    try {
      mac = formatMac(n.mac !== undefined ? parseMac(n.mac) : generateMac(`${n.netns ?? ''}/${n.tap}/${i}`));
    } catch (e) {
      throw new NetOptionError((e as Error).message);
    }
    out.push({ tap: n.tap, mac, ...(n.netns !== undefined ? { netns: n.netns } : {}) });
  }
  if (out.length > 8) throw new NetOptionError('at most 8 NICs');
  if (vsock === undefined) return { nics: out };
  if (!Number.isSafeInteger(vsock.cid) || vsock.cid < 3 || vsock.cid > 0xffff_fffe) throw new NetOptionError(`vsock cid must be 3..4294967294, not ${String(vsock.cid)}`);
  if (typeof vsock.socket !== 'string' || vsock.socket === '') throw new NetOptionError('vsock needs a socket path');
  if (vsock.socket.length > 100) throw new NetOptionError(`vsock socket path is too long (at most 100 bytes): ${vsock.socket}`);
  const dir = dirname(vsock.socket);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new NetOptionError(`directory of the vsock socket does not exist: ${dir}`);
  if (existsSync(vsock.socket) && !statSync(vsock.socket).isSocket()) throw new NetOptionError(`vsock socket path exists and is not a socket: ${vsock.socket}`);
  return { nics: out, vsock: { cid: vsock.cid, socket: vsock.socket } };
}
