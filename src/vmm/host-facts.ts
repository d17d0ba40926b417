/** Facts about the host that configuration defaults depend on. */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { HostFacts } from './config.js';

/** True when the host's KVM runs guests on the real CPU (VMX/SVM), not PVM's emulation. */
export function hardwareKvm(): boolean {
  return existsSync('/sys/module/kvm_intel') || existsSync('/sys/module/kvm_amd');
}

export function hostFacts(): HostFacts {
  return { hardwareKvm: hardwareKvm(), hostMemory: totalmem() };
}
