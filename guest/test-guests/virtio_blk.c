/* virtio_blk: a minimal modern virtio-pci driver.
 *   dev=T   virtio device type to look for (2 = block, default; 4 = rng; 1 = net)
 *   n=N     block: N rounds of (write sector i, read it back, compare); rng: N reads;
 *           net: N ARP requests for 10.77.0.1 (from 10.77.0.2), each answered
 *
 * Finds the device with configuration mechanism #1 (0xCF8/0xCFC), walks its
 * vendor capabilities (common / notify / ISR / device config in BAR0), wires
 * MSI-X vector 0 to LAPIC vector 0x40 of CPU 0, sets up queue 0 and issues
 * requests: each one is a notify write (an ioeventfd under tsvisor's kvm
 * engine) and completes with an MSI (an irqfd). Prints only at the start and
 * the end, so the VMM can count the exits the requests themselves cost.
 * Ends with debug-exit 0 when every request completed with the right data,
 * 0x10 + step on failure. */
#include "lib.h"

#define VEC 0x40
#define QSZ 8

static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void mmio_write16(u64 a, u16 v) { *(volatile u16 *)a = v; }
static inline u16 mmio_read16(u64 a) { return *(volatile u16 *)a; }
static inline void mmio_write8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline void barrier(void) { __asm__ volatile("mfence" ::: "memory"); }

static u32 cfg32(int dev, int reg) { outl(0xcf8, 0x80000000u | (u32)dev << 11 | (reg & 0xfc)); return inl(0xcfc); }
static u8 cfg8(int dev, int reg) { return (u8)(cfg32(dev, reg) >> (8 * (reg & 3))); }
static void cfgw32(int dev, int reg, u32 v) { outl(0xcf8, 0x80000000u | (u32)dev << 11 | (reg & 0xfc)); outl(0xcfc, v); }

struct __attribute__((packed)) idt_entry { u16 off0; u16 sel; u8 ist; u8 type; u16 off1; u32 off2; u32 zero; };
struct interrupt_frame;
static struct idt_entry idt[256] __attribute__((aligned(16)));
static volatile u32 irqs;

__attribute__((interrupt)) static void msi_isr(struct interrupt_frame *f) { (void)f; irqs++; mmio_write32(LAPIC_BASE + 0xb0, 0); }
__attribute__((interrupt)) static void other_isr(struct interrupt_frame *f) { (void)f; puts("unexpected interrupt\n"); debug_exit(0x7f); }
static void set_gate(int v, void (*h)(struct interrupt_frame *))
{
	u64 a = (u64)h;
	idt[v].off0 = (u16)a; idt[v].sel = 0x08; idt[v].ist = 0; idt[v].type = 0x8e;
	idt[v].off1 = (u16)(a >> 16); idt[v].off2 = (u32)(a >> 32); idt[v].zero = 0;
}

struct desc { u64 addr; u32 len; u16 flags; u16 next; };
struct avail { u16 flags; u16 idx; u16 ring[QSZ]; u16 used_event; };
struct used_elem { u32 id; u32 len; };
struct used { u16 flags; u16 idx; struct used_elem ring[QSZ]; u16 avail_event; };
static struct desc descs[QSZ] __attribute__((aligned(16)));
static struct avail avail __attribute__((aligned(2)));
static struct used used __attribute__((aligned(4)));
/* virtio-net: queue 0 (RX) uses the rings above; queue 1 (TX) these. */
static struct desc tdescs[QSZ] __attribute__((aligned(16)));
static struct avail tavail __attribute__((aligned(2)));
static struct used tused __attribute__((aligned(4)));
static u8 txframe[12 + 42];
static u8 rxframe[2048];
struct blk_hdr { u32 type; u32 reserved; u64 sector; };
static struct blk_hdr hdr;
static u8 wbuf[512], rbuf[512];
static volatile u8 status;

static u64 common, notify_base, isr, devcfg;
static u32 mult;
static u64 notify_addr, tx_notify;
static u16 last_used;

static void fail(int step) { puts("virtio_blk: FAILED at step "); putdec(step); putc('\n'); debug_exit(0x10 + step); }

/* Post the chain at descriptor 0, notify, sleep until the device used it. Returns the used length. */
static u32 submit(void)
{
	avail.ring[avail.idx % QSZ] = 0;
	barrier();
	avail.idx++;
	barrier();
	mmio_write16(notify_addr, 0);
	__asm__ volatile("cli");
	while (*(volatile u16 *)&used.idx == last_used)
		__asm__ volatile("sti; hlt; cli");
	__asm__ volatile("sti");
	barrier();
	last_used++;
	return used.ring[(last_used - 1) % QSZ].len;
}

void guest_main(const struct hvm_start_info *si)
{
	struct __attribute__((packed)) { u16 limit; u64 base; } idtr = { sizeof(idt) - 1, (u64)idt };
	u32 type = (u32)cmdline_u64(si, "dev", 2);
	u32 n = (u32)cmdline_u64(si, "n", 16);
	int slot = -1, s, v;
	u64 bar, msix_table = 0;
	u8 p;
	u32 i, j;
	u64 t0, t1;

	serial_init();
	puts("virtio_blk: looking for virtio device type ");
	putdec(type);
	putc('\n');
	for (v = 0; v < 256; v++) set_gate(v, other_isr);
	set_gate(VEC, msi_isr);
	set_gate(0xff, msi_isr); /* spurious */
	__asm__ volatile("lidt %0" : : "m"(idtr));
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	mmio_write32(LAPIC_BASE + 0xf0, 0x1ff);
	mmio_write32(LAPIC_BASE + 0x80, 0);

	for (s = 1; s < 32 && slot < 0; s++) {
		u32 id = cfg32(s, 0);
		if ((id & 0xffff) == 0x1af4 && (id >> 16) == 0x1040 + type) slot = s;
	}
	if (slot < 0) fail(1);
	bar = ((u64)cfg32(slot, 0x14) << 32) | (cfg32(slot, 0x10) & ~0xfu);
	cfgw32(slot, 4, 0x6); /* memory + bus master */
	for (p = cfg8(slot, 0x34); p; p = cfg8(slot, p + 1)) {
		u8 id = cfg8(slot, p);
		if (id == 0x09) {
			u8 t = cfg8(slot, p + 3);
			u64 a = bar + cfg32(slot, p + 8);
			if (t == 1) common = a;
			if (t == 2) { notify_base = a; mult = cfg32(slot, p + 16); }
			if (t == 3) isr = a;
			if (t == 4) devcfg = a;
		} else if (id == 0x11) {
			msix_table = bar + (cfg32(slot, p + 4) & ~7u);
			/* MSI-X enable (bit 15 of message control at p+2) */
			cfgw32(slot, p, (cfg32(slot, p) & 0xffff) | (0x8000u << 16));
		}
	}
	if (!common || !notify_base || !isr || !msix_table) fail(2);
	mmio_write32(msix_table + 0, 0xfee00000); /* destination APIC 0 */
	mmio_write32(msix_table + 4, 0);
	mmio_write32(msix_table + 8, VEC);
	mmio_write32(msix_table + 12, 0); /* unmasked */

	mmio_write8(common + 0x14, 0); /* reset */
	while (mmio_read8(common + 0x14) != 0) cpu_relax();
	mmio_write8(common + 0x14, 1 | 2);
	mmio_write32(common + 0x00, 1);
	if (!(mmio_read32(common + 0x04) & 1)) fail(3); /* VERSION_1 */
	mmio_write32(common + 0x08, 1);
	mmio_write32(common + 0x0c, 1);
	mmio_write32(common + 0x08, 0);
	mmio_write32(common + 0x0c, 0);
	mmio_write8(common + 0x14, 1 | 2 | 8);
	if (!(mmio_read8(common + 0x14) & 8)) fail(4);
	mmio_write16(common + 0x10, 0xffff); /* no config interrupts */
	mmio_write16(common + 0x16, 0);
	if (mmio_read16(common + 0x18) < QSZ) fail(5);
	mmio_write16(common + 0x18, QSZ);
	mmio_write32(common + 0x20, (u32)(u64)descs);
	mmio_write32(common + 0x24, 0);
	mmio_write32(common + 0x28, (u32)(u64)&avail);
	mmio_write32(common + 0x2c, 0);
	mmio_write32(common + 0x30, (u32)(u64)&used);
	mmio_write32(common + 0x34, 0);
	mmio_write16(common + 0x1a, 0);
	if (mmio_read16(common + 0x1a) != 0) fail(6);
	notify_addr = notify_base + (u64)mmio_read16(common + 0x1e) * mult;
	mmio_write16(common + 0x1c, 1);
	if (type == 1) {
		mmio_write16(common + 0x16, 1);
		mmio_write16(common + 0x18, QSZ);
		mmio_write32(common + 0x20, (u32)(u64)tdescs);
		mmio_write32(common + 0x24, 0);
		mmio_write32(common + 0x28, (u32)(u64)&tavail);
		mmio_write32(common + 0x2c, 0);
		mmio_write32(common + 0x30, (u32)(u64)&tused);
		mmio_write32(common + 0x34, 0);
		mmio_write16(common + 0x1a, 0);
		tx_notify = notify_base + (u64)mmio_read16(common + 0x1e) * mult;
		mmio_write16(common + 0x1c, 1);
	}
	mmio_write8(common + 0x14, 1 | 2 | 8 | 4);
	if (type == 2) {
		puts("virtio_blk: capacity ");
		putdec(mmio_read32(devcfg) | (u64)mmio_read32(devcfg + 4) << 32);
		puts(" sectors\n");
	}
	puts("virtio_blk: go\n");

	t0 = rdtsc();
	for (i = 0; i < n; i++) {
		if (type == 2) {
			for (j = 0; j < 512; j++) wbuf[j] = (u8)(i * 31 + j * 7 + 1);
			hdr.type = 1; /* OUT */
			hdr.sector = i;
			descs[0] = (struct desc){ (u64)&hdr, 16, 1, 1 };
			descs[1] = (struct desc){ (u64)wbuf, 512, 1, 2 };
			descs[2] = (struct desc){ (u64)&status, 1, 2, 0 };
			status = 0xff;
			submit();
			if (status != 0) fail(7);
			hdr.type = 0; /* IN */
			for (j = 0; j < 512; j++) rbuf[j] = 0;
			descs[1] = (struct desc){ (u64)rbuf, 512, 1 | 2, 2 };
			status = 0xff;
			if (submit() != 513) fail(8);
			if (status != 0) fail(9);
			for (j = 0; j < 512; j++)
				if (rbuf[j] != wbuf[j]) fail(10);
		} else if (type == 1) {
			static const u8 arp[42] = {
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x06,
				0, 1, 0x08, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 10, 77, 0, 2,
				0, 0, 0, 0, 0, 0, 10, 77, 0, 1 };
			u16 tlast = tused.idx;
			int got = 0, tries;
			/* RX buffer first (queue 0), then the request on TX (queue 1). */
			descs[0] = (struct desc){ (u64)rxframe, sizeof rxframe, 2, 0 };
			avail.ring[avail.idx % QSZ] = 0;
			barrier();
			avail.idx++;
			barrier();
			mmio_write16(notify_addr, 0);
			for (j = 0; j < 12; j++) txframe[j] = 0;
			for (j = 0; j < 42; j++) txframe[12 + j] = arp[j];
			tdescs[0] = (struct desc){ (u64)txframe, sizeof txframe, 0, 0 };
			tavail.ring[tavail.idx % QSZ] = 0;
			barrier();
			tavail.idx++;
			barrier();
			mmio_write16(tx_notify, 1);
			/* Wait for a frame; anything but our ARP reply (e.g. IPv6 noise) is re-posted. */
			for (tries = 0; tries < 50 && !got; tries++) {
				__asm__ volatile("cli");
				while (*(volatile u16 *)&used.idx == last_used)
					__asm__ volatile("sti; hlt; cli");
				__asm__ volatile("sti");
				barrier();
				last_used++;
				if (rxframe[12 + 12] == 0x08 && rxframe[12 + 13] == 0x06 && rxframe[12 + 21] == 2 &&
				    rxframe[12 + 28] == 10 && rxframe[12 + 29] == 77 && rxframe[12 + 31] == 1)
					got = 1;
				else {
					avail.ring[avail.idx % QSZ] = 0;
					barrier();
					avail.idx++;
					barrier();
					mmio_write16(notify_addr, 0);
				}
			}
			if (!got) fail(12);
			if (*(volatile u16 *)&tused.idx == tlast) fail(13);
		} else {
			descs[0] = (struct desc){ (u64)rbuf, 64, 2, 0 };
			if (submit() == 0) fail(11);
		}
	}
	t1 = rdtsc();
	(void)isr;
	puts("virtio_blk: ");
	putdec(type == 2 ? 2 * n : n);
	puts(" requests ok, ");
	putdec(irqs);
	puts(" interrupts, ");
	putdec(t1 - t0);
	puts(" cycles\n");
	debug_exit(0);
}
