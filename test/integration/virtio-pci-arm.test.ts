/**
 * virtio-pci with a real Linux driver: Debian's arm64 kernel under the emu
 * engine with `virtioTransport: 'pci'` (--virtio-transport pci). The guest's
 * pci-host-ecam-generic driver enumerates our ECAM host bridge, the
 * virtio_pci module (the same source as on amd64) binds virtio-blk,
 * virtio-rng and, when the test can make a network namespace, virtio-net,
 * and takes MSI-X vectors through the GICv2m frame. Checked: vendor/device
 * ids in sysfs, the bound driver, disk reads of host-written data and writes
 * the host reads back with equal sha256, /dev/hwrng bytes, a ping over the
 * NIC, and MSI (not INTx) interrupts counted in /proc/interrupts. A second
 * boot with `pci=nomsi` makes the driver fall back to INTx: level SPIs
 * through the device tree's interrupt-map swizzle, cleared by ISR reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findGuest, whyNoGuest } from '../../guest/assets.js';
import { BOOT_MARKER, cmdParam, parseExitStatus } from '../../guest/init-script.js';
import { Machine } from '../../src/vmm/machine.js';
import type { MachineOptions } from '../../src/vmm/config.js';
import { netSkipReason, TestNetns } from './virtio-net-guest.js';

const assets = findGuest('arm64');
const noNet = netSkipReason(true);
const MIB = 1 << 20;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('emu: Linux virtio_pci drives blk, rng (and net) over ECAM + GICv2m MSI-X', { skip: assets ? undefined : whyNoGuest('arm64'), timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-vpci-'));
  const ns = noNet ? undefined : new TestNetns();
  if (noNet) t.diagnostic(`virtio-net part skipped: ${noNet}`);
  try {
    // 4 MiB disk: MiB 0 holds host random data the guest reads; the guest writes its own MiB at offset 2 MiB.
    const disk = join(dir, 'disk.img');
    const hostData = randomBytes(MIB);
    const fd = openSync(disk, 'w');
    writeSync(fd, hostData);
    writeSync(fd, new Uint8Array(3 * MIB));
    closeSync(fd);
    const script = [
      'for d in /sys/bus/pci/devices/*; do echo "pci $(basename $d) $(cat $d/vendor) $(cat $d/device) drv=$(basename "$(readlink $d/driver)")"; done',
      'echo "mods=$(grep -o "^virtio_pci[a-z_]*" /proc/modules | sort | tr "\\n" " ")"',
      'echo "rd=$(dd if=/dev/vda bs=64k count=16 2>/dev/null | sha256sum | cut -d" " -f1)"',
      'dd if=/dev/urandom of=/tmp/w bs=64k count=16 2>/dev/null',
      'echo "wr=$(sha256sum /tmp/w | cut -d" " -f1)"',
      'dd if=/tmp/w of=/dev/vda bs=64k seek=32 conv=fsync 2>/dev/null; echo "dd=$?"',
      'echo 3 > /proc/sys/vm/drop_caches',
      'echo "rb=$(dd if=/dev/vda bs=64k skip=32 count=16 2>/dev/null | sha256sum | cut -d" " -f1)"',
      'echo "rng=$(cat /sys/class/misc/hw_random/rng_current)"',
      'dd if=/dev/hwrng of=/tmp/r bs=256 count=4 2>/dev/null',
      'echo "rngbytes=$(wc -c < /tmp/r) distinct=$(od -An -v -tx1 /tmp/r | tr -s " " "\\n" | grep -v "^$" | sort -u | wc -l)"',
      ...(ns
        ? [
            'ip link set eth0 up && ip addr add 10.97.0.2/24 dev eth0',
            'ok=1; for i in 1 2 3 4 5 6 7 8 9 10; do if ping -c 1 -W 2 10.97.0.1 >/dev/null 2>&1; then ok=0; break; fi; done; echo "ping=$ok"',
          ]
        : []),
      'cat /proc/interrupts',
    ].join('\n');
    const opts: MachineOptions = {
      kernel: assets!.kernel,
      initrd: assets!.initrd,
      accel: 'emu',
      memory: '256M',
      append: `${assets!.cmdlineDefaults} ${cmdParam(script)}`,
      disks: [{ path: disk }],
      rng: true,
      virtioTransport: 'pci',
      ...(ns ? { nics: [{ tap: 'tsvpci0', netns: ns.name }] } : {}),
    };
    const m = new Machine(opts);
    let output = '';
    m.serial.output.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const t0 = Date.now();
    await m.start();
    const timer = setTimeout(() => void m.stop(), 420_000);
    const onAbort = (): void => void m.stop();
    t.signal.addEventListener('abort', onAbort);
    if (ns) await ns.configure('tsvpci0', '10.97.0.1/24', 60_000);
    const status = await m.wait();
    clearTimeout(timer);
    t.signal.removeEventListener('abort', onAbort);
    await new Promise((r) => setImmediate(r));
    if (!output.includes(BOOT_MARKER)) return t.skip(`the emu engine did not boot the arm64 guest (${JSON.stringify(status)}): ${JSON.stringify(output.slice(-300))}`);
    const tail = `\n${output.slice(-4000)}`;
    assert.equal(parseExitStatus(output), 0, tail);
    assert.deepEqual(status, { kind: 'poweroff' });

    // Enumeration: gpex host bridge, then modern virtio ids 0x1040 + type, all bound to virtio-pci.
    const pci = [...output.matchAll(/^pci (\S+) (0x[0-9a-f]+) (0x[0-9a-f]+) drv=(\S*)\r?$/gm)].map((x) => ({ addr: x[1], vendor: x[2], device: x[3], drv: x[4] }));
    const want = ['0x1042', '0x1044', ...(ns ? ['0x1041'] : [])];
    assert.deepEqual(pci[0], { addr: '0000:00:00.0', vendor: '0x1b36', device: '0x0008', drv: '' }, tail);
    assert.deepEqual(pci.slice(1).map((p) => [p.addr, p.vendor, p.device, p.drv]), want.map((d, i) => [`0000:00:0${i + 1}.0`, '0x1af4', d, 'virtio-pci']), tail);
    assert.match(output, /^mods=virtio_pci virtio_pci_legacy_dev virtio_pci_modern_dev ?\r?$/m);

    // Disk: the guest read the host's data; the host reads the guest's write.
    assert.equal(/^rd=(\w+)/m.exec(output)?.[1], sha256(hostData), 'guest read of host-written MiB');
    const wr = /^wr=(\w+)/m.exec(output)?.[1];
    assert.ok(wr && wr.length === 64, tail);
    assert.match(output, /^dd=0\r?$/m);
    assert.equal(/^rb=(\w+)/m.exec(output)?.[1], wr, 'guest read-back after drop_caches');
    const back = Buffer.alloc(MIB);
    const rfd = openSync(disk, 'r');
    readSync(rfd, back, 0, MIB, 2 * MIB);
    closeSync(rfd);
    assert.equal(sha256(back), wr, 'host sees the guest write at 2 MiB');

    // rng
    assert.match(output, /^rng=virtio_rng\.\d+\r?$/m);
    const rng = /^rngbytes=(\d+) distinct=(\d+)/m.exec(output);
    assert.equal(Number(rng?.[1]), 1024);
    assert.ok(Number(rng?.[2]) > 200, `1 KiB of hwrng bytes has ${rng?.[2]} distinct values`);

    // net
    if (ns) assert.match(output, /^ping=0\r?$/m, tail);

    // Interrupts: MSI-X vectors (through the v2m frame) that fired; no INTx line (GIC SPIs 35-38) in use.
    const irqLine = (name: string): number => {
      const x = new RegExp(`^\\s*\\d+:\\s+(\\d+)\\s+MSI \\d+ Edge\\s+${name}\\r?$`, 'm').exec(output);
      return x ? Number(x[1]) : -1;
    };
    assert.ok(irqLine('virtio0-req\\.0') > 0, `blk request vector${tail}`);
    assert.ok(irqLine('virtio1-input') > 0, `rng vector${tail}`);
    if (ns) assert.ok(irqLine('virtio2-input\\.0') > 0, `net rx vector${tail}`);
    assert.doesNotMatch(output, /GIC-0\s+3[5-8] Level/, 'no INTx');
    if (process.env.TSV_PCI_DEBUG) console.log(output);
    t.diagnostic(`boot + script + poweroff: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    ns?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('emu: with pci=nomsi the virtio_pci driver falls back to INTx (interrupt-map swizzle, level SPIs)', { skip: assets ? undefined : whyNoGuest('arm64'), timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-vpci-'));
  try {
    const disk = join(dir, 'disk.img');
    const hostData = randomBytes(MIB);
    const fd = openSync(disk, 'w');
    writeSync(fd, hostData);
    closeSync(fd);
    const script = [
      'echo "rd=$(dd if=/dev/vda bs=64k count=16 2>/dev/null | sha256sum | cut -d" " -f1)"',
      'echo "rngbytes=$(dd if=/dev/hwrng bs=256 count=2 2>/dev/null | wc -c)"',
      'cat /proc/interrupts',
    ].join('\n');
    const m = new Machine({
      kernel: assets!.kernel,
      initrd: assets!.initrd,
      accel: 'emu',
      memory: '256M',
      append: `${assets!.cmdlineDefaults} pci=nomsi ${cmdParam(script)}`,
      disks: [{ path: disk, readOnly: true }],
      rng: true,
      virtioTransport: 'pci',
    });
    let output = '';
    m.serial.output.on('data', (d: Buffer) => (output += d.toString('utf8')));
    await m.start();
    const timer = setTimeout(() => void m.stop(), 420_000);
    const onAbort = (): void => void m.stop();
    t.signal.addEventListener('abort', onAbort);
    const status = await m.wait();
    clearTimeout(timer);
    t.signal.removeEventListener('abort', onAbort);
    await new Promise((r) => setImmediate(r));
    if (!output.includes(BOOT_MARKER)) return t.skip(`the emu engine did not boot the arm64 guest (${JSON.stringify(status)}): ${JSON.stringify(output.slice(-300))}`);
    const tail = `\n${output.slice(-3000)}`;
    assert.equal(parseExitStatus(output), 0, tail);
    assert.equal(/^rd=(\w+)/m.exec(output)?.[1], sha256(hostData), tail);
    assert.match(output, /^rngbytes=512\r?$/m);
    // Slot 1 (blk) INTA -> SPI 3 + 1 = INTID 36; slot 2 (rng) -> SPI 5 = INTID 37. Level, and they fired.
    const count = (intid: number): number => Number(new RegExp(`^\\s*\\d+:\\s+(\\d+)\\s+GIC-0\\s+${intid} Level\\s+virtio`, 'm').exec(output)?.[1] ?? -1);
    assert.ok(count(36) > 0, `blk INTx on INTID 36${tail}`);
    assert.ok(count(37) > 0, `rng INTx on INTID 37${tail}`);
    assert.doesNotMatch(output, /MSI \d+ Edge/, 'no MSI with pci=nomsi');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
