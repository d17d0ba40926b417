import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseDiskFlag, resolveConfig } from '../../src/vmm/config.js';
import { parseRunArgs } from '../../src/cli/main.js';
import { buildVirtioDevices } from '../../src/virtio/setup.js';
import { VIRTIO_ID_BLOCK, VIRTIO_ID_CONSOLE, VIRTIO_ID_RNG } from '../../src/virtio/device.js';

test('--disk flag syntax', () => {
  assert.deepEqual(parseDiskFlag('a.img'), { path: 'a.img' });
  assert.deepEqual(parseDiskFlag('/x/b.img,ro,id=SER-1,direct'), { path: '/x/b.img', readOnly: true, serial: 'SER-1', direct: true });
  assert.throws(() => parseDiskFlag(',ro'), ConfigError);
  assert.throws(() => parseDiskFlag('a.img,fast'), /unknown disk option "fast"/);
});

test('CLI: --disk (repeatable), --rng, --console virtio / --virtio-console', () => {
  const o = parseRunArgs(['--kernel', 'k', '--disk', 'a.img', '--disk', 'b.img,ro', '--rng', '--console', 'virtio']);
  assert.deepEqual(o.disks, [{ path: 'a.img' }, { path: 'b.img', readOnly: true }]);
  assert.equal(o.rng, true);
  assert.equal(o.console, 'virtio');
  assert.equal(parseRunArgs(['--virtio-console']).console, 'virtio');
  assert.throws(() => parseRunArgs(['--console', 'vga']), /serial or virtio/);
});

test('CLI: --virtio-transport mmio|pci', () => {
  assert.equal(parseRunArgs(['--virtio-transport', 'pci']).virtioTransport, 'pci');
  assert.equal(parseRunArgs(['--virtio-transport', 'mmio']).virtioTransport, 'mmio');
  assert.equal('virtioTransport' in parseRunArgs([]), false);
  assert.throws(() => parseRunArgs(['--virtio-transport', 'isa']), /mmio or pci/);
});

test('config validation of disks; devices built in order (disks, rng, console)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-vcfg-'));
  try {
    const kernel = join(dir, 'k');
    writeFileSync(kernel, 'x');
    const disk = join(dir, 'd.img');
    writeFileSync(disk, new Uint8Array(4096));
    const host = { hardwareKvm: false, hostMemory: 8 * 2 ** 30 };
    assert.throws(() => resolveConfig({ kernel, accel: 'emu', disks: [{ path: join(dir, 'nope') }] }, host), /disk image not found/);
    assert.throws(() => resolveConfig({ kernel, accel: 'emu', disks: [{ path: disk, serial: 'x'.repeat(21) }] }, host), /at most 20 bytes/);
    assert.throws(() => resolveConfig({ kernel, accel: 'emu', console: 'vga' as never }, host), /unknown console/);
    const cfg = resolveConfig({ kernel, accel: 'emu', disks: [{ path: disk, serial: 's1' }, { path: disk, readOnly: true }], rng: true, console: 'virtio' }, host);
    assert.equal(cfg.disks.length, 2);
    assert.equal(cfg.console, 'virtio');
    const out: Uint8Array[] = [];
    const v = buildVirtioDevices(cfg, (b) => out.push(b), { io: 'sync' });
    assert.deepEqual(v.devices.map((d) => d.deviceType), [VIRTIO_ID_BLOCK, VIRTIO_ID_BLOCK, VIRTIO_ID_RNG, VIRTIO_ID_CONSOLE]);
    assert.equal(v.mmioFactories(() => undefined as never).length, 4);
    // Console input goes to the UART until the virtio console is active.
    let uart = 0;
    const route = v.consoleInput((b) => (uart += b.length));
    assert.equal(route(new Uint8Array(3)), 3);
    assert.equal(uart, 3);
    v.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});
