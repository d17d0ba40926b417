import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Psci, type PsciEngine } from '../../src/boards/arm-virt/psci.js';
import type { ExitStatus } from '../../src/vmm/engine.js';

function setup(ncpu = 2) {
  const on = new Array<boolean>(ncpu).fill(false);
  on[0] = true;
  const log: string[] = [];
  const stops: ExitStatus[] = [];
  const eng: PsciEngine = {
    cpuOn: (i, entry, ctx) => {
      if (on[i]) return -4;
      on[i] = true;
      log.push(`on ${i} ${entry.toString(16)} ${ctx.toString(16)}`);
      return 0;
    },
    cpuOff: (i) => {
      on[i] = false;
      log.push(`off ${i}`);
    },
    isCpuOn: (i) => on[i]!,
    requestStop: (s) => stops.push(s),
  };
  const psci = new Psci(ncpu, () => eng);
  const call = (index: number, ...x: bigint[]) => {
    const regs = [...x, 0n, 0n, 0n, 0n];
    psci.call({ index, getX: (n) => regs[n]!, setX: (n, v) => (regs[n] = v) });
    return regs[0]!;
  };
  return { call, log, stops, on };
}
const neg = (n: number) => BigInt.asUintN(64, BigInt(n));

test('psci: version, features, migrate info', () => {
  const t = setup();
  assert.equal(t.call(0, 0x84000000n), 0x10000n);
  assert.equal(t.call(0, 0x8400000an, 0xc4000003n), 0n);
  assert.equal(t.call(0, 0x8400000an, 0x80000000n), neg(-1), 'SMCCC_VERSION not offered');
  assert.equal(t.call(0, 0x84000006n), 2n);
  assert.equal(t.call(0, 0x84000055n), neg(-1), 'unknown → NOT_SUPPORTED');
  assert.equal(t.call(0, 0xc4000001n, 0n, 0n, 0n), 0n, 'CPU_SUSPEND returns at once');
});

test('psci: CPU_ON passes entry and context, ALREADY_ON, bad targets', () => {
  const t = setup();
  assert.equal(t.call(0, 0xc4000003n, 1n, 0x40080000n, 0xdeadbeef12n), 0n);
  assert.deepEqual(t.log, ['on 1 40080000 deadbeef12']);
  assert.equal(t.call(0, 0xc4000003n, 1n, 0x40080000n, 0n), neg(-4));
  assert.equal(t.call(0, 0xc4000003n, 2n, 0n, 0n), neg(-2), 'no CPU 2');
  assert.equal(t.call(0, 0xc4000003n, 0x100n, 0n, 0n), neg(-2), 'Aff1 != 0');
  // SMC32 form truncates arguments to 32 bits.
  t.on[1] = false;
  assert.equal(t.call(0, 0x84000003n, 0xffffffff00000001n, 0x1_4008_0000n, 0n), 0n);
  assert.equal(t.log[1], 'on 1 40080000 0');
});

test('psci: AFFINITY_INFO, CPU_OFF, SYSTEM_OFF, SYSTEM_RESET', () => {
  const t = setup();
  assert.equal(t.call(0, 0xc4000004n, 1n, 0n), 1n, 'off');
  assert.equal(t.call(0, 0xc4000004n, 0n, 0n), 0n, 'on');
  assert.equal(t.call(0, 0xc4000004n, 0n, 1n), neg(-2));
  t.call(0, 0x84000002n);
  assert.equal(t.on[0], false);
  t.call(1, 0x84000008n);
  t.call(1, 0x84000009n);
  assert.deepEqual(t.stops, [{ kind: 'poweroff' }, { kind: 'reset' }]);
});
