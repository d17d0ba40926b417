/**
 * Classify the self time of V8 .cpuprofile samples into issue 4's parts by the
 * source file (and for a few files the function) of each sampled frame:
 *
 *   translate          src/engines/emu/jit/** code generation: functions matching
 *                      TRANSLATE_RE (translate, compile, emit, build..., ...) or files
 *                      matching TRANSLATE_FILE_RE (translate.ts, wasm.ts encoder, ...)
 *   execute: translated code that is not in a source file: url '' (JS built
 *                      with new Function) or wasm://... (WebAssembly); the builtins
 *                      that compile it (WebAssembly.Module/Instance, Function) are translate
 *   execute: dispatch  the translator's run loop (src/engines/emu/jit/** otherwise)
 *   execute: interpreter  exec.ts, decode*.ts, alu.ts, int64.ts, bitmasks.ts, fpsimd/**
 *                      (also the handlers translated blocks call)
 *   helpers            cpu.ts (exceptions, interrupts, address translation entry),
 *                      mmu.ts, sysregs.ts, timer.ts, phys.ts, platform.ts, user-mode/raw-runner
 *   engine loop        src/engines/emu/index.ts (slices, timers, idle)
 *   devices            src/devices/**, src/virtio/**, src/boards/**, src/backends/**
 *   VMM                src/vmm/**, src/cli/**, the rest of src/
 *   GC                 (garbage collector)
 *   other              (program) (V8/native, incl. compiling), node internals, node_modules
 *   idle               (idle): reported, not part of the total
 *
 * Paths are matched on /src/... so both dist/src/*.js and src/*.ts count.
 * The rules depend on directory names only, so a translator that replaces
 * src/engines/emu/jit/ is classified without changes as long as its code
 * generation functions are named as above and its output is wasm or
 * new Function code.
 */
import { readFileSync } from 'node:fs';

/** Code generation under jit/, by function name... */
export const TRANSLATE_RE = /translat|compil|emit|codegen|generat|assembl|encode|instantiate|optimi[sz]|inlineSource|^build/i;
/** ...or by file name (translate.ts, wasm.ts: the module encoder). */
export const TRANSLATE_FILE_RE = /translat|compil|emit|codegen|assembl|encod|wasm/i;

export const PARTS = [
  'translate',
  'execute: translated code',
  'execute: translator dispatch',
  'execute: interpreter',
  'helpers (MMU, exceptions, sysregs, timers)',
  'engine loop',
  'devices',
  'VMM',
  'GC',
  'other',
] as const;
export type Part = (typeof PARTS)[number] | 'idle';

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber?: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export function classify(f: CallFrame): Part {
  const name = f.functionName;
  const url = f.url;
  if (url === '' || url.startsWith('wasm://')) {
    if (name === '(idle)') return 'idle';
    if (name === '(garbage collector)') return 'GC';
    if (name === '(program)' || name === '(root)') return 'other';
    if (url.startsWith('wasm://')) return 'execute: translated code';
    // new WebAssembly.Module/Instance(...) and new Function(...) compile synchronously in these frames.
    if (/^(Module|Instance|compile|instantiate|validate|Function)$/.test(name)) return 'translate';
    // Functions without a script: new Function code (the JS translator's blocks) or V8 builtins.
    return 'execute: translated code';
  }
  const m = /\/src\/(.*)$/.exec(url.replace(/\\/g, '/'));
  if (!m || url.includes('/node_modules/')) return 'other';
  const p = m[1]!;
  if (p.startsWith('engines/emu/jit/')) {
    return TRANSLATE_RE.test(name) || TRANSLATE_FILE_RE.test(p.slice('engines/emu/jit/'.length)) ? 'translate' : 'execute: translator dispatch';
  }
  if (p.startsWith('engines/emu/')) {
    const file = p.slice('engines/emu/'.length).replace(/\.(ts|js)$/, '');
    if (file === 'index') return 'engine loop';
    if (/^(exec|decode.*|alu|int64|bitmasks|fpsimd-context)$/.test(file) || file.startsWith('fpsimd/')) return 'execute: interpreter';
    return 'helpers (MMU, exceptions, sysregs, timers)';
  }
  if (/^(devices|virtio|boards|backends)\//.test(p)) return 'devices';
  return 'VMM';
}

export interface Breakdown {
  /** Microseconds per part (idle included, under 'idle'). */
  us: Map<Part, number>;
  /** Microseconds per "part | file:function" for the top lists. */
  byFrame: Map<string, number>;
  totalUs: number;
}

export function breakdown(profiles: CpuProfile[]): Breakdown {
  const us = new Map<Part, number>();
  const byFrame = new Map<string, number>();
  let totalUs = 0;
  for (const prof of profiles) {
    const byId = new Map<number, CallFrame>();
    for (const n of prof.nodes) byId.set(n.id, n.callFrame);
    for (let i = 0; i < prof.samples.length; i++) {
      const f = byId.get(prof.samples[i]!)!;
      const dt = prof.timeDeltas[i] ?? 0;
      const part = classify(f);
      us.set(part, (us.get(part) ?? 0) + dt);
      if (part === 'idle') continue;
      totalUs += dt;
      const file = f.url.replace(/^.*\/(src|node_modules)\//, '$1/') || (f.url === '' ? '(no url)' : f.url);
      const key = `${part} | ${file}:${f.functionName || '(anonymous)'}`;
      byFrame.set(key, (byFrame.get(key) ?? 0) + dt);
    }
  }
  return { us, byFrame, totalUs };
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

/** Microseconds of samples in src/engines/emu (to find the machine thread's profile). */
export function emuUs(p: CpuProfile): number {
  const ids = new Set(p.nodes.filter((n) => n.callFrame.url.includes('/src/engines/emu/')).map((n) => n.id));
  let t = 0;
  for (let i = 0; i < p.samples.length; i++) if (ids.has(p.samples[i]!)) t += p.timeDeltas[i] ?? 0;
  return t;
}

/** A printable table: part, seconds, share of the non-idle total. */
export function table(b: Breakdown, top = 0): string {
  const lines: string[] = [];
  const w = Math.max(...PARTS.map((p) => p.length));
  for (const p of PARTS) {
    const v = b.us.get(p) ?? 0;
    lines.push(`  ${p.padEnd(w)}  ${(v / 1e6).toFixed(2).padStart(7)} s  ${((100 * v) / Math.max(1, b.totalUs)).toFixed(1).padStart(5)}%`);
  }
  lines.push(`  ${'total (not idle)'.padEnd(w)}  ${(b.totalUs / 1e6).toFixed(2).padStart(7)} s`);
  lines.push(`  ${'idle (WFI sleeps, waits)'.padEnd(w)}  ${((b.us.get('idle') ?? 0) / 1e6).toFixed(2).padStart(7)} s`);
  if (top > 0) {
    lines.push(`  top ${top} frames by self time:`);
    const sorted = [...b.byFrame.entries()].sort((x, y) => y[1] - x[1]).slice(0, top);
    for (const [k, v] of sorted) lines.push(`    ${((100 * v) / Math.max(1, b.totalUs)).toFixed(1).padStart(5)}%  ${k}`);
  }
  return lines.join('\n');
}
