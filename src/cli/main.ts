/**
 * The tsvisor command line: a thin layer over Machine.
 * Every user error is one line on stderr and exit code 2; the VM's own end
 * maps to an exit code with exitCodeFor (0 for a guest poweroff).
 */
import { parseArgs } from 'node:util';
import { ConfigError, parseAccelFlag, parseDiskFlag, parseVirtioTransportFlag, type MachineOptions } from '../vmm/config.js';
import { exitCodeFor, type ExitStatus } from '../vmm/engine.js';
import { Machine } from '../vmm/machine.js';
import { hardwareKvm } from '../vmm/host-facts.js';
import { attachConsole, outputDrained } from './console.js';
import { parseNetFlag, parseVsockFlag } from '../backends/net-options.js';
import { defaultGuest } from './default-guest.js';
import { traceStartup } from '../sys/startup-trace.js';

traceStartup('cli-loaded');

export const USAGE = `Usage: tsvisor <command> [options]

Commands:
  run       boot a virtual machine with the console on this terminal
  setup     fetch and build the default guests (Debian kernels + busybox) into ~/.cache/tsvisor

tsvisor run [options]
  --kernel FILE        guest kernel: x86-64 bzImage or PVH ELF (kvm), arm64 Image (emu).
                       Default: the guest built by 'tsvisor setup' for the chosen engine.
  --initrd FILE        initial ramdisk
  --append "ARGS"      kernel command line (default: a console on the engine's serial port)
  --memory SIZE        guest RAM, e.g. 256M, 2G (default 512M)
  --cpus N             number of vCPUs (default 1)
  --accel ENGINE       kvm | emu | auto (default auto: hardware KVM if the host has it,
                       else the emulator); engine options follow commas: emu,jit=off
  --disk PATH[,ro][,id=SERIAL][,direct]
                       a virtio-blk disk on a raw image (repeatable: vda, vdb, ...);
                       ro = read-only, id = serial for /dev/disk/by-id, direct = O_DIRECT
  --rng                a virtio-rng device (guest /dev/hwrng) fed from the host's random source
  --console serial|virtio
                       virtio: add a virtio-console (guest hvc0); console input goes to it once
                       the guest driver is up (use --append "... console=hvc0")
  --virtio-console     same as --console virtio
  --net tap=NAME[,mac=MAC][,netns=NS]
                       a virtio-net NIC on tap NAME (created if needed; inside network
                       namespace NS when given); repeatable; MAC generated when absent
  --vsock cid=N,socket=PATH
                       virtio-vsock with guest CID N; host programs connect to PATH and send
                       "CONNECT <port>\\n"; guest connections to CID 2 port P go to PATH_P
  --virtio-transport mmio|pci
                       how virtio devices attach: mmio (emu default) or pci (a PCI host
                       bridge with MSI-X; the only choice for kvm)
  -h, --help           this help

Console: the terminal is in raw mode while attached; Ctrl-A X quits, Ctrl-A H helps.
Exit status: 0 when the guest powers off, 2 for bad usage, 1 for a VMM error,
3 reset, 4 triple fault, 5 guest panic, N for a debug-exit code N.

Examples:
  tsvisor run                                   # the default guest, default engine
  tsvisor run --accel emu --cpus 2 --memory 1G
  tsvisor run --accel kvm --kernel bzImage --initrd initrd.gz --append "console=ttyS0"
`;

class UsageError extends Error {}

function fail(message: string): number {
  process.stderr.write(`tsvisor: ${message}\n`);
  return 2;
}

/** What bin/tsvisor.js wants to hear about: `started` once `tsvisor run`'s VM runs (it then saves its code cache). */
export interface MainHooks {
  started?: () => void;
}

export async function main(argv: string[], hooks: MainHooks = {}): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === 'run') return await run(rest, hooks);
    if (command === 'setup') return await setup(rest);
    throw new UsageError(`unknown command "${command}" (try tsvisor --help)`);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) return fail(e.message);
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
      return fail(e.message.split('\n')[0]!);
    }
    return fail(`internal error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function setup(argv: string[]): Promise<number> {
  const { runSetup } = await import('./setup.js');
  return runSetup(argv);
}

export function parseRunArgs(argv: string[]): MachineOptions & { help: boolean } {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      kernel: { type: 'string' },
      initrd: { type: 'string' },
      append: { type: 'string' },
      memory: { type: 'string', short: 'm' },
      cpus: { type: 'string', short: 'c' },
      accel: { type: 'string' },
      disk: { type: 'string', multiple: true },
      rng: { type: 'boolean' },
      console: { type: 'string' },
      'virtio-console': { type: 'boolean' },
      net: { type: 'string', multiple: true },
      vsock: { type: 'string' },
      'virtio-transport': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (options start with --)`);
  let cpus: number | undefined;
  if (values.cpus !== undefined) {
    if (!/^\d+$/.test(values.cpus)) throw new UsageError(`--cpus takes a whole number, not "${values.cpus}"`);
    cpus = Number(values.cpus);
  }
  const accel = values.accel !== undefined ? parseAccelFlag(values.accel) : undefined;
  const consoleKind = values['virtio-console'] ? 'virtio' : values.console;
  if (consoleKind !== undefined && consoleKind !== 'serial' && consoleKind !== 'virtio') {
    throw new UsageError(`--console takes serial or virtio, not "${consoleKind}"`);
  }
  const netFlag = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  };
  return {
    nics: values.net?.map((t) => netFlag(() => parseNetFlag(t))),
    vsock: values.vsock !== undefined ? netFlag(() => parseVsockFlag(values.vsock!)) : undefined,
    disks: values.disk?.map(parseDiskFlag),
    rng: values.rng,
    console: consoleKind,
    ...(values['virtio-transport'] !== undefined ? { virtioTransport: parseVirtioTransportFlag(values['virtio-transport']) } : {}),
    kernel: values.kernel ?? '',
    initrd: values.initrd,
    append: values.append,
    memory: values.memory,
    cpus,
    accel: accel?.accel,
    accelOptions: accel?.options,
    help: values.help ?? false,
  };
}

async function run(argv: string[], hooks: MainHooks): Promise<number> {
  const opts = parseRunArgs(argv);
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.kernel === '') {
    const accel = opts.accel === undefined || opts.accel === 'auto' ? (hardwareKvm() ? 'kvm' : 'emu') : opts.accel;
    const guest = await defaultGuest(accel);
    if (guest === undefined) {
      throw new UsageError(`no --kernel given and the default ${accel === 'kvm' ? 'amd64' : 'arm64'} guest is not set up: run 'tsvisor setup' (or npm run setup) first`);
    }
    opts.kernel = guest.kernel;
    opts.initrd ??= guest.initrd;
    opts.append ??= guest.append;
    opts.accel = accel;
  }
  // kvm: vCPU 0 runs on this thread between event-loop turns (no machine thread to start; see Machine).
  const machine = new Machine(opts, { thread: 'caller' });
  traceStartup('machine-created');
  // The console is attached once the VM runs (output waits in machine.serial.output, input in the terminal).
  let detach = (): void => {};
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\ntsvisor: ${sig}: stopping the VM\n`);
    void machine.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let status: ExitStatus;
  try {
    await machine.start();
    detach = attachConsole(machine, process.stdin, process.stdout);
    hooks.started?.();
    status = await machine.wait();
  } catch (e) {
    detach();
    if (e instanceof ConfigError) return fail(e.message);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  detach();
  await outputDrained(machine);
  process.stderr.write(`\ntsvisor: ${describeStatus(status)}\n`);
  return exitCodeFor(status);
}

export function describeStatus(s: ExitStatus): string {
  switch (s.kind) {
    case 'poweroff':
      return 'guest powered off';
    case 'reset':
      return 'guest requested a reset';
    case 'triple-fault':
      return 'guest triple-faulted';
    case 'panic':
      return `guest panicked: ${s.message}`;
    case 'debug-exit':
      return `guest exited with code ${s.code}`;
    case 'stopped':
      return `stopped (${s.reason})`;
    case 'error':
      return `VMM error: ${s.message}`;
  }
}
