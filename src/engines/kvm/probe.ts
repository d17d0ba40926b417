/** Whether this host can run the kvm engine, in one line the CLI can print. */
import { existsSync } from 'node:fs';
import { sys, O_RDWR } from '../../sys/native.js';
import * as K from '../../sys/kvm-abi.js';

export function probeKvm(): { ok: true } | { ok: false; reason: string } {
  if (!existsSync('/dev/kvm')) return { ok: false, reason: '/dev/kvm does not exist (KVM module not loaded or no virtualization support)' };
  let s;
  try {
    s = sys();
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  let fd: number;
  try {
    fd = s.open('/dev/kvm', O_RDWR);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EACCES' || code === 'EPERM') return { ok: false, reason: 'permission denied opening /dev/kvm (join the kvm group)' };
    return { ok: false, reason: `cannot open /dev/kvm: ${(e as Error).message}` };
  }
  try {
    const api = s.ioctl(fd, K.KVM_GET_API_VERSION, 0);
    if (api !== K.KVM_API_VERSION) return { ok: false, reason: `/dev/kvm has API version ${api}, tsvisor needs ${K.KVM_API_VERSION}` };
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: `KVM_GET_API_VERSION failed: ${(e as Error).message}` };
  } finally {
    s.close(fd);
  }
}

/** True when hardware-assisted KVM (kvm_intel or kvm_amd) is loaded, as opposed to e.g. PVM. */
export function hardwareKvm(): boolean {
  return existsSync('/sys/module/kvm_intel') || existsSync('/sys/module/kvm_amd');
}
