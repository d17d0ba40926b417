import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GicV2, GIC_SPURIOUS } from '../../src/devices/gicv2.js';
import { GicV2Distributor } from '../../src/devices/gicv2-dist.js';
import { GicV2CpuInterface } from '../../src/devices/gicv2-cpu.js';

function setup(cpus = 2) {
  const irq = new Array<boolean>(cpus).fill(false);
  const changes: string[] = [];
  let cur = 0;
  const gic = new GicV2({
    cpus,
    irqs: 256,
    setCpuIrq: (c, l) => {
      irq[c] = l;
      changes.push(`${c}:${l}`);
    },
    currentCpu: () => cur,
  });
  const d = new GicV2Distributor(gic);
  const c = new GicV2CpuInterface(gic);
  const as = (cpu: number) => {
    cur = cpu;
  };
  // Linux-like bring-up: distributor on, each CPU interface on with PMR 0xf0.
  const enableAll = () => {
    d.write(0x000, 4, 1);
    for (let k = 0; k < cpus; k++) {
      as(k);
      c.write(0x04, 4, 0xf0);
      c.write(0x00, 4, 1);
    }
    as(0);
  };
  const enableSpi = (id: number, prio = 0xa0, target = 1) => {
    d.write(0x400 + id, 1, prio);
    d.write(0x800 + id, 1, target);
    d.write(0x100 + 4 * (id >>> 5), 4, 1 << (id & 31));
  };
  return { gic, d, c, irq, changes, as, enableAll, enableSpi, iar: () => c.read(0x0c, 4), eoi: (v: number) => c.write(0x10, 4, v) };
}

test('gic: TYPER reports interrupt lines and CPU count; IIDRs identify Arm', () => {
  const { d, c } = setup(2);
  assert.equal(d.read(0x004, 4), 7 | (1 << 5));
  assert.equal(d.read(0x008, 4) & 0xfff, 0x43b);
  assert.equal(c.read(0xfc, 4) & 0xfff, 0x43b);
  assert.equal((c.read(0xfc, 4) >>> 16) & 0xf, 2, 'architecture version 2');
});

test('gic: level SPI stays pending while the line is high and re-asserts after EOI', () => {
  const t = setup();
  t.enableAll();
  t.enableSpi(33);
  const line = t.gic.spiLine(1);
  line.set(true);
  assert.deepEqual(t.irq, [true, false], 'routed to CPU 0 only');
  assert.equal(t.iar(), 33);
  assert.equal(t.irq[0], false, 'active: not signalled again');
  assert.equal(t.iar(), GIC_SPURIOUS);
  t.eoi(33);
  assert.equal(t.irq[0], true, 'line still high: pending again');
  assert.equal(t.iar(), 33);
  line.set(false);
  t.eoi(33);
  assert.equal(t.irq[0], false);
  assert.equal(t.iar(), GIC_SPURIOUS);
});

test('gic: edge SPI latches on the rising edge, also while active', () => {
  const t = setup();
  t.enableAll();
  t.d.write(0xc00 + 4 * 3, 4, 2 << 0); // ICFGR3 covers INTIDs 48-63: INTID 48 edge
  t.enableSpi(48);
  const line = t.gic.spiLine(16);
  line.pulse();
  assert.equal(t.irq[0], true);
  assert.equal(t.iar(), 48);
  line.pulse(); // a second edge while active: active + pending
  assert.equal(t.irq[0], false);
  assert.equal(t.d.read(0x200 + 4, 4) & (1 << 16), 1 << 16, 'ISPENDR shows pending');
  assert.equal(t.d.read(0x300 + 4, 4) & (1 << 16), 1 << 16, 'ISACTIVER shows active');
  t.eoi(48);
  assert.equal(t.irq[0], true);
  assert.equal(t.iar(), 48);
  t.eoi(48);
  assert.equal(t.iar(), GIC_SPURIOUS, 'edges do not stay pending');
  // A level high held on an edge interrupt does not re-trigger.
  line.set(true);
  assert.equal(t.iar(), 48);
  t.eoi(48);
  assert.equal(t.iar(), GIC_SPURIOUS);
});

test('gic: highest priority first, preemption by running priority, PMR masks', () => {
  const t = setup();
  t.enableAll();
  t.enableSpi(40, 0xa0);
  t.enableSpi(41, 0x80);
  t.enableSpi(42, 0xf0); // not below PMR 0xf0: never signalled
  t.gic.spiLine(8).set(true);
  t.gic.spiLine(9).set(true);
  t.gic.spiLine(10).set(true);
  assert.equal(t.c.read(0x18, 4), 41, 'HPPIR');
  assert.equal(t.iar(), 41);
  assert.equal(t.c.read(0x14, 4), 0x80, 'RPR is the active priority');
  assert.equal(t.irq[0], false, '0xa0 does not preempt 0x80');
  assert.equal(t.iar(), GIC_SPURIOUS);
  t.gic.spiLine(9).set(false);
  t.eoi(41);
  assert.equal(t.c.read(0x14, 4), 0xff, 'idle');
  assert.equal(t.iar(), 40);
  // Now a higher-priority interrupt arrives: it preempts.
  t.gic.spiLine(9).set(true);
  assert.equal(t.irq[0], true);
  assert.equal(t.iar(), 41);
  t.eoi(41);
  assert.equal(t.c.read(0x14, 4), 0xa0, 'back to the preempted priority');
  t.eoi(40);
  t.gic.spiLine(8).set(false);
  t.gic.spiLine(9).set(false);
  assert.equal(t.iar(), GIC_SPURIOUS, '0xf0 stays masked by PMR');
  t.c.write(0x04, 4, 0xff);
  assert.equal(t.iar(), 42);
});

test('gic: SGIs carry their source and honour the target list filter', () => {
  const t = setup(2);
  t.enableAll();
  for (const cpu of [0, 1]) {
    t.as(cpu);
    t.d.write(0x100, 4, 0x0000ffff); // enable SGIs (banked)
    t.d.write(0x400, 4, 0xa0a0a0a0);
  }
  t.as(0);
  t.d.write(0xf00, 4, (0 << 24) | (0x2 << 16) | 3); // to CPU 1, SGI 3
  assert.deepEqual(t.irq, [false, true]);
  assert.equal(t.d.read(0xf10, 4), 0, 'CPU 0 sees nothing pending');
  t.as(1);
  assert.equal(t.d.read(0xf10, 4), 1 << 24, 'SPENDSGIR/CPENDSGIR: SGI 3 from CPU 0');
  assert.equal(t.iar(), 3);
  t.eoi(3);
  t.d.write(0xf00, 4, (1 << 24) | 1); // all but self: CPU 0
  assert.equal(t.irq[1], false);
  t.as(0);
  assert.equal(t.iar(), 1 | (1 << 10), 'SGI 1 from CPU 1');
  t.eoi(1 | (1 << 10));
  t.d.write(0xf00, 4, (2 << 24) | 2); // self
  assert.deepEqual(t.irq, [true, false]);
  t.d.write(0xf10, 1, 0); // writing 0 clears nothing
  t.d.write(0xf10 + 2, 1, 1); // CPENDSGIR: clear SGI 2 from CPU 0
  assert.equal(t.irq[0], false);
  assert.equal(t.iar(), GIC_SPURIOUS);
});

test('gic: two sources of one SGI are acknowledged one at a time', () => {
  const t = setup(3);
  t.enableAll();
  t.d.write(0x100, 4, 0xffff);
  t.as(1);
  t.d.write(0xf00, 4, (1 << 16) | 5);
  t.as(2);
  t.d.write(0xf00, 4, (1 << 16) | 5);
  t.as(0);
  assert.equal(t.iar(), 5 | (1 << 10));
  t.eoi(5 | (1 << 10));
  assert.equal(t.iar(), 5 | (2 << 10));
  t.eoi(5 | (2 << 10));
  assert.equal(t.iar(), GIC_SPURIOUS);
});

test('gic: SGI/PPI registers are banked and ITARGETSR0-7 read as the CPU itself', () => {
  const t = setup(2);
  t.enableAll();
  t.as(0);
  assert.equal(t.d.read(0x800, 4), 0x01010101);
  t.d.write(0x100, 4, 1 << 27);
  t.d.write(0x400 + 27, 1, 0x20);
  t.as(1);
  assert.equal(t.d.read(0x81c, 4), 0x02020202);
  assert.equal(t.d.read(0x100, 4), 0, 'CPU 1 has its own enables');
  assert.equal(t.d.read(0x400 + 24, 4), 0, 'and its own priorities');
  t.d.write(0x800, 4, 0xffffffff); // read-only
  assert.equal(t.d.read(0x800, 4), 0x02020202);
  // The virtual timer PPI of CPU 1 does nothing while CPU 1 has it disabled; CPU 0's fires on CPU 0.
  t.gic.ppiLine(1, 11).set(true);
  assert.deepEqual(t.irq, [false, false]);
  t.gic.ppiLine(0, 11).set(true);
  assert.deepEqual(t.irq, [true, false]);
  t.as(0);
  assert.equal(t.iar(), 27);
});

test('gic: ICFGR keeps SGIs edge and read-only; byte access to IPRIORITYR', () => {
  const t = setup();
  assert.equal(t.d.read(0xc00, 4), 0xaaaaaaaa);
  t.d.write(0xc00, 4, 0);
  assert.equal(t.d.read(0xc00, 4), 0xaaaaaaaa);
  t.d.write(0xc08, 4, 0x00000008); // INTID 33 edge
  assert.equal(t.d.read(0xc08, 4), 0x00000008);
  t.d.write(0x400 + 34, 1, 0x5a);
  assert.equal(t.d.read(0x420, 4), 0x005a0000);
  assert.equal(t.d.read(0x422, 1), 0x5a);
});

test('gic: nothing is signalled while the distributor or CPU interface is disabled', () => {
  const t = setup();
  t.enableSpi(33);
  t.gic.spiLine(1).set(true);
  assert.equal(t.irq[0], false);
  t.d.write(0, 4, 1);
  assert.equal(t.irq[0], false, 'CPU interface still off');
  assert.equal(t.iar(), GIC_SPURIOUS);
  t.c.write(0x04, 4, 0xff);
  t.c.write(0x00, 4, 1);
  assert.equal(t.irq[0], true);
  t.d.write(0x180 + 4, 4, 1 << 1); // ICENABLER
  assert.equal(t.irq[0], false);
});

test('gic: EOImode 1 splits priority drop (EOIR) from deactivation (DIR)', () => {
  const t = setup();
  t.enableAll();
  t.c.write(0x00, 4, 1 | (1 << 9));
  t.enableSpi(33);
  const line = t.gic.spiLine(1);
  line.set(true);
  assert.equal(t.iar(), 33);
  t.eoi(33);
  assert.equal(t.c.read(0x14, 4), 0xff, 'priority dropped');
  assert.equal(t.irq[0], false, 'still active');
  t.c.write(0x1000, 4, 33);
  assert.equal(t.irq[0], true, 'deactivated, line high: pending again');
});

test('gic: an SPI targeted at both CPUs is taken by the first to acknowledge (1-of-N)', () => {
  const t = setup();
  t.enableAll();
  t.enableSpi(50, 0xa0, 3);
  t.gic.spiLine(18).pulse();
  assert.deepEqual(t.irq, [true, true]);
  t.as(1);
  assert.equal(t.iar(), 50);
  assert.deepEqual(t.irq, [false, false]);
  t.as(0);
  assert.equal(t.iar(), GIC_SPURIOUS);
});

test('gic: IRQ output callback fires only on level changes', () => {
  const t = setup();
  t.enableAll();
  t.enableSpi(33);
  t.enableSpi(34);
  t.changes.length = 0;
  t.gic.spiLine(1).set(true);
  t.gic.spiLine(2).set(true);
  t.gic.spiLine(1).set(true);
  assert.deepEqual(t.changes, ['0:true']);
});

test('gic: hostile register traffic never throws and keeps state in range', () => {
  const t = setup(2);
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
  for (let k = 0; k < 50000; k++) {
    const sizes = [1, 2, 4] as const;
    const size = sizes[rnd() % 3]!;
    t.as(rnd() % 3 === 0 ? 7 : rnd() % 2); // also an out-of-range CPU index
    const dev = rnd() & 1 ? t.d : t.c;
    const off = rnd() % 0x1100;
    if (rnd() & 1) dev.write(off, size, rnd() | (rnd() << 16));
    else dev.read(off, size);
    if (k % 7 === 0) t.gic.spiLine(rnd() % 200).set((rnd() & 1) === 1);
    if (k % 11 === 0) t.gic.spiLine(rnd() % 200).pulse();
    if (k % 13 === 0) t.gic.ppiLine(rnd() % 2, rnd() % 16).set((rnd() & 1) === 1);
    if (k % 17 === 0) t.c.write(0x10, 4, t.c.read(0x0c, 4)); // acknowledge + EOI
    // The incrementally maintained highest-pending cache must equal a full rescan.
    for (let cpu = 0; cpu < 2; cpu++) assert.equal(t.gic.hppi[cpu], t.gic['computeHppi'](cpu), `step ${k} cpu ${cpu}`);
  }
  t.gic.setLine(0, 5000, true); // out-of-range INTID: ignored
  assert.throws(() => t.gic.spiLine(300), RangeError);
  assert.throws(() => t.gic.ppiLine(2, 11), RangeError);
});

test('gic: the incremental highest-pending cache matches a full rescan under random traffic', () => {
  const t = setup(2);
  t.enableAll();
  let seed = 99;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
  // A programmed GIC, priorities from a small set so that ties are common.
  for (const cpu of [0, 1]) {
    t.as(cpu);
    t.d.write(0x100, 4, 0xffffffff);
    for (let id = 0; id < 32; id++) t.d.write(0x400 + id, 1, [0x80, 0xa0][rnd() & 1]!);
  }
  for (let id = 32; id < 96; id++) {
    t.d.write(0x400 + id, 1, [0x80, 0xa0, 0xc0][rnd() % 3]!);
    t.d.write(0x800 + id, 1, 1 + (rnd() % 3));
  }
  t.d.write(0x104, 4, 0xffffffff);
  t.d.write(0x108, 4, 0xffffffff);
  t.d.write(0xc08, 4, 0xaaaa0000); // some SPIs edge
  let acks = 0;
  for (let k = 0; k < 30000; k++) {
    const cpu = rnd() & 1;
    t.as(cpu);
    switch (rnd() % 8) {
      case 0: case 1: t.gic.spiLine(rnd() % 64).set((rnd() & 1) === 1); break;
      case 2: t.gic.spiLine(rnd() % 64).pulse(); break;
      case 3: t.gic.ppiLine(cpu, rnd() % 16).set((rnd() & 1) === 1); break;
      case 4: t.d.write(0xf00, 4, (1 + (rnd() % 3)) << 16 | (rnd() % 16)); break;
      case 5: {
        const v = t.iar();
        if (v !== GIC_SPURIOUS) acks++;
        if (rnd() % 4 !== 0) t.eoi(v);
        break;
      }
      case 6: t.eoi(rnd() % 96); break;
      case 7: if (rnd() % 8 === 0) t.d.write(0x400 + 32 + (rnd() % 64), 1, [0x80, 0xa0][rnd() & 1]!); break;
    }
    for (let c = 0; c < 2; c++) assert.equal(t.gic.hppi[c], t.gic['computeHppi'](c), `step ${k} cpu ${c}`);
  }
  assert.ok(acks > 100, `interrupts were delivered (${acks})`);
});
