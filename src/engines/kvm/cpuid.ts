/**
 * CPUID for the guest: what KVM supports (KVM_GET_SUPPORTED_CPUID), adjusted
 * so each vCPU sees its own APIC id and a topology of `ncpus` single-thread
 * cores in one package, plus the hypervisor bit and the KVM signature leaves
 * (Linux uses them to enable kvmclock and PV features).
 */
import { sys, isErrno } from '../../sys/native.js';
import * as K from '../../sys/kvm-abi.js';

export interface CpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** KVM_GET_SUPPORTED_CPUID on the /dev/kvm fd (retried with a larger buffer on E2BIG). */
export function getSupportedCpuid(kvmFd: number): CpuidEntry[] {
  for (let max = K.KVM_MAX_CPUID_ENTRIES; ; max *= 2) {
    const E = K.kvm_cpuid_entry2;
    const b = new Uint8Array(K.kvm_cpuid2.SIZE + max * E.SIZE);
    const v = new DataView(b.buffer);
    v.setUint32(K.kvm_cpuid2.nent, max, true);
    try {
      sys().ioctl(kvmFd, K.KVM_GET_SUPPORTED_CPUID, b);
    } catch (e) {
      if (isErrno(e, 'E2BIG') && max < 4096) continue;
      throw e;
    }
    const n = v.getUint32(K.kvm_cpuid2.nent, true);
    const out: CpuidEntry[] = [];
    for (let i = 0; i < n; i++) {
      const o = K.kvm_cpuid2.entries + i * E.SIZE;
      out.push({
        function: v.getUint32(o + E.function, true),
        index: v.getUint32(o + E.index, true),
        flags: v.getUint32(o + E.flags, true),
        eax: v.getUint32(o + E.eax, true),
        ebx: v.getUint32(o + E.ebx, true),
        ecx: v.getUint32(o + E.ecx, true),
        edx: v.getUint32(o + E.edx, true),
      });
    }
    return out;
  }
}

export function setCpuid(vcpuFd: number, entries: CpuidEntry[]): void {
  const E = K.kvm_cpuid_entry2;
  const b = new Uint8Array(K.kvm_cpuid2.SIZE + entries.length * E.SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(K.kvm_cpuid2.nent, entries.length, true);
  entries.forEach((e, i) => {
    const o = K.kvm_cpuid2.entries + i * E.SIZE;
    v.setUint32(o + E.function, e.function >>> 0, true);
    v.setUint32(o + E.index, e.index >>> 0, true);
    v.setUint32(o + E.flags, e.flags >>> 0, true);
    v.setUint32(o + E.eax, e.eax >>> 0, true);
    v.setUint32(o + E.ebx, e.ebx >>> 0, true);
    v.setUint32(o + E.ecx, e.ecx >>> 0, true);
    v.setUint32(o + E.edx, e.edx >>> 0, true);
  });
  sys().ioctl(vcpuFd, K.KVM_SET_CPUID2, b);
}

const CPUID_1_ECX_HYPERVISOR = 1 << 31;
const CPUID_1_EDX_HTT = 1 << 28;
/** "KVMKVMKVM\0\0\0" as EBX, ECX, EDX. */
const KVM_SIGNATURE = [0x4b4d564b, 0x564b4d56, 0x0000004d];
const KVM_CPUID_SIGNATURE = 0x4000_0000;
const KVM_CPUID_FEATURES = 0x4000_0001;

/** Bits needed to number `n` things (x2APIC id shift of a topology level). */
function shiftFor(n: number): number {
  return n <= 1 ? 0 : 32 - Math.clz32(n - 1);
}

/** Extended-topology leaf (0xB or 0x1F) sub-leaves: one SMT thread per core, `ncpus` cores. */
function topologyLeaf(fn: number, apicId: number, ncpus: number): CpuidEntry[] {
  const flags = K.KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  const LEVEL_SMT = 1;
  const LEVEL_CORE = 2;
  return [
    { function: fn, index: 0, flags, eax: 0, ebx: 1, ecx: (LEVEL_SMT << 8) | 0, edx: apicId },
    { function: fn, index: 1, flags, eax: shiftFor(ncpus), ebx: ncpus, ecx: (LEVEL_CORE << 8) | 1, edx: apicId },
    { function: fn, index: 2, flags, eax: 0, ebx: 0, ecx: 2, edx: apicId },
  ];
}

/**
 * The CPUID table for vCPU `apicId` of `ncpus`, derived from `supported`.
 * APIC ids equal vCPU indices.
 */
export function guestCpuid(supported: readonly CpuidEntry[], apicId: number, ncpus: number): CpuidEntry[] {
  const maxBasic = supported.find((e) => e.function === 0)?.eax ?? 0;
  const out: CpuidEntry[] = [];
  let sawKvmFeatures = false;
  for (const src of supported) {
    const e = { ...src };
    switch (e.function) {
      case 1:
        // EBX: [31:24] initial APIC id, [23:16] logical processors per package; keep CLFLUSH size/brand.
        e.ebx = ((apicId & 0xff) << 24) | ((Math.min(ncpus, 255) & 0xff) << 16) | (e.ebx & 0xffff);
        e.ecx = (e.ecx | CPUID_1_ECX_HYPERVISOR) >>> 0;
        e.edx = ncpus > 1 ? (e.edx | CPUID_1_EDX_HTT) >>> 0 : (e.edx & ~CPUID_1_EDX_HTT) >>> 0;
        break;
      case 4:
      case 0x8000_001d: {
        // Deterministic cache parameters (Intel leaf 4, AMD 0x8000001D): [25:14] threads sharing - 1;
        // leaf 4 also has [31:26] cores per package - 1. Type 0 means "no more caches": leave it.
        if ((e.eax & 0x1f) === 0) break;
        const cacheLevel = (e.eax >>> 5) & 7;
        const sharing = cacheLevel >= 3 ? ncpus - 1 : 0;
        const cores = e.function === 4 ? ((ncpus - 1) & 0x3f) << 26 : 0;
        e.eax = ((e.eax & 0x3fff) | ((sharing & 0xfff) << 14) | cores) >>> 0;
        break;
      }
      case 0x8000_001e:
        // AMD extended APIC id / compute unit / node: one thread per core, core id = APIC id, node 0.
        e.eax = apicId;
        e.ebx = apicId & 0xff;
        e.ecx = 0;
        break;
      case 0x8000_0008:
        // AMD: ECX[15:12] APIC-id bits for cores, ECX[7:0] cores per package - 1.
        e.ecx = ((e.ecx & ~0xf0ff) | (shiftFor(ncpus) << 12) | ((ncpus - 1) & 0xff)) >>> 0;
        break;
      case 0xb:
      case 0x1f:
        continue; // rebuilt below
      case KVM_CPUID_SIGNATURE:
        continue; // rebuilt below
      case KVM_CPUID_FEATURES:
        sawKvmFeatures = true;
        break;
    }
    out.push(e);
  }
  if (maxBasic >= 0xb) out.push(...topologyLeaf(0xb, apicId, ncpus));
  if (maxBasic >= 0x1f && supported.some((e) => e.function === 0x1f)) out.push(...topologyLeaf(0x1f, apicId, ncpus));
  out.push({
    function: KVM_CPUID_SIGNATURE,
    index: 0,
    flags: 0,
    eax: KVM_CPUID_FEATURES,
    ebx: KVM_SIGNATURE[0]!,
    ecx: KVM_SIGNATURE[1]!,
    edx: KVM_SIGNATURE[2]!,
  });
  if (!sawKvmFeatures) out.push({ function: KVM_CPUID_FEATURES, index: 0, flags: 0, eax: 0, ebx: 0, ecx: 0, edx: 0 });
  return out;
}
