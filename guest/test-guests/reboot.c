/* reboot: ask the i8042 to pulse the CPU reset line (what Linux's reboot=k does). */
#include "lib.h"

void guest_main(const struct hvm_start_info *si)
{
	u64 i;
	(void)si;
	serial_init();
	puts("reboot via i8042\n");
	outb(0x64, 0xfe);
	for (i = 0; i < 100000; i++)
		cpu_relax();
	puts("reboot did not happen\n");
	debug_exit(0x3f);
}
