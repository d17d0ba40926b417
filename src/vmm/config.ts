/**
 * Machine configuration: the typed options a user gives (library or CLI), and
 * the one place they are validated and resolved into a MachineConfig that the
 * builder turns into a running VM. Every problem is a ConfigError whose message
 * is one line a user can act on.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { resolveNetOptions, NetOptionError, type NicOptions, type VsockOptions } from '../backends/net-options.js';

export type Accel = 'kvm' | 'emu';
export type GuestArch = 'x86_64' | 'aarch64';

export interface MachineOptions {
  /** Path of the guest kernel: an x86 bzImage / PVH ELF for kvm, an arm64 Image for emu. */
  kernel: string;
  initrd?: string;
  /** Kernel command line. When absent, a default for the engine's console is used. */
  append?: string;
  /** Guest RAM: bytes, or a size string such as "512M", "2G". Default 512 MiB. */
  memory?: number | string;
  /** Number of vCPUs. Default 1. */
  cpus?: number;
  /** CPU engine. "auto" (default) picks hardware KVM where it exists, else the emulator. */
  accel?: Accel | 'auto';
  /** Engine options, as in `--accel emu,jit=off`. */
  accelOptions?: Record<string, string>;
  /** virtio-blk disks (raw images), in order: /dev/vda, /dev/vdb, ... */
  disks?: DiskOptions[];
  /** Add a virtio-rng device fed from the host's random source. */
  rng?: boolean;
  /** "serial" (default): console input goes to the UART. "virtio": also add a virtio-console (hvc0) and send console input to it once the guest's driver is up. */
  console?: ConsoleKind;
  /** virtio-net NICs on tap devices (`--net tap=NAME[,mac=..][,netns=NS]`). */
  nics?: NicOptions[];
  /** virtio-vsock with a Unix-socket host side (`--vsock cid=N,socket=PATH`). */
  vsock?: VsockOptions;
  /**
   * How virtio devices attach (`--virtio-transport`): "mmio" (virtio-mmio
   * slots; emu default, like QEMU's virtio-*-device) or "pci" (virtio-pci
   * functions behind a PCI host bridge, like virtio-*-pci; the only choice
   * on x86/kvm).
   */
  virtioTransport?: VirtioTransportKind;
}

export type VirtioTransportKind = 'mmio' | 'pci';

export type ConsoleKind = 'serial' | 'virtio';

export interface DiskOptions {
  path: string;
  readOnly?: boolean;
  /** Serial returned by VIRTIO_BLK_T_GET_ID (at most 20 bytes). */
  serial?: string;
  /** Open the image with O_DIRECT. */
  direct?: boolean;
}

export interface MachineConfig {
  accel: Accel;
  arch: GuestArch;
  kernel: string;
  initrd?: string;
  cmdline: string;
  memoryBytes: number;
  cpus: number;
  accelOptions: Record<string, string>;
  disks: DiskOptions[];
  rng: boolean;
  console: ConsoleKind;
  nics: NicOptions[];
  vsock?: VsockOptions;
  virtioTransport: VirtioTransportKind;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_CMDLINE: Record<Accel, string> = {
  emu: 'console=ttyAMA0 nokaslr cryptomgr.notests',
  kvm: 'console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=k panic=-1',
};

const MIB = 1024 * 1024;
export const MIN_MEMORY = 16 * MIB;
export const MAX_CPUS: Record<Accel, number> = { kvm: 32, emu: 8 };

/** Parse "512M", "2G", "1048576", "64k" into bytes. */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isSafeInteger(text) || text <= 0) throw new ConfigError(`memory size must be a positive whole number of bytes, not ${text}`);
    return text;
  }
  const m = /^\s*(\d+)\s*([kKmMgGtT]?)(i?[bB])?\s*$/.exec(text);
  if (!m) throw new ConfigError(`cannot read size "${text}" (examples: 512M, 2G)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit === 'k' ? 1024 : unit === 'm' ? MIB : unit === 'g' ? 1024 * MIB : unit === 't' ? 1024 * 1024 * MIB : 1;
  // A bare number is MiB, as in QEMU's -m.
  const bytes = unit === '' && !m[3] ? n * MIB : n * mult;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new ConfigError(`size "${text}" is out of range`);
  return bytes;
}

function checkFile(what: string, path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ConfigError(`${what} file not found: ${path}`);
  }
  if (!st.isFile()) throw new ConfigError(`${what} is not a regular file: ${path}`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new ConfigError(`${what} file is not readable: ${path}`);
  }
}

export interface HostFacts {
  /** /sys/module/kvm_intel or kvm_amd is loaded. */
  hardwareKvm: boolean;
  /** Total host memory in bytes. */
  hostMemory?: number;
}

/** Validate options and resolve defaults. Throws ConfigError. */
export function resolveConfig(opts: MachineOptions, host: HostFacts): MachineConfig {
  if (typeof opts !== 'object' || opts === null) throw new ConfigError('machine options must be an object');
  const accelIn = opts.accel ?? 'auto';
  if (accelIn !== 'kvm' && accelIn !== 'emu' && accelIn !== 'auto') {
    throw new ConfigError(`unknown accelerator "${String(accelIn)}" (use kvm, emu or auto)`);
  }
  const accel: Accel = accelIn === 'auto' ? (host.hardwareKvm ? 'kvm' : 'emu') : accelIn;
  const arch: GuestArch = accel === 'kvm' ? 'x86_64' : 'aarch64';

  if (typeof opts.kernel !== 'string' || opts.kernel === '') throw new ConfigError('a kernel is required (--kernel FILE)');
  checkFile('kernel', opts.kernel);
  if (opts.initrd !== undefined) {
    if (typeof opts.initrd !== 'string' || opts.initrd === '') throw new ConfigError('initrd must be a file path');
    checkFile('initrd', opts.initrd);
  }
  if (opts.append !== undefined && typeof opts.append !== 'string') throw new ConfigError('append must be a string');
  const cmdline = opts.append ?? DEFAULT_CMDLINE[accel];
  if (cmdline.length > 4095) throw new ConfigError('kernel command line is longer than 4095 bytes');

  const memoryBytes = parseSize(opts.memory ?? 512 * MIB);
  if (memoryBytes < MIN_MEMORY) throw new ConfigError(`memory ${memoryBytes / MIB} MiB is below the minimum of ${MIN_MEMORY / MIB} MiB`);
  if (memoryBytes % (2 * MIB) !== 0 && accel === 'emu') throw new ConfigError('memory must be a multiple of 2 MiB');
  if (memoryBytes % MIB !== 0) throw new ConfigError('memory must be a multiple of 1 MiB');
  const hostMem = host.hostMemory ?? totalmem();
  if (memoryBytes > hostMem) {
    throw new ConfigError(`memory ${memoryBytes / MIB} MiB is more than the host has (${Math.floor(hostMem / MIB)} MiB)`);
  }
  if (accel === 'emu' && memoryBytes > 3 * 1024 * MIB) throw new ConfigError('the emu engine supports at most 3 GiB of guest memory');

  const cpus = opts.cpus ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS[accel]) {
    throw new ConfigError(`cpus must be a whole number from 1 to ${MAX_CPUS[accel]} for the ${accel} engine, not ${String(cpus)}`);
  }
  const accelOptions = { ...(opts.accelOptions ?? {}) };
  for (const [k, v] of Object.entries(accelOptions)) {
    if (accel === 'emu' && k === 'jit' && (v === 'on' || v === 'off')) continue;
    throw new ConfigError(`unknown option "${k}=${v}" for the ${accel} engine`);
  }
  const { disks, rng, console } = resolveVirtio(opts);
  const virtioTransport = opts.virtioTransport ?? (accel === 'kvm' ? 'pci' : 'mmio');
  if (virtioTransport !== 'mmio' && virtioTransport !== 'pci') throw new ConfigError(`unknown virtio transport "${String(virtioTransport)}" (use mmio or pci)`);
  if (accel === 'kvm' && virtioTransport !== 'pci') throw new ConfigError('the kvm engine (x86 board) has virtio over PCI only: use --virtio-transport pci or leave it out');
  let net;
  try {
    net = resolveNetOptions(opts.nics, opts.vsock);
  } catch (e) {
    if (e instanceof NetOptionError) throw new ConfigError(e.message);
    throw e;
  }
  return { accel, arch, kernel: opts.kernel, initrd: opts.initrd, cmdline, memoryBytes, cpus, accelOptions, disks, rng, console, nics: net.nics, ...(net.vsock ? { vsock: net.vsock } : {}), virtioTransport };
}

function resolveVirtio(opts: MachineOptions): { disks: DiskOptions[]; rng: boolean; console: ConsoleKind } {
  const disks: DiskOptions[] = [];
  for (const d of opts.disks ?? []) {
    if (typeof d !== 'object' || d === null || typeof d.path !== 'string' || d.path === '') throw new ConfigError('each disk needs a path');
    let st;
    try {
      st = statSync(d.path);
    } catch {
      throw new ConfigError(`disk image not found: ${d.path}`);
    }
    if (!st.isFile() && !st.isBlockDevice()) throw new ConfigError(`disk image is not a regular file: ${d.path}`);
    try {
      accessSync(d.path, d.readOnly ? constants.R_OK : constants.R_OK | constants.W_OK);
    } catch {
      throw new ConfigError(`disk image is not ${d.readOnly ? 'readable' : 'readable and writable (add ,ro for a read-only disk)'}: ${d.path}`);
    }
    if (d.serial !== undefined && (typeof d.serial !== 'string' || Buffer.byteLength(d.serial) > 20)) {
      throw new ConfigError(`disk serial "${String(d.serial)}" must be at most 20 bytes`);
    }
    disks.push({ path: d.path, readOnly: d.readOnly === true, serial: d.serial, direct: d.direct === true });
  }
  if (disks.length > 16) throw new ConfigError('at most 16 disks');
  const console = opts.console ?? 'serial';
  if (console !== 'serial' && console !== 'virtio') throw new ConfigError(`unknown console "${String(console)}" (use serial or virtio)`);
  return { disks, rng: opts.rng === true, console };
}

/** Parse "--disk path[,ro][,id=SERIAL][,direct]". */
export function parseDiskFlag(text: string): DiskOptions {
  const parts = text.split(',');
  const path = parts[0] ?? '';
  if (path === '') throw new ConfigError(`--disk needs a file path first, as in --disk disk.img,ro`);
  const d: DiskOptions = { path };
  for (const p of parts.slice(1)) {
    if (p === 'ro') d.readOnly = true;
    else if (p === 'rw') d.readOnly = false;
    else if (p === 'direct') d.direct = true;
    else if (p.startsWith('id=')) d.serial = p.slice(3);
    else throw new ConfigError(`unknown disk option "${p}" (use ro, id=SERIAL, direct)`);
  }
  return d;
}

/** Parse "emu,jit=off" into accel + options. */
export function parseAccelFlag(text: string): { accel: Accel | 'auto'; options: Record<string, string> } {
  const [name, ...rest] = text.split(',');
  if (name !== 'kvm' && name !== 'emu' && name !== 'auto') throw new ConfigError(`unknown accelerator "${name}" (use kvm, emu or auto)`);
  const options: Record<string, string> = {};
  for (const kv of rest) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new ConfigError(`accelerator option "${kv}" must look like key=value`);
    options[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { accel: name, options };
}

/** Parse the value of --virtio-transport. */
export function parseVirtioTransportFlag(text: string): VirtioTransportKind {
  if (text !== 'mmio' && text !== 'pci') throw new ConfigError(`--virtio-transport takes mmio or pci, not "${text}"`);
  return text;
}
