import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOrder, moduleName, parseModulesBuiltin, parseModulesDep } from '../../guest/modules.js';

// Shaped like Debian 6.1 amd64's modules.dep (dependencies listed transitively).
const DEP = `
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/lib/crc16.ko:
kernel/fs/mbcache.ko:
kernel/fs/jbd2/jbd2.ko:
`;

const names = (paths: string[]): string[] => paths.map(moduleName);

test('moduleName canonicalises paths', () => {
  assert.equal(moduleName('kernel/drivers/char/hw_random/virtio-rng.ko'), 'virtio_rng');
  assert.equal(moduleName('kernel/fs/ext4/ext4.ko.xz'), 'ext4');
  assert.equal(moduleName('kernel/lib/crc16.ko.zst'), 'crc16');
});

test('dependencies load first, each module once', () => {
  const dep = parseModulesDep(DEP);
  const plan = loadOrder(dep, ['virtio_net', 'virtio_pci', 'virtio-rng', 'ext4']);
  const order = names(plan.order);
  assert.deepEqual(plan.missing, []);
  assert.equal(new Set(order).size, order.length);
  for (const [path, deps] of dep) {
    const i = order.indexOf(moduleName(path));
    if (i < 0) continue;
    for (const d of deps) assert.ok(order.indexOf(moduleName(d)) >= 0 && order.indexOf(moduleName(d)) < i, `${moduleName(d)} before ${moduleName(path)}`);
  }
  // modprobe order: last-listed dependency first.
  assert.deepEqual(order.slice(0, 5), ['virtio_ring', 'virtio', 'failover', 'net_failover', 'virtio_net']);
  assert.deepEqual(order.slice(-4), ['jbd2', 'mbcache', 'crc16', 'ext4']);
});

test('built-in and missing modules are reported, not loaded', () => {
  const dep = parseModulesDep('kernel/drivers/block/virtio_blk.ko:\n');
  const builtin = parseModulesBuiltin('kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_ring.ko\n');
  const plan = loadOrder(dep, ['virtio', 'virtio_ring', 'virtio_blk', 'nosuch'], builtin);
  assert.deepEqual(names(plan.order), ['virtio_blk']);
  assert.deepEqual(plan.builtin, ['virtio', 'virtio_ring']);
  assert.deepEqual(plan.missing, ['nosuch']);
});

test('cycles and dangling dependencies are errors', () => {
  assert.throws(() => loadOrder(parseModulesDep('a.ko: b.ko\nb.ko: a.ko\n'), ['a']), /cycle/);
  assert.throws(() => loadOrder(parseModulesDep('a.ko: gone.ko\n'), ['a']), /no entry/);
  assert.throws(() => parseModulesDep('no colon here'), /bad modules.dep/);
});

test('stripModuleSignature removes a well-formed appended signature and nothing else', async () => {
  const { stripModuleSignature } = await import('../../guest/modules.js');
  const body = Buffer.from('\x7fELF module body');
  const sig = Buffer.alloc(300, 0xab);
  const info = Buffer.alloc(12);
  info[2] = 2; // PKEY_ID_PKCS7
  info.writeUInt32BE(sig.length, 8);
  const magic = Buffer.from('~Module signature appended~\n', 'latin1');
  assert.deepEqual(stripModuleSignature(Buffer.concat([body, sig, info, magic])), body);
  assert.deepEqual(stripModuleSignature(body), body, 'unsigned: unchanged');
  const bad = Buffer.alloc(12);
  bad.writeUInt32BE(1 << 30, 8);
  const broken = Buffer.concat([body, bad, magic]);
  assert.deepEqual(stripModuleSignature(broken), broken, 'signature length past the start: unchanged');
});
