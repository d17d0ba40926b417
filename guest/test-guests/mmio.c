/* mmio: addr=A value=V: 32-bit write of V to A, then reports a 32-bit and an
 * 8-bit read of A, so a test can check what the device returned. */
#include "lib.h"

void guest_main(const struct hvm_start_info *si)
{
	u64 addr = cmdline_u64(si, "addr", 0xd0000000UL);
	u32 value = (u32)cmdline_u64(si, "value", 0x12345678);
	u32 r32;
	u8 r8;
	serial_init();
	puts("mmio write ");
	puthex(addr);
	puts(" = ");
	puthex(value);
	putc('\n');
	mmio_write32(addr, value);
	r32 = mmio_read32(addr);
	r8 = mmio_read8(addr);
	puts("mmio read32 ");
	puthex(r32);
	puts(" read8 ");
	puthex(r8);
	putc('\n');
	debug_exit(0);
}
