import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHeapMemory } from '../../src/memory/guest-memory.js';
import { buildX86Board } from '../../src/boards/x86/board.js';
import { RecordingIrq, type IrqLine } from '../../src/devices/device.js';
import type { ExitStatus } from '../../src/vmm/engine.js';
import { HVM_START_MAGIC } from '../../src/boards/x86/pvh.js';

/** The smallest PVH ELF the loader accepts: one byte of code at 1 MiB and the entry note. */
function tinyPvh(): Uint8Array {
  const img = new Uint8Array(0x200);
  const dv = new DataView(img.buffer);
  img.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(18, 62, true);
  dv.setBigUint64(32, 64n, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, 2, true);
  dv.setUint32(64, 1, true);
  dv.setBigUint64(72, 0x100n, true);
  dv.setBigUint64(88, 0x100000n, true);
  dv.setBigUint64(96, 1n, true);
  dv.setBigUint64(104, 1n, true);
  dv.setUint32(120, 4, true);
  dv.setBigUint64(128, 0x180n, true);
  dv.setBigUint64(152, 20n, true);
  dv.setBigUint64(160, 20n, true);
  dv.setUint32(0x180, 4, true);
  dv.setUint32(0x184, 4, true);
  dv.setUint32(0x188, 18, true);
  img.set([0x58, 0x65, 0x6e, 0], 0x18c);
  dv.setUint32(0x190, 0x100000, true);
  return img;
}

function make() {
  const exits: ExitStatus[] = [];
  const out: number[] = [];
  const lines = new Map<number, RecordingIrq>();
  const irqLine = (gsi: number): IrqLine => {
    const l = new RecordingIrq();
    lines.set(gsi, l);
    return l;
  };
  const memory = createHeapMemory([{ gpa: 0, size: 8 << 20 }]);
  const b = buildX86Board({ memory, cpus: 2, kernel: tinyPvh(), cmdline: 'x', consoleSink: (d) => out.push(...d), irqLine, onExit: (s) => exits.push(s) });
  return { b, exits, out, lines, memory };
}

test('port map: COM1 at 0x3F8 on GSI 4, i8042 0x60/0x64, RTC 0x70/0x71, debug-exit 0x501', () => {
  const { b, exits, out, lines } = make();
  b.pio.write(0x3f8, 1, 0x41);
  assert.deepEqual(out, [0x41]);
  b.pio.write(0x3f9, 1, 0x02); // IER.THRI
  assert.equal(lines.get(4)!.level, true);
  b.pio.write(0x64, 1, 0xaa);
  assert.equal((b.pio.read(0x64, 1) as number) & 1, 1);
  assert.equal(b.pio.read(0x60, 1), 0x55);
  b.pio.write(0x70, 1, 0x0d);
  assert.equal(b.pio.read(0x71, 1), 0x80);
  assert.equal(b.pio.read(0x2f8, 1), undefined, 'no COM2');
  b.pio.write(0x64, 1, 0xfe);
  b.pio.write(0x501, 1, 2);
  assert.deepEqual(exits, [{ kind: 'reset' }, { kind: 'debug-exit', code: 5 }]);
  assert.equal(b.mmio.devices.length, 0, 'LAPIC and IOAPIC belong to the engine');
});

test('PVH board writes start_info, MP table and GDT in low memory', () => {
  const { b, memory } = make();
  assert.equal(b.kernelKind, 'pvh');
  assert.equal(memory.readU32(b.bootState.regs.rbx), HVM_START_MAGIC);
  assert.equal(Buffer.from(memory.readBytes(0x9fc00, 4)).toString(), '_MP_');
  assert.equal(memory.readU64(b.bootState.sregs.gdt.base + b.bootState.sregs.cs.selector), 0x00cf9b000000ffffn);
});
