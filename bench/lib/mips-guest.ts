/**
 * The emu-mips loops as a bare-metal arm64 Image for the virt board, so the
 * same instruction words run under qemu-system-aarch64 (-M virt -cpu
 * cortex-a57 -accel tcg) and on tsvisor's arm-virt board, at EL1 with the MMU
 * off, guest-timed: the program reads CNTVCT, arms the virtual timer (PPI 27)
 * for `ms`, enters the loop (the exact words of bench/emu-mips.ts, which run
 * forever), and the timer IRQ reads CNTVCT again and prints
 *   MIPS-RESULT <ticks> <iterations> <cntfrq>   (hex)
 * then powers off with PSCI SYSTEM_OFF. Both loops count their iterations in
 * x1. The emulator's start-up is outside the timed interval.
 *
 * Built with the aarch64 cross binutils (Debian binutils-aarch64-linux-gnu).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MipsLoop {
  name: string;
  /** Instruction words; entered at the first with x0 = a 64-byte buffer, x1..x5 = 0. */
  words: number[];
  /** Instructions per iteration of the steady-state loop (x1 += 1 per iteration). */
  perIter: number;
}

export const MIPS_LOOPS: MipsLoop[] = [
  {
    // 1: add x1, x1, #1 ; eor x2, x2, x1 ; subs x3, x3, #1 ; b.ne 1b ; mov x3, #-1 ; b 1b
    name: 'alu (add/eor/subs/b.ne)',
    words: [0x91000421, 0xca010042, 0xf1000463, 0x54ffffa1, 0x92800003, 0x17fffffb],
    perIter: 4,
  },
  {
    // 1: ldr x1, [x0] ; add x1, x1, #1 ; str x1, [x0] ; ldp x2, x3, [x0, #16] ; add x4, x2, x3 ; stp x4, x1, [x0, #16] ; b 1b
    name: 'load/store (ldr/str/ldp/stp)',
    words: [0xf9400001, 0x91000421, 0xf9000001, 0xa9410c02, 0x8b030044, 0xa9010404, 0x17fffffa],
    perIter: 7,
  },
];

export function whyNoCrossBinutils(): string | undefined {
  try {
    execFileSync('aarch64-linux-gnu-as', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'aarch64-linux-gnu-as not installed (apt-get install binutils-aarch64-linux-gnu)';
  }
}

function source(loop: MipsLoop, ms: number): string {
  const inst = loop.words.map((w) => `0x${w.toString(16).padStart(8, '0')}`).join(', ');
  return `
	.equ UART, 0x09000000
	.equ GICD, 0x08000000
	.equ GICC, 0x08010000
	.text
	.global _start
_start:
_head:
	b	start
	.long	0
	.quad	0
	.quad	_end - _head
	.quad	0xa
	.quad	0, 0, 0
	.ascii	"ARM\\x64"
	.long	0
start:
	mrs	x1, mpidr_el1
	and	x1, x1, #0xff
	cbnz	x1, park
	adr	x2, stack_top
	mov	sp, x2
	adr	x2, vectors
	msr	vbar_el1, x2
	isb
	ldr	x2, =GICD
	mov	w3, #1
	str	w3, [x2]
	mov	w3, #(1 << 27)
	str	w3, [x2, #0x100]
	ldr	x2, =GICC
	mov	w3, #0xf0
	str	w3, [x2, #4]
	mov	w3, #1
	str	w3, [x2]
	mrs	x3, cntfrq_el0
	mov	x4, #1000
	udiv	x3, x3, x4
	ldr	x4, =${ms}
	mul	x3, x3, x4
	msr	cntv_tval_el0, x3
	mov	x3, #1
	msr	cntv_ctl_el0, x3
	isb
	mrs	x20, cntvct_el0
	msr	daifclr, #2
	adr	x0, buf
	mov	x1, #0
	mov	x2, #0
	mov	x3, #0
	mov	x4, #0
	mov	x5, #0
	b	loop
	.balign	64
loop:
	.inst	${inst}
park:
	wfi
	b	park

irq:
	mrs	x21, cntvct_el0
	mov	x22, x1
	adr	x0, s_res
	bl	puts
	sub	x0, x21, x20
	bl	puthex
	mov	x0, x22
	bl	puthex
	mrs	x0, cntfrq_el0
	bl	puthex
	b	off
fault:
	adr	x0, s_fault
	bl	puts
	mrs	x0, esr_el1
	bl	puthex
	mrs	x0, elr_el1
	bl	puthex
off:
	mov	w0, #'\\n'
	bl	putc
	ldr	x0, =0x84000008
	hvc	#0
1:	b	1b

putc:	ldr	x9, =UART
	str	w0, [x9]
	ret
puts:	mov	x10, x30
	mov	x11, x0
1:	ldrb	w0, [x11], #1
	cbz	w0, 2f
	bl	putc
	b	1b
2:	mov	x30, x10
	ret
puthex:	mov	x10, x30
	mov	x11, x0
	mov	w0, #' '
	bl	putc
	mov	x12, #60
1:	lsr	x0, x11, x12
	and	x0, x0, #0xf
	cmp	x0, #10
	add	x13, x0, #'0'
	add	x14, x0, #('a' - 10)
	csel	x0, x13, x14, lo
	bl	putc
	subs	x12, x12, #4
	b.pl	1b
	mov	x30, x10
	ret
s_res:	.asciz	"MIPS-RESULT"
s_fault: .asciz	"MIPS-FAULT"
	.ltorg
	.balign	2048
vectors:
	.rept	4
	.balign	0x80
	b	fault
	.balign	0x80
	b	irq
	.balign	0x80
	b	fault
	.balign	0x80
	b	fault
	.endr
	// Data on its own pages: stores next to code would make both emulators invalidate code.
	.balign	4096
buf:	.space	4096
	.space	4096
stack_top:
_end:
`;
}

/** Build the Image for one loop, timed for `ms` milliseconds of guest counter time. */
export function buildMipsImage(loop: MipsLoop, ms: number): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-mips-'));
  const f = (n: string): string => join(dir, n);
  try {
    writeFileSync(f('m.S'), source(loop, ms));
    execFileSync('aarch64-linux-gnu-as', ['-o', f('m.o'), f('m.S')]);
    execFileSync('aarch64-linux-gnu-ld', ['-Ttext=0x40000000', '-o', f('m.elf'), f('m.o')]);
    execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', f('m.elf'), f('m.img')]);
    return new Uint8Array(readFileSync(f('m.img')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface MipsResult {
  /** Guest seconds between loop entry and the timer interrupt. */
  seconds: number;
  iterations: number;
  /** Guest instructions per second, in millions. */
  mips: number;
}

/** Parse the program's MIPS-RESULT line (undefined if absent; throws on MIPS-FAULT). */
export function parseMipsResult(output: string, loop: MipsLoop): MipsResult | undefined {
  const fault = /MIPS-FAULT ([0-9a-f]{16}) ([0-9a-f]{16})/.exec(output);
  if (fault) throw new Error(`guest exception in the MIPS loop: ESR ${fault[1]} ELR ${fault[2]}`);
  const m = /MIPS-RESULT ([0-9a-f]{16}) ([0-9a-f]{16}) ([0-9a-f]{16})/.exec(output);
  if (!m) return undefined;
  const ticks = Number(BigInt('0x' + m[1]));
  const iterations = Number(BigInt('0x' + m[2]));
  const freq = Number(BigInt('0x' + m[3]));
  const seconds = ticks / freq;
  return { seconds, iterations, mips: (iterations * loop.perIter) / seconds / 1e6 };
}
