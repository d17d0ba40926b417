/* triplefault: load an empty IDT and raise an exception: #BP cannot be
 * delivered (#GP), which cannot be delivered (#DF), which cannot be delivered:
 * shutdown. */
#include "lib.h"

void guest_main(const struct hvm_start_info *si)
{
	struct __attribute__((packed)) { u16 limit; u64 base; } idt = { 0, 0 };
	(void)si;
	serial_init();
	puts("triple fault\n");
	__asm__ volatile("lidt %0; int3" : : "m"(idt));
	puts("still running\n");
	debug_exit(0x3f);
}
