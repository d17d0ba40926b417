/**
 * The file tree of a tsvisor busybox guest, described once and emitted both
 * as an initramfs (cpio) and as an ext4 root disk (rootfs.ts).
 */
import { INIT_SCRIPT, INITRAMFS_MARKER, MODULE_ORDER_FILE } from './init-script.js';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, type CpioEntry } from './cpio.js';

export interface GuestModules {
  /** Kernel release, `uname -r` in the guest (e.g. 6.1.0-28-arm64). */
  release: string;
  /** Paths relative to lib/modules/<release>/, in load order, with contents (uncompressed). */
  files: { path: string; data: Uint8Array }[];
}

export interface GuestTreeInput {
  busybox: Uint8Array;
  /** Applet paths as printed by `busybox --list-full` (e.g. "bin/sh", "sbin/poweroff"). */
  applets: string[];
  modules?: GuestModules;
  hostname?: string;
  /** Include the marker that tells /init it runs from the initramfs (may switch_root). */
  initramfs: boolean;
}

const UDHCPC_SCRIPT = `#!/bin/sh
# Minimal udhcpc hook so "udhcpc -i eth0" configures virtio-net.
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via \${router%% *} dev "$interface"
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done ;;
esac
`;

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** Entries in archive order (every directory before what it contains). */
export function guestTree(input: GuestTreeInput): CpioEntry[] {
  const out: CpioEntry[] = [];
  const dirs = new Set<string>();
  const dir = (p: string, perm = 0o755): void => {
    if (dirs.has(p)) return;
    const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    if (parent) dir(parent);
    dirs.add(p);
    out.push({ name: p, mode: S_IFDIR | perm });
  };
  const file = (p: string, data: Uint8Array, perm = 0o644): void => {
    if (p.includes('/')) dir(p.slice(0, p.lastIndexOf('/')));
    out.push({ name: p, mode: S_IFREG | perm, data });
  };
  const chr = (p: string, major: number, minor: number, perm: number): void => {
    out.push({ name: p, mode: S_IFCHR | perm, rdevMajor: major, rdevMinor: minor });
  };

  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'etc', 'root', 'lib', 'mnt', 'run', 'var']) dir(d);
  dir('tmp', 0o1777);
  // The kernel opens /dev/console for init's stdio before /init can mount devtmpfs.
  chr('dev/console', 5, 1, 0o600);
  chr('dev/null', 1, 3, 0o666);

  file('bin/busybox', input.busybox, 0o755);
  const seen = new Set<string>(['bin/busybox']);
  for (const raw of input.applets) {
    const p = raw.replace(/^\/+/, '');
    // `--list` includes busybox itself: never replace the binary with a link to itself.
    if (!p || seen.has(p) || p.endsWith('/busybox') || p === 'busybox') continue;
    seen.add(p);
    const at = p.includes('/') ? p : `bin/${p}`;
    if (at.includes('/')) dir(at.slice(0, at.lastIndexOf('/')));
    out.push({ name: at, mode: S_IFLNK | 0o777, data: text('/bin/busybox') });
  }

  file('init', text(INIT_SCRIPT), 0o755);
  file('etc/passwd', text('root:x:0:0:root:/root:/bin/sh\n'));
  file('etc/group', text('root:x:0:\n'));
  file('etc/hostname', text(`${input.hostname ?? 'tsvisor'}\n`));
  file('etc/profile', text("export PATH=/bin:/sbin:/usr/bin:/usr/sbin\nexport PS1='\\h:\\w\\$ '\n"));
  file('etc/resolv.conf', text(''));
  // Debian's busybox looks for /etc/udhcpc/default.script (upstream: /usr/share/udhcpc/).
  file('etc/udhcpc/default.script', text(UDHCPC_SCRIPT), 0o755);
  if (input.initramfs) file(INITRAMFS_MARKER, text('1\n'));

  if (input.modules) {
    const base = `lib/modules/${input.modules.release}`;
    dir(base);
    for (const m of input.modules.files) file(`${base}/${m.path}`, m.data);
    file(`${base}/${MODULE_ORDER_FILE}`, text(input.modules.files.map((m) => m.path).join('\n') + '\n'));
  }
  return out;
}
