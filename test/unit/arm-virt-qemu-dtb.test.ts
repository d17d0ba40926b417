/**
 * The strongest check of the virt device tree: boot Debian's arm64 kernel
 * under QEMU's own `-M virt` with OUR DTB (QEMU uses a -dtb as given, only
 * fixing up /chosen for the initrd). The kernel must find the PL011 console,
 * the GIC, the timer, PSCI (second CPU), the PL031 RTC and virtio-mmio.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildArmVirt } from '../../src/boards/arm-virt/board.js';
import { buildVirtDtb } from '../../src/boards/arm-virt/dt.js';
import { parseFdt, fdtFind, propCells, type FdtNode } from '../../src/boards/fdt/fdt-reader.js';
import { findGuest, whyNoGuest } from '../../guest/assets.js';
import { cmdParam, parseExitStatus } from '../../guest/init-script.js';

function have(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

test('arm-virt DTB boots Debian arm64 under qemu-system-aarch64 -M virt', (t) => {
  if (!have('qemu-system-aarch64')) return t.skip('qemu-system-aarch64 not installed');
  const guest = findGuest('arm64');
  if (!guest) return t.skip(`no arm64 guest: ${whyNoGuest('arm64')}`);
  const kernel = readFileSync(guest.kernel);
  const initrd = readFileSync(guest.initrd);
  const script = [
    'grep -c ^processor /proc/cpuinfo',
    'cat /proc/interrupts',
    'ls /sys/bus/virtio/devices',
    'date -u +YEAR=%Y',
  ].join('; ');
  // All 32 slots, as QEMU fills them from the top (slot 31 first).
  const slots = Array.from({ length: 32 }, () => () => ({ name: 'unused', read: () => 0, write: () => {} }));
  const board = buildArmVirt({
    memorySize: 256 * 1048576,
    cpus: 2,
    kernel,
    initrd,
    cmdline: `console=ttyAMA0 nokaslr cryptomgr.notests quiet ${cmdParam(script)}`,
    consoleSink: () => {},
    virtio: slots,
  });
  const dir = mkdtempSync(join(tmpdir(), 'virt-dtb-'));
  const dtbPath = join(dir, 'board.dtb');
  writeFileSync(dtbPath, board.dtb);
  if (have('dtc')) {
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', dtbPath], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'dtc has no warnings');
  }
  const out = execFileSync('qemu-system-aarch64', [
    '-M', 'virt', '-cpu', 'cortex-a57', '-smp', '2', '-m', '256', '-nographic', '-no-reboot',
    '-kernel', guest.kernel, '-initrd', guest.initrd, '-dtb', dtbPath,
    '-device', 'virtio-rng-device',
  ], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(parseExitStatus(out), 0, out.slice(-3000));
  assert.match(out, /^2\r?$/m, 'both CPUs up through PSCI CPU_ON');
  assert.match(out, /GIC-0\s+27 Level\s+arch_timer/);
  assert.match(out, /GIC-0\s+33 Level\s+uart-pl011/);
  assert.match(out, /GIC-0\s+34 Level\s+rtc-pl031/);
  assert.match(out, /GIC-0\s+79 Edge\s+virtio0/, 'virtio-mmio slot 31 = SPI 47');
  assert.match(out, /YEAR=20\d\d/);
});

test('arm-virt DTB agrees with QEMU virt dumpdtb on every node both describe', (t) => {
  if (!have('qemu-system-aarch64')) return t.skip('qemu-system-aarch64 not installed');
  const dir = mkdtempSync(join(tmpdir(), 'virt-dtb-'));
  const qemuDtb = join(dir, 'qemu.dtb');
  spawnSync('qemu-system-aarch64', ['-M', `virt,dumpdtb=${qemuDtb}`, '-cpu', 'cortex-a57', '-smp', '2', '-m', '256', '-nographic'], { stdio: 'ignore' });
  const q = parseFdt(new Uint8Array(readFileSync(qemuDtb))).root;
  const ours = parseFdt(buildVirtDtb({ cpus: 2, ramBase: 0x40000000, ramSize: 256 * 1048576, cmdline: '', virtioSlots: [0, 5, 31] })).root;
  // Properties holding phandles differ in value by construction; compare the rest byte for byte.
  const phandleProps = new Set(['phandle', 'interrupt-parent', 'clocks']);
  const compared: string[] = [];
  const walk = (node: FdtNode, path: string) => {
    for (const child of node.children) {
      const p = `${path}/${child.name}`;
      if (p === '/chosen') continue;
      const other = fdtFind(q, p);
      assert.ok(other, `QEMU has no ${p}`);
      for (const [name, value] of child.props) {
        if (phandleProps.has(name) || (p === '/intc@8000000' && name === '#address-cells')) continue;
        assert.ok(other.props.has(name), `QEMU's ${p} has no ${name}`);
        assert.deepEqual([...value], [...other.props.get(name)!], `${p} ${name}`);
      }
      compared.push(p);
      walk(child, p);
    }
  };
  walk(ours, '');
  assert.ok(compared.includes('/virtio_mmio@a003e00') && compared.includes('/timer') && compared.includes('/cpus/cpu@1'));
  // Phandle references resolve to the same kinds of nodes.
  const byPhandle = (root: FdtNode, ph: number): string | undefined => {
    const find = (n: FdtNode): FdtNode | undefined =>
      propCells(n.props.get('phandle'))[0] === ph ? n : n.children.map(find).find((x) => x !== undefined);
    return find(root)?.name;
  };
  for (const root of [ours, q]) {
    assert.equal(byPhandle(root, propCells(root.props.get('interrupt-parent'))[0]!), 'intc@8000000');
    const uart = fdtFind(root, '/pl011@9000000')!;
    assert.deepEqual(propCells(uart.props.get('clocks')).map((ph) => byPhandle(root, ph)), ['apb-pclk', 'apb-pclk']);
  }
});

test('arm-virt DTB with PCI agrees with QEMU virt,highmem=off dumpdtb (GICv2m frame, ECAM host bridge)', (t) => {
  if (!have('qemu-system-aarch64')) return t.skip('qemu-system-aarch64 not installed');
  const dir = mkdtempSync(join(tmpdir(), 'virt-dtb-'));
  const qemuDtb = join(dir, 'qemu.dtb');
  spawnSync('qemu-system-aarch64', ['-M', `virt,highmem=off,dumpdtb=${qemuDtb}`, '-cpu', 'cortex-a57', '-smp', '2', '-m', '256', '-nographic'], { stdio: 'ignore' });
  const q = parseFdt(new Uint8Array(readFileSync(qemuDtb))).root;
  const ours = parseFdt(buildVirtDtb({ cpus: 2, ramBase: 0x40000000, ramSize: 256 * 1048576, cmdline: '', virtioSlots: [0], pci: true })).root;
  // Phandle-valued cells differ by construction: compare interrupt-map / msi-map with the phandle cells masked.
  const phandleProps = new Set(['phandle', 'interrupt-parent', 'clocks']);
  const masked = (name: string, cells: number[]): number[] =>
    name === 'interrupt-map' ? cells.map((c, i) => (i % 10 === 4 ? 0 : c)) : name === 'msi-map' ? cells.map((c, i) => (i % 4 === 1 ? 0 : c)) : cells;
  const compared: string[] = [];
  const walk = (node: FdtNode, path: string) => {
    for (const child of node.children) {
      const p = `${path}/${child.name}`;
      if (p === '/chosen') continue;
      // QEMU names the node after its MMIO window; dtc wants the unit address of reg (the ECAM base).
      const other = fdtFind(q, p === '/pcie@3f000000' ? '/pcie@10000000' : p);
      assert.ok(other, `QEMU has no ${p}`);
      for (const [name, value] of child.props) {
        if (phandleProps.has(name)) continue;
        assert.ok(other.props.has(name), `QEMU's ${p} has no ${name}`);
        if (name === 'interrupt-map' || name === 'msi-map') {
          assert.deepEqual(masked(name, propCells(value)), masked(name, propCells(other.props.get(name))), `${p} ${name}`);
        } else assert.deepEqual([...value], [...other.props.get(name)!], `${p} ${name}`);
      }
      compared.push(p);
      walk(child, p);
    }
  };
  walk(ours, '');
  assert.ok(compared.includes('/pcie@3f000000') && compared.includes('/intc@8000000/v2m@8020000'), compared.join(' '));
});

test('arm-virt DTB with PCI: QEMU virt,highmem=off runs virtio-rng-pci with MSI-X through our GICv2m and host nodes', (t) => {
  if (!have('qemu-system-aarch64')) return t.skip('qemu-system-aarch64 not installed');
  const guest = findGuest('arm64');
  if (!guest) return t.skip(`no arm64 guest: ${whyNoGuest('arm64')}`);
  const script = ['cat /sys/bus/pci/devices/0000:00:02.0/device', 'cat /proc/interrupts', 'dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c'].join('; ');
  const board = buildArmVirt({
    memorySize: 256 * 1048576,
    cpus: 1,
    kernel: readFileSync(guest.kernel),
    initrd: readFileSync(guest.initrd),
    cmdline: `console=ttyAMA0 nokaslr cryptomgr.notests quiet ${cmdParam(script)}`,
    consoleSink: () => {},
    pci: [],
  });
  const dtbPath = join(mkdtempSync(join(tmpdir(), 'virt-dtb-')), 'board.dtb');
  writeFileSync(dtbPath, board.dtb);
  const out = execFileSync('qemu-system-aarch64', [
    '-M', 'virt,highmem=off', '-cpu', 'cortex-a57', '-m', '256', '-nographic', '-no-reboot',
    '-kernel', guest.kernel, '-initrd', guest.initrd, '-dtb', dtbPath,
    '-nic', 'none', '-device', 'virtio-rng-pci,addr=2,disable-legacy=on',
  ], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(parseExitStatus(out), 0, out.slice(-3000));
  assert.match(out, /^0x1044\r?$/m);
  assert.match(out, /MSI \d+ Edge\s+virtio0-/, 'MSI-X vectors through the v2m frame');
  assert.match(out, /^64\r?$/m);
});
