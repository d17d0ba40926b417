/**
 * Two vCPUs: the BSP (vCPU 0, machine thread) starts the AP (vCPU 1, a
 * worker) with INIT/SIPI through the in-kernel LAPIC; each reports its APIC id
 * from CPUID leaf 1 on a port. The AP's port write travels through the
 * mailbox to the machine thread's bus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import { KvmEngine, createMmapMemory } from '../../src/engines/kvm/index.js';
import { runGuarded, assemble, flat32State, kvmSkipReason, Recorder, testHost } from './kvm-guest.js';

const skip = kvmSkipReason();

const BSP = `.code32
    mov $1, %eax
    cpuid
    shr $24, %ebx
    mov %ebx, %eax
    out %eax, $0x10
    movl $0x01000000, 0xfee00310   # ICR high: destination APIC id 1
    movl $0x00004500, 0xfee00300   # INIT
    movl $0x01000000, 0xfee00310
    movl $0x00004608, 0xfee00300   # SIPI, vector 8: start at 0x8000
    cli
1:  hlt
    jmp 1b`;

const AP = `.code16
    mov $1, %eax
    cpuid
    shr $24, %ebx
    mov %ebx, %eax
    or $0x100, %eax
    out %eax, $0x10
    mov $0x0b, %eax
    xor %ecx, %ecx
    cpuid                  # leaf 0xB: EDX = x2APIC id
    or $0x200, %edx
    mov %edx, %eax
    out %eax, $0x10
    cli
1:  hlt
    jmp 1b`;

test('two vCPUs: AP started by INIT/SIPI, each reports its own APIC id', (t) => {
  if (skip) return t.skip(skip);
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, assemble(BSP, 0x1000));
  memory.writeBytes(0x8000, assemble(AP, 0x8000));
  const pio = new Bus('pio');
  let engine: KvmEngine | undefined;
  const seen: number[] = [];
  pio.register(
    0x10,
    1,
    new Recorder('report', (_o, _s, v) => {
      seen.push(v);
      if (seen.length === 3) engine!.requestStop({ kind: 'debug-exit', code: 0 });
    }),
  );
  const host = testHost();
  engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus: 2, bootState: flat32State(0x1000), host });
  const started = Date.now();
  try {
    const status = runGuarded(engine, host);
    assert.deepEqual(status, { kind: 'debug-exit', code: 0 });
    assert.deepEqual(seen, [0x000, 0x101, 0x201]);
    assert.equal(engine.stats.forwardedExits, 2);
    assert.ok(Date.now() - started < 20_000);
  } finally {
    engine.close();
  }
});
