/** The Arm virt board: public API (see board.ts for how the engine is attached). */
export { buildArmVirt, ARM_VIRT_MAX_RAM, ARM_VIRT_MIN_RAM, type ArmVirtBoard, type ArmVirtOptions, type VirtioMmioFactory } from './board.js';
export { buildVirtDtb, type VirtDtOptions } from './dt.js';
export { loadArm64, parseArm64Image, planArmLoad, maybeDecompress, ImageError, type Arm64ImageHeader, type ArmLoadLayout } from './image.js';
export { Psci, type PsciCpu, type PsciEngine } from './psci.js';
export * as virtLayout from './layout.js';
export { attachArmVirtPci, type ArmVirtPci, type PciFunctionFactory } from './pci.js';
