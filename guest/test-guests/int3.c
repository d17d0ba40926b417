/* int3: a breakpoint must reach the guest's own #BP handler, with the saved
 * RIP pointing just after the int3 (what Linux's int3_selftest checks).
 * Prints both addresses; isa-debug-exit(0) when they match, 0x3d otherwise. */
#include "lib.h"

struct __attribute__((packed)) idt_entry {
	u16 off0;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off1;
	u32 off2;
	u32 zero;
};
struct interrupt_frame {
	u64 ip, cs, flags, sp, ss;
};

static struct idt_entry idt[4] __attribute__((aligned(16)));
static volatile u64 saved_ip;

__attribute__((interrupt)) static void bp_isr(struct interrupt_frame *f)
{
	saved_ip = f->ip;
}

void guest_main(const struct hvm_start_info *si)
{
	struct __attribute__((packed)) { u16 limit; u64 base; } idtr = { sizeof(idt) - 1, (u64)idt };
	extern char after_int3[];
	u64 a = (u64)bp_isr;
	(void)si;
	serial_init();
	puts("tsvisor test guest: int3\n");
	idt[3].off0 = (u16)a;
	idt[3].sel = 0x08;
	idt[3].type = 0x8e; /* present, 64-bit interrupt gate */
	idt[3].off1 = (u16)(a >> 16);
	idt[3].off2 = (u32)(a >> 32);
	__asm__ volatile("lidt %0" : : "m"(idtr));
	__asm__ volatile("int3\n.globl after_int3\nafter_int3:" ::: "memory");
	puts("int3: handler saw ip ");
	puthex(saved_ip);
	puts(", expected ");
	puthex((u64)after_int3);
	putc('\n');
	debug_exit(saved_ip == (u64)after_int3 ? 0 : 0x3d);
}
