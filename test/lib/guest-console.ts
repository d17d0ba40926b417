/** Helpers for tests that drive a real guest's console through the Machine API. */
import { Machine, type MachineOptions } from '../../src/index.js';

export interface Console {
  machine: Machine;
  text(): string;
  /** Resolves when the console output (from `from` on) matches `re`; rejects with the output after `ms`. */
  waitFor(re: RegExp, ms?: number, from?: number): Promise<RegExpExecArray>;
  /** Current length of the output, to wait for something printed after this point. */
  mark(): number;
  type(s: string): void;
}

export async function startGuest(opts: MachineOptions): Promise<Console> {
  const machine = new Machine(opts);
  let out = '';
  const waiters = new Set<() => void>();
  machine.serial.output.on('data', (d: Buffer) => {
    out += d.toString('latin1');
    for (const w of waiters) w();
  });
  machine.on('exit', () => {
    for (const w of waiters) w();
  });
  await machine.start();
  return {
    machine,
    text: () => out,
    mark: () => out.length,
    type: (s) => machine.serial.write(s),
    waitFor: (re, ms = 120_000, from = 0) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out.slice(from));
          if (m) {
            done();
            resolve(m);
          } else if (machine.state === 'exited') {
            done();
            reject(new Error(`guest ended (${JSON.stringify(machine.status)}) before ${re}; console:\n${out.slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${ms} ms waiting for ${re}; console:\n${out.slice(-3000)}`));
        }, ms);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}
