/**
 * What bin/tsvisor.js does before loading the CLI proper: for `tsvisor run`,
 * start the machine thread at once (vmm/prespawn.ts) so its start-up overlaps
 * loading the CLI and validating the options. Only a guess at the engine from
 * argv; Machine.start() ignores a thread prepared for another engine.
 */
import { prespawnMachineThread } from '../vmm/prespawn.js';
import { hardwareKvm } from '../vmm/host-facts.js';

export function startEarly(argv: string[]): void {
  if (argv[0] !== 'run' || argv.includes('-h') || argv.includes('--help')) return;
  let accel: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--accel') accel = argv[i + 1];
    else if (a.startsWith('--accel=')) accel = a.slice('--accel='.length);
  }
  const name = accel?.split(',')[0];
  const engine = name === 'kvm' || name === 'emu' ? name : name === undefined || name === 'auto' ? (hardwareKvm() ? 'kvm' : 'emu') : undefined;
  // kvm runs on the CLI's own thread (Machine { thread: 'caller' }): no machine thread to prepare.
  if (engine === 'emu') prespawnMachineThread(engine);
}
