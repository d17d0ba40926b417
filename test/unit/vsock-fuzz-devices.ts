/**
 * virtio-net and virtio-vsock instances for the virtio fuzz harness
 * (test/fuzz/virtio-fuzz.ts): backends that answer at once, so random queue
 * memory reaches every path (RX frames waiting, connections accepted, host
 * data flowing, resets).
 */
import type { Rand } from '../fuzz/virtio-fuzz.js';
import type { VirtioDevice } from '../../src/virtio/device.js';
import { MemoryNetBackend, VNET_HDR_LEN } from '../../src/backends/net.js';
import { VirtioNet } from '../../src/virtio/net.js';
import { VirtioVsock, type VsockBackend, type VsockBackendListener } from '../../src/virtio/vsock.js';

/** A vsock backend that accepts every guest connection and answers data with data. */
class EagerVsockBackend implements VsockBackend {
  listener: VsockBackendListener | undefined;
  constructor(private readonly rand: Rand) {}
  guestConnect(id: number): void {
    this.listener?.connectResult(id, this.rand.chance(0.8));
  }
  accept(): void {}
  send(id: number, data: Uint8Array): void {
    if (this.rand.chance(0.5)) this.listener?.written(id, data.length);
    if (this.rand.chance(0.3)) this.listener?.data(id, data.slice(0, 1 + this.rand.int(4096)));
    if (this.rand.chance(0.05)) this.listener?.hostShutdown(id);
    if (this.rand.chance(0.02)) this.listener?.hostClose(id);
  }
  shutdown(): void {}
  close(): void {}
  consumed(): void {}
  pending(): boolean {
    return false;
  }
  poll(): void {}
  dispose(): void {}
}

export function makeNetFuzzDevice(rand: Rand): VirtioDevice {
  if (rand.chance(0.5)) {
    const be = new MemoryNetBackend();
    be.sendLimit = rand.pick([1, 4, 1000]);
    for (let i = 0, n = rand.int(20); i < n; i++) {
      const f = new Uint8Array(rand.pick([0, 5, VNET_HDR_LEN, 60, 1514, 9000, 65000]));
      for (let j = 0; j < Math.min(f.length, 32); j++) f[j] = rand.u32() & 0xff;
      be.inject(f);
    }
    return new VirtioNet({ backend: be, mac: Uint8Array.from([0x52, 0, 0, 0, 0, 1]), queueSize: rand.pick([1, 4, 256]) });
  }
  const dev = new VirtioVsock({ guestCid: 3, backend: new EagerVsockBackend(rand) });
  if (rand.chance(0.5)) dev.hostConnect(1 + rand.int(5), rand.int(10000));
  return dev;
}
