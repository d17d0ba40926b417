/**
 * Test fixture: a bare-metal arm64 program in the Image format, for the virt
 * board. CPU 0 prints through the PL011 (polling FR like earlycon), enables
 * the GIC and takes a virtual-timer interrupt (PPI 27), checks PSCI_VERSION,
 * starts CPU 1 with PSCI CPU_ON (context id 0x1234), takes the SGI 1 CPU 1
 * sends it (source CPU in GICC_IAR), waits for CPU 1's CPU_OFF through
 * AFFINITY_INFO, takes a UART receive interrupt (SPI 1, RX/RT masks) for
 * one input byte, and powers off with SYSTEM_OFF. Expected output, given
 * input 'Z': BAREMETAL_EXPECTED.
 *
 * Built with the aarch64 cross binutils (Debian binutils-aarch64-linux-gnu).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Printed before the program waits for one byte of UART input. */
export const BAREMETAL_WANTS_INPUT = 'BM:cpu1 off\n';
/** Full output when the byte 'Z' is sent. */
export const BAREMETAL_EXPECTED = 'BM:hello\nBM:timer\nBM:cpu_on\nBM:sgi from cpu1\nBM:cpu1 off\nBM:rx Z\n';

export const BAREMETAL_SOURCE = `// Bare-metal arm64 "Image" for the virt board: PL011, GICv2, virtual timer, PSCI.
	.equ UART, 0x09000000
	.equ GICD, 0x08000000
	.equ GICC, 0x08010000
	.text
	.global _start
_start:
_head:
	b	start
	.long	0
	.quad	0			// text_offset
	.quad	_end - _head		// image_size
	.quad	0xa			// flags: LE, 4K, anywhere
	.quad	0, 0, 0
	.ascii	"ARM\\x64"
	.long	0

start:
	mrs	x1, mpidr_el1
	and	x1, x1, #0xff
	cbnz	x1, park		// secondaries wait for CPU_ON (QEMU holds them off anyway)
	adr	x2, stack0_top
	mov	sp, x2
	adr	x2, vectors
	msr	vbar_el1, x2
	isb
	adr	x0, s_hello
	bl	puts
	// GIC: distributor on; this CPU's interface on, PMR 0xf0; enable PPI 27 (vtimer) and SGI 1.
	ldr	x2, =GICD
	mov	w3, #1
	str	w3, [x2]
	ldr	w3, =(1 << 27) | (1 << 1)
	str	w3, [x2, #0x100]
	ldr	x2, =GICC
	mov	w3, #0xf0
	str	w3, [x2, #4]
	mov	w3, #1
	str	w3, [x2]
	// Virtual timer: fire in 10 ms.
	mrs	x3, cntfrq_el0
	mov	x4, #100
	udiv	x3, x3, x4
	msr	cntv_tval_el0, x3
	mov	x3, #1
	msr	cntv_ctl_el0, x3
	msr	daifclr, #2
1:	adr	x2, ticks
	ldr	w3, [x2]
	cbnz	w3, 2f
	wfi
	b	1b
2:	adr	x0, s_timer
	bl	puts
	// PSCI_VERSION
	ldr	x0, =0x84000000
	hvc	#0
	lsr	x1, x0, #16		// major version 1 (QEMU says 1.1, we say 1.0)
	cmp	x1, #1
	b.ne	fail
	// CPU_ON(1, secondary, 0x1234)
	ldr	x0, =0xc4000003
	mov	x1, #1
	adr	x2, secondary
	mov	x3, #0x1234
	hvc	#0
	cbnz	x0, fail
	adr	x0, s_cpuon
	bl	puts
3:	adr	x2, sgi_src
	ldr	w3, [x2]
	cbnz	w3, 4f
	wfi
	b	3b
4:	cmp	w3, #2			// recorded as source+1
	b.ne	fail
	adr	x2, ctx
	ldr	x3, [x2]
	mov	x4, #0x1234
	cmp	x3, x4
	b.ne	fail
	adr	x0, s_sgi
	bl	puts
	// Wait for CPU 1 to be OFF (AFFINITY_INFO returns 1).
5:	ldr	x0, =0xc4000004
	mov	x1, #1
	mov	x2, #0
	hvc	#0
	cmp	x0, #1
	b.ne	5b
	adr	x0, s_off
	bl	puts
	// UART receive interrupt: SPI 1 (INTID 33) to CPU 0; RXIM | RTIM.
	ldr	x2, =GICD
	mov	w3, #0xa0
	strb	w3, [x2, #0x421]
	mov	w3, #1
	strb	w3, [x2, #0x821]
	mov	w3, #2
	str	w3, [x2, #0x104]
	ldr	x2, =UART
	mov	w3, #0x301
	str	w3, [x2, #0x30]
	mov	w3, #0x50
	str	w3, [x2, #0x38]
6:	adr	x2, rx_char
	ldr	w3, [x2]
	cbnz	w3, 7f
	wfi
	b	6b
7:	adr	x0, s_rx
	strb	w3, [x0, #6]
	bl	puts
	ldr	x0, =0x84000008		// SYSTEM_OFF
	hvc	#0
	b	.

fail:
	adr	x0, s_fail
	bl	puts
	ldr	x0, =0x84000008
	hvc	#0
	b	.

park:
	wfe
	b	park

secondary:				// x0 = context id, MMU off, EL1
	adr	x2, ctx
	str	x0, [x2]
	ldr	x2, =GICD
	ldr	w3, =(1 << 16) | 1	// SGI 1 to CPU 0
	dsb	sy
	str	w3, [x2, #0xf00]
	ldr	x0, =0x84000002		// CPU_OFF
	hvc	#0
	b	fail

// puts(x0): polled PL011 output, as earlycon does.
puts:
	ldr	x2, =UART
1:	ldrb	w3, [x0], #1
	cbz	w3, 3f
2:	ldr	w4, [x2, #0x18]
	tbnz	w4, #5, 2b		// FR.TXFF
	str	w3, [x2]
	b	1b
3:	ret

irq_handler:
	stp	x2, x3, [sp, #-16]!
	stp	x4, x5, [sp, #-16]!
	ldr	x2, =GICC
	ldr	w3, [x2, #0x0c]		// IAR
	and	w4, w3, #0x3ff
	cmp	w4, #27
	b.ne	1f
	msr	cntv_ctl_el0, xzr	// stop the timer: its line drops
	isb
	adr	x4, ticks
	ldr	w5, [x4]
	add	w5, w5, #1
	str	w5, [x4]
	b	9f
1:	cmp	w4, #33
	b.ne	8f
	ldr	x4, =UART
	ldr	w5, [x4]		// DR: the FIFO empties, RX/RT drop
	and	w5, w5, #0xff
	orr	w5, w5, #0x100
	adr	x4, rx_char
	str	w5, [x4]
	b	9f
8:	cmp	w4, #1
	b.ne	9f
	ubfx	w5, w3, #10, #3
	add	w5, w5, #1
	adr	x4, sgi_src
	str	w5, [x4]
9:	str	w3, [x2, #0x10]		// EOIR
	ldp	x4, x5, [sp], #16
	ldp	x2, x3, [sp], #16
	eret

bad_exception:
	adr	x0, s_exc
	bl	puts
	ldr	x0, =0x84000008
	hvc	#0
	b	.

	.ltorg
	.balign	2048
vectors:
	.irp	n, 0,1,2,3
	.balign	128
	b	bad_exception
	.endr
	.balign	128			// current EL, SPx: sync
	b	bad_exception
	.balign	128			// IRQ
	b	irq_handler
	.balign	128
	b	bad_exception
	.balign	128
	b	bad_exception
	.irp	n, 0,1,2,3,4,5,6,7
	.balign	128
	b	bad_exception
	.endr

	.data
	.balign 8
ticks:	.long	0
sgi_src: .long	0
ctx:	.quad	0
rx_char: .long	0
s_hello: .asciz "BM:hello\\n"
s_timer: .asciz "BM:timer\\n"
s_cpuon: .asciz "BM:cpu_on\\n"
s_sgi:	.asciz "BM:sgi from cpu1\\n"
s_off:	.asciz "BM:cpu1 off\\n"
s_rx:	.asciz "BM:rx ?\\n"
s_fail:	.asciz "BM:FAIL\\n"
s_exc:	.asciz "BM:EXCEPTION\\n"
	.balign	16
	.space	4096
stack0_top:
	.balign	4096
_end:
`;

/** Why the program cannot be built here, or undefined. */
export function whyNoCrossBinutils(): string | undefined {
  for (const tool of ['aarch64-linux-gnu-as', 'aarch64-linux-gnu-ld', 'aarch64-linux-gnu-objcopy']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) return `${tool} not installed (binutils-aarch64-linux-gnu)`;
  }
  return undefined;
}

/** Assemble and link at 0x40000000; returns the raw Image bytes. */
export function buildBaremetalImage(): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'arm-bm-'));
  const f = (n: string) => join(dir, n);
  writeFileSync(f('bm.S'), BAREMETAL_SOURCE);
  execFileSync('aarch64-linux-gnu-as', ['-o', f('bm.o'), f('bm.S')]);
  execFileSync('aarch64-linux-gnu-ld', ['-Ttext=0x40000000', '-o', f('bm.elf'), f('bm.o')]);
  execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', f('bm.elf'), f('bm.img')]);
  return new Uint8Array(readFileSync(f('bm.img')));
}
