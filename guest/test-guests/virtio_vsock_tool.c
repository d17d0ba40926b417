/* virtio_vsock_tool: a tiny AF_VSOCK helper for the real-guest vsock test
 * (busybox has no vsock support). Built statically for aarch64 by the test
 * and handed to the guest on a raw virtio-blk disk.
 *   vs serve PORT FILE       listen on PORT (any CID), accept one connection,
 *                            read until EOF into FILE, send FILE back, close
 *   vs connect CID PORT IN OUT
 *                            connect to CID:PORT, send IN, shut down writing,
 *                            read the reply until EOF into OUT
 * Prints "VS-LISTENING" once listening; exit status 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

static char buf[65536];

static int copy_fd(int from, int to)
{
	for (;;) {
		ssize_t n = read(from, buf, sizeof buf);
		if (n == 0) return 0;
		if (n < 0) { perror("read"); return -1; }
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(to, buf + off, n - off);
			if (w <= 0) { perror("write"); return -1; }
			off += w;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "serve")) {
		int s = socket(AF_VSOCK, SOCK_STREAM, 0), c, f;
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_port = atoi(argv[2]), .svm_cid = VMADDR_CID_ANY };
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0) { perror("vsock listen"); return 1; }
		printf("VS-LISTENING\n");
		fflush(stdout);
		c = accept(s, NULL, NULL);
		if (c < 0) { perror("accept"); return 1; }
		f = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (f < 0 || copy_fd(c, f) < 0) return 1;
		close(f);
		f = open(argv[3], O_RDONLY);
		if (f < 0 || copy_fd(f, c) < 0) return 1;
		shutdown(c, SHUT_WR);
		/* Wait for the peer to close, so all data is delivered before we exit. */
		while (read(c, buf, sizeof buf) > 0) {}
		close(c);
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "connect")) {
		int s = socket(AF_VSOCK, SOCK_STREAM, 0), in, out;
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_port = atoi(argv[3]), .svm_cid = atoi(argv[2]) };
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("vsock connect"); return 1; }
		in = open(argv[4], O_RDONLY);
		if (in < 0 || copy_fd(in, s) < 0) return 1;
		shutdown(s, SHUT_WR);
		out = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0 || copy_fd(s, out) < 0) return 1;
		close(out);
		close(s);
		return 0;
	}
	fprintf(stderr, "usage: vs serve PORT FILE | vs connect CID PORT IN OUT\n");
	return 2;
}
