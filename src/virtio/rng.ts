/**
 * virtio-rng (virtio 1.2 §5.4): one request queue; every writable buffer the
 * driver posts is filled from the host's random source (node:crypto
 * randomFillSync, i.e. getrandom(2)), straight into guest memory.
 */
import { randomFillSync } from 'node:crypto';
import { VIRTIO_ID_RNG, guard, type VirtioDevice, type VirtioDeviceContext } from './device.js';
import { DescChain } from './queue.js';

/** Bytes given per request at most (a hostile driver could post gigabytes). */
export const RNG_MAX_PER_REQUEST = 64 * 1024;

export class VirtioRng implements VirtioDevice {
  readonly name = 'virtio-rng';
  readonly deviceType = VIRTIO_ID_RNG;
  readonly features = 0n;
  readonly queueSizes: number[];
  readonly configSize = 0;
  /** Random bytes handed to the guest so far. */
  bytesserved = 0;
  private ctx: VirtioDeviceContext | undefined;
  private readonly chain = new DescChain();

  constructor(opts: { queueSize?: number; fill?: (b: Uint8Array) => void } = {}) {
    this.queueSizes = [opts.queueSize ?? 64];
    if (opts.fill) this.fill = opts.fill;
  }

  private fill: (b: Uint8Array) => void = (b) => {
    randomFillSync(b);
  };

  readConfig(): number {
    return 0;
  }
  writeConfig(): void {}

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
  }
  reset(): void {
    this.ctx = undefined;
  }

  queueNotify(q: number): void {
    const ctx = this.ctx;
    if (ctx === undefined || q !== 0) return;
    const queue = ctx.queues[0]!;
    const chain = this.chain;
    let done = 0;
    guard(ctx, () => {
      while (queue.pop(chain)) {
        let left = RNG_MAX_PER_REQUEST;
        let written = 0;
        const end = chain.nRead + chain.nWrite;
        for (let i = chain.nRead; i < end && left > 0; i++) {
          const n = Math.min(chain.len[i]!, left);
          this.fill(ctx.memory.slice(chain.addr[i]!, n));
          written += n;
          left -= n;
        }
        this.bytesserved += written;
        queue.push(chain.head, written);
        done++;
      }
    });
    if (done > 0) ctx.signalUsed(0);
  }
}
