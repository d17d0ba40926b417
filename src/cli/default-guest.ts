/** The default guest for an engine: what `tsvisor setup` put in the cache (guest/assets.ts). */
import type { Accel } from '../vmm/config.js';

export interface DefaultGuest {
  kernel: string;
  initrd?: string;
  append?: string;
}

export async function defaultGuest(accel: Accel): Promise<DefaultGuest | undefined> {
  const assets = await import('../../guest/assets.js');
  const g = assets.findGuest(accel === 'kvm' ? 'amd64' : 'arm64');
  if (g === undefined) return undefined;
  return { kernel: g.kernel, initrd: g.initrd, append: g.cmdlineDefaults };
}
