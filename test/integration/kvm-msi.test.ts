/**
 * MSI through KVM_SET_GSI_ROUTING (an MSI route fed by an irqfd, as virtio-pci
 * MSI-X will use it) and KVM_SIGNAL_MSI, delivered by the in-kernel LAPIC to a
 * 32-bit protected-mode guest with an IDT. The default PIC/IOAPIC routes stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/devices/bus.js';
import { KvmEngine, createMmapMemory } from '../../src/engines/kvm/index.js';
import { runGuarded, assemble, flat32State, kvmSkipReason, Recorder, testHost } from './kvm-guest.js';

const skip = kvmSkipReason();
const GDT = 0x500;
const IDT = 0x600;

const GUEST = `.code32
    .macro gate vec, handler
    mov $\\handler, %eax
    movw %ax, ${IDT} + \\vec * 8
    movw $0x08, ${IDT} + \\vec * 8 + 2
    movw $0x8e00, ${IDT} + \\vec * 8 + 4
    shr $16, %eax
    movw %ax, ${IDT} + \\vec * 8 + 6
    .endm
    gate 0x40, h40
    gate 0x41, h41
    gate 0x24, h24
    lidt idtr
    mov $0xff, %al              # mask the 8259s: GSI 4 also drives PIC pin 4 (ExtINT on LINT0)
    out %al, $0x21
    out %al, $0xa1
    movl $0x18, 0xfec00000      # IOAPIC redirection entry 4, low half
    movl $0x24, 0xfec00010      # vector 0x24, fixed, edge, unmasked
    movl $0x19, 0xfec00000      # high half: destination APIC id 0
    movl $0, 0xfec00010
    movl $0x1ff, 0xfee000f0     # LAPIC software-enable, spurious vector 0xff
    sti
    out %al, $0x11              # ready
1:  hlt
    jmp 1b
h40: mov $0x40, %al
    jmp report
h41: mov $0x41, %al
    jmp report
h24: mov $0x24, %al
report:
    out %al, $0x10
    movl $0, 0xfee000b0         # EOI
    # No iret: KVM's instruction emulator (all guest code runs emulated under PVM) only handles real-mode IRET.
    # Wait for the next interrupt nested on this stack instead.
    sti
2:  hlt
    jmp 2b
idtr: .word 0x7ff
    .long ${IDT}`;

test('MSI route + irqfd and KVM_SIGNAL_MSI reach the guest LAPIC; IOAPIC GSI routes are kept', (t) => {
  if (skip) return t.skip(skip);
  const memory = createMmapMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeU64(GDT + 0x08, 0x00cf_9a00_0000_ffffn); // flat 32-bit code
  memory.writeU64(GDT + 0x18, 0x00cf_9200_0000_ffffn); // flat data
  memory.writeBytes(0x1000, assemble(GUEST, 0x1000));
  const pio = new Bus('pio');
  let engine: KvmEngine | undefined;
  const vectors: number[] = [];
  pio.register(
    0x10,
    2,
    new Recorder('report', (off, _s, value) => {
      const e = engine!;
      if (off === 1) {
        const gsi = e.allocMsiGsi();
        assert.ok(gsi >= 24);
        e.setMsiRoute(gsi, { addressLo: 0xfee0_0000, addressHi: 0, data: 0x40 });
        e.irqfd(gsi).line.pulse();
        return;
      }
      vectors.push(value);
      if (value === 0x40) e.signalMsi({ addressLo: 0xfee0_0000, addressHi: 0, data: 0x41 });
      else if (value === 0x41) e.irqLine(4).pulse(); // the default IOAPIC route of GSI 4 survived the MSI table
      else e.requestStop({ kind: 'debug-exit', code: 0 });
    }),
  );
  const boot = flat32State(0x1000);
  boot.sregs.gdt = { base: GDT, limit: 0x1f };
  const host = testHost();
  engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus: 1, bootState: boot, host });
  try {
    assert.deepEqual(runGuarded(engine, host), { kind: 'debug-exit', code: 0 });
    assert.deepEqual(vectors, [0x40, 0x41, 0x24]);
  } finally {
    engine.close();
  }
});
