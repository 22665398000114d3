/* SPDX-License-Identifier: MIT */
/*
 * pingpong.c - one-byte request/response round trips, TCP or UDP, for
 * bench.sh (what sockperf ping-pong measures, without the dependency).
 *
 *   pingpong serve tcp|udp ADDR PORT
 *   pingpong ping tcp|udp ADDR PORT COUNT
 *
 * Theory of operation: the server echoes every byte (TCP: one connection
 * at a time, TCP_NODELAY) or datagram (UDP) back. The client sends one
 * byte, waits for it to come back, COUNT times back to back after ten
 * unmeasured ones, and prints one line: "avg MS min MS p50 MS p99 MS lost
 * N" (milliseconds, 3 decimals). Each wait is bounded (1 s); a UDP
 * datagram that does not come back counts as lost, a TCP one ends the
 * run. The client gives up after COUNT seconds in all. Exit status 0 when
 * at least half the round trips were measured.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 10
#define WAIT_MS 1000

static int addr_of(const char *host, const char *port,
		   struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *b = (struct sockaddr_in6 *)ss;
	int p = atoi(port);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a->sin_addr) == 1) {
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		*len = sizeof(*a);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, host, &b->sin6_addr) == 1) {
		b->sin6_family = AF_INET6;
		b->sin6_port = htons((uint16_t)p);
		*len = sizeof(*b);
		return AF_INET6;
	}
	fprintf(stderr, "pingpong: %s is not an address\n", host);
	exit(2);
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int serve(int tcp, const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	int one = 1;
	char c[512];

	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, sa, len) < 0 || (tcp && listen(fd, 8) < 0)) {
		perror("pingpong: serve");
		return 1;
	}
	for (;;) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n;
		int c_fd;

		if (!tcp) {
			n = recvfrom(fd, c, sizeof(c), 0,
				     (struct sockaddr *)&from, &flen);
			if (n > 0)
				sendto(fd, c, (size_t)n, 0,
				       (struct sockaddr *)&from, flen);
			continue;
		}
		c_fd = accept(fd, NULL, NULL);
		if (c_fd < 0)
			continue;
		nodelay(c_fd);
		while ((n = read(c_fd, c, sizeof(c))) > 0)
			if (write(c_fd, c, (size_t)n) != n)
				break;
		close(c_fd);
	}
}

/* one byte out, one back within WAIT_MS; Return: ms, or -1 */
static double round_trip(int fd, int tcp)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c = 'x';
	double t0 = now_ms();

	if (send(fd, &c, 1, 0) != 1)
		return -1;
	for (;;) {
		int left = WAIT_MS - (int)(now_ms() - t0);

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		if (recv(fd, &c, 1, 0) == 1)
			return now_ms() - t0;
		if (tcp || (errno != EAGAIN && errno != EINTR))
			return -1;
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int ping(int tcp, const struct sockaddr *sa, socklen_t len, int count)
{
	int fd = socket(sa->sa_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	double *v = calloc((size_t)count, sizeof(*v)), sum = 0, end;
	int n = 0, lost = 0;

	if (fd < 0 || !v || connect(fd, sa, len) < 0) {
		perror("pingpong: connect");
		return 1;
	}
	if (tcp)
		nodelay(fd);
	end = now_ms() + 1000.0 * count;
	for (int i = 0; i < WARMUP + count && now_ms() < end; i++) {
		double t = round_trip(fd, tcp);

		if (t < 0 && tcp)
			break;
		if (i < WARMUP)
			continue;
		if (t < 0) {
			lost++;
			continue;
		}
		v[n++] = t;
		sum += t;
	}
	if (!n) {
		fprintf(stderr, "pingpong: no round trip measured\n");
		return 1;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("avg %.3f min %.3f p50 %.3f p99 %.3f lost %d\n", sum / n, v[0],
	       v[n / 2], v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1],
	       lost + (count - n - lost));
	return n * 2 >= count ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int tcp;

	if (argc < 5 || (strcmp(argv[2], "tcp") && strcmp(argv[2], "udp")) ||
	    (strcmp(argv[1], "serve") && (strcmp(argv[1], "ping") || argc < 6))) {
		fprintf(stderr, "usage: pingpong serve tcp|udp ADDR PORT\n"
				"       pingpong ping tcp|udp ADDR PORT COUNT\n");
		return 2;
	}
	tcp = !strcmp(argv[2], "tcp");
	addr_of(argv[3], argv[4], &ss, &len);
	if (!strcmp(argv[1], "serve"))
		return serve(tcp, (struct sockaddr *)&ss, len);
	return ping(tcp, (struct sockaddr *)&ss, len, atoi(argv[5]) > 0 ?
							     atoi(argv[5]) : 100);
}
