import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODE, HAVE_AS, assemble, runAsm, x } from './emu-asm.js';
import { createRawMachine, loadWords, runUntil } from '../../src/engines/emu/raw-runner.js';

const skip = HAVE_AS ? false : 'aarch64-linux-gnu-as not installed';

test('ID registers describe an ARMv8.0 Cortex-A57 with EL0/EL1 only', { skip }, () => {
  const m = runAsm(`
    mrs x0, midr_el1
    mrs x1, id_aa64pfr0_el1
    mrs x2, id_aa64isar0_el1
    mrs x3, id_aa64mmfr0_el1
    mrs x4, ctr_el0
    mrs x5, dczid_el0
    mrs x6, cntfrq_el0
    mrs x7, id_aa64mmfr1_el1
    mrs x8, id_aa64dfr0_el1
    mrs x9, currentel
  `);
  assert.equal(x(m, 0), 0x411fd070n);
  assert.equal((x(m, 1) >> 8n) & 0xffn, 0n, 'EL2 and EL3 not implemented');
  assert.equal(x(m, 1) & 0xffn, 0x11n, 'EL0 and EL1: AArch64 only');
  assert.equal((x(m, 1) >> 16n) & 0xffn, 0n, 'FP and AdvSIMD implemented');
  assert.equal(x(m, 2), 0x10000n, 'CRC32 only: no LSE, AES, SHA');
  assert.equal((x(m, 3) >> 28n) & 0xfn, 0n, '4K granule supported');
  assert.equal(x(m, 3) & 0xfn, 5n, '48-bit PA');
  assert.equal(x(m, 4) & 0xfn, 4n, '64-byte I-cache lines');
  assert.equal(x(m, 5), 4n, 'DC ZVA allowed, 64-byte blocks');
  assert.equal(x(m, 6), 62500000n);
  assert.equal(x(m, 7), 0n, 'no PAN, no VHE, no hardware AF/DBM');
  assert.equal((x(m, 8) >> 8n) & 0xfn, 0n, 'no PMU');
  assert.equal(x(m, 9), 4n);
});

test('SPSel selects SP_EL0 or SP_EL1 at EL1; MSR SP_EL0 writes the banked one', { skip }, () => {
  const m = runAsm(`
    mov x0, #0x1000
    mov sp, x0          // SP_EL1
    mov x1, #0x2000
    msr sp_el0, x1
    msr spsel, #0
    mov x2, sp          // SP_EL0
    mov x3, #0x3000
    mov sp, x3
    msr spsel, #1
    mov x4, sp
    mrs x5, sp_el0
    mrs x6, spsel
  `);
  assert.equal(x(m, 2), 0x2000n);
  assert.equal(x(m, 4), 0x1000n);
  assert.equal(x(m, 5), 0x3000n);
  assert.equal(x(m, 6), 1n);
});

/** Run `user` at EL0 with the given SCTLR_EL1 bits; returns ESR after the first exception. */
function atEl0(user: string, sctlrBits: number): { esr: bigint; x: (n: number) => bigint } {
  const m = createRawMachine();
  const words = assemble(`
    ldr x0, =${CODE + 0x8000}
    msr vbar_el1, x0
    mrs x1, sctlr_el1
    ldr x2, =${sctlrBits}
    orr x1, x1, x2
    msr sctlr_el1, x1
    adr x3, user
    msr elr_el1, x3
    msr spsr_el1, xzr
    eret
    .ltorg
user:
${user}
    svc #0
`);
  loadWords(m.memory, CODE, words);
  runUntil(m.cpu, BigInt(CODE + 0x8400), 1000);
  return { esr: m.cpu.esr, x: (n) => m.cpu.getX(n) };
}

test('EL0 CTR_EL0 and DC ZVA trap (EC 0x18) unless SCTLR_EL1.UCT/DZE allow them', { skip }, () => {
  let r = atEl0('mrs x5, ctr_el0', 0);
  assert.equal(r.esr >> 26n, 0x18n);
  r = atEl0('mrs x5, ctr_el0', 1 << 15);
  assert.equal(r.esr >> 26n, 0x15n, 'reached the SVC');
  assert.equal(r.x(5), 0x8444c004n);
  r = atEl0('mov x6, sp\n dc zva, x6', 0);
  assert.equal(r.esr >> 26n, 0x18n);
  r = atEl0('mrs x7, dczid_el0', 0);
  assert.equal(r.x(7), 0x14n, 'DZP set while DC ZVA is prohibited at EL0');
  r = atEl0('mrs x8, sctlr_el1', 0);
  assert.equal(r.esr >> 26n, 0n, 'EL1 registers are UNDEFINED at EL0');
  r = atEl0('msr daifset, #2', 0);
  assert.equal(r.esr >> 26n, 0x18n, 'DAIF access needs SCTLR_EL1.UMA');
});

test('WFI halts the CPU when no interrupt is pending and not when one is', { skip }, () => {
  let m = runAsm('wfi\n nop');
  assert.equal(m.cpu.halted, true);
  m = runAsm('wfi\n mov x1, #7', (mm) => {
    mm.cpu.irqLine = true; // pending but masked: WFI completes, execution continues
  });
  assert.equal(m.cpu.halted, false);
  assert.equal(x(m, 1), 7n);
});

test('FP/SIMD instructions trap with EC 0x07 when CPACR_EL1.FPEN disables them', { skip }, () => {
  const m = createRawMachine();
  loadWords(m.memory, CODE, assemble('fmov d0, #1.0\n'));
  m.cpu.vbar = BigInt(CODE + 0x8000);
  m.cpu.cpacr = 0n;
  m.cpu.updateMode();
  runUntil(m.cpu, BigInt(CODE + 0x8200), 10);
  assert.equal(m.cpu.esr >> 26n, 0x07n);
  assert.equal(m.cpu.elr, BigInt(CODE));
});
