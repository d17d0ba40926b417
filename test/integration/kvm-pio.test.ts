/** Port I/O and MMIO exits of a real guest on /dev/kvm reach the device buses (real mode, 32-bit, 64-bit). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import { writeIdentityPageTables } from '../../src/boards/x86/page-tables.js';
import { writeBootGdt } from '../../src/boards/x86/gdt.js';
import { longModeBootState } from '../../src/boards/x86/boot-state.js';
import { KvmEngine, createMmapMemory } from '../../src/engines/kvm/index.js';
import { runGuarded, assemble, flat32State, kvmSkipReason, realModeState, Recorder, testHost } from './kvm-guest.js';

const skip = kvmSkipReason();

test('real-mode guest: out/in of sizes 1, 2, 4, string I/O both ways, unmapped port reads all-ones', (t) => {
  if (skip) return t.skip(skip);
  const code = assemble(
    `.code16
    mov $0x1234, %ax
    out %ax, $0x10
    inb $0x12, %al
    out %al, $0x10
    inb $0x13, %al          # nothing at 0x13: 0xff
    out %al, $0x10
    mov $0x13, %dx
    in (%dx), %ax           # 0xffff
    out %ax, $0x10
    mov $0xcafef00d, %eax
    out %eax, $0x10
    inl $0x12, %eax         # 4-byte read of the device
    out %eax, $0x10
    mov $msg, %si
    mov $3, %cx
    mov $0x10, %dx
    rep outsb               # one exit with count 3
    mov $0x2000, %di
    mov $4, %cx
    mov $0x12, %dx
    rep insb                # 4 reads of the device into 0x2000..0x2003
    out %al, $0x11          # done
1:  jmp 1b
msg: .byte 0xa1, 0xa2, 0xa3`,
    0x1000,
  );
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, code);
  const pio = new Bus('pio');
  let engine: KvmEngine | undefined;
  const report = new Recorder('report', (off) => {
    if (off === 1) engine!.requestStop({ kind: 'debug-exit', code: 0 });
  }, (off, size) => (off === 2 ? (size === 4 ? 0x11223344 : 0x5a) : 0));
  pio.register(0x10, 3, report);
  const host = testHost();
  engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus: 1, bootState: realModeState(0x1000), host });
  try {
    const status = runGuarded(engine, host);
    assert.deepEqual(status, { kind: 'debug-exit', code: 0 });
    const got = report.writes.filter((w) => w.offset === 0).map((w) => [w.size, w.value]);
    assert.deepEqual(got, [
      [2, 0x1234],
      [1, 0x5a],
      [1, 0xff],
      [2, 0xffff],
      [4, 0xcafef00d],
      [4, 0x11223344],
      [1, 0xa1],
      [1, 0xa2],
      [1, 0xa3],
    ]);
    assert.deepEqual([...memory.readBytes(0x2000, 5)], [0x5a, 0x5a, 0x5a, 0x5a, 0]);
  } finally {
    engine.close();
  }
});

test('32-bit guest: MMIO writes and reads of sizes 1, 2, 4 reach the MMIO bus; unmapped reads all-ones', (t) => {
  if (skip) return t.skip(skip);
  const code = assemble(
    `.code32
    movl $0xdeadbeef, 0xd0000000
    movw $0xbeef, 0xd0000004
    movb $0x7e, 0xd0000006
    movl 0xd0000008, %eax
    out %eax, $0x10
    movw 0xd0000008, %ax
    out %ax, $0x10
    movl 0xe0000000, %eax    # unmapped
    out %eax, $0x10
    movl $1, 0xe0000000      # unmapped write: ignored
    out %al, $0x11
1:  jmp 1b`,
    0x1000,
  );
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, code);
  const pio = new Bus('pio');
  const mmio = new Bus('mmio');
  let engine: KvmEngine | undefined;
  const report = new Recorder('report', (off) => {
    if (off === 1) engine!.requestStop({ kind: 'debug-exit', code: 0 });
  });
  pio.register(0x10, 2, report);
  const dev = new Recorder('mmio-dev', undefined, (off, size) => (off === 8 ? (size === 4 ? 0x01020304 : 0x0506) : 0));
  mmio.register(0xd000_0000, 0x1000, dev);
  const host = testHost();
  engine = new KvmEngine({ memory, pio, mmio, cpus: 1, bootState: flat32State(0x1000), host });
  try {
    assert.deepEqual(runGuarded(engine, host), { kind: 'debug-exit', code: 0 });
    assert.deepEqual(dev.writes, [
      { offset: 0, size: 4, value: 0xdeadbeef },
      { offset: 4, size: 2, value: 0xbeef },
      { offset: 6, size: 1, value: 0x7e },
    ]);
    assert.deepEqual(
      report.writes.filter((w) => w.offset === 0).map((w) => w.value >>> 0),
      [0x01020304, 0x0506, 0xffffffff],
    );
  } finally {
    engine.close();
  }
});

test('64-bit guest: 8-byte MMIO write and read go through the bus as 64-bit accesses', (t) => {
  if (skip) return t.skip(skip);
  const code = assemble(
    `.code64
    mov $0xd0000000, %ebx
    movabs $0x1122334455667788, %rax
    mov %rax, (%rbx)
    mov 8(%rbx), %rax
    out %eax, $0x10
    shr $32, %rax
    out %eax, $0x10
    out %al, $0x11
1:  jmp 1b`,
    0x1000,
  );
  const memory = createMmapMemory([{ gpa: 0, size: 2 << 20 }]);
  memory.writeBytes(0x1000, code);
  const pml4 = writeIdentityPageTables(memory, 0x10000, 0x11000, 0x12000, 4);
  const gdt = writeBootGdt(memory, 0x500);
  const pio = new Bus('pio');
  const mmio = new Bus('mmio');
  let engine: KvmEngine | undefined;
  const report = new Recorder('report', (off) => {
    if (off === 1) engine!.requestStop({ kind: 'debug-exit', code: 0 });
  });
  pio.register(0x10, 2, report);
  const wide = { name: 'wide', wide: true, writes: [] as Array<[number, bigint]>, read: () => 0, write() {},
    read64: (off: number) => (off === 8 ? 0xa1b2c3d4e5f60718n : 0n),
    write64(off: number, v: bigint) { this.writes.push([off, v]); } };
  mmio.register(0xd000_0000, 0x1000, wide);
  const host = testHost();
  engine = new KvmEngine({ memory, pio, mmio, cpus: 1, bootState: longModeBootState({ entry: 0x1000, bootParams: 0, pml4, stack: 0x8000, gdt }), host });
  try {
    assert.deepEqual(runGuarded(engine, host), { kind: 'debug-exit', code: 0 });
    assert.deepEqual(wide.writes, [[0, 0x1122334455667788n]]);
    assert.deepEqual(report.writes.filter((w) => w.offset === 0).map((w) => w.value >>> 0), [0xe5f60718, 0xa1b2c3d4]);
  } finally {
    engine.close();
  }
});
