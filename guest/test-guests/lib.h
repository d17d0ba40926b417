/* Freestanding helpers shared by the test guests: port I/O, MMIO, COM1,
 * isa-debug-exit, hvm_start_info and command-line parsing. */
#ifndef TEST_GUEST_LIB_H
#define TEST_GUEST_LIB_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0x501
#define LAPIC_BASE 0xfee00000UL
#define IOAPIC_BASE 0xfec00000UL

/* struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h), version 1 */
struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;
	u32 memmap_entries;
	u32 reserved;
};
struct hvm_memmap_entry {
	u64 addr;
	u64 size;
	u32 type;
	u32 reserved;
};
#define HVM_START_MAGIC 0x336ec578

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u8 mmio_read8(u64 a) { return *(volatile u8 *)a; }
static inline void cpu_relax(void) { __asm__ volatile("pause"); }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }

void serial_init(void);
void putc(char c);
void puts(const char *s);
void puthex(u64 v);
void putdec(u64 v);
int getc_nonblock(void); /* -1 when no byte is waiting */
void debug_exit(u8 value) __attribute__((noreturn));
void halt_forever(void) __attribute__((noreturn));
/* The number after "key=" on the PVH command line (decimal or 0x hex), or def. */
u64 cmdline_u64(const struct hvm_start_info *si, const char *key, u64 def);
void print_start_info(const struct hvm_start_info *si);

#endif
