import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODE, HAVE_AS, assemble, x } from './emu-asm.js';
import { createRawMachine, loadWords, runUntil } from '../../src/engines/emu/raw-runner.js';

const skip = HAVE_AS ? false : 'aarch64-linux-gnu-as not installed';
const VBAR = CODE + 0x8000;
const TABLES = CODE + 0x100000;
const DATA = CODE + 0x200000;

/** Run `src` at EL1 (MMU off) until pc reaches `stop`. */
function run(src: string, stop: number | undefined, setup?: (m: ReturnType<typeof createRawMachine>) => void) {
  const m = createRawMachine();
  const words = assemble(src);
  stop ??= CODE + 4 * words.length;
  loadWords(m.memory, CODE, words);
  m.cpu.vbar = BigInt(VBAR);
  m.cpu.sp = BigInt(CODE + 0x800000);
  setup?.(m);
  runUntil(m.cpu, BigInt(stop), 10000);
  assert.equal(m.cpu.pc, BigInt(stop), `pc should reach 0x${stop.toString(16)}, is 0x${m.cpu.pc.toString(16)}`);
  return m;
}

test('ERET to EL0, SVC from EL0 to the lower-EL vector with ESR/ELR/SPSR', { skip }, () => {
  const m = run(
    `
    adr x0, user
    msr elr_el1, x0
    mov x1, #0x60000000      // SPSR: EL0t, Z and C set
    msr spsr_el1, x1
    mov x2, #0x1000
    msr sp_el0, x2
    eret
user:
    mov x3, sp
    svc #0x42
  `,
    VBAR + 0x400,
  );
  const c = m.cpu;
  assert.equal(c.el, 1);
  assert.equal(c.esr, (0x15n << 26n) | (1n << 25n) | 0x42n);
  assert.equal(c.elr, BigInt(CODE + 9 * 4));
  assert.equal(c.spsr, 0x600003c0n & ~0x3c0n);
  assert.equal(x(m, 3), 0x1000n, 'EL0 uses SP_EL0');
  assert.equal(c.daif, 0x3c0, 'exception entry masks DAIF');
});

test('undefined instruction at EL1h goes to current-EL SPx sync vector, ELR = the instruction', { skip }, () => {
  const m = run(`nop\n.word 0x00000000\n`, VBAR + 0x200);
  assert.equal(m.cpu.esr, 1n << 25n);
  assert.equal(m.cpu.elr, BigInt(CODE + 4));
});

test('EL0 reading an ID register traps with EC 0x18 and the MRS ISS', { skip }, () => {
  const m = run(
    `
    adr x0, user
    msr elr_el1, x0
    msr spsr_el1, xzr
    eret
user:
    mrs x5, id_aa64isar0_el1
  `,
    VBAR + 0x400,
  );
  // op0=3 op2=0 op1=0 CRn=0 Rt=5 CRm=6 dir=read
  const iss = (3n << 20n) | (5n << 5n) | (6n << 1n) | 1n;
  assert.equal(m.cpu.esr, (0x18n << 26n) | (1n << 25n) | iss);
});

test('IRQ is taken when unmasked, to VBAR+0x280, preferred return = next instruction', { skip }, () => {
  const m = run(
    `
    nop
    msr daifclr, #2
    nop
    nop
  `,
    VBAR + 0x280,
    (mm) => {
      mm.cpu.irqLine = true;
    },
  );
  // The interrupt is checked between slices; the unmask ends the slice.
  const elr = Number(m.cpu.elr);
  assert.ok(elr === CODE + 8, `elr 0x${elr.toString(16)}`);
  assert.equal(m.cpu.spsr & 0x3c0n, 0x340n, 'SPSR has I clear');
});

/** Build a 4-level table set: identity 1 GiB block for code, a few 4K pages at VA 0x1_0000_0000. */
function buildTables(m: ReturnType<typeof createRawMachine>): void {
  const L0 = TABLES;
  const L1 = TABLES + 0x1000;
  const L2 = TABLES + 0x2000;
  const L3 = TABLES + 0x3000;
  const w = (a: number, v: bigint) => m.memory.writeU64(a, v);
  const AF = 1n << 10n;
  w(L0, BigInt(L1) | 3n);
  w(L1 + 8 * 1, 0x40000000n | AF | 1n); // 1 GiB block, EL1 RW
  w(L1 + 8 * 4, BigInt(L2) | 3n); // VA 0x1_0000_0000
  w(L2, BigInt(L3) | 3n);
  w(L3 + 0, BigInt(DATA) | AF | 3n | (1n << 6n)); // RW at EL0 and EL1
  w(L3 + 8, BigInt(DATA + 0x1000) | AF | 3n | (1n << 7n)); // read-only EL1
  w(L3 + 16, BigInt(DATA + 0x2000) | 3n); // AF = 0
  // L3 entry 3 left invalid
}

const MMU_ON = `
    ldr x0, =${TABLES}
    msr ttbr0_el1, x0
    ldr x1, =0x10  // T0SZ = 16 (48-bit), 4K granule
    msr tcr_el1, x1
    mrs x2, sctlr_el1
    orr x2, x2, #1
    msr sctlr_el1, x2
    isb
    mov x9, #0x100000000
`;

test('MMU: page-table walk maps VA to PA; AT S1E1R fills PAR_EL1', { skip }, () => {
  const m = run(
    `${MMU_ON}
    ldr x3, [x9, #8]
    add x4, x9, #0x1000
    ldr x5, [x4]
    at s1e1r, x4
    mrs x6, par_el1
    add x7, x9, #0x3000
    at s1e1r, x7
    mrs x8, par_el1
    b end
    .ltorg
end:
  `,
    undefined,
    (mm) => {
      buildTables(mm);
      mm.memory.writeU64(DATA + 8, 0x1234n);
      mm.memory.writeU64(DATA + 0x1000, 0x5678n);
    },
  );
  assert.equal(x(m, 3), 0x1234n);
  assert.equal(x(m, 5), 0x5678n);
  assert.equal(x(m, 6) & 0xfffffffff000n, BigInt(DATA + 0x1000));
  assert.equal(x(m, 6) & 1n, 0n);
  assert.equal(x(m, 8) & 0x7fn, 1n | (7n << 1n), 'PAR.F=1, FST = level-3 translation fault');
});

function fault(src: string) {
  return run(`${MMU_ON}\n${src}\n b .\n.ltorg\n`, VBAR + 0x200, buildTables);
}

test('MMU: translation, permission and access-flag faults report DFSC, level, WnR and FAR', { skip }, () => {
  let m = fault('add x1, x9, #0x3000\n ldr x2, [x1, #16]');
  assert.equal(m.cpu.esr, (0x25n << 26n) | (1n << 25n) | 0x07n);
  assert.equal(m.cpu.far, 0x100003010n);
  m = fault('add x1, x9, #0x1000\n str x2, [x1]');
  assert.equal(m.cpu.esr, (0x25n << 26n) | (1n << 25n) | (1n << 6n) | 0x0fn);
  assert.equal(m.cpu.far, 0x100001000n);
  m = fault('add x1, x9, #0x2000\n ldrb w2, [x1, #5]');
  assert.equal(m.cpu.esr, (0x25n << 26n) | (1n << 25n) | 0x0bn);
  m = fault('mov x1, #0x200000000\n ldr x2, [x1]');
  assert.equal(m.cpu.esr & 0x3fn, 0x05n, 'level-1 translation fault');
  m = fault('mov x1, #0x40000000\n movk x1, #0x1, lsl #48\n ldr x2, [x1]');
  assert.equal(m.cpu.esr & 0x3fn, 0x04n, 'address outside the 48-bit TTBR0 range: level-0 fault');
});

test('unaligned exclusive raises an alignment fault', { skip }, () => {
  const m = run(`ldr x1, =${DATA + 4}\n ldxr x2, [x1]\n b .\n .ltorg\n`, VBAR + 0x200);
  assert.equal(m.cpu.esr & 0x3fn, 0x21n);
  assert.equal(m.cpu.far, BigInt(DATA + 4));
});

test('unmapped physical addresses and throwing devices give a synchronous external abort (DFSC 0x10)', { skip }, () => {
  let m = run(`ldr x1, =0x09000000\n ldr w2, [x1]\n b .\n .ltorg\n`, VBAR + 0x200);
  assert.equal(m.cpu.esr, (0x25n << 26n) | (1n << 25n) | 0x10n);
  assert.equal(m.cpu.far, 0x09000000n);
  m = run(`ldr x1, =0x09000000\n str w2, [x1]\n b .\n .ltorg\n`, VBAR + 0x200, (mm) => {
    mm.mmio.register(0x09000000, 0x1000, {
      name: 'broken',
      read: () => {
        throw new TypeError('device bug');
      },
      write: () => {
        throw new TypeError('device bug');
      },
    });
  });
  assert.equal(m.cpu.esr, (0x25n << 26n) | (1n << 25n) | (1n << 6n) | 0x10n);
});
