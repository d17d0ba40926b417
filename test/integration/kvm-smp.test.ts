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
    inb $0x12, %al          # port read, forwarded: device answers 0x5a
    out %al, $0x11
    mov $msg, %si
    mov $3, %cx
    mov $0x11, %dx
    rep outsb               # string I/O, forwarded with count 3
    mov $0xa000, %ax
    mov %ax, %ds
    movl $0xcafef00d, 0x10  # MMIO write at 0xa0010, forwarded
    movl 0x20, %eax         # MMIO read at 0xa0020, forwarded
    xor %bx, %bx
    mov %bx, %ds
    out %eax, $0x11
    out %al, $0x13          # done
    cli
1:  hlt
    jmp 1b
msg: .byte 0xa1, 0xa2, 0xa3`;

test('two vCPUs: AP started by INIT/SIPI reports its APIC ids; its port, string and MMIO exits reach the buses', (t) => {
  if (skip) return t.skip(skip);
  // RAM below the legacy VGA hole, so real-mode code can reach an MMIO device at 0xa0000.
  const memory = createMmapMemory([{ gpa: 0, size: 0xa0000 }]);
  memory.writeBytes(0x1000, assemble(BSP, 0x1000));
  memory.writeBytes(0x8000, assemble(AP, 0x8000));
  const pio = new Bus('pio');
  const mmio = new Bus('mmio');
  let engine: KvmEngine | undefined;
  const seen: number[] = [];
  const fromAp: number[] = [];
  pio.register(0x10, 1, new Recorder('ids', (_o, _s, v) => void seen.push(v)));
  pio.register(
    0x11,
    3,
    new Recorder(
      'ap-io',
      (off, _s, v) => {
        if (off === 0) fromAp.push(v >>> 0);
        else engine!.requestStop({ kind: 'debug-exit', code: 0 });
      },
      () => 0x5a,
    ),
  );
  const vga = new Recorder('mmio', undefined, (off) => (off === 0x20 ? 0x600d_f00d : 0));
  mmio.register(0xa0000, 0x1000, vga);
  const host = testHost();
  engine = new KvmEngine({ memory, pio, mmio, cpus: 2, bootState: flat32State(0x1000), host });
  const started = Date.now();
  try {
    const status = runGuarded(engine, host);
    assert.deepEqual(status, { kind: 'debug-exit', code: 0 });
    assert.deepEqual(seen, [0x000, 0x101, 0x201]);
    assert.deepEqual(fromAp, [0x5a, 0xa1, 0xa2, 0xa3, 0x600df00d]);
    assert.deepEqual(vga.writes, [{ offset: 0x10, size: 4, value: 0xcafef00d }]);
    // 9 exits, or more when KVM splits the string I/O into several exits.
    assert.ok(engine.stats.forwardedExits >= 9, `forwarded ${engine.stats.forwardedExits}`);
    assert.ok(Date.now() - started < 20_000);
  } finally {
    engine.close();
  }
});

test('a triple fault on an AP ends the whole VM as a triple fault', (t) => {
  if (skip) return t.skip(skip);
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeBytes(0x1000, assemble(BSP, 0x1000));
  // 32-bit protected mode with an empty IDT: ud2 faults, delivering the #UD faults, the double fault shuts the
  // vCPU down. (Not real mode: there the IVT is read whatever its limit.)
  memory.writeU64(0x508, 0x00cf_9a00_0000_ffffn); // GDT 0x08: flat 32-bit code
  memory.writeU64(0x518, 0x00cf_9200_0000_ffffn); // GDT 0x18: flat data
  const ap = `.code16
    lgdt gdtr
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmp $0x08, $pm32
.code32
pm32:
    mov $0x18, %ax
    mov %ax, %ds
    mov %ax, %ss
    lidt zero
    ud2
1:  jmp 1b
gdtr: .word 0x1f
    .long 0x500
zero: .word 0
    .long 0`;
  memory.writeBytes(0x8000, assemble(ap, 0x8000));
  const host = testHost();
  const engine = new KvmEngine({ memory, pio: new Bus('pio'), mmio: new Bus('mmio'), cpus: 2, bootState: flat32State(0x1000), host });
  try {
    assert.deepEqual(runGuarded(engine, host, 10_000), { kind: 'triple-fault' });
  } finally {
    engine.close();
  }
});
