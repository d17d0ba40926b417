/** tsvisor as a library: `import { Machine } from 'tsvisor'`. */
export { Machine, type MachineState } from './vmm/machine.js';
export { ConfigError, parseSize, type MachineOptions, type MachineConfig, type Accel, type GuestArch } from './vmm/config.js';
export { exitCodeFor, type ExitStatus } from './vmm/engine.js';
export { hardwareKvm } from './vmm/host-facts.js';
