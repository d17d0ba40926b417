/**
 * Interrupts through the in-kernel irqchip (KVM_IRQ_LINE and irqfd) and
 * ioeventfd (guest writes counted by the kernel with no userspace exit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import type { IrqLine } from '../../src/devices/device.js';
import { KvmEngine, createMmapMemory } from '../../src/engines/kvm/index.js';
import { readdirSync, readlinkSync } from 'node:fs';
import { sys } from '../../src/sys/native.js';
import { runGuarded, assemble, flat32State, kvmSkipReason, realModeState, Recorder, testHost } from './kvm-guest.js';

const skip = kvmSkipReason();

test('close() releases every file descriptor the engine opened (VM, vCPUs, eventfds)', (t) => {
  if (skip) return t.skip(skip);
  // Count only what the engine opens (kvm fds, eventfds). This test runs first in the file, before any worker
  // thread exists, so nothing else opens or closes eventfds meanwhile.
  const fds = (): number =>
    readdirSync('/proc/self/fd').filter((n) => {
      try {
        return /kvm|eventfd/.test(readlinkSync(`/proc/self/fd/${n}`));
      } catch {
        return false;
      }
    }).length;
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  const before = fds();
  const engine = new KvmEngine({ memory, pio: new Bus('pio'), mmio: new Bus('mmio'), cpus: 1, bootState: realModeState(0x1000), host: testHost() });
  engine.irqfd(5);
  engine.ioeventfd(0x600, { pio: true, length: 2 });
  const removed = engine.ioeventfd(0x602, { pio: true, length: 2 });
  removed.remove();
  assert.equal(fds(), before + 5, 'kvm, vm, vcpu and two eventfds are open');
  engine.close();
  assert.equal(fds(), before);
});

/**
 * Real-mode guest: programs the 8259 (vector base 0x20, only IRQ 4 unmasked),
 * installs an IVT handler for vector 0x24 that reports 0x24 on port 0x10,
 * says "ready" on port 0x11, then waits with sti; hlt.
 */
const PIC_GUEST = `.code16
    cli
    mov $0x11, %al
    out %al, $0x20
    mov $0x20, %al
    out %al, $0x21
    mov $0x04, %al
    out %al, $0x21
    mov $0x01, %al
    out %al, $0x21
    mov $0xef, %al
    out %al, $0x21
    mov $0xff, %al
    out %al, $0xa1
    movw $handler, 0x90
    movw $0, 0x92
    out %al, $0x11
    sti
1:  hlt
    jmp 1b
handler:
    mov $0x24, %al
    out %al, $0x10
    mov $0x20, %al
    out %al, $0x20
    iret`;

function runIrqGuest(makeLine: (e: KvmEngine) => IrqLine): { vectors: number[]; status: unknown } {
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, assemble(PIC_GUEST, 0x1000));
  const pio = new Bus('pio');
  let line: IrqLine | undefined;
  let engine: KvmEngine | undefined;
  const vectors: number[] = [];
  pio.register(
    0x10,
    2,
    new Recorder('report', (off, _size, value) => {
      if (off === 1) line!.pulse(); // guest is ready: raise IRQ 4
      else {
        vectors.push(value);
        engine!.requestStop({ kind: 'debug-exit', code: 0 });
      }
    }),
  );
  const host = testHost();
  engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus: 1, bootState: realModeState(0x1000), host });
  try {
    line = makeLine(engine);
    return { vectors, status: runGuarded(engine, host) };
  } finally {
    engine.close();
  }
}

test('KVM_IRQ_LINE on GSI 4 reaches the guest through the in-kernel PIC as vector 0x24', (t) => {
  if (skip) return t.skip(skip);
  const r = runIrqGuest((e) => e.irqLine(4));
  assert.deepEqual(r.status, { kind: 'debug-exit', code: 0 });
  assert.deepEqual(r.vectors, [0x24]);
});

test('irqfd on GSI 4: an eventfd write interrupts the guest', (t) => {
  if (skip) return t.skip(skip);
  const r = runIrqGuest((e) => e.irqfd(4).line);
  assert.deepEqual(r.status, { kind: 'debug-exit', code: 0 });
  assert.deepEqual(r.vectors, [0x24]);
});

test('ioeventfd: 1000 guest port writes signal the eventfd without exits; datamatch filters', (t) => {
  if (skip) return t.skip(skip);
  const code = assemble(
    `.code16
    mov $1000, %cx
    mov $0x500, %dx
1:  out %al, (%dx)
    loop 1b
    mov $0x504, %dx
    mov $7, %al
    out %al, (%dx)
    out %al, (%dx)
    mov $8, %al
    out %al, (%dx)          # no match: a normal exit to the bus
    out %al, $0x11
2:  jmp 2b`,
    0x1000,
  );
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, code);
  const pio = new Bus('pio');
  let engine: KvmEngine | undefined;
  pio.register(0x11, 1, new Recorder('done', () => engine!.requestStop({ kind: 'debug-exit', code: 0 })));
  const busWrites = new Recorder('0x500-0x507');
  pio.register(0x500, 8, busWrites);
  const host = testHost();
  engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus: 1, bootState: realModeState(0x1000), host });
  try {
    const any = engine.ioeventfd(0x500, { pio: true, length: 1 });
    const match = engine.ioeventfd(0x504, { pio: true, length: 1, datamatch: 7 });
    assert.deepEqual(runGuarded(engine, host), { kind: 'debug-exit', code: 0 });
    assert.equal(sys().eventfdRead(any.fd), 1000n);
    assert.equal(sys().eventfdRead(match.fd), 2n);
    assert.deepEqual(busWrites.writes, [{ offset: 4, size: 1, value: 8 }]);
    // 2 exits to userspace (the non-matching write and "done"), not ~1000.
    assert.ok(engine.stats.exits <= 4, `exits: ${engine.stats.exits}`);
  } finally {
    engine.close();
  }
});

test('MMIO ioeventfd: 32-bit guest writes to a notify register signal the eventfd, other offsets exit', (t) => {
  if (skip) return t.skip(skip);
  const code = assemble(
    `.code32
    mov $100, %ecx
1:  movl $0, 0xd0000050       # a virtio-style queue notify
    dec %ecx
    jnz 1b
    movl $1, 0xd0000054       # not registered: an ordinary MMIO exit
    out %al, $0x11
2:  jmp 2b`,
    0x1000,
  );
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, code);
  const pio = new Bus('pio');
  const mmio = new Bus('mmio');
  let engine: KvmEngine | undefined;
  pio.register(0x11, 1, new Recorder('done', () => engine!.requestStop({ kind: 'debug-exit', code: 0 })));
  const dev = new Recorder('notify-dev');
  mmio.register(0xd000_0000, 0x1000, dev);
  const host = testHost();
  engine = new KvmEngine({ memory, pio, mmio, cpus: 1, bootState: flat32State(0x1000), host });
  try {
    const notify = engine.ioeventfd(0xd000_0050, { pio: false, length: 4 });
    assert.deepEqual(runGuarded(engine, host), { kind: 'debug-exit', code: 0 });
    assert.equal(sys().eventfdRead(notify.fd), 100n);
    assert.deepEqual(dev.writes, [{ offset: 0x54, size: 4, value: 1 }]);
    assert.ok(engine.stats.exits <= 4, `exits: ${engine.stats.exits}`);
  } finally {
    engine.close();
  }
});
