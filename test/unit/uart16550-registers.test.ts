import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingIrq } from '../../src/devices/device.js';
import {
  Uart16550, UART_DLL, UART_DLM, UART_FCR, UART_IER, UART_IIR, UART_LCR, UART_LSR, UART_MCR, UART_MSR, UART_SCR, UART_THR, UART_RBR,
  IER_RDI, IER_THRI, IER_MSI, IIR_NO_INT, IIR_THRI, IIR_RDI, IIR_TIMEOUT, IIR_MSI, IIR_RLSI, IER_RLSI, LSR_DR, LSR_THRE, LSR_TEMT, LSR_OE, LCR_DLAB,
} from '../../src/devices/uart16550.js';

function make() {
  const irq = new RecordingIrq();
  const out: number[] = [];
  let space = 0;
  const uart = new Uart16550({ irq, sink: (b) => out.push(...b), onRxSpace: () => space++ });
  const w = (o: number, v: number) => uart.write(o, 1, v);
  const r = (o: number) => uart.read(o, 1);
  return { uart, irq, out, w, r, spaces: () => space };
}

test('THR writes reach the sink; LSR reports THRE|TEMT', () => {
  const { out, w, r } = make();
  for (const c of 'hi\n') w(UART_THR, c.charCodeAt(0));
  assert.deepEqual(Buffer.from(out).toString(), 'hi\n');
  assert.equal(r(UART_LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
});

test('DLAB selects the divisor latch and the writes are recorded', () => {
  const { uart, w, r } = make();
  w(UART_LCR, LCR_DLAB | 0x03);
  w(UART_DLL, 0x01);
  w(UART_DLM, 0x00);
  w(UART_LCR, 0x03);
  w(UART_FCR, 0xc7);
  w(UART_MCR, 0x0b);
  assert.equal(r(UART_IER), 0, 'IER unaffected by DLM write');
  w(UART_LCR, LCR_DLAB | 0x03);
  assert.equal(r(UART_DLL), 1);
  assert.equal(r(UART_DLM), 0);
  assert.deepEqual(uart.programmed, { lcr: 0x83, divisor: 1, fcr: 0xc7, mcr: 0x0b, writes: { lcr: 3, dll: 1, dlm: 1, fcr: 1, mcr: 1 } });
});

test('IER keeps 4 bits; SCR is scratch (Linux existence test)', () => {
  const { w, r } = make();
  w(UART_IER, 0xff);
  assert.equal(r(UART_IER), 0x0f);
  w(UART_IER, 0);
  w(UART_SCR, 0xa5);
  assert.equal(r(UART_SCR), 0xa5);
});

test('THRE interrupt: raised when ETBEI enabled, cleared by IIR read, re-raised after a THR write', () => {
  const { irq, w, r } = make();
  assert.equal(r(UART_IIR), IIR_NO_INT);
  w(UART_IER, IER_THRI);
  assert.equal(irq.level, true);
  assert.equal(r(UART_IIR), IIR_THRI);
  assert.equal(irq.level, false);
  assert.equal(r(UART_IIR), IIR_NO_INT, 'IIR read that reported THRE cleared it');
  w(UART_IER, IER_THRI); // no change: no new THRE
  assert.equal(r(UART_IIR), IIR_NO_INT);
  w(UART_THR, 0x41);
  assert.equal(irq.level, true, 'THR empty again after the byte left');
  assert.equal(r(UART_IIR), IIR_THRI);
  w(UART_IER, 0);
  w(UART_IER, IER_THRI);
  assert.equal(r(UART_IIR), IIR_THRI, 're-enabling ETBEI raises THRE');
});

test('receive fills the FIFO up to 16 bytes with back-pressure; RDA vs timeout by trigger level', () => {
  const { uart, irq, w, r, spaces } = make();
  assert.equal(uart.receive(Uint8Array.of(1, 2, 3)), 1, 'non-FIFO mode holds one byte');
  w(UART_FCR, 0x01 | 0x02 | 0x80); // enable, clear rx, trigger 8
  assert.equal(uart.receive(new Uint8Array(20).map((_, i) => i)), 16);
  assert.equal(uart.rxFree(), 0);
  w(UART_IER, IER_RDI);
  assert.equal(irq.level, true);
  assert.equal(r(UART_IIR), 0xc0 | IIR_RDI);
  assert.equal(r(UART_RBR), 0);
  assert.equal(spaces(), 2, 'onRxSpace after FCR and after the full FIFO was read');
  for (let i = 1; i < 10; i++) assert.equal(r(UART_RBR), i);
  assert.equal(r(UART_IIR), 0xc0 | IIR_TIMEOUT, '6 bytes < trigger 8: timeout');
  for (let i = 10; i < 16; i++) r(UART_RBR);
  assert.equal(r(UART_LSR) & LSR_DR, 0);
  assert.equal(r(UART_IIR), 0xc1);
  assert.equal(irq.level, false);
});

test('RDA has priority over THRE, RLS over RDA (loopback overrun)', () => {
  const { uart, w, r } = make();
  w(UART_IER, IER_RDI | IER_THRI | IER_RLSI);
  w(UART_MCR, 0x10); // loopback, non-FIFO: 1-byte receiver
  w(UART_THR, 0x55);
  assert.equal(r(UART_IIR), IIR_RDI);
  w(UART_THR, 0x66); // overrun
  assert.equal(r(UART_IIR), IIR_RLSI);
  assert.equal(r(UART_LSR) & LSR_OE, LSR_OE);
  assert.equal(r(UART_LSR) & LSR_OE, 0, 'LSR read cleared OE');
  assert.equal(r(UART_RBR), 0x55);
  assert.equal(uart.receive(Uint8Array.of(1)), 0, 'serial input disconnected in loopback');
});

test('loopback: MCR outputs appear on MSR as Linux autoconfig expects, with deltas and MS interrupt', () => {
  const { out, w, r } = make();
  assert.equal(r(UART_MSR) & 0xf0, 0xb0, 'not loopback: CTS DSR DCD');
  w(UART_IER, IER_MSI);
  w(UART_MCR, 0x10 | 0x0a);
  assert.equal(r(UART_IIR), IIR_MSI);
  const msr = r(UART_MSR);
  assert.equal(msr & 0xf0, 0x90);
  assert.equal(r(UART_IIR), IIR_NO_INT, 'MSR read cleared the deltas');
  w(UART_THR, 0x5a);
  assert.equal(r(UART_RBR), 0x5a);
  assert.deepEqual(out, [], 'loopback data does not reach the sink');
});
