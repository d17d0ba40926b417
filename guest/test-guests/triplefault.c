/* triplefault: load an empty IDT and execute ud2: #UD cannot be
 * delivered (#GP), which cannot be delivered (#DF), which cannot be delivered:
 * shutdown. */
#include "lib.h"

void guest_main(const struct hvm_start_info *si)
{
	struct __attribute__((packed)) { u16 limit; u64 base; } idt = { 0, 0 };
	(void)si;
	serial_init();
	puts("triple fault\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(idt));
	puts("still running\n");
	debug_exit(0x3f);
}
