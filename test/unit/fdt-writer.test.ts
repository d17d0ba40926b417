import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FdtWriter, FDT_MAGIC } from '../../src/boards/fdt/fdt-writer.js';
import { parseFdt, fdtFind, propCells, propStrings } from '../../src/boards/fdt/fdt-reader.js';

function sample(): Uint8Array {
  const w = new FdtWriter();
  w.addReservation(0x48000000, 0x1000);
  w.beginNode('');
  w.propertyU32('#address-cells', 2);
  w.propertyU32('#size-cells', 2);
  w.propertyString('compatible', 'linux,dummy-virt');
  const ph = w.allocPhandle();
  w.beginNode('intc@8000000');
  w.propertyStrings('compatible', ['arm,cortex-a15-gic', 'arm,gic']);
  w.propertyEmpty('interrupt-controller');
  w.propertyCells('reg', [0, 0x08000000, 0, 0x10000]);
  w.propertyU32('phandle', ph);
  w.endNode();
  w.beginNode('chosen');
  w.propertyU64('linux,initrd-start', 0x48000000n);
  w.property('rng-seed', new Uint8Array([1, 2, 3]));
  w.endNode();
  w.endNode();
  return w.finish();
}

test('fdt writer produces a v17 header with aligned blocks', () => {
  const b = sample();
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  assert.equal(v.getUint32(0), FDT_MAGIC);
  assert.equal(v.getUint32(4), b.length);
  assert.equal(v.getUint32(20), 17);
  assert.equal(v.getUint32(24), 16);
  assert.equal(v.getUint32(16) % 8, 0, 'reservation map 8-aligned');
  assert.equal(v.getUint32(8) % 4, 0, 'struct block 4-aligned');
  // the structure block ends with FDT_END
  const offStruct = v.getUint32(8);
  assert.equal(v.getUint32(offStruct + v.getUint32(36) - 4), 9);
});

test('fdt writer round-trips through the reader', () => {
  const p = parseFdt(sample());
  assert.deepEqual(p.reservations, [{ address: 0x48000000n, size: 0x1000n }]);
  assert.deepEqual(propStrings(p.root.props.get('compatible')), ['linux,dummy-virt']);
  const intc = fdtFind(p.root, '/intc@8000000')!;
  assert.deepEqual(propStrings(intc.props.get('compatible')), ['arm,cortex-a15-gic', 'arm,gic']);
  assert.deepEqual(propCells(intc.props.get('reg')), [0, 0x08000000, 0, 0x10000]);
  assert.equal(intc.props.get('interrupt-controller')!.length, 0);
  assert.deepEqual(propCells(fdtFind(p.root, '/chosen')!.props.get('linux,initrd-start')), [0, 0x48000000]);
  assert.deepEqual([...fdtFind(p.root, '/chosen')!.props.get('rng-seed')!], [1, 2, 3]);
});

test('fdt writer rejects malformed trees', () => {
  const w = new FdtWriter();
  assert.throws(() => w.beginNode('notroot'), /root/);
  w.beginNode('');
  w.beginNode('a');
  w.endNode();
  assert.throws(() => w.propertyU32('late', 1), /after a child/);
  assert.throws(() => w.beginNode('bad name'), /bad node name/);
  w.beginNode('b');
  w.propertyU32('x', 1);
  assert.throws(() => w.propertyU32('x', 2), /duplicate/);
  assert.throws(() => w.propertyCells('y', [0x100000000]), /u32/);
  assert.throws(() => w.finish(), /unclosed/);
});

test('dtc decompiles the blob', (t) => {
  let dtcOk = true;
  try {
    execFileSync('dtc', ['--version'], { stdio: 'ignore' });
  } catch {
    dtcOk = false;
  }
  if (!dtcOk) {
    t.skip('dtc (device-tree-compiler) not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'fdt-'));
  const f = join(dir, 't.dtb');
  writeFileSync(f, sample());
  const dts = execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(dts, /\/memreserve\/\s+0x0*48000000 0x0*1000;/);
  assert.match(dts, /compatible = "linux,dummy-virt";/);
  assert.match(dts, /intc@8000000 \{/);
  assert.match(dts, /compatible = "arm,cortex-a15-gic\\0arm,gic";/);
  assert.match(dts, /reg = <0x00 0x8000000 0x00 0x10000>;/);
  assert.match(dts, /interrupt-controller;/);
  assert.match(dts, /linux,initrd-start = <0x00 0x48000000>;/);
  assert.match(dts, /rng-seed = \[01 02 03\];/);
});
