/* hello: banner on COM1, echo input until 'q', then isa-debug-exit(0). */
#include "lib.h"

void guest_main(const struct hvm_start_info *si)
{
	serial_init();
	puts("tsvisor test guest: hello\n");
	print_start_info(si);
	puts("echo until q\n");
	for (;;) {
		int c = getc_nonblock();
		if (c < 0) {
			cpu_relax();
			continue;
		}
		if (c == 'q')
			break;
		putc((char)c);
	}
	puts("\nbye\n");
	debug_exit(0);
}
