/**
 * Attach a terminal to a Machine's serial console, QEMU style: raw mode while
 * attached, Ctrl-A X quits, Ctrl-A H prints help, Ctrl-A Ctrl-A sends Ctrl-A.
 * With a non-TTY stdin (a pipe, a file), bytes are passed through unchanged.
 */
import type { Machine } from '../vmm/machine.js';

const CTRL_A = 0x01;

export function attachConsole(machine: Machine, input: NodeJS.ReadStream, output: NodeJS.WriteStream): () => void {
  machine.serial.output.pipe(output, { end: false });
  // The reader of our output went away (`tsvisor run ... | head`): stop the VM with one line, not an unhandled EPIPE.
  const onOutputError = (e: NodeJS.ErrnoException): void => {
    machine.serial.output.unpipe(output);
    process.stderr.write(`\ntsvisor: console output closed (${e.code ?? e.message}): stopping the VM\n`);
    void machine.stop();
  };
  output.once('error', onOutputError);
  const tty = input.isTTY === true;
  if (tty) input.setRawMode(true);
  let escape = false;
  const onData = (chunk: Buffer): void => {
    if (!tty) {
      machine.serial.write(chunk);
      return;
    }
    const out: number[] = [];
    for (const b of chunk) {
      if (escape) {
        escape = false;
        const c = String.fromCharCode(b).toLowerCase();
        if (c === 'x') {
          output.write('\r\ntsvisor: terminated by Ctrl-A X\r\n');
          void machine.stop();
        } else if (c === 'h') {
          output.write('\r\nCtrl-A X  quit\r\nCtrl-A H  this help\r\nCtrl-A Ctrl-A  send Ctrl-A\r\n');
        } else if (b === CTRL_A) out.push(CTRL_A);
        continue;
      }
      if (b === CTRL_A) escape = true;
      else out.push(b);
    }
    if (out.length > 0) machine.serial.write(Uint8Array.from(out));
  };
  input.on('data', onData);
  input.resume();
  return () => {
    input.off('data', onData);
    if (tty) input.setRawMode(false);
    input.pause();
    // Once the VM has ended, its output stream is ending: let what it still buffers reach `output`.
    if (machine.state !== 'exited') machine.serial.output.unpipe(output);
  };
}

/**
 * Once the VM has ended: resolves when the console output it still buffered has
 * reached the terminal (so the status line comes after it), or after 1 s.
 */
export function outputDrained(machine: Machine): Promise<void> {
  const out = machine.serial.output;
  if (out.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, 1000);
    function done(): void {
      clearTimeout(timer);
      out.off('end', done);
      resolve();
    }
    out.once('end', done);
  });
}
