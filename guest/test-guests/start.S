/*
 * PVH entry for the test guests: we arrive in 32-bit protected mode with
 * paging off and EBX = hvm_start_info (Xen PVH ABI), switch to long mode
 * with our own GDT and static identity page tables (first 4 GiB, 2 MiB
 * pages), and call guest_main(start_info) on a 16 KiB stack.
 *
 * Also here: the AP trampoline for the smp guest. It is linked into the
 * image and copied by the BSP to AP_TRAMPOLINE (0x8000, SIPI vector 8);
 * its 16-bit code uses addresses relative to that copy.
 */
#define AP_TRAMPOLINE 0x8000
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18
#define TR(x) ((x) - ap_trampoline_start + AP_TRAMPOLINE)

/* PAE + CR3 + EFER.LME + CR0.PG. A macro, not a function: APs woken by one
 * broadcast SIPI run the trampoline at the same time and have no stack. */
.macro ENABLE_LONG_MODE
	movl %cr4, %eax
	orl $0x20, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax
	movl %eax, %cr0
.endm

	.section .note.Xen, "a", @note
	.balign 4
	.long 4			/* namesz: "Xen\0" */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long pvh_start32
	.balign 4

	.section .text.start, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, %esi			/* keep start_info across the mode switch */
	lgdt gdt_ptr
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	ENABLE_LONG_MODE
	ljmp $SEL_CODE64, $start64


	.code64
start64:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	leaq bsp_stack_top(%rip), %rsp
	movl %esi, %edi			/* guest_main(start_info) */
	call guest_main
	.globl halt_forever
halt_forever:
	cli
	hlt
	jmp halt_forever

/* APs arrive here in long mode from the trampoline. */
ap_start64:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl $1, %eax
	lock xaddl %eax, ap_next_stack(%rip)
	incl %eax
	shll $12, %eax
	leaq ap_stacks(%rip), %rsp
	addq %rax, %rsp
	call ap_main
	jmp halt_forever

	.code16
	.globl ap_trampoline_start, ap_trampoline_end
	.balign 16
ap_trampoline_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl TR(tramp_gdt_ptr)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $TR(tramp32)
	.code32
tramp32:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	ENABLE_LONG_MODE
	ljmp $SEL_CODE64, $ap_start64
	.balign 8
tramp_gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt
ap_trampoline_end:

	.section .data
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00cf9a000000ffff	/* 0x18: 32-bit code */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt

	.balign 4096
pml4:
	.quad pdpt + 3
	.fill 511, 8, 0
pdpt:
	.quad pd + 3
	.quad pd + 0x1000 + 3
	.quad pd + 0x2000 + 3
	.quad pd + 0x3000 + 3
	.fill 508, 8, 0
pd:
	.set i, 0
	.rept 2048
	.quad (i << 21) | 0x83
	.set i, i + 1
	.endr

ap_next_stack:
	.long 0

	.section .bss
	.balign 16
	.space 16384
bsp_stack_top:
	.globl ap_stacks
ap_stacks:
	.space 4096 * 16
