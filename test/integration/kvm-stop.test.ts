/**
 * Stopping a guest that never exits on its own: another thread posts a stop
 * and kicks the machine thread with a bare tgkill (no immediate_exit), as the
 * host link does. The kick must never be lost, even when it lands while the
 * machine thread is outside KVM_RUN.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import { sys } from '../../src/sys/native.js';
import type { ExitStatus } from '../../src/vmm/engine.js';
import { KvmEngine, createMmapMemory } from '../../src/engines/kvm/index.js';
import { kickLater, assemble, flat32State, kvmSkipReason, realModeState, Recorder, testHost } from './kvm-guest.js';

const skip = kvmSkipReason();
test('a spinning guest stops when the host link posts a stop and kicks', (t) => {
  if (skip) return t.skip(skip);
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, assemble('.code16\n1: jmp 1b', 0x1000));
  const flag = new Int32Array(new SharedArrayBuffer(8));
  const host = testHost(flag, { kind: 'stopped', reason: 'host asked' });
  // No poll timer: only the kick can end this run.
  const engine = new KvmEngine({ memory, pio: new Bus('pio'), mmio: new Bus('mmio'), cpus: 1, bootState: realModeState(0x1000), host, pollIntervalMs: 0 });
  try {
    kickLater(flag, engine.kick.tid, engine.kick.signal, 300);
    const t0 = Date.now();
    assert.deepEqual(engine.run(), { kind: 'stopped', reason: 'host asked' });
    const ms = Date.now() - t0;
    assert.ok(ms >= 250 && ms < 10_000, `stopped after ${ms} ms`);
    assert.ok(engine.stats.exits <= 3, `exits: ${engine.stats.exits}`);
  } finally {
    engine.close();
  }
});

test('a kick sent while the machine thread is outside KVM_RUN is not lost', (t) => {
  if (skip) return t.skip(skip);
  // The port handler kicks its own thread (outside KVM_RUN, like a host-link kick landing during exit handling),
  // then the guest spins without exits. Only a kick kept pending until KVM_RUN can end this run.
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, assemble('.code16\n out %al, $0x10\n1: jmp 1b', 0x1000));
  const pio = new Bus('pio');
  let engine: KvmEngine | undefined;
  pio.register(0x10, 1, new Recorder('self-kick', () => sys().tgkill(engine!.kick.tid, engine!.kick.signal)));
  const watchdog = new Int32Array(new SharedArrayBuffer(8));
  const host = {
    pending: () => true,
    poll(): ExitStatus | undefined {
      if (Atomics.load(watchdog, 0) !== 0) return { kind: 'stopped', reason: 'watchdog: kick was lost' };
      return engine!.stats.interruptions > 0 ? { kind: 'stopped', reason: 'kicked' } : undefined;
    },
  };
  engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus: 1, bootState: realModeState(0x1000), host, pollIntervalMs: 0 });
  const dog = kickLater(watchdog, engine.kick.tid, engine.kick.signal, 5000);
  try {
    assert.deepEqual(engine.run(), { kind: 'stopped', reason: 'kicked' });
  } finally {
    void dog.terminate();
    engine.close();
  }
});

test('stopping a 2-vCPU VM ends the AP worker too (AP spinning in guest code)', (t) => {
  if (skip) return t.skip(skip);
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(
    0x1000,
    assemble(
      `.code32
      movl $0x01000000, 0xfee00310
      movl $0x00004500, 0xfee00300
      movl $0x01000000, 0xfee00310
      movl $0x00004608, 0xfee00300
  1:  jmp 1b`,
      0x1000,
    ),
  );
  memory.writeBytes(0x8000, assemble('.code16\n out %al, $0x10\n1: jmp 1b', 0x8000));
  const pio = new Bus('pio');
  const flag = new Int32Array(new SharedArrayBuffer(8));
  let engine: KvmEngine | undefined;
  // When the AP reports in, ask another thread to stop us.
  pio.register(0x10, 1, new Recorder('ap', () => void kickLater(flag, engine!.kick.tid, engine!.kick.signal, 100)));
  engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus: 2, bootState: flat32State(0x1000), host: testHost(flag) });
  try {
    const t0 = Date.now();
    assert.deepEqual(engine.run(), { kind: 'stopped', reason: 'host' });
    assert.equal(engine.stats.forwardedExits, 1);
    assert.ok(Date.now() - t0 < 10_000);
  } finally {
    engine.close();
  }
});

test('the poll timer calls host.poll() every pollIntervalMs while the guest spins without exits', (t) => {
  if (skip) return t.skip(skip);
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, assemble('.code16\n1: jmp 1b', 0x1000));
  let polls = 0;
  const host = {
    pending: () => false, // nobody posts anything and nobody kicks
    poll(): ExitStatus | undefined {
      return ++polls >= 5 ? { kind: 'stopped', reason: 'fifth poll' } : undefined;
    },
  };
  const engine = new KvmEngine({ memory, pio: new Bus('pio'), mmio: new Bus('mmio'), cpus: 1, bootState: realModeState(0x1000), host, pollIntervalMs: 20 });
  try {
    const t0 = Date.now();
    assert.deepEqual(engine.run(), { kind: 'stopped', reason: 'fifth poll' });
    const ms = Date.now() - t0;
    assert.ok(ms >= 70 && ms < 5000, `five polls took ${ms} ms`);
    assert.equal(engine.stats.exits, 0, 'the guest itself never exited');
  } finally {
    engine.close();
  }
});
