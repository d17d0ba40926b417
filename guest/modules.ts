/**
 * Kernel module selection: which .ko files the initramfs carries and the
 * order /init loads them in. busybox `insmod` does no dependency resolution,
 * so the order is computed here from depmod's modules.dep.
 */

/**
 * The modules tsvisor guests use, in the order we want them (dependencies
 * are pulled in ahead automatically). Names use "_" (the kernel's canonical
 * form); modules that are built into a kernel are skipped.
 * crc32c_generic is listed before ext4/jbd2 explicitly: they only "softdep"
 * on it through a crypto alias that modules.dep does not express, and ext4
 * needs it for metadata_csum, which mkfs.ext4 enables by default.
 */
export const WANTED_MODULES: readonly string[] = [
  'virtio',
  'virtio_ring',
  'virtio_mmio',
  'virtio_pci_legacy_dev',
  'virtio_pci_modern_dev',
  'virtio_pci',
  'virtio_blk',
  'failover',
  'net_failover',
  'virtio_net',
  'virtio_console',
  'rng_core',
  'virtio_rng',
  'vsock',
  'vmw_vsock_virtio_transport_common',
  'vmw_vsock_virtio_transport',
  'crc16',
  'mbcache',
  'crc32c_generic',
  'jbd2',
  'ext4',
];

/** Canonical module name of a path in modules.dep ("kernel/drivers/char/hw_random/virtio-rng.ko" → "virtio_rng"). */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|gz|zst))?$/, '').replace(/-/g, '_');
}

/** modules.dep: "path: dep1 dep2" per line → path → deps (as listed). */
export function parseModulesDep(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new Error(`bad modules.dep line: ${line}`);
    const deps = line.slice(colon + 1).trim();
    m.set(line.slice(0, colon).trim(), deps ? deps.split(/\s+/) : []);
  }
  return m;
}

/** modules.builtin: one path per line → set of canonical names. */
export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map(moduleName),
  );
}

export interface LoadPlan {
  /** modules.dep paths (relative to lib/modules/<version>/) in load order. */
  order: string[];
  /** Wanted names that are built into the kernel (nothing to load). */
  builtin: string[];
  /** Wanted names that are neither modules nor built in. */
  missing: string[];
}

/**
 * Compute the insmod order for `wanted` (canonical names): every module
 * comes after all of its dependencies, each module once. Dependencies are
 * visited last-listed first, which is the order modprobe inserts them in.
 */
export function loadOrder(dep: Map<string, string[]>, wanted: readonly string[], builtin: Set<string> = new Set()): LoadPlan {
  const byName = new Map<string, string>();
  for (const path of dep.keys()) byName.set(moduleName(path), path);
  const order: string[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (path: string): void => {
    if (done.has(path)) return;
    if (visiting.has(path)) throw new Error(`module dependency cycle through ${path}`);
    visiting.add(path);
    const deps = dep.get(path);
    if (!deps) throw new Error(`modules.dep has no entry for dependency ${path}`);
    for (let i = deps.length - 1; i >= 0; i--) visit(deps[i]!);
    visiting.delete(path);
    done.add(path);
    order.push(path);
  };
  const plan: LoadPlan = { order, builtin: [], missing: [] };
  for (const raw of wanted) {
    const name = raw.replace(/-/g, '_');
    const path = byName.get(name);
    if (path) visit(path);
    else if (builtin.has(name)) plan.builtin.push(name);
    else plan.missing.push(name);
  }
  return plan;
}

/** Trailer the kernel's sign-file appends after a module's signature (include/linux/module_signature.h). */
const MODULE_SIG_MAGIC = Buffer.from('~Module signature appended~\n', 'latin1');
/** struct module_signature: algo, hash, id_type, signer_len, key_id_len, pad[3], sig_len (big-endian u32). */
const MODULE_SIG_INFO_SIZE = 12;

/**
 * A module without its appended signature. The guest kernels are not built
 * with MODULE_SIG_FORCE, so they load unsigned modules (tainting themselves);
 * skipping the RSA check of 18 modules saves about a third of the emulated
 * boot's instructions. Data without a well-formed signature is returned as is.
 */
export function stripModuleSignature(data: Buffer): Buffer {
  const end = data.length - MODULE_SIG_MAGIC.length;
  if (end < MODULE_SIG_INFO_SIZE || !data.subarray(end).equals(MODULE_SIG_MAGIC)) return data;
  const sigLen = data.readUInt32BE(end - 4);
  const start = end - MODULE_SIG_INFO_SIZE - sigLen;
  if (start < 0) return data;
  return data.subarray(0, start);
}
