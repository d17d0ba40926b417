/* pioloop: n=N byte writes to port=P (default 0x80, a port with no device),
 * for the exit-cost benchmark. Prints the TSC cycles the loop took. */
#include "lib.h"

void guest_main(const struct hvm_start_info *si)
{
	u64 n = cmdline_u64(si, "n", 10000);
	u16 port = (u16)cmdline_u64(si, "port", 0x80);
	u64 i, t0, t1;
	serial_init();
	puts("pioloop start n=");
	putdec(n);
	puts(" port=");
	puthex(port);
	putc('\n');
	t0 = rdtsc();
	for (i = 0; i < n; i++)
		outb(port, (u8)i);
	t1 = rdtsc();
	puts("pioloop done cycles=");
	putdec(t1 - t0);
	putc('\n');
	debug_exit(0);
}
