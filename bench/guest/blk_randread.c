/*
 * 4 KiB random-offset read IOPS on a block device, queue depth 1:
 * O_DIRECT pread of `bs` bytes at uniformly random `bs`-aligned offsets over
 * the whole device for `seconds` seconds (CLOCK_MONOTONIC), then one line
 *   RR <reads> <seconds> <iops>
 * Build: aarch64-linux-gnu-gcc -static -O2 -o blk_randread blk_randread.c
 * Usage: blk_randread DEVICE [seconds=5] [bs=4096] [seed=1]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DEVICE [seconds] [bs] [seed]\n", argv[0]);
    return 2;
  }
  double secs = argc > 2 ? atof(argv[2]) : 5;
  long bs = argc > 3 ? atol(argv[3]) : 4096;
  uint64_t x = argc > 4 ? strtoull(argv[4], 0, 0) : 1;
  if (x == 0) x = 1;
  int fd = open(argv[1], O_RDONLY | O_DIRECT);
  if (fd < 0) { perror("open"); return 1; }
  uint64_t size = 0;
  if (ioctl(fd, BLKGETSIZE64, &size) != 0) { perror("BLKGETSIZE64"); return 1; }
  uint64_t blocks = size / bs;
  if (blocks == 0) { fprintf(stderr, "device smaller than one block\n"); return 1; }
  void *buf;
  if (posix_memalign(&buf, 4096, bs) != 0) { perror("posix_memalign"); return 1; }
  long n = 0;
  double t0 = now(), t = t0, end = t0 + secs;
  while (t < end) {
    for (int i = 0; i < 16; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17; /* xorshift64 */
      off_t off = (off_t)((x % blocks) * (uint64_t)bs);
      if (pread(fd, buf, bs, off) != bs) { perror("pread"); return 1; }
      n++;
    }
    t = now();
  }
  printf("RR %ld %.3f %.0f\n", n, t - t0, n / (t - t0));
  return 0;
}
