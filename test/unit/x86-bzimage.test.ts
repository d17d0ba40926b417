import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHeapMemory } from '../../src/memory/guest-memory.js';
import { buildX86Board } from '../../src/boards/x86/board.js';
import { X86LoadError } from '../../src/boards/x86/errors.js';
import { NO_IRQ } from '../../src/devices/device.js';
import { BOOT_PARAMS_ADDR, CMDLINE_ADDR, PML4_ADDR, GDT_ADDR, BOOT_STACK_TOP } from '../../src/boards/x86/layout.js';

const MiB = 1024 * 1024;

/** A synthetic bzImage: setup_sects=0 (means 4), protocol 2.15, 64-bit, relocatable. */
function fakeBzImage(over: { version?: number; xloadflags?: number; initSize?: number; pref?: number; initrdMax?: number; cmdlineSize?: number; flag?: number } = {}) {
  const setup = 5 * 512;
  const img = new Uint8Array(setup + 0x3000);
  const dv = new DataView(img.buffer);
  img[0x1f1] = 0;
  dv.setUint16(0x1fe, over.flag ?? 0xaa55, true);
  img[0x200] = 0xeb;
  img[0x201] = 0x6a; // header ends at 0x26c
  dv.setUint32(0x202, 0x53726448, true);
  dv.setUint16(0x206, over.version ?? 0x020f, true);
  img[0x211] = 0x01; // LOADED_HIGH
  dv.setUint32(0x22c, over.initrdMax ?? 0x7fffffff, true);
  dv.setUint32(0x230, 0x200000, true);
  img[0x234] = 1;
  dv.setUint16(0x236, over.xloadflags ?? 0x1, true);
  dv.setUint32(0x238, over.cmdlineSize ?? 2047, true);
  dv.setBigUint64(0x258, BigInt(over.pref ?? 0x1000000), true);
  dv.setUint32(0x260, over.initSize ?? 0x800000, true);
  img[0x250] = 0x77; // setup_data low byte: copied verbatim from the header
  for (let i = setup; i < img.length; i++) img[i] = (i * 7) & 0xff;
  return img;
}

function board(kernel: Uint8Array, opts: { ramMiB?: number; initrd?: Uint8Array; cmdline?: string; acpi?: boolean } = {}) {
  const memory = createHeapMemory([{ gpa: 0, size: (opts.ramMiB ?? 64) * MiB }]);
  const b = buildX86Board({
    memory, cpus: 2, kernel, initrd: opts.initrd, cmdline: opts.cmdline ?? 'console=ttyS0 earlyprintk=serial',
    consoleSink: () => {}, irqLine: () => NO_IRQ, onExit: () => {}, acpi: opts.acpi,
  });
  return { memory, b };
}

test('boot_params: header copied at 0x1F1, loader fields, cmdline, initrd, e820 at the boot.rst offsets', () => {
  const kernel = fakeBzImage();
  const initrd = new Uint8Array(10000).fill(0xab);
  const { memory: m, b } = board(kernel, { initrd });
  const bp = BOOT_PARAMS_ADDR;
  assert.equal(b.kernelKind, 'bzimage');
  assert.equal(m.readU16(bp + 0x1fe), 0xaa55);
  assert.equal(m.readU32(bp + 0x202), 0x53726448);
  assert.equal(m.readU16(bp + 0x206), 0x020f);
  assert.equal(m.readU8(bp + 0x250), 0x77, 'whole setup header copied');
  assert.equal(m.readU8(bp + 0x26c), 0, 'nothing past the header end copied');
  assert.equal(m.readU8(bp + 0x1ef), 0, 'sentinel stays 0');
  assert.equal(m.readU8(bp + 0x210), 0xff, 'type_of_loader');
  assert.equal(m.readU8(bp + 0x211), 0x81, 'LOADED_HIGH | CAN_USE_HEAP');
  assert.equal(m.readU16(bp + 0x224), 0xfe00, 'heap_end_ptr');
  assert.equal(m.readU32(bp + 0x228), CMDLINE_ADDR);
  assert.equal(m.readU32(bp + 0xc8), 0, 'ext_cmd_line_ptr');
  assert.equal(Buffer.from(m.readBytes(CMDLINE_ADDR, 34)).toString(), 'console=ttyS0 earlyprintk=serial\0\0');
  // initrd: page aligned, at the top of RAM, recorded in ramdisk_image/size
  const rd = m.readU32(bp + 0x218);
  assert.equal(rd, 64 * MiB - 0x3000);
  assert.equal(m.readU32(bp + 0x21c), 10000);
  assert.equal(m.readU32(bp + 0xc0), 0);
  assert.equal(m.readU8(rd + 9999), 0xab);
  // kernel loaded at pref_address (16 MiB) since it fits; entry at +0x200
  assert.equal(b.loadAddr, 0x1000000);
  assert.equal(m.readU8(0x1000000 + 3), kernel[5 * 512 + 3]);
  assert.equal(b.bootState.regs.rip, 0x1000200);
  assert.equal(b.bootState.regs.rsi, bp);
  assert.equal(b.bootState.regs.rsp, BOOT_STACK_TOP);
  assert.equal(b.bootState.regs.rflags & 0x200, 0, 'interrupts off');
  // e820: 4 entries at 0x2D0, count at 0x1E8
  assert.equal(m.readU8(bp + 0x1e8), 4);
  const e = (i: number) => [Number(m.readU64(bp + 0x2d0 + i * 20)), Number(m.readU64(bp + 0x2d8 + i * 20)), m.readU32(bp + 0x2e0 + i * 20)];
  assert.deepEqual(e(0), [0, 0x9fc00, 1]);
  assert.deepEqual(e(1), [0x9fc00, 0x400, 2]);
  assert.deepEqual(e(2), [0xe0000, 0x20000, 2]);
  assert.deepEqual(e(3), [0x100000, 63 * MiB, 1]);
});

test('64-bit entry state: long mode, paging, __BOOT_CS 0x10 / __BOOT_DS 0x18', () => {
  const { b } = board(fakeBzImage());
  const s = b.bootState.sregs;
  assert.equal(s.cr3, PML4_ADDR);
  assert.equal((s.cr0 & 0x80000001) >>> 0, 0x80000001);
  assert.equal(s.cr4 & 0x20, 0x20);
  assert.equal(s.efer & 0x500, 0x500);
  assert.equal(s.cs.selector, 0x10);
  assert.equal(s.cs.l, true);
  assert.equal(s.cs.db, false);
  for (const seg of [s.ds, s.es, s.ss]) assert.equal(seg.selector, 0x18);
  assert.equal(s.gdt.base, GDT_ADDR);
});

test('kernel loads at 1 MiB without a usable pref_address; the decompressor still needs init_size at its aligned run address', () => {
  const { b } = board(fakeBzImage({ pref: 0, initSize: 0x100000 }), { ramMiB: 3 });
  assert.equal(b.loadAddr, 0x100000);
  assert.equal(b.bootState.regs.rip, 0x100200);
  // runs at 2 MiB (1 MiB aligned up to kernel_alignment) and needs 1 MiB there: 3 MiB is enough, 2.5 is not
  assert.equal(code(() => board(fakeBzImage({ pref: 0, initSize: 0x100000 }), { ramMiB: 2.5 })), 'kernel-too-large');
});

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof X86LoadError, String(e));
    assert.ok(!e.message.includes('\n'), 'one-line message');
    return e.code;
  }
  return 'no error';
}

test('loader errors are typed', () => {
  assert.equal(code(() => board(fakeBzImage({ flag: 0x1234 }))), 'not-a-kernel');
  assert.equal(code(() => board(new Uint8Array(100))), 'not-a-kernel');
  assert.equal(code(() => board(fakeBzImage({ version: 0x0204 }))), 'protocol-too-old');
  assert.equal(code(() => board(fakeBzImage({ xloadflags: 0 }))), 'no-64bit-entry');
  assert.equal(code(() => board(fakeBzImage({ initSize: 0x4000000 }), { ramMiB: 32 })), 'kernel-too-large');
  assert.equal(code(() => board(fakeBzImage({ cmdlineSize: 8 }))), 'cmdline-too-long');
  assert.equal(code(() => board(fakeBzImage(), { initrd: new Uint8Array(60 * MiB) })), 'initrd-too-large');
  assert.equal(code(() => board(fakeBzImage({ initrdMax: 0x1800000 - 1 }), { initrd: new Uint8Array(MiB) })), 'initrd-above-max');
});

test('initrd honours initrd_addr_max when there is room below it', () => {
  const { memory: m } = board(fakeBzImage({ initrdMax: 0x2800000 - 1 }), { initrd: new Uint8Array(MiB) });
  assert.equal(m.readU32(BOOT_PARAMS_ADDR + 0x218), 0x2800000 - MiB);
});

test('every boot state number is a non-negative integer (KVM takes them as u64)', () => {
  const walk = (v: unknown, where: string): void => {
    if (typeof v === 'number') assert.ok(Number.isSafeInteger(v) && v >= 0, `${where} = ${v}`);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
  };
  walk(board(fakeBzImage()).b.bootState, 'long mode');
  walk(board(fakeBzImage()).b.bootState.sregs.cr0, 'cr0');
  assert.equal(board(fakeBzImage()).b.bootState.sregs.cr0, 0x80000011);
});

test('acpi_rsdp_addr (boot_params 0x070) is 0 without ACPI and the RSDP with it; the sleep port appears only with ACPI', () => {
  const without = board(fakeBzImage());
  assert.equal(without.memory.readU64(BOOT_PARAMS_ADDR + 0x70), 0n);
  assert.equal(without.b.pio.lookup(0x600), undefined);
  const withAcpi = board(fakeBzImage(), { acpi: true });
  assert.equal(withAcpi.b.rsdpAddr, 0xe0000);
  assert.equal(withAcpi.memory.readU64(BOOT_PARAMS_ADDR + 0x70), 0xe0000n);
  assert.equal(Buffer.from(withAcpi.memory.readBytes(0xe0000, 8)).toString(), 'RSD PTR ');
  assert.equal(withAcpi.b.pio.lookup(0x600)?.device.name, 'acpi-sleep');
});
