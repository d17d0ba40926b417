// Child of bench/kvm-startup.ts: builds a 64 MiB single-vCPU VM whose guest
// writes port 0x10 at once, and prints (JSON) process uptime at the first
// KVM_RUN and at the first exit. argv[2]: URL of src/engines/kvm/index.{ts,js}.
const { KvmEngine, createMmapMemory, x86RamLayout } = await import(process.argv[2]);
const { Bus } = await import(process.argv[3]);
const atImport = process.uptime() * 1000;
const memory = createMmapMemory(x86RamLayout(64 << 20));
// real mode at 0x1000: out %al,$0x10 ; jmp .
memory.writeBytes(0x1000, new Uint8Array([0xe6, 0x10, 0xeb, 0xfe]));
const seg = (type) => ({ selector: 0, base: 0, limit: 0xffff, type, present: true, dpl: 0, db: false, s: true, l: false, g: false, avl: false });
const bootState = {
  regs: { rip: 0x1000, rsp: 0x7000, rbp: 0, rsi: 0, rdi: 0, rax: 0, rbx: 0, rflags: 2 },
  sregs: {
    cr0: 0x60000010, cr3: 0, cr4: 0, efer: 0, gdt: { base: 0, limit: 0xffff }, idt: { base: 0, limit: 0x3ff },
    cs: seg(0xb), ds: seg(3), es: seg(3), fs: seg(3), gs: seg(3), ss: seg(3),
    tr: { ...seg(0xb), s: false }, ldt: { ...seg(2), s: false },
  },
};
const pio = new Bus('pio');
let engine;
let firstExit;
pio.register(0x10, 1, {
  name: 'marker',
  read: () => 0,
  write() {
    firstExit = process.uptime() * 1000;
    engine.requestStop({ kind: 'stopped', reason: 'marker' });
  },
});
engine = new KvmEngine({ memory, pio, mmio: new Bus('mmio'), cpus: 1, bootState, host: { pending: () => false, poll: () => undefined } });
engine.run();
engine.close();
console.log(JSON.stringify({ importedMs: atImport, firstRunMs: engine.stats.firstRunUptimeMs, firstExitMs: firstExit }));
