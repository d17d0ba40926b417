/** Public surface of the kvm engine. */
export { KvmEngine, KVM_MAX_CPUS, type KvmEngineOptions, type KvmStats } from './engine.js';
export { probeKvm, hardwareKvm } from './probe.js';
export { createMmapMemory, x86RamLayout, X86_MMIO_HOLE_START, X86_HIGH_RAM_START, type RamRange } from './memory.js';
export { KvmVm, KvmError, KVM_TSS_ADDR, KVM_IDENTITY_MAP_ADDR, type IoeventfdOptions, type MsiMessage } from './vm.js';
