/* irq: COM1 receive interrupts through the I/O APIC (ISA IRQ 4 -> pin 4 ->
 * vector 0x24 -> LAPIC of CPU 0). The handler reports each byte it reads;
 * 'q' ends the guest with isa-debug-exit(0). Any other vector prints its
 * number and exits with 0x7f. */
#include "lib.h"

#define UART_VECTOR 0x24
#define UART_PIN 4

struct __attribute__((packed)) idt_entry {
	u16 off0;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off1;
	u32 off2;
	u32 zero;
};
struct interrupt_frame;

static struct idt_entry idt[256] __attribute__((aligned(16)));
static volatile int done;
static volatile u32 received;

static void lapic_write(u32 reg, u32 v) { mmio_write32(LAPIC_BASE + reg, v); }

static void ioapic_write(u32 reg, u32 v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

__attribute__((interrupt)) static void uart_isr(struct interrupt_frame *f)
{
	int c;
	(void)f;
	(void)inb(COM1 + 2); /* IIR */
	while ((c = getc_nonblock()) >= 0) {
		received++;
		puts("irq: got ");
		puthex((u64)c);
		if (c >= 0x20 && c < 0x7f) {
			puts(" '");
			putc((char)c);
			putc('\'');
		}
		putc('\n');
		if (c == 'q')
			done = 1;
	}
	lapic_write(0xb0, 0); /* EOI */
}

__attribute__((interrupt)) static void other_isr(struct interrupt_frame *f)
{
	(void)f;
	puts("irq: unexpected interrupt or exception\n");
	debug_exit(0x7f);
}

static void set_gate(int v, void (*h)(struct interrupt_frame *))
{
	u64 a = (u64)h;
	idt[v].off0 = (u16)a;
	idt[v].sel = 0x08;
	idt[v].ist = 0;
	idt[v].type = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
	idt[v].off1 = (u16)(a >> 16);
	idt[v].off2 = (u32)(a >> 32);
	idt[v].zero = 0;
}

void guest_main(const struct hvm_start_info *si)
{
	struct __attribute__((packed)) { u16 limit; u64 base; } idtr = { sizeof(idt) - 1, (u64)idt };
	int v;
	(void)si;
	serial_init();
	puts("tsvisor test guest: irq\n");
	for (v = 0; v < 256; v++)
		set_gate(v, other_isr);
	set_gate(UART_VECTOR, uart_isr);
	__asm__ volatile("lidt %0" : : "m"(idtr));

	outb(0x21, 0xff); /* mask the 8259s: the I/O APIC delivers */
	outb(0xa1, 0xff);
	lapic_write(0xf0, 0x1ff); /* SVR: APIC software-enabled, spurious vector 0xff */
	lapic_write(0x80, 0);	  /* TPR: accept everything */
	ioapic_write(0x10 + 2 * UART_PIN + 1, 0 << 24);	 /* destination APIC id 0 */
	ioapic_write(0x10 + 2 * UART_PIN, UART_VECTOR); /* fixed, physical, edge, active high, unmasked */

	outb(COM1 + 2, 0x01); /* FIFO on, trigger level 1 */
	outb(COM1 + 1, 0x01); /* IER: received-data interrupt */
	puts("irq ready\n");
	__asm__ volatile("sti");
	while (!done)
		__asm__ volatile("hlt");
	__asm__ volatile("cli");
	puts("irq: done after ");
	putdec(received);
	puts(" bytes\n");
	debug_exit(0);
}
