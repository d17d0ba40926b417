import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildArmVirt } from '../../src/boards/arm-virt/board.js';
import { ImageError } from '../../src/boards/arm-virt/image.js';
import { parseFdt, fdtFind, propCells, propStrings } from '../../src/boards/fdt/fdt-reader.js';
import type { IrqLine } from '../../src/devices/device.js';
import type { EmuEngineControl } from '../../src/engines/emu/platform.js';
import type { ExitStatus } from '../../src/vmm/engine.js';
import { fakeImage } from './arm-image-fixture.js';

const MIB = 1048576;

function fakeEngine() {
  const irqs: string[] = [];
  const stops: ExitStatus[] = [];
  const e = {
    currentCpu: 0,
    setIrq: (c: number, l: boolean) => irqs.push(`${c}:${l}`),
    setFiq: () => {},
    cpuOn: () => 0,
    cpuOff: () => {},
    isCpuOn: () => true,
    requestStop: (s: ExitStatus) => stops.push(s),
  } satisfies EmuEngineControl;
  return { e, irqs, stops };
}

function build(extra: Partial<Parameters<typeof buildArmVirt>[0]> = {}) {
  const out: number[] = [];
  let virtioIrq: IrqLine | undefined;
  const kernel = fakeImage({ imageSize: 3 * MIB, length: 8192 });
  const initrd = new Uint8Array(5000).fill(0x5a);
  const board = buildArmVirt({
    memorySize: 64 * MIB,
    cpus: 2,
    kernel,
    initrd,
    cmdline: 'console=ttyAMA0 earlycon=pl011,0x09000000',
    consoleSink: (b) => out.push(...b),
    virtio: [
      (irq) => {
        virtioIrq = irq;
        return { name: 'vdev', read: (o) => (o === 0 ? 0x74726976 : 0), write: () => {} };
      },
    ],
    ...extra,
  });
  return { board, out, kernel, initrd, virtioIrq: () => virtioIrq! };
}

test('arm-virt: kernel, initrd and DTB are in RAM where the boot protocol wants them', () => {
  const { board, kernel, initrd } = build();
  assert.equal(board.entry, 0x40000000);
  assert.deepEqual(board.memory.readBytes(board.entry, kernel.length), kernel);
  assert.equal(board.memory.readU32(board.entry + kernel.length), 0, 'bss zero');
  assert.equal(board.dtbAddr % (2 * MIB), 0);
  assert.deepEqual(board.memory.readBytes(board.initrdStart!, initrd.length), initrd);
  const dtb = board.memory.readBytes(board.dtbAddr, board.dtb.length);
  assert.deepEqual(dtb, board.dtb);

  const root = parseFdt(dtb).root;
  const chosen = fdtFind(root, '/chosen')!;
  assert.deepEqual(propStrings(chosen.props.get('bootargs')), ['console=ttyAMA0 earlycon=pl011,0x09000000']);
  assert.deepEqual(propStrings(chosen.props.get('stdout-path')), ['/pl011@9000000']);
  assert.deepEqual(propCells(chosen.props.get('linux,initrd-start')), [0, board.initrdStart!]);
  assert.deepEqual(propCells(chosen.props.get('linux,initrd-end')), [0, board.initrdEnd!]);
  assert.equal(chosen.props.get('rng-seed')!.length, 64);
  assert.equal(chosen.props.has('kaslr-seed'), false, 'KASLR off unless asked for');
  const k = parseFdt(build({ kaslrSeed: true, rngSeed: false }).board.dtb).root;
  assert.equal(fdtFind(k, '/chosen')!.props.get('kaslr-seed')!.length, 8);
  assert.equal(fdtFind(k, '/chosen')!.props.has('rng-seed'), false);
  assert.deepEqual(propCells(fdtFind(root, '/memory@40000000')!.props.get('reg')), [0, 0x40000000, 0, 64 * MIB]);
  assert.equal(fdtFind(root, '/cpus')!.children.length, 2);
  assert.deepEqual(propCells(fdtFind(root, '/cpus/cpu@1')!.props.get('reg')), [1]);
  const gicPh = propCells(fdtFind(root, '/intc@8000000')!.props.get('phandle'))[0];
  assert.deepEqual(propCells(root.props.get('interrupt-parent')), [gicPh]);
  assert.deepEqual(propCells(fdtFind(root, '/timer')!.props.get('interrupts')),
    [1, 13, 0x304, 1, 14, 0x304, 1, 11, 0x304, 1, 10, 0x304]);
  const clk = propCells(fdtFind(root, '/apb-pclk')!.props.get('phandle'))[0];
  const uart = fdtFind(root, '/pl011@9000000')!;
  assert.deepEqual(propCells(uart.props.get('clocks')), [clk, clk]);
  assert.deepEqual(propCells(uart.props.get('interrupts')), [0, 1, 4]);
  assert.deepEqual(propStrings(fdtFind(root, '/psci')!.props.get('method')), ['hvc']);
  const vm = fdtFind(root, '/virtio_mmio@a000000')!;
  assert.deepEqual(propCells(vm.props.get('interrupts')), [0, 16, 1]);
  assert.ok(vm.props.has('dma-coherent'));
  assert.equal(fdtFind(root, '/virtio_mmio@a000200'), undefined, 'only the slots in use');
});

test('arm-virt: devices are on the MMIO bus at the virt addresses', () => {
  const { board, out } = build();
  assert.equal(board.mmio.read(0x0a000000, 4), 0x74726976, 'virtio slot 0');
  assert.equal(board.mmio.read(0x09000fe0, 4), 0x11, 'PL011 PeriphID0');
  assert.equal(board.mmio.read(0x09010fe0, 4), 0x31, 'PL031 PeriphID0');
  assert.equal(board.mmio.read(0x08000004, 4), 7 | (1 << 5), 'GICD_TYPER');
  assert.equal((board.mmio.read(0x08010000 + 0xfc, 4) as number) & 0xfff, 0x43b, 'GICC_IIDR');
  board.mmio.write(0x09000000, 4, 0x4f);
  assert.deepEqual(out, [0x4f]);
  assert.ok(Math.abs((board.mmio.read(0x09010000, 4) as number) - Date.now() / 1000) < 5, 'RTC has the host date');
});

test('arm-virt: UART and virtio interrupts reach the CPU through the GIC once attached', () => {
  const { board, virtioIrq } = build();
  const { e, irqs } = fakeEngine();
  board.attach(e);
  assert.deepEqual(irqs, ['0:false', '1:false']);
  irqs.length = 0;
  const w = (a: number, v: number) => board.mmio.write(a, 4, v);
  w(0x08000000, 1); // GICD_CTLR
  w(0x08010004, 0xf0); // GICC_PMR
  w(0x08010000, 1); // GICC_CTLR
  w(0x08000420, 0xa0a0a0a0); // priorities 32..35
  w(0x08000820, 0x01010101); // targets CPU 0
  w(0x08000830, 0x00000001); // INTID 48 → CPU 0
  w(0x08000104, (1 << 1) | (1 << 16)); // enable SPI 1 (UART) and SPI 16 (virtio)
  w(0x08000c0c, 2); // INTID 48 edge
  w(0x09000030, 0x301); // UART on
  w(0x09000038, 1 << 5); // TX interrupt mask
  assert.deepEqual(irqs, ['0:true']);
  assert.equal(board.mmio.read(0x0801000c, 4), 33, 'IAR: UART');
  w(0x09000038, 0);
  w(0x08010010, 33);
  assert.deepEqual(irqs, ['0:true', '0:false']);
  virtioIrq().pulse();
  assert.equal(board.mmio.read(0x0801000c, 4), 48, 'IAR: virtio slot 0');
});

test('arm-virt: PSCI over HVC #0 and the timer PPIs', () => {
  const { board } = build();
  const { e, stops } = fakeEngine();
  board.attach(e);
  const x = [0x84000000n, 0n, 0n, 0n];
  const cpu = { index: 0, getX: (n: number) => x[n]!, setX: (n: number, v: bigint) => (x[n] = v) };
  assert.equal(board.platform.hypercall(cpu, 0, false), true);
  assert.equal(x[0], 0x10000n);
  assert.equal(board.platform.hypercall(cpu, 0, true), false, 'SMC: no EL3');
  assert.equal(board.platform.hypercall(cpu, 1, false), false, 'HVC #1 is not PSCI');
  x[0] = 0x84000008n;
  board.platform.hypercall(cpu, 0, false);
  assert.deepEqual(stops, [{ kind: 'poweroff' }]);
  board.platform.timerIrq(1, true, true);
  e.currentCpu = 1;
  assert.equal((board.mmio.read(0x08000200, 4) as number) & (1 << 27), 1 << 27, 'CPU 1 virtual timer pending');
  e.currentCpu = 0;
  assert.equal((board.mmio.read(0x08000200, 4) as number) & (1 << 27), 0, 'not on CPU 0');
});

test('arm-virt: bad inputs give clear errors', () => {
  assert.throws(() => build({ kernel: new Uint8Array(4096) }), (err: Error) => err instanceof ImageError && /not an arm64 Image/.test(err.message));
  assert.throws(() => build({ kernel: fakeImage({ imageSize: 63 * MIB }) }), /RAM is 64\.0 MiB/);
  assert.throws(() => build({ memorySize: 65 * MIB }), RangeError);
  assert.throws(() => build({ memorySize: 2 * MIB }), RangeError);
  assert.throws(() => build({ memorySize: 4 * MIB }), /RAM is 4\.0 MiB/, 'small RAM: the loader explains');
  assert.throws(() => build({ cpus: 9 }), RangeError);
  assert.throws(() => build({ cmdline: 'x'.repeat(2048) }), /2048 bytes; arm64 Linux takes at most 2047/);
  assert.doesNotThrow(() => build({ cmdline: 'x'.repeat(2047) }));
});
