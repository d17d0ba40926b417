#include "lib.h"

void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* IER: no interrupts */
	outb(COM1 + 3, 0x80);	/* LCR: DLAB */
	outb(COM1 + 0, 0x01);	/* DLL: 115200 baud */
	outb(COM1 + 1, 0x00);	/* DLM */
	outb(COM1 + 3, 0x03);	/* LCR: 8N1 */
	outb(COM1 + 2, 0x07);	/* FCR: enable and clear FIFOs */
	outb(COM1 + 4, 0x0b);	/* MCR: DTR RTS OUT2 */
}

void putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))	/* LSR.THRE */
		cpu_relax();
	outb(COM1, (u8)c);
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

void puthex(u64 v)
{
	char buf[19];
	int i = 18;
	buf[i] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	puts(&buf[i]);
}

void putdec(u64 v)
{
	char buf[21];
	int i = 20;
	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts(&buf[i]);
}

int getc_nonblock(void)
{
	if (!(inb(COM1 + 5) & 0x01))	/* LSR.DR */
		return -1;
	return inb(COM1);
}

void debug_exit(u8 value)
{
	outb(DEBUG_EXIT_PORT, value);
	halt_forever();
}

u64 cmdline_u64(const struct hvm_start_info *si, const char *key, u64 def)
{
	const char *p;
	if (!si || si->magic != HVM_START_MAGIC || !si->cmdline_paddr)
		return def;
	for (p = (const char *)si->cmdline_paddr; *p; p++) {
		const char *k = key, *q = p;
		u64 v = 0;
		int base = 10, digits = 0;
		if (p != (const char *)si->cmdline_paddr && p[-1] != ' ')
			continue;
		while (*k && *q == *k)
			k++, q++;
		if (*k || *q != '=')
			continue;
		q++;
		if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
			base = 16, q += 2;
		for (;; q++, digits++) {
			int d;
			if (*q >= '0' && *q <= '9') d = *q - '0';
			else if (base == 16 && *q >= 'a' && *q <= 'f') d = *q - 'a' + 10;
			else if (base == 16 && *q >= 'A' && *q <= 'F') d = *q - 'A' + 10;
			else break;
			v = v * (u64)base + (u64)d;
		}
		return digits ? v : def;
	}
	return def;
}

void print_start_info(const struct hvm_start_info *si)
{
	u64 ram = 0;
	u32 i;
	if (!si || si->magic != HVM_START_MAGIC) {
		puts("start_info: bad magic\n");
		return;
	}
	if (si->memmap_paddr) {
		const struct hvm_memmap_entry *e = (const struct hvm_memmap_entry *)si->memmap_paddr;
		for (i = 0; i < si->memmap_entries; i++)
			if (e[i].type == 1)
				ram += e[i].size;
	}
	puts("start_info: version ");
	putdec(si->version);
	puts(" memmap ");
	putdec(si->memmap_entries);
	puts(" ram ");
	putdec(ram >> 20);
	puts(" MiB modules ");
	putdec(si->nr_modules);
	puts(" cmdline \"");
	if (si->cmdline_paddr)
		puts((const char *)si->cmdline_paddr);
	puts("\"\n");
}

/* Guests other than smp never wake APs; this keeps start.S linkable for them. */
__attribute__((weak)) void ap_main(void)
{
}
