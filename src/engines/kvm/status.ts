/** Mapping of KVM exits that end the VM to ExitStatus. */
import * as K from '../../sys/kvm-abi.js';
import type { ExitStatus } from '../../vmm/engine.js';

/** KVM_EXIT_SYSTEM_EVENT type → ExitStatus (PSCI-style events; on x86 rarely used). */
export function systemEventStatus(type: number): ExitStatus {
  switch (type) {
    case K.KVM_SYSTEM_EVENT_SHUTDOWN:
      return { kind: 'poweroff' };
    case K.KVM_SYSTEM_EVENT_RESET:
      return { kind: 'reset' };
    case K.KVM_SYSTEM_EVENT_CRASH:
      return { kind: 'panic', message: 'KVM_SYSTEM_EVENT_CRASH' };
    default:
      return { kind: 'error', message: `KVM_EXIT_SYSTEM_EVENT of unknown type ${type}` };
  }
}
