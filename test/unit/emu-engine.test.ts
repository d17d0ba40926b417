import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import { createEmuMemory } from '../../src/memory/guest-memory.js';
import { EmuEngine, type EmuPlatform } from '../../src/engines/emu/index.js';
import { HAVE_AS, assemble } from './emu-asm.js';

const skip = HAVE_AS ? false : 'aarch64-linux-gnu-as not installed';
const RAM = 0x40000000;

function machine(src: string, cpus: number, platform: (e: () => EmuEngine) => EmuPlatform) {
  const memory = createEmuMemory(RAM, 16 << 20);
  const words = assemble(src);
  words.forEach((w, i) => memory.writeU32(RAM + 4 * i, w));
  let engine: EmuEngine | undefined;
  engine = new EmuEngine({
    memory,
    mmio: new Bus('mmio'),
    cpus,
    entry: RAM,
    dtbAddr: 0x1234,
    platform: platform(() => engine!),
    host: { pending: () => false, poll: () => undefined },
  });
  return { engine, memory };
}

test('boot state: EL1h, x0 = DTB address, MPIDR Aff0 = cpu index, secondaries off', { skip }, () => {
  const { engine } = machine(`mov x1, x0\n mrs x2, mpidr_el1\n mrs x3, currentel\n hvc #9`, 2, (e) => ({
    hypercall: (cpu, imm) => {
      if (imm === 9) e().requestStop({ kind: 'poweroff' });
      return true;
    },
    timerIrq: () => {},
  }));
  assert.deepEqual(engine.run(), { kind: 'poweroff' });
  const c = engine.cpus[0]!;
  assert.equal(c.getX(1), 0x1234n);
  assert.equal(c.getX(2), 0x80000000n);
  assert.equal(c.getX(3), 4n);
  assert.equal(engine.isCpuOn(1), false);
});

test('CPU_ON starts a secondary at its entry with x0 = context id; it sees its own MPIDR', { skip }, () => {
  const { engine, memory } = machine(
    `
    mov x0, #1
    adr x1, secondary
    mov x2, #0x77
    hvc #0            // our test platform: cpuOn(x0, x1, x2)
1:  ldr x3, flag
    cbz x3, 1b
2:  hvc #7            // x0 = isCpuOn(1)
    cbnz x0, 2b
    hvc #9
secondary:
    mrs x4, mpidr_el1
    and x4, x4, #0xff
    add x4, x4, x0    // 1 + 0x77
    adr x5, flag
    str x4, [x5]
    hvc #8            // cpuOff
    .balign 8
flag: .quad 0
  `,
    2,
    (e) => ({
      hypercall: (cpu, imm) => {
        if (imm === 0) cpu.setX(0, BigInt(e().cpuOn(Number(cpu.getX(0)), cpu.getX(1), cpu.getX(2))));
        if (imm === 7) cpu.setX(0, e().isCpuOn(1) ? 1n : 0n);
        if (imm === 8) e().cpuOff(cpu.index);
        if (imm === 9) e().requestStop({ kind: 'poweroff' });
        return true;
      },
      timerIrq: () => {},
    }),
  );
  assert.deepEqual(engine.run(), { kind: 'poweroff' });
  assert.equal(engine.cpus[0]!.getX(2), 0x77n);
  assert.equal(engine.cpus[0]!.getX(3), 0x78n);
  assert.equal(engine.isCpuOn(1), false, 'secondary turned itself off');
  assert.ok(memory.readU64(RAM) !== 0n);
});

test('virtual timer: WFI sleeps until the deadline, the timer line raises an IRQ taken at VBAR+0x280', { skip }, () => {
  const levels: boolean[] = [];
  const { engine } = machine(
    `
    adr x0, vectors
    msr vbar_el1, x0
    mrs x1, cntfrq_el0
    lsr x1, x1, #4          // 1/16 s = 62.5 ms
    msr cntv_tval_el0, x1
    mov x2, #1
    msr cntv_ctl_el0, x2    // enable, unmasked
    mrs x10, cntvct_el0
    msr daifclr, #2
1:  wfi
    b 1b
    .balign 2048
vectors:
    .skip 0x280
    mrs x11, cntvct_el0
    mrs x12, cntv_ctl_el0   // ISTATUS set
    mov x3, #3
    msr cntv_ctl_el0, x3    // mask: the line drops
    hvc #9
  `,
    1,
    (e) => ({
      hypercall: (_cpu, imm) => {
        if (imm === 9) e().requestStop({ kind: 'poweroff' });
        return true;
      },
      timerIrq: (cpu, virt, level) => {
        assert.equal(virt, true);
        levels.push(level);
        e().setIrq(cpu, level);
      },
    }),
  );
  const t0 = performance.now();
  assert.deepEqual(engine.run(), { kind: 'poweroff' });
  const ms = performance.now() - t0;
  const c = engine.cpus[0]!;
  assert.ok(c.getX(11) >= c.cntvCval, `IRQ taken at counter ${c.getX(11)}, before the deadline ${c.cntvCval}`);
  assert.ok(c.cntvCval - c.getX(10) <= 62_500_000n / 16n, 'deadline = TVAL write + 62.5 ms');
  assert.ok(ms >= 55 && ms < 2000, `wall time ${ms} ms`);
  assert.ok(c.retired < 100_000, `WFI must sleep, not spin (${c.retired} instructions)`);
  assert.equal(c.getX(12), 5n, 'CNTV_CTL: ENABLE | ISTATUS');
  assert.deepEqual(levels, [true, false]);

});

test('EL0 counter access follows CNTKCTL_EL1', { skip }, () => {
  const { engine } = machine(
    `
    adr x0, vectors
    msr vbar_el1, x0
    mov x1, #2
    msr cntkctl_el1, x1     // EL0VCTEN only
    adr x2, user
    msr elr_el1, x2
    msr spsr_el1, xzr
    eret
user:
    mrs x3, cntvct_el0      // allowed
    mrs x4, cntpct_el0      // traps (EC 0x18)
    .balign 2048
vectors:
    .skip 0x400
    mrs x5, esr_el1
    hvc #9
  `,
    1,
    (e) => ({
      hypercall: (_cpu, imm) => {
        if (imm === 9) e().requestStop({ kind: 'poweroff' });
        return true;
      },
      timerIrq: () => {},
    }),
  );
  engine.run();
  const c = engine.cpus[0]!;
  assert.ok(c.getX(3) > 0n);
  assert.equal(c.getX(5) >> 26n, 0x18n);
});
