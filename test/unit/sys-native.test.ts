/** The tsvisor_sys addon: errno errors, mmap/munmap, eventfd, signals, addresses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sys, isErrno, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS, EFD_NONBLOCK } from '../../src/sys/native.js';

test('a failing syscall throws an Error with .code and .errno', () => {
  assert.throws(
    () => sys().open('/nonexistent/tsvisor', 0),
    (e: unknown) => isErrno(e, 'ENOENT') && (e as { errno: number }).errno === 2,
  );
  assert.throws(() => sys().ioctl(-1, 0xae00, 0), (e: unknown) => isErrno(e, 'EBADF'));
  assert.throws(() => sys().close(-1), (e: unknown) => isErrno(e, 'EBADF'));
});

test('mmap gives a zero-copy ArrayBuffer at the reported address; munmap detaches it', () => {
  const m = sys().mmap(1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert.equal(m.buffer.byteLength, 1 << 16);
  assert.equal(typeof m.addr, 'bigint');
  const u8 = new Uint8Array(m.buffer);
  assert.equal(u8[100], 0);
  u8[100] = 42;
  assert.equal(sys().addressOf(u8), m.addr);
  assert.equal(sys().addressOf(u8.subarray(100)), m.addr + 100n);
  sys().munmap(m.buffer);
  assert.equal(m.buffer.byteLength, 0);
  assert.equal(u8.length, 0, 'views of an unmapped buffer are empty, so JS cannot touch freed memory');
  sys().munmap(m.buffer); // second call is a no-op
  assert.throws(() => sys().munmap(new ArrayBuffer(8)), /not returned by mmap/);
});

test('eventfd: counter adds writes, read resets it, empty non-blocking read gives 0n', () => {
  const fd = sys().eventfd(0, EFD_NONBLOCK);
  try {
    assert.equal(sys().eventfdRead(fd), 0n);
    sys().eventfdWrite(fd, 5);
    sys().eventfdWrite(fd, 3n);
    assert.equal(sys().eventfdRead(fd), 8n);
    assert.equal(sys().eventfdRead(fd), 0n);
  } finally {
    sys().close(fd);
  }
});

test('ioctl passes a buffer by pointer: KVM_GET_API_VERSION and a struct round trip', (t) => {
  let fd: number;
  try {
    fd = sys().open('/dev/kvm', 2);
  } catch (e) {
    return t.skip(`no /dev/kvm: ${(e as Error).message}`);
  }
  try {
    assert.equal(sys().ioctl(fd, 0xae00), 12);
    // KVM_GET_SUPPORTED_CPUID with nent=256 fills the buffer and rewrites nent.
    const b = new Uint32Array(2 + 256 * 10);
    b[0] = 256;
    sys().ioctl(fd, 0xc008ae05, b);
    assert.ok(b[0]! > 0 && b[0]! <= 256, `nent ${b[0]}`);
    assert.equal(b[2], 0, 'first entry is leaf 0');
  } finally {
    sys().close(fd);
  }
});

test('a blocked kick signal stays pending until consumed', () => {
  const SIGUSR2 = 12;
  sys().installKickSignal(SIGUSR2);
  sys().blockSignal(SIGUSR2);
  assert.equal(sys().consumeSignal(SIGUSR2), false);
  sys().tgkill(sys().gettid(), SIGUSR2);
  assert.equal(sys().consumeSignal(SIGUSR2), true);
  assert.equal(sys().consumeSignal(SIGUSR2), false);
  assert.equal(sys().gettid(), process.pid, 'the main thread id is the process id');
});

test('startKickTimer delivers the signal to the thread periodically until stopped', () => {
  const SIGUSR2 = 12;
  sys().installKickSignal(SIGUSR2);
  sys().blockSignal(SIGUSR2);
  while (sys().consumeSignal(SIGUSR2));
  const timer = sys().startKickTimer(sys().gettid(), SIGUSR2, 5);
  try {
    const until = Date.now() + 2000;
    while (!sys().consumeSignal(SIGUSR2) && Date.now() < until);
    assert.ok(Date.now() < until, 'the timer signal arrived');
  } finally {
    sys().stopKickTimer(timer);
  }
  while (sys().consumeSignal(SIGUSR2));
  const quiet = Date.now() + 30;
  while (Date.now() < quiet);
  assert.equal(sys().consumeSignal(SIGUSR2), false, 'no signal after stopKickTimer');
  assert.throws(() => sys().startKickTimer(sys().gettid(), SIGUSR2, 0), /interval/);
});
