// Usage: node --import tsx bench/virtio-blk.ts [MiB=64] [sync,worker,qemu]
// Same guest and image (1 GiB raw) on tsvisor emu (each disk I/O mode) and qemu-system-aarch64 TCG.
// Guest-side disk throughput: tsvisor emu (sync / worker I/O) vs QEMU TCG, same guest, same image.
import { closeSync, openSync, truncateSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootEmu, assets } from '../test/integration/virtio-blk-guest.js';
import { cmdParam } from '../guest/init-script.js';
import { QEMU_ARM64, qemuArm64Args, runQemu } from '../guest/qemu.js';
const MB = Number(process.argv[2] ?? 64);
const which = (process.argv[3] ?? 'sync,worker,qemu').split(',');
const dir = mkdtempSync(join(tmpdir(), 'tsv-bench-'));
const img = join(dir, 'd.img');
closeSync(openSync(img, 'w')); truncateSync(img, 1 << 30);
const script = [
  't() { cut -d" " -f1 /proc/uptime; }',
  `a=$(t); dd if=/dev/zero of=/dev/vda bs=1M count=${MB} oflag=direct 2>/dev/null; b=$(t); echo "W $a $b"`,
  `a=$(t); dd if=/dev/vda of=/dev/null bs=1M count=${MB} iflag=direct 2>/dev/null; b=$(t); echo "R $a $b"`,
  `a=$(t); dd if=/dev/vda of=/dev/null bs=4k count=2048 skip=4096 iflag=direct 2>/dev/null; b=$(t); echo "R4 $a $b"`,
].join('\n');
function rates(out: string, label: string): void {
  const g = (k: string): number => { const m = new RegExp(`^${k} ([\\d.]+) ([\\d.]+)`, 'm').exec(out); return m ? Number(m[2]) - Number(m[1]) : NaN; };
  const w = g('W'), r = g('R'), r4 = g('R4');
  console.log(`${label}: seq write ${(MB / w).toFixed(1)} MiB/s, seq read ${(MB / r).toFixed(1)} MiB/s (1 MiB O_DIRECT), 4 KiB sequential direct reads ${(2048 / r4).toFixed(0)} IOPS   [${w}s ${r}s ${r4}s]`);
}
for (const w of which) {
  if (w === 'qemu') {
    const r = await runQemu(QEMU_ARM64, qemuArm64Args(assets!, { append: cmdParam(script), disk: img, writable: true, memory: 256}), { timeoutMs: 300000 });
    rates(r.output, 'qemu tcg');
  } else {
    process.env.TSVISOR_BLK_IO = w;
    const r = await bootEmu({ script, disks: [{ path: img }], timeoutMs: 600000 });
    rates(r.output, `tsvisor emu (${w})`);
  }
}
rmSync(dir, { recursive: true });
