/**
 * Helpers for kvm integration tests: assemble tiny guests with binutils at
 * test time, build real-mode / 32-bit boot states, a minimal EngineHost, and
 * a port device that records what the guest writes.
 */
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { X86BootState, X86Segment } from '../../src/boards/x86/boot-state.js';
import type { BusDevice } from '../../src/devices/device.js';
import type { EngineHost, ExitStatus } from '../../src/vmm/engine.js';
import { KvmEngine } from '../../src/engines/kvm/index.js';

/** Why kvm tests cannot run here, or undefined when they can. */
export function kvmSkipReason(): string | undefined {
  const p = KvmEngine.probe();
  if (!p.ok) return p.reason;
  try {
    execFileSync('as', ['--version'], { stdio: 'ignore' });
    execFileSync('ld', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'binutils (as, ld) not installed';
  }
  return undefined;
}

/** Assemble GNU-as source (use .code16/.code32 inside) linked to run at `org`; returns the flat binary. */
export function assemble(source: string, org: number): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-asm-'));
  try {
    writeFileSync(join(dir, 'g.s'), source + '\n');
    execFileSync('as', ['--64', '-o', join(dir, 'g.o'), join(dir, 'g.s')], { stdio: 'pipe' });
    execFileSync('ld', ['-m', 'elf_x86_64', `-Ttext=0x${org.toString(16)}`, '--oformat=binary', '-e', '0', '-o', join(dir, 'g.bin'), join(dir, 'g.o')], {
      stdio: 'pipe',
    });
    return new Uint8Array(readFileSync(join(dir, 'g.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function seg(over: Partial<X86Segment>): X86Segment {
  return { selector: 0, base: 0, limit: 0xffff, type: 3, present: true, dpl: 0, db: false, s: true, l: false, g: false, avl: false, ...over };
}

/** Real mode, CS=DS=SS=0, IP=`ip`, SP=`sp`. */
export function realModeState(ip: number, sp = 0x7000): X86BootState {
  const data = seg({});
  return {
    regs: { rip: ip, rsp: sp, rbp: 0, rsi: 0, rdi: 0, rax: 0, rbx: 0, rflags: 2 },
    sregs: {
      cr0: 0x6000_0010,
      cr3: 0,
      cr4: 0,
      efer: 0,
      gdt: { base: 0, limit: 0xffff },
      idt: { base: 0, limit: 0x3ff },
      cs: seg({ type: 0xb }),
      ds: data,
      es: data,
      fs: data,
      gs: data,
      ss: data,
      tr: seg({ type: 0xb, s: false }),
      ldt: seg({ type: 2, s: false }),
    },
  };
}

/** 32-bit protected mode, flat 4 GiB segments, paging off. */
export function flat32State(eip: number, esp = 0x7000): X86BootState {
  const flat = { base: 0, limit: 0xffff_ffff, g: true, db: true };
  const data = seg({ ...flat, selector: 0x18 });
  return {
    regs: { rip: eip, rsp: esp, rbp: 0, rsi: 0, rdi: 0, rax: 0, rbx: 0, rflags: 2 },
    sregs: {
      cr0: 0x11,
      cr3: 0,
      cr4: 0,
      efer: 0,
      gdt: { base: 0, limit: 0 },
      idt: { base: 0, limit: 0 },
      cs: seg({ ...flat, selector: 0x08, type: 0xb }),
      ds: data,
      es: data,
      fs: data,
      gs: data,
      ss: data,
      tr: seg({ selector: 0x20, type: 0xb, s: false, limit: 0x67 }),
      ldt: seg({ type: 2, s: false, unusable: true, present: false }),
    },
  };
}

export type TestHost = EngineHost & { polls: number; flag: Int32Array };

/** An EngineHost whose poll() returns `stopWith` once `flag[0]` is set (by another thread). */
export function testHost(flag = new Int32Array(new SharedArrayBuffer(8)), stopWith: ExitStatus = { kind: 'stopped', reason: 'host' }): TestHost {
  const h = {
    polls: 0,
    flag,
    pending: () => Atomics.load(flag, 0) !== 0,
    poll(): ExitStatus | undefined {
      h.polls++;
      return Atomics.load(flag, 0) !== 0 ? stopWith : undefined;
    },
  };
  return h;
}

/** A port/MMIO device that records writes and answers reads with `readValue`. */
export class Recorder implements BusDevice {
  readonly writes: Array<{ offset: number; size: number; value: number }> = [];
  constructor(
    readonly name: string,
    private readonly onWrite?: (offset: number, size: number, value: number) => void,
    private readonly readValue: (offset: number, size: number) => number = () => 0,
  ) {}
  read(offset: number, size: 1 | 2 | 4 | 8): number {
    return this.readValue(offset, size);
  }
  write(offset: number, size: 1 | 2 | 4 | 8, value: number): void {
    this.writes.push({ offset, size, value });
    this.onWrite?.(offset, size, value);
  }
}

const addon = fileURLToPath(new URL('../../build/Release/tsvisor_sys.node', import.meta.url));

/**
 * A plain-JS worker that, after `delayMs`, sets flag[0] and kicks thread `tid`
 * with `signal`: what the host link does to stop a VM.
 */
export function kickLater(flag: Int32Array, tid: number, signal: number, delayMs: number): Worker {
  const code = `
    const { workerData: d } = require('node:worker_threads');
    const s = require(d.addon);
    const f = new Int32Array(d.flag);
    Atomics.wait(f, 1, 0, d.delayMs);
    Atomics.store(f, 0, 1);
    s.tgkill(d.tid, d.signal);`;
  const w = new Worker(code, { eval: true, workerData: { addon, flag: flag.buffer, tid, signal, delayMs } });
  w.unref();
  return w;
}

/**
 * engine.run() with a watchdog: a guest that never reports (an interrupt that
 * is not delivered, an AP that never starts) ends the run with the host's
 * stop status after `ms` instead of hanging the test process.
 */
export function runGuarded(engine: KvmEngine, host: TestHost, ms = 30_000): ExitStatus {
  const dog = kickLater(host.flag, engine.kick.tid, engine.kick.signal, ms);
  try {
    return engine.run();
  } finally {
    void dog.terminate();
  }
}
