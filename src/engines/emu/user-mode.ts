/**
 * Run a static AArch64 Linux ELF executable at EL0 on a bare emu CPU with a
 * minimal Linux system-call shim (enough for static glibc start-up, stdio,
 * malloc): for differential tests against qemu-aarch64-static.
 *
 * Layout: RAM at physical 0 (MMU off, so VA = PA), the lower-EL sync vector
 * at 0x1000 holds `hvc #0; eret`: every SVC from EL0 lands there and the HVC
 * hook performs the system call on the shared registers.
 */
import { createRawMachine, loadWords, type RawMachine } from './raw-runner.js';
import { runSlice } from './exec.js';
import { jitFromEnv, runSliceJit } from './jit/run.js';
import type { Cpu } from './cpu.js';

export interface UserRunResult {
  stdout: string;
  stdoutBytes: Uint8Array;
  exitCode: number;
  instructions: number;
  /** Set when the program died from an unhandled exception (ESR/ELR). */
  crash?: string;
}

const VBAR = 0x1000;
const STACK_TOP = 0x7ff0000;
const RAM_SIZE = 128 * 1024 * 1024;
const MMAP_BASE = 0x4000000;

const ENOENT = 2;
const ENOTTY = 25;
const ENOSYS = 38;

interface Proc {
  m: RawMachine;
  out: number[];
  brk: number;
  mmapNext: number;
  exitCode: number | undefined;
}

function loadElf(m: RawMachine, elf: Uint8Array): { entry: number; phdr: number; phnum: number; end: number } {
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (dv.getUint32(0, false) !== 0x7f454c46 || elf[4] !== 2 || dv.getUint16(18, true) !== 183) {
    throw new Error('not an ELF64 AArch64 executable');
  }
  if (dv.getUint16(16, true) !== 2) throw new Error('only static ET_EXEC executables are supported');
  const entry = Number(dv.getBigUint64(24, true));
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  let end = 0;
  let phdr = 0;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const type = dv.getUint32(o, true);
    const off = Number(dv.getBigUint64(o + 8, true));
    const vaddr = Number(dv.getBigUint64(o + 16, true));
    const filesz = Number(dv.getBigUint64(o + 32, true));
    const memsz = Number(dv.getBigUint64(o + 40, true));
    if (type === 1) {
      m.memory.writeBytes(vaddr, elf.subarray(off, off + filesz));
      m.memory.fill(vaddr + filesz, memsz - filesz, 0);
      end = Math.max(end, vaddr + memsz);
      if (off === 0) phdr = vaddr + phoff;
    } else if (type === 6) phdr = vaddr;
  }
  return { entry, phdr, phnum, end };
}

/** Build argv/envp/auxv on the stack per the AArch64 Linux ABI; returns the initial SP. */
function buildStack(m: RawMachine, argv: string[], info: { entry: number; phdr: number; phnum: number }): number {
  const mem = m.memory;
  let p = STACK_TOP;
  const strAddr: number[] = [];
  for (const a of argv) {
    const b = new TextEncoder().encode(a + '\0');
    p -= b.length;
    mem.writeBytes(p, b);
    strAddr.push(p);
  }
  p -= 16;
  const random = p;
  for (let i = 0; i < 16; i++) mem.writeU8(random + i, (i * 37 + 11) & 0xff);
  p &= ~15;
  const AT = { PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, ENTRY: 9, UID: 11, EUID: 12, GID: 13, EGID: 14, HWCAP: 16, CLKTCK: 17, SECURE: 23, RANDOM: 25, HWCAP2: 26 };
  const aux: Array<[number, number]> = [
    [AT.PHDR, info.phdr],
    [AT.PHENT, 56],
    [AT.PHNUM, info.phnum],
    [AT.PAGESZ, 4096],
    [AT.ENTRY, info.entry],
    [AT.UID, 0],
    [AT.EUID, 0],
    [AT.GID, 0],
    [AT.EGID, 0],
    [AT.HWCAP, 0x83], // FP | ASIMD | CRC32
    [AT.HWCAP2, 0],
    [AT.CLKTCK, 100],
    [AT.SECURE, 0],
    [AT.RANDOM, random],
    [0, 0],
  ];
  const words: number[] = [argv.length, ...strAddr, 0, 0];
  for (const [k, v] of aux) words.push(k, v);
  p -= words.length * 8;
  p &= ~15;
  words.forEach((w, i) => mem.writeU64(p + 8 * i, BigInt(w)));
  return p;
}

function cstr(m: RawMachine, addr: number, max = 4096): string {
  const bytes: number[] = [];
  for (let i = 0; i < max; i++) {
    const b = m.memory.readU8(addr + i);
    if (b === 0) break;
    bytes.push(b);
  }
  return String.fromCharCode(...bytes);
}

function syscall(p: Proc, c: Cpu): void {
  const m = p.m;
  const nr = Number(c.getX(8));
  const a = [0, 1, 2, 3, 4, 5].map((i) => c.getX(i));
  const n = (i: number): number => Number(a[i]!);
  let ret: bigint | number = 0;
  switch (nr) {
    case 64: // write
      if (n(0) === 1 || n(0) === 2) {
        const bytes = m.memory.readBytes(n(1), n(2));
        if (n(0) === 1) for (const b of bytes) p.out.push(b);
        ret = n(2);
      } else ret = -9;
      break;
    case 66: {
      // writev
      let total = 0;
      for (let i = 0; i < n(2); i++) {
        const base = m.memory.readU64Number(n(1) + 16 * i);
        const len = m.memory.readU64Number(n(1) + 16 * i + 8);
        if (n(0) === 1) for (const b of m.memory.readBytes(base, len)) p.out.push(b);
        total += len;
      }
      ret = total;
      break;
    }
    case 63: // read
      ret = 0;
      break;
    case 93: // exit
    case 94: // exit_group
      p.exitCode = n(0) & 0xff;
      c.on = false;
      c.sliceEnd = 0;
      return;
    case 214: // brk
      if (n(0) !== 0 && n(0) < MMAP_BASE) p.brk = n(0);
      ret = p.brk;
      break;
    case 222: {
      // mmap: anonymous only
      const len = (n(1) + 4095) & ~4095;
      if ((n(3) & 0x20) === 0 || p.mmapNext + len > STACK_TOP - 0x100000) {
        ret = -12;
        break;
      }
      ret = p.mmapNext;
      m.memory.fill(p.mmapNext, len, 0);
      p.mmapNext += len;
      break;
    }
    case 215: // munmap
    case 226: // mprotect
    case 233: // madvise
    case 99: // set_robust_list
    case 134: // rt_sigaction
    case 135: // rt_sigprocmask
    case 98: // futex
    case 57: // close
      ret = 0;
      break;
    case 96: // set_tid_address
    case 172: // getpid
    case 178: // gettid
      ret = 1000;
      break;
    case 174:
    case 175:
    case 176:
    case 177:
      ret = 0;
      break;
    case 160: {
      // uname: six 65-byte fields
      const fields = ['Linux', 'tsvisor', '6.1.0', '#1', 'aarch64', '(none)'];
      fields.forEach((f, i) => {
        const b = new Uint8Array(65);
        b.set(new TextEncoder().encode(f));
        m.memory.writeBytes(n(0) + 65 * i, b);
      });
      ret = 0;
      break;
    }
    case 278: // getrandom
      for (let i = 0; i < n(1); i++) m.memory.writeU8(n(0) + i, (i * 13 + 7) & 0xff);
      ret = n(1);
      break;
    case 113: // clock_gettime
      m.memory.writeU64(n(1), 1n);
      m.memory.writeU64(n(1) + 8, 0n);
      ret = 0;
      break;
    case 29: // ioctl
      ret = -ENOTTY;
      break;
    case 78: // readlinkat
    case 56: // openat
      ret = -ENOENT;
      break;
    case 80: // fstat
    case 79: // newfstatat
      // Report a character device (st_mode S_IFCHR | 0620) so stdio picks line buffering consistently.
      m.memory.fill(n(nr === 80 ? 1 : 2), 128, 0);
      m.memory.writeU32(n(nr === 80 ? 1 : 2) + 16, 0o20620);
      ret = 0;
      break;
    default:
      ret = -ENOSYS;
  }
  c.setX(0, BigInt.asUintN(64, BigInt(ret)));
}

/** A loaded user-mode process (for runUserElf and for lockstep debugging tools). */
export function startUserElf(elf: Uint8Array, argv: string[] = ['prog']): { m: RawMachine; cpu: Cpu; exitCode: () => number | undefined; stdout: () => number[] } {
  const m = createRawMachine({ ramBase: 0, ramSize: RAM_SIZE });
  const c = m.cpu;
  const info = loadElf(m, elf);
  const p: Proc = { m, out: [], brk: (info.end + 0xfff) & ~0xfff, mmapNext: MMAP_BASE, exitCode: undefined };
  // Lower-EL AArch64 sync vector: hvc #0 ; eret
  loadWords(m.memory, VBAR + 0x400, [0xd4000002, 0xd69f03e0]);
  c.vbar = BigInt(VBAR);
  // EL0 may use DC ZVA, read CTR_EL0, do cache maintenance and read the virtual counter.
  c.sctlr = (1n << 14n) | (1n << 15n) | (1n << 26n);
  c.sctlrN = Number(c.sctlr);
  c.cntkctl = 3n;
  c.onHypercall = (cpu) => {
    if (((Number(cpu.esr) >>> 26) & 0x3f) !== 0x15) {
      // Not an SVC: the program faulted.
      cpu.on = false;
      cpu.sliceEnd = 0;
      return true;
    }
    syscall(p, cpu);
    return true;
  };
  const sp = buildStack(m, argv, info);
  c.setMode(0, 0);
  c.sp = BigInt(sp);
  c.pc = BigInt(info.entry);
  c.daif = 0;
  return { m, cpu: c, exitCode: () => p.exitCode, stdout: () => p.out };
}

export function runUserElf(elf: Uint8Array, argv: string[] = ['prog'], maxInsns = 2_000_000_000): UserRunResult {
  const { cpu: c, exitCode, stdout: out } = startUserElf(elf, argv);
  let n = 0;
  const slice = jitFromEnv() !== false ? runSliceJit : runSlice;
  while (c.on && n < maxInsns) n += slice(c, 100000);
  const stdoutBytes = Uint8Array.from(out());
  const stdout = new TextDecoder().decode(stdoutBytes);
  const res: UserRunResult = { stdout, stdoutBytes, exitCode: exitCode() ?? -1, instructions: n };
  if (exitCode() === undefined) {
    res.crash = `esr=0x${c.esr.toString(16)} elr=0x${c.elr.toString(16)} far=0x${c.far.toString(16)} pc=0x${c.pc.toString(16)}`;
  }
  return res;
}
