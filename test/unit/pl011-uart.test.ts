import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingIrq } from '../../src/devices/device.js';
import { Pl011, FR_RXFE, FR_TXFE, FR_RXFF, FR_TXFF, INT_RX, INT_RT, INT_TX } from '../../src/devices/pl011.js';

const DR = 0x000, FR = 0x018, LCR_H = 0x02c, CR = 0x030, IFLS = 0x034, IMSC = 0x038, RIS = 0x03c, MIS = 0x040, ICR = 0x044;

function setup() {
  const irq = new RecordingIrq();
  const out: number[] = [];
  let space = 0;
  const u = new Pl011(irq, (b) => out.push(...b), () => space++);
  return { u, irq, out, space: () => space };
}

test('pl011: PrimeCell and peripheral IDs match a real PL011', () => {
  const { u } = setup();
  const ids = [];
  for (let o = 0xfe0; o < 0x1000; o += 4) ids.push(u.read(o, 4));
  assert.deepEqual(ids, [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
});

test('pl011: reset state and earlycon-style polled output', () => {
  const { u, out } = setup();
  assert.equal(u.read(CR, 4), 0x300);
  assert.equal(u.read(IFLS, 4), 0x12);
  const fr = u.read(FR, 4);
  assert.equal(fr & (FR_TXFE | FR_RXFE), FR_TXFE | FR_RXFE);
  assert.equal(fr & (FR_TXFF | 0x8), 0, 'never full, never busy');
  // earlycon: poll FR.TXFF, write DR (the UART is not even enabled yet).
  for (const ch of 'hi\n') {
    while (u.read(FR, 4) & FR_TXFF);
    u.write(DR, 4, ch.charCodeAt(0));
  }
  assert.equal(Buffer.from(out).toString(), 'hi\n');
});

test('pl011: non-FIFO mode holds one byte; FIFO mode 32 with back-pressure', () => {
  const { u, space } = setup();
  assert.equal(u.receive(Buffer.from('abc')), 1);
  assert.equal(u.read(FR, 4) & FR_RXFF, FR_RXFF);
  assert.equal(u.read(DR, 4), 'a'.charCodeAt(0));
  assert.equal(space(), 1, 'told the host there is room again');
  assert.equal(u.read(FR, 4) & FR_RXFE, FR_RXFE);
  u.write(LCR_H, 4, 0x70); // FEN, 8 bits
  const data = Buffer.alloc(40, 0x41);
  assert.equal(u.receive(data), 32);
  assert.equal(u.rxSpace, 0);
  assert.equal(u.receive(data), 0);
  let n = 0;
  while (!(u.read(FR, 4) & FR_RXFE)) {
    u.read(DR, 4);
    n++;
  }
  assert.equal(n, 32);
  assert.equal(u.read(DR, 4), 0, 'empty FIFO reads 0');
});

test('pl011: RX interrupt at the trigger level, RX timeout for any waiting data', () => {
  const { u, irq } = setup();
  u.write(LCR_H, 4, 0x70);
  u.write(CR, 4, 0x301);
  u.write(IFLS, 4, 0x12); // RX 1/2 = 16 bytes
  u.write(IMSC, 4, INT_RX | INT_RT);
  u.receive(Buffer.from('x'));
  assert.equal(u.read(RIS, 4) & (INT_RX | INT_RT), INT_RT);
  assert.equal(irq.level, true);
  u.read(DR, 4);
  assert.equal(u.read(RIS, 4) & INT_RT, 0, 'empty FIFO clears the timeout');
  assert.equal(irq.level, false);
  u.receive(Buffer.alloc(16, 0x31));
  assert.equal(u.read(MIS, 4), INT_RX | INT_RT);
  u.read(DR, 4);
  assert.equal(u.read(RIS, 4) & INT_RX, 0, 'below the trigger level again');
  u.write(ICR, 4, INT_RT);
  assert.equal(irq.level, false, 'ICR clears the timeout');
  u.read(DR, 4);
  assert.equal(irq.level, true, 'data still waiting: timeout fires again');
});

test('pl011: TXIS is asserted while the transmitter is enabled; ICR clears it until the next write', () => {
  const { u, irq } = setup();
  u.write(IMSC, 4, INT_TX);
  assert.equal(irq.level, false, 'UART disabled');
  u.write(CR, 4, 0x301);
  assert.equal(u.read(RIS, 4) & INT_TX, INT_TX);
  assert.equal(irq.level, true);
  u.write(ICR, 4, INT_TX);
  assert.equal(irq.level, false);
  u.write(DR, 4, 0x41);
  assert.equal(irq.level, true);
  u.write(IMSC, 4, 0);
  assert.equal(irq.level, false);
});

test('pl011: stray accesses are harmless', () => {
  const { u } = setup();
  for (let o = 0; o < 0x1000; o += 1) {
    u.write(o, 1, 0xff);
    u.read(o, 4);
  }
  assert.equal(u.read(0xfe0, 4), 0x11);
});
