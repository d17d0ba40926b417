/* smp: the BSP counts the processors in the MP table (or takes cpus=N from
 * the command line), wakes the APs with INIT/SIPI/SIPI through its LAPIC,
 * each CPU prints its APIC id, and the BSP ends with isa-debug-exit(0) once
 * all have checked in (or 0x3e on timeout). */
#include "lib.h"

#define AP_TRAMPOLINE 0x8000
#define ICR_LOW 0x300
#define ICR_HIGH 0x310

extern char ap_trampoline_start[], ap_trampoline_end[];
static volatile u32 cpus_up = 1;
static volatile u32 print_lock;

static u32 lapic_read(u32 reg) { return mmio_read32(LAPIC_BASE + reg); }
static void lapic_write(u32 reg, u32 v) { mmio_write32(LAPIC_BASE + reg, v); }
static u32 apic_id(void) { return lapic_read(0x20) >> 24; }

static void lock(void)
{
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}
static void unlock(void) { __atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE); }

static void say_hello(void)
{
	lock();
	puts("cpu ");
	putdec(apic_id());
	puts(" up\n");
	unlock();
}

void ap_main(void)
{
	say_hello();
	__atomic_add_fetch(&cpus_up, 1, __ATOMIC_SEQ_CST);
}

/* Processor entries in the MP table, if the last KiB of base memory or the BIOS area has one. */
static u32 mp_cpu_count(void)
{
	static const u64 areas[][2] = { { 0x9fc00, 0xa0000 }, { 0xf0000, 0x100000 } };
	u32 a;
	for (a = 0; a < 2; a++) {
		u64 p;
		for (p = areas[a][0]; p < areas[a][1]; p += 16) {
			const u8 *fp = (const u8 *)p;
			if (fp[0] == '_' && fp[1] == 'M' && fp[2] == 'P' && fp[3] == '_') {
				const u8 *cfg = (const u8 *)(u64) * (const u32 *)(fp + 4);
				u16 count = *(const u16 *)(cfg + 34);
				const u8 *e = cfg + 44;
				u32 n = 0, i;
				if (!cfg)
					return 0;
				for (i = 0; i < count; i++) {
					if (e[0] == 0) {
						n += (e[3] & 1);
						e += 20;
					} else {
						e += 8;
					}
				}
				return n;
			}
		}
	}
	return 0;
}

static void delay(u32 n)
{
	while (n--)
		cpu_relax();
}

void guest_main(const struct hvm_start_info *si)
{
	u32 want = (u32)cmdline_u64(si, "cpus", 0);
	u64 spin;
	const char *src;
	char *dst = (char *)AP_TRAMPOLINE;

	serial_init();
	puts("tsvisor test guest: smp\n");
	if (!want)
		want = mp_cpu_count();
	if (!want)
		want = 1;
	puts("expecting ");
	putdec(want);
	puts(" cpus\n");
	say_hello();

	for (src = ap_trampoline_start; src < ap_trampoline_end; src++)
		*dst++ = *src;
	lapic_write(0xf0, 0x1ff); /* software-enable the LAPIC */
	if (want > 1) {
		lapic_write(ICR_HIGH, 0);
		lapic_write(ICR_LOW, 0x000c4500); /* INIT, all excluding self */
		delay(1000);
		lapic_write(ICR_LOW, 0x000c4600 | (AP_TRAMPOLINE >> 12)); /* SIPI */
		delay(200);
		lapic_write(ICR_LOW, 0x000c4600 | (AP_TRAMPOLINE >> 12)); /* SIPI again, per the MP spec */
	}
	for (spin = 0; cpus_up < want && spin < 5000000UL; spin++)
		cpu_relax();
	lock();
	puts("cpus up: ");
	putdec(cpus_up);
	putc('\n');
	unlock();
	debug_exit(cpus_up == want ? 0 : 0x3e);
}
