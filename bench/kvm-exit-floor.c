/*
 * The floor for a port-I/O exit round trip: the same guest as bench/kvm-exit.ts
 * (a flat binary loaded at 0x1000, real mode) run by the simplest possible C
 * loop around KVM_RUN. Prints one JSON line: exits on port 0x10 and the ns per
 * exit between the first of them and the write to port 0x11 that ends the run.
 *
 * usage: kvm-exit-floor <guest.bin>
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) die("/dev/kvm");
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) die("KVM_CREATE_VM");
  size_t memsz = 1 << 20;
  uint8_t *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  FILE *f = fopen(argv[1], "rb");
  if (!f) die(argv[1]);
  fread(mem + 0x1000, 1, memsz - 0x1000, f);
  fclose(f);
  struct kvm_userspace_memory_region r = { .slot = 0, .guest_phys_addr = 0, .memory_size = memsz, .userspace_addr = (uint64_t)mem };
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0) die("KVM_SET_USER_MEMORY_REGION");
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) die("KVM_CREATE_VCPU");
  int mmsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  struct kvm_run *run = mmap(NULL, mmsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  struct kvm_sregs sregs;
  ioctl(vcpu, KVM_GET_SREGS, &sregs);
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
  struct kvm_regs regs;
  memset(&regs, 0, sizeof regs);
  regs.rip = 0x1000;
  regs.rflags = 2;
  regs.rsp = 0x7000;
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

  long exits = 0;
  double t0 = 0, t1 = 0;
  for (;;) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
    if (run->exit_reason != KVM_EXIT_IO) {
      fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
      return 1;
    }
    if (run->io.port == 0x10) {
      if (exits++ == 0) t0 = now_ns();
    } else if (run->io.port == 0x11) {
      t1 = now_ns();
      break;
    }
  }
  /* The bare syscall cost of a trivial ioctl, to compare with the same call made from JS. */
  const int reps = 200000;
  double c0 = now_ns();
  for (int i = 0; i < reps; i++) ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP);
  double ioctl_ns = (now_ns() - c0) / reps;
  printf("{\"exits\":%ld,\"nsPerExit\":%.1f,\"ioctlNs\":%.1f}\n", exits, exits > 0 ? (t1 - t0) / exits : 0.0, ioctl_ns);
  return 0;
}
