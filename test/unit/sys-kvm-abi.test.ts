/**
 * Checks every layout and number in src/sys/kvm-abi.ts against the kernel's
 * own headers: a C program compiled at test time prints sizeof/offsetof and
 * the ioctl macros, and each must equal the TypeScript constant.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as abi from '../../src/sys/kvm-abi.js';

/** [TS value, C expression] pairs. */
const checks: Array<[string, number, string]> = [];
function struct(name: string, layout: Record<string, number>, cFields: Record<string, string> = {}): void {
  for (const [field, value] of Object.entries(layout)) {
    const expr = field === 'SIZE' ? `sizeof(struct ${name})` : `offsetof(struct ${name}, ${cFields[field] ?? field})`;
    checks.push([`${name}.${field}`, value, expr]);
  }
}

struct('kvm_regs', abi.kvm_regs);
struct('kvm_segment', abi.kvm_segment);
struct('kvm_dtable', abi.kvm_dtable);
struct('kvm_sregs', abi.kvm_sregs);
struct('kvm_fpu', abi.kvm_fpu);
struct('kvm_run', abi.kvm_run, {
  exit: 'io',
  io_direction: 'io.direction', io_size: 'io.size', io_port: 'io.port', io_count: 'io.count', io_data_offset: 'io.data_offset',
  mmio_phys_addr: 'mmio.phys_addr', mmio_data: 'mmio.data', mmio_len: 'mmio.len', mmio_is_write: 'mmio.is_write',
  fail_entry_hardware_entry_failure_reason: 'fail_entry.hardware_entry_failure_reason', fail_entry_cpu: 'fail_entry.cpu',
  internal_suberror: 'internal.suberror', internal_ndata: 'internal.ndata', internal_data: 'internal.data',
  system_event_type: 'system_event.type', system_event_ndata: 'system_event.ndata', system_event_data: 'system_event.data',
});
struct('kvm_cpuid2', abi.kvm_cpuid2);
struct('kvm_cpuid_entry2', abi.kvm_cpuid_entry2);
struct('kvm_msrs', abi.kvm_msrs);
struct('kvm_msr_entry', abi.kvm_msr_entry);
struct('kvm_msr_list', abi.kvm_msr_list);
struct('kvm_userspace_memory_region', abi.kvm_userspace_memory_region);
struct('kvm_irq_routing', abi.kvm_irq_routing);
struct('kvm_irq_routing_entry', abi.kvm_irq_routing_entry, {
  irqchip_irqchip: 'u.irqchip.irqchip', irqchip_pin: 'u.irqchip.pin',
  msi_address_lo: 'u.msi.address_lo', msi_address_hi: 'u.msi.address_hi', msi_data: 'u.msi.data', msi_devid: 'u.msi.devid',
});
struct('kvm_ioeventfd', abi.kvm_ioeventfd);
struct('kvm_irqfd', abi.kvm_irqfd);
struct('kvm_pit_config', abi.kvm_pit_config);
struct('kvm_lapic_state', abi.kvm_lapic_state);
struct('kvm_mp_state', abi.kvm_mp_state);
struct('kvm_irq_level', abi.kvm_irq_level);
struct('kvm_msi', abi.kvm_msi);
struct('kvm_enable_cap', abi.kvm_enable_cap);
struct('kvm_signal_mask', abi.kvm_signal_mask);

// Every exported upper-case number is a kvm.h macro of the same name, except our own helpers.
const notInHeader = new Set(['KVM_MAX_CPUID_ENTRIES', 'KVM_API_VERSION']);
for (const [name, value] of Object.entries(abi)) {
  if (/^KVM_[A-Z0-9_]+$/.test(name) && typeof value === 'number' && !notInHeader.has(name)) {
    checks.push([name, value, `(unsigned long)(${name})`]);
  }
}

test('kvm-abi constants and layouts match <linux/kvm.h>', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-abi-'));
  try {
    const lines = checks.map(([, , expr]) => `  printf("%lu\\n", (unsigned long)(${expr}));`);
    const src = `#include <stdio.h>\n#include <stddef.h>\n#include <linux/kvm.h>\nint main(void) {\n${lines.join('\n')}\n  return 0;\n}\n`;
    writeFileSync(join(dir, 'abi.c'), src);
    try {
      execFileSync('gcc', ['-o', join(dir, 'abi'), join(dir, 'abi.c')], { stdio: 'pipe' });
    } catch (e) {
      const msg = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
      if (/ENOENT/.test(String(e))) return t.skip('gcc not installed');
      throw new Error(`C layout program failed to compile:\n${msg}`);
    }
    const out = execFileSync(join(dir, 'abi')).toString().trim().split('\n').map(Number);
    assert.equal(out.length, checks.length);
    const wrong = checks
      .map(([name, value], i) => ({ name, ts: value, c: out[i] }))
      .filter((r) => r.ts !== r.c);
    assert.deepEqual(wrong, [], 'TS constants that differ from the C headers');
    assert.ok(checks.length > 150, `checked ${checks.length} values`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
