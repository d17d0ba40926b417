/**
 * VMM memory: resident memory of the VMM process minus the guest RAM the guest
 * touched, for a 1-vCPU 128 MiB guest (the project's `hello` PVH test guest,
 * sitting at its console prompt), tsvisor vs qemu-system-x86_64 -M microvm
 * -accel kvm running the very same binary, in one run.
 *
 * Guest RAM is found in /proc/PID/smaps as the anonymous mapping of exactly the
 * guest RAM size; its Rss is what the guest touched.
 *
 * usage: npm run build && node --import tsx bench/kvm-memory.ts [rounds=3]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { summarize, fmt } from './lib/stats.js';
import { probeKvm } from '../src/engines/kvm/index.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const MIB = 1024 * 1024;
const GUEST_MIB = 128;
const root = fileURLToPath(new URL('..', import.meta.url));
const guest = `${root}guest/test-guests/out/hello.elf`;
const cli = `${root}bin/tsvisor.js`;
/** Extra node flags for the tsvisor process (to try V8 options), e.g. KVM_MEMORY_NODE_FLAGS='--max-semi-space-size=1'. */
const nodeFlags = (process.env.KVM_MEMORY_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');

interface Sample {
  rssKiB: number;
  guestKiB: number;
}

/** Total Rss and the Rss of the guest RAM mapping(s) (size == guest RAM, or the largest anon mapping >= 64 MiB). */
function sample(pid: number, guestBytes: number): Sample {
  const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n');
  let rss = 0;
  let guestKiB = 0;
  let inGuest = false;
  for (const line of smaps) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (head) {
      const size = Number(BigInt('0x' + head[2]) - BigInt('0x' + head[1]));
      // QEMU and tsvisor both map RAM as one anonymous region of the guest's size (tsvisor: exactly; QEMU: +alignment).
      inGuest = size >= guestBytes && size <= guestBytes + 4 * MIB && !/\//.test(line);
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m) {
      rss += Number(m[1]);
      if (inGuest) guestKiB += Number(m[1]);
    }
  }
  return { rssKiB: rss, guestKiB };
}

/** Start a VMM, wait for the guest's prompt, sample the process that owns the VM, kill it. */
function measure(cmd: string, args: string[], pidOf: (childPid: number) => number): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd}: no prompt in 60 s; output:\n${out}`));
    }, 60_000);
    const onData = (d: Buffer): void => {
      out += d.toString('latin1');
      if (out.includes('echo until q')) {
        clearTimeout(timer);
        // Let the VMM settle (lazy allocations after start-up).
        setTimeout(() => {
          try {
            resolve(sample(pidOf(child.pid!), GUEST_MIB * MIB));
          } catch (e) {
            reject(e);
          }
          child.kill('SIGKILL');
        }, 500);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
}

async function main(): Promise<void> {
  const p = probeKvm();
  if (!p.ok) throw new Error(`no usable /dev/kvm: ${p.reason}`);
  if (!existsSync(guest)) throw new Error('build the test guests first: bash guest/test-guests/build.sh');
  if (!existsSync(`${root}dist/src/cli/main.js`)) throw new Error('build first: npm run build');
  const ts: Sample[] = [];
  const qm: Sample[] = [];
  const bare: Sample[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Reference: node itself, idle after printing the marker (no VMM).
    bare.push(await measure(process.execPath, ['-e', "console.log('echo until q'); setInterval(() => {}, 1000)"], (pid) => pid));
    ts.push(await measure(process.execPath, [...nodeFlags, cli, 'run', '--accel', 'kvm', '--kernel', guest, '--memory', `${GUEST_MIB}M`], (pid) => pid));
    qm.push(
      await measure(
        'qemu-system-x86_64',
        ['-M', 'microvm', '-accel', 'kvm', '-cpu', 'host,-arch-capabilities', '-m', `${GUEST_MIB}M`, '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-device', 'isa-debug-exit', '-kernel', guest],
        (pid) => pid,
      ),
    );
  }
  const vmm = (s: Sample[]): number[] => s.map((x) => (x.rssKiB - x.guestKiB) / 1024);
  const tsS = summarize(vmm(ts));
  const qmS = summarize(vmm(qm));
  console.log(`VMM memory (RSS minus touched guest RAM), ${GUEST_MIB} MiB 1-vCPU hello guest, ${ROUNDS} rounds, min / median / max:`);
  console.log(`  tsvisor (kvm):             ${fmt(tsS, 'MiB', 1)}   (guest RAM touched: ${(ts[0]!.guestKiB / 1024).toFixed(1)} MiB)`);
  console.log(`  qemu-system-x86_64 microvm: ${fmt(qmS, 'MiB', 1)}   (guest RAM touched: ${(qm[0]!.guestKiB / 1024).toFixed(1)} MiB)`);
  console.log(`  ratio tsvisor / qemu (median): ${(tsS.median / qmS.median).toFixed(2)}x`);
  console.log(`  reference, node -e (idle, no VMM): ${fmt(summarize(bare.map((x) => x.rssKiB / 1024)), 'MiB', 1)} RSS`);
}

await main();
