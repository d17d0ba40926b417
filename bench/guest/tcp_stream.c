/*
 * TCP bulk transfer with large buffers (busybox nc moves 1 KiB per syscall,
 * which measures the guest's syscall loop, not the network path).
 *   tcp_stream send HOST PORT MIB   connect, write MIB MiB (256 KiB writes), shutdown(SHUT_WR),
 *                                   wait for the peer's EOF (it has everything), print
 *   tcp_stream recv HOST PORT       connect, read (256 KiB reads) until EOF, print
 * Prints one line: "TCP <send|recv> <bytes> <seconds> <MiB/s>", timed with
 * CLOCK_MONOTONIC from before connect() to the end.
 * Build: aarch64-linux-gnu-gcc -static -O2 -o tcp_stream tcp_stream.c
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (256 * 1024)
static char buf[BUF];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 4 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv")) || (!strcmp(argv[1], "send") && argc < 5)) {
    fprintf(stderr, "usage: %s send HOST PORT MIB | recv HOST PORT\n", argv[0]);
    return 2;
  }
  int sending = !strcmp(argv[1], "send");
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[3]));
  if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 2; }
  memset(buf, 0x5a, sizeof buf);
  double t0 = now();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
  long long total = 0;
  if (sending) {
    long long want = atoll(argv[4]) * 1048576LL;
    while (total < want) {
      long long n = want - total < BUF ? want - total : BUF;
      ssize_t w = write(fd, buf, n);
      if (w <= 0) { perror("write"); return 1; }
      total += w;
    }
    shutdown(fd, SHUT_WR);
    while (read(fd, buf, BUF) > 0) {}
  } else {
    for (;;) {
      ssize_t r = read(fd, buf, BUF);
      if (r < 0) { perror("read"); return 1; }
      if (r == 0) break;
      total += r;
    }
  }
  double dt = now() - t0;
  printf("TCP %s %lld %.3f %.2f\n", argv[1], total, dt, total / 1048576.0 / dt);
  close(fd);
  return 0;
}
