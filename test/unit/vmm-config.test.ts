import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseAccelFlag, parseSize, parseVirtioTransportFlag, resolveConfig } from '../../src/vmm/config.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvisor-cfg-'));
const kernel = join(dir, 'kernel');
writeFileSync(kernel, 'x');
const host = { hardwareKvm: false, hostMemory: 8 * 2 ** 30 };

test('parses sizes like QEMU: bare numbers are MiB', () => {
  assert.equal(parseSize('512M'), 512 * 2 ** 20);
  assert.equal(parseSize('2G'), 2 * 2 ** 30);
  assert.equal(parseSize('256'), 256 * 2 ** 20);
  assert.equal(parseSize('64k'), 65536);
  assert.equal(parseSize('1GiB'), 2 ** 30);
  assert.throws(() => parseSize('lots'), ConfigError);
  assert.throws(() => parseSize('-1G'), ConfigError);
});

test('auto picks emu without hardware KVM and kvm with it', () => {
  assert.equal(resolveConfig({ kernel }, host).accel, 'emu');
  assert.equal(resolveConfig({ kernel }, { ...host, hardwareKvm: true }).accel, 'kvm');
  const c = resolveConfig({ kernel, accel: 'emu' }, host);
  assert.equal(c.arch, 'aarch64');
  assert.equal(c.memoryBytes, 512 * 2 ** 20);
  assert.match(c.cmdline, /console=ttyAMA0/);
});

test('bad input gives one clear ConfigError line', () => {
  const cases: Array<[object, RegExp]> = [
    [{ kernel: join(dir, 'nope') }, /kernel file not found/],
    [{ kernel: dir }, /not a regular file/],
    [{ kernel, initrd: join(dir, 'nope') }, /initrd file not found/],
    [{ kernel, memory: '1M' }, /below the minimum/],
    [{ kernel, memory: '64G' }, /more than the host has/],
    [{ kernel, cpus: 0 }, /cpus must be/],
    [{ kernel, cpus: 1.5 }, /cpus must be/],
    [{ kernel, accel: 'emu', cpus: 9 }, /1 to 8/],
    [{ kernel, accel: 'xen' }, /unknown accelerator/],
    [{ kernel, accel: 'emu', accelOptions: { turbo: 'on' } }, /unknown option/],
    [{ kernel: '' }, /kernel is required/],
  ];
  for (const [opts, re] of cases) {
    assert.throws(
      () => resolveConfig(opts as never, host),
      (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(opts),
    );
  }
});

test('accel flag with options', () => {
  assert.deepEqual(parseAccelFlag('emu,jit=off'), { accel: 'emu', options: { jit: 'off' } });
  assert.deepEqual(parseAccelFlag('kvm'), { accel: 'kvm', options: {} });
  assert.throws(() => parseAccelFlag('emu,jit'), ConfigError);
  assert.throws(() => parseAccelFlag('hvf'), ConfigError);
});

test('virtio transport: mmio by default on emu, pci by default and only on kvm; bad values are one ConfigError line', () => {
  assert.equal(resolveConfig({ kernel, accel: 'emu' }, host).virtioTransport, 'mmio');
  assert.equal(resolveConfig({ kernel, accel: 'emu', virtioTransport: 'pci' }, host).virtioTransport, 'pci');
  assert.equal(resolveConfig({ kernel, accel: 'kvm' }, host).virtioTransport, 'pci');
  assert.throws(() => resolveConfig({ kernel, accel: 'kvm', virtioTransport: 'mmio' }, host), /PCI only/);
  assert.throws(() => resolveConfig({ kernel, accel: 'emu', virtioTransport: 'ccw' as 'pci' }, host), /unknown virtio transport "ccw"/);
  assert.equal(parseVirtioTransportFlag('pci'), 'pci');
  assert.throws(() => parseVirtioTransportFlag('PCI'), ConfigError);
});
