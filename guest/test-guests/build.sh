#!/bin/sh
# Builds the freestanding x86-64 test guests into PVH ELF images:
#   guest/test-guests/build.sh [outdir]   (default guest/test-guests/out)
# Each image boots with `qemu-system-x86_64 -M microvm -kernel out/NAME.elf`
# as well as under tsvisor. Takes about a second.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/out}
mkdir -p "$out"
CC=${CC:-gcc}
CFLAGS="-m64 -ffreestanding -nostdlib -static -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -O2 -Wall -Wextra -Werror
  -fno-stack-protector -fcf-protection=none -fno-asynchronous-unwind-tables -fno-builtin -mcmodel=small"
$CC $CFLAGS -c "$here/start.S" -o "$out/start.o"
$CC $CFLAGS -c "$here/lib.c" -o "$out/lib.o"
for g in hello irq smp pioloop mmio reboot triplefault int3 virtio_blk; do
  $CC $CFLAGS -c "$here/$g.c" -o "$out/$g.o"
  $CC $CFLAGS -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -T "$here/link.ld" \
    "$out/start.o" "$out/lib.o" "$out/$g.o" -o "$out/$g.elf"
done
echo "built test guests in $out"
