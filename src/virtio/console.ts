/**
 * virtio-console (virtio 1.2 §5.3), single port (no MULTIPORT): queue 0 is
 * port 0's receiveq (host -> guest), queue 1 its transmitq (guest -> host).
 * The guest sees it as /dev/hvc0.
 *
 * Output goes to a ByteSink (the builder wires the same host-link console as
 * the UART). Input is offered with `receive(bytes)`, which returns how many
 * bytes fitted in the buffers the guest has posted; the caller keeps the rest
 * and offers it again later (the host link does exactly that: unconsumed
 * input stays in its ring and is offered at the next poll).
 */
import type { ByteSink } from '../devices/device.js';
import { ConfigSpace, VIRTIO_ID_CONSOLE, guard, type VirtioDevice, type VirtioDeviceContext } from './device.js';
import { DescChain } from './queue.js';

export const VIRTIO_CONSOLE_F_SIZE = 1n << 0n;

/** Bytes taken from one transmit chain at most (the rest of a huge chain is ignored). */
const TX_MAX = 64 * 1024;

export class VirtioConsole implements VirtioDevice {
  readonly name = 'virtio-console';
  readonly deviceType = VIRTIO_ID_CONSOLE;
  readonly features = 0n;
  readonly queueSizes: number[];
  readonly configSize = 12;
  private readonly config = new ConfigSpace(12);
  private ctx: VirtioDeviceContext | undefined;
  private readonly rxChain = new DescChain();
  private readonly txChain = new DescChain();
  private txBuf = new Uint8Array(4096);
  /** Bytes transmitted / received so far. */
  txBytes = 0;
  rxBytes = 0;

  constructor(
    private readonly sink: ByteSink,
    opts: { queueSize?: number } = {},
  ) {
    const n = opts.queueSize ?? 64;
    this.queueSizes = [n, n];
  }

  readConfig(offset: number, size: number): number {
    return this.config.read(offset, size);
  }
  writeConfig(): void {}

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
  }
  reset(): void {
    this.ctx = undefined;
  }

  get active(): boolean {
    return this.ctx !== undefined;
  }

  queueNotify(q: number): void {
    const ctx = this.ctx;
    if (ctx === undefined) return;
    if (q === 1) this.transmit(ctx);
    // q === 0: new receive buffers; input waiting in the host link is offered at its next poll.
  }

  private transmit(ctx: VirtioDeviceContext): void {
    const queue = ctx.queues[1]!;
    if (!queue.ready) return;
    const chain = this.txChain;
    let done = 0;
    guard(ctx, () => {
      while (queue.pop(chain)) {
        const n = Math.min(chain.readBytes, TX_MAX);
        if (this.txBuf.length < n) this.txBuf = new Uint8Array(Math.max(n, this.txBuf.length * 2));
        const got = chain.read(ctx.memory, 0, this.txBuf.subarray(0, n));
        queue.push(chain.head, 0);
        done++;
        if (got > 0) {
          this.txBytes += got;
          this.sink(this.txBuf.slice(0, got));
        }
      }
    });
    if (done > 0) ctx.signalUsed(1);
  }

  /** Give input to the guest; returns how many bytes were accepted (0 when no receive buffer is posted). */
  receive(bytes: Uint8Array): number {
    const ctx = this.ctx;
    if (ctx === undefined || bytes.length === 0) return 0;
    const queue = ctx.queues[0]!;
    if (!queue.ready) return 0;
    const chain = this.rxChain;
    let off = 0;
    let done = 0;
    guard(ctx, () => {
      while (off < bytes.length && queue.pop(chain)) {
        const n = chain.write(ctx.memory, 0, bytes.subarray(off));
        queue.push(chain.head, n);
        off += n;
        done++;
      }
    });
    if (done > 0) ctx.signalUsed(0);
    this.rxBytes += off;
    return off;
  }
}
