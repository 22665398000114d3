/* SPDX-License-Identifier: MIT */
/*
 * link.c - unit tests for transport/link.c (and the stdio and exec
 * transports): real links on a real libuv loop, over socketpairs.
 *
 * Each test builds its links or a raw peer (a plain blocking fd that
 * writes hand-made bytes), runs the loop until a condition holds, closes
 * everything, and the teardown asserts that the loop closes: no handle
 * is left behind. Callbacks only record what happened; the test body
 * asserts.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/frame.h"
#include "transport/link.h"
#include "transport/stream.h"
#include "lib/wire.h"

struct side {
	struct tp_link *l;
	int hellos, downs, drains, down_err;
	struct tp_hello peer;
	char why[512];
	unsigned frames, bad;
	uint8_t last_type;
	size_t last_len;
	uint8_t last[64];
	bool close_on_down;
	unsigned close_at_frame; /* close the link in frame_cb #n */
	void (*on_hello)(struct side *s);
	void (*on_frame)(struct side *s, uint8_t type, const uint8_t *data,
			 size_t len);
	void (*on_drain)(struct side *s);
};

static uv_loop_t loop;
static uv_timer_t tick;
static struct side a, b, c;
static int raw_fds[4], n_raw;

#define RUN_UNTIL(cond, ms)                                   \
	do {                                                  \
		uint64_t t0_ = uv_now(&loop);                 \
		uv_timer_start(&tick, tick_cb, 5, 5);         \
		while (!(cond) && uv_now(&loop) - t0_ < (ms)) \
			uv_run(&loop, UV_RUN_ONCE);           \
		uv_timer_stop(&tick);                         \
		assert_true(cond);                            \
	} while (0)

/* run the loop for @ms whatever happens */
#define RUN_FOR(ms)                                                  \
	do {                                                         \
		uint64_t t1_ = uv_now(&loop);                        \
		RUN_UNTIL(uv_now(&loop) - t1_ >= (ms), (ms) + 1000); \
	} while (0)

static void tick_cb(uv_timer_t *t)
{
}

/* ------------------------------------------------------------ callbacks */

static void hello_cb(struct tp_link *l, const struct tp_hello *peer)
{
	struct side *s = tp_link_data(l);

	s->hellos++;
	s->peer = *peer;
	if (s->on_hello)
		s->on_hello(s);
}

static void frame_cb(struct tp_link *l, uint8_t type, const uint8_t *data,
		     size_t len)
{
	struct side *s = tp_link_data(l);

	if (!s->l || s->downs)
		s->bad++; /* after close or down_cb: must not happen */
	s->frames++;
	s->last_type = type;
	s->last_len = len;
	memcpy(s->last, data, len < sizeof(s->last) ? len : sizeof(s->last));
	if (s->on_frame)
		s->on_frame(s, type, data, len);
	if (s->close_at_frame && s->frames == s->close_at_frame) {
		tp_link_close(s->l);
		s->l = NULL;
	}
}

static void drain_cb(struct tp_link *l)
{
	struct side *s = tp_link_data(l);

	s->drains++;
	if (s->on_drain)
		s->on_drain(s);
}

static void down_cb(struct tp_link *l, int err, const char *why)
{
	struct side *s = tp_link_data(l);

	s->downs++;
	s->down_err = err;
	snprintf(s->why, sizeof(s->why), "%s", why);
	if (s->close_on_down) {
		tp_link_close(s->l);
		s->l = NULL;
	}
}

static const struct tp_link_ops ops = {
	.hello_cb = hello_cb,
	.frame_cb = frame_cb,
	.drain_cb = drain_cb,
	.down_cb = down_cb,
};

/* -------------------------------------------------------------- helpers */

static void make_pair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
}

static int raw_fd(int fd)
{
	raw_fds[n_raw++] = fd;
	return fd;
}

static void link_open(struct side *s, int fd, uint8_t role,
		      const struct tp_link_opts *o)
{
	struct tp_link_opts def = {.role = role};
	uv_pipe_t *p = malloc(sizeof(*p));

	assert_non_null(p);
	assert_int_equal(uv_pipe_init(&loop, p, 0), 0);
	assert_int_equal(uv_pipe_open(p, fd), 0);
	if (o)
		def = *o;
	def.role = role;
	s->l = tp_link_new(&loop, (uv_stream_t *)p, (uv_stream_t *)p, &ops,
			   &def, s);
	assert_non_null(s->l);
	assert_int_equal(tp_link_start(s->l), 0);
}

static void side_close(struct side *s)
{
	tp_link_close(s->l);
	s->l = NULL;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void raw_frame(int fd, uint8_t type, const void *data, size_t len)
{
	uint8_t hdr[TP_FRAME_HDR];

	assert_int_equal(tp_frame_put_hdr(hdr, type, len), 0);
	write_all(fd, hdr, sizeof(hdr));
	if (len)
		write_all(fd, data, len);
}

/* a whole HELLO frame (header and payload) into @buf */
static size_t hello_frame(uint8_t *buf, uint8_t role, const char *ver)
{
	struct tp_hello h = {.proto = TP_PROTO_VERSION, .role = role};
	int n;

	snprintf(h.version, sizeof(h.version), "%s", ver);
	n = tp_hello_encode(&h, buf + TP_FRAME_HDR, 64);
	assert_true(n > 0);
	assert_int_equal(tp_frame_put_hdr(buf, TP_F_HELLO, (size_t)n), 0);
	return TP_FRAME_HDR + (size_t)n;
}

static void raw_hello(int fd, uint16_t proto, uint8_t role, const char *ver)
{
	uint8_t buf[TP_FRAME_HDR + 64];
	size_t n = hello_frame(buf, role, ver);

	buf[TP_FRAME_HDR] = (uint8_t)(proto >> 8);
	buf[TP_FRAME_HDR + 1] = (uint8_t)proto;
	write_all(fd, TP_MAGIC, TP_MAGIC_LEN);
	write_all(fd, buf, n);
}

static struct tp_link_stats stats(const struct side *s)
{
	struct tp_link_stats st;

	tp_link_stats(s->l, &st);
	return st;
}

static int setup(void **state)
{
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	n_raw = 0;
	assert_int_equal(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &tick);
	return 0;
}

static int teardown(void **state)
{
	side_close(&a);
	side_close(&b);
	side_close(&c);
	for (int i = 0; i < n_raw; i++)
		close(raw_fds[i]);
	uv_close((uv_handle_t *)&tick, NULL);
	for (int i = 0; i < 100 && uv_loop_alive(&loop); i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(uv_loop_close(&loop), 0);
	return 0;
}

/* ------------------------------------------------------------ handshake */

static void test_handshake(void **state)
{
	struct tp_link_opts o = {.hello_flags = TP_HELLO_NO_IPV6};
	int fds[2];

	make_pair(fds);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	link_open(&b, fds[1], TP_ROLE_INSIDE, &o);
	RUN_UNTIL(a.hellos && b.hellos, 2000);
	assert_int_equal(a.peer.role, TP_ROLE_INSIDE);
	assert_int_equal(b.peer.role, TP_ROLE_OUTSIDE);
	assert_int_equal(a.peer.proto, TP_PROTO_VERSION);
	assert_string_equal(a.peer.version, TG_VERSION);
	/* the inside's flags reach the outside; the outside sent none */
	assert_int_equal(a.peer.flags, TP_HELLO_NO_IPV6);
	assert_int_equal(b.peer.flags, 0);
	assert_int_equal(stats(&a).banner_bytes, 0);
	assert_int_equal(a.downs + b.downs, 0);
	/* the first bytes on the wire are the magic, then HELLO */
	assert_int_equal(stats(&a).bytes_in,
			 TP_MAGIC_LEN + TP_FRAME_HDR + 3 + strlen(TG_VERSION) +
				 1 + TP_SESSION_LEN + 1);
	assert_int_equal(stats(&a).frames_in, 1);
}

static void banner_case(size_t n)
{
	char *banner = malloc(n);
	int fds[2];

	assert_non_null(banner);
	for (size_t i = 0; i < n; i++)
		banner[i] = i % 61 == 60 ? '\n' : (char)('a' + i % 26);
	if (n > 20)
		memcpy(banner + 10, "\0TUNGAT\0\0TU", 11); /* false starts */
	make_pair(fds);
	write_all(fds[1], banner, n);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	link_open(&b, fds[1], TP_ROLE_INSIDE, NULL);
	RUN_UNTIL(a.hellos && b.hellos, 2000);
	assert_int_equal(stats(&a).banner_bytes, n);
	assert_int_equal(stats(&b).banner_bytes, 0);
	side_close(&a);
	side_close(&b);
	RUN_FOR(5);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	free(banner);
}

static void test_banner_skipped(void **state)
{
	banner_case(1);
	banner_case(37);
	banner_case(5000);
	banner_case(TP_BANNER_MAX); /* the most that is allowed */
}

static void test_magic_split_across_reads(void **state)
{
	const char text[] = "Last login: yesterday\n";
	uint8_t hello[TP_FRAME_HDR + 64];
	size_t hlen = hello_frame(hello, TP_ROLE_INSIDE, "split");
	int fds[2];

	make_pair(fds);
	raw_fd(fds[1]);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	write_all(fds[1], text, sizeof(text) - 1);
	write_all(fds[1], TP_MAGIC, 3);
	RUN_UNTIL(stats(&a).reads == 1, 2000);
	RUN_FOR(20);
	/* the rest of the magic and half a HELLO header */
	write_all(fds[1], TP_MAGIC + 3, TP_MAGIC_LEN - 3);
	write_all(fds[1], hello, 2);
	RUN_UNTIL(stats(&a).reads == 2, 2000);
	RUN_FOR(20);
	assert_int_equal(a.hellos, 0);
	write_all(fds[1], hello + 2, hlen - 2);
	RUN_UNTIL(a.hellos == 1, 2000);
	assert_string_equal(a.peer.version, "split");
	assert_int_equal(stats(&a).banner_bytes, sizeof(text) - 1);
	assert_int_equal(a.downs, 0);
}

static void test_garbage_eproto(void **state)
{
	size_t n = TP_BANNER_MAX + 4000;
	uint8_t *junk = malloc(n);
	int fds[2];

	assert_non_null(junk);
	for (size_t i = 0; i < n; i++)
		junk[i] = (uint8_t)(i * 131 + 7); /* NULs included */
	memcpy(junk, "Permission denied\n", 18);
	make_pair(fds);
	raw_fd(fds[1]);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	write_all(fds[1], junk, n);
	free(junk);
	RUN_UNTIL(a.downs, 2000);
	assert_int_equal(a.down_err, -EPROTO);
	assert_non_null(strstr(a.why, "64 KiB"));
	assert_non_null(strstr(a.why, "tungate inside --stdio"));
	assert_non_null(strstr(a.why, "Permission denied"));
	assert_int_equal(a.hellos, 0);
	assert_true(stats(&a).banner_bytes > TP_BANNER_MAX);
	RUN_FOR(20);
	assert_int_equal(a.downs, 1);
}

static void mismatch_case(uint16_t proto, uint8_t role, const char *ver,
			  const char *expect)
{
	int fds[2];

	memset(&a, 0, sizeof(a));
	make_pair(fds);
	raw_hello(fds[1], proto, role, ver);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	RUN_UNTIL(a.downs, 2000);
	assert_int_equal(a.down_err, -EPROTO);
	assert_int_equal(a.hellos, 0);
	assert_non_null(strstr(a.why, expect));
	side_close(&a);
	close(fds[1]);
	RUN_FOR(5);
}

static void test_version_mismatch(void **state)
{
	mismatch_case(99, TP_ROLE_INSIDE, "9.9.9", "upgrade");
	assert_non_null(strstr(a.why, "protocol 99 (tungate 9.9.9)"));
	assert_non_null(strstr(a.why, TG_VERSION));
	assert_non_null(strstr(a.why, "upgrade tungate on this machine"));
	mismatch_case(0, TP_ROLE_INSIDE, "0.0.1", "upgrade");
	assert_non_null(strstr(a.why, "where the inside runs"));
	/* right protocol, wrong role: two outsides talking */
	mismatch_case(TP_PROTO_VERSION, TP_ROLE_OUTSIDE, TG_VERSION, "too");
	mismatch_case(TP_PROTO_VERSION, 7, TG_VERSION, "unknown role");
}

static void test_first_frame_not_hello(void **state)
{
	int fds[2];

	make_pair(fds);
	raw_fd(fds[1]);
	write_all(fds[1], TP_MAGIC, TP_MAGIC_LEN);
	raw_frame(fds[1], TP_F_PACKET, "x", 1);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	RUN_UNTIL(a.downs, 2000);
	assert_int_equal(a.down_err, -EPROTO);
	assert_int_equal(a.frames, 0);
}

static void test_handshake_timeout(void **state)
{
	struct tp_link_opts o = {.timeout_ms = 200};
	int fds[2];
	uint64_t t0;

	make_pair(fds);
	raw_fd(fds[1]);
	write_all(fds[1], "password: ", 10);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, &o);
	t0 = uv_now(&loop);
	RUN_UNTIL(a.downs, 2000);
	assert_true(uv_now(&loop) - t0 >= 200);
	assert_int_equal(a.down_err, -ETIMEDOUT);
	assert_non_null(strstr(a.why, "no tungate handshake"));
}

/* ------------------------------------------------------------- data path */

#define BULK_N 10000

static struct {
	unsigned next, expect;
	uint8_t tmp[TP_FRAME_MAX];
} bulk;

static size_t bulk_size(unsigned i)
{
	if (i % 997 == 0)
		return TP_FRAME_MAX;
	return 4 + (i * 7919u) % 1600;
}

static void bulk_fill(uint8_t *p, unsigned i, size_t len)
{
	p[0] = (uint8_t)(i >> 24);
	p[1] = (uint8_t)(i >> 16);
	p[2] = (uint8_t)(i >> 8);
	p[3] = (uint8_t)i;
	for (size_t j = 4; j < len; j++)
		p[j] = (uint8_t)(i * 31 + j);
}

/* send until the buffer refuses; odd frames are built in place */
static void bulk_pump(struct side *s)
{
	while (bulk.next < BULK_N) {
		size_t len = bulk_size(bulk.next);

		if (bulk.next % 2) {
			uint8_t *p = tp_link_reserve(s->l, len);

			if (!p)
				return;
			bulk_fill(p, bulk.next, len);
			tp_link_commit(s->l, TP_F_PACKET, len);
		} else {
			int r;

			bulk_fill(bulk.tmp, bulk.next, len);
			r = tp_link_send(s->l, TP_F_PACKET, bulk.tmp, len);
			if (r == -ENOBUFS)
				return;
			if (r)
				s->bad++;
		}
		bulk.next++;
	}
}

static void bulk_frame(struct side *s, uint8_t type, const uint8_t *data,
		       size_t len)
{
	unsigned i = bulk.expect++;

	bulk_fill(bulk.tmp, i, bulk_size(i));
	if (type != TP_F_PACKET || len != bulk_size(i) ||
	    memcmp(data, bulk.tmp, len))
		s->bad++;
}

static void test_many_frames(void **state)
{
	struct tp_link_stats sa, sb;
	uint64_t bytes = 0;
	int fds[2];

	memset(&bulk, 0, sizeof(bulk));
	a.on_hello = bulk_pump;
	a.on_drain = bulk_pump;
	b.on_frame = bulk_frame;
	make_pair(fds);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	link_open(&b, fds[1], TP_ROLE_INSIDE, NULL);
	RUN_UNTIL(b.frames == BULK_N, 20000);
	assert_int_equal(bulk.next, BULK_N);
	assert_int_equal(a.bad + b.bad, 0);
	assert_int_equal(a.downs + b.downs, 0);
	for (unsigned i = 0; i < BULK_N; i++)
		bytes += TP_FRAME_HDR + bulk_size(i);
	sa = stats(&a);
	sb = stats(&b);
	assert_true(sa.frames_out >= BULK_N + 1);
	assert_true(sa.bytes_out >= bytes);
	assert_int_equal(sb.bad_frames, 0);
	/* batched: far fewer writes and reads than frames */
	assert_true(sa.writes < BULK_N / 10);
	assert_true(sb.reads < BULK_N / 2);
	print_message("      %u frames, %llu bytes: %llu writes, %llu reads, "
		      "%d drains\n",
		      BULK_N, (unsigned long long)bytes,
		      (unsigned long long)sa.writes,
		      (unsigned long long)sb.reads, a.drains);
}

static void test_send_errors(void **state)
{
	static uint8_t big[TP_FRAME_MAX + 1];
	int fds[2];

	make_pair(fds);
	raw_fd(fds[1]);
	assert_null(tp_link_new(&loop, NULL, NULL, &ops,
				&(struct tp_link_opts){.role = 0}, &a));
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	assert_int_equal(tp_link_send(a.l, TP_F_PACKET, big, sizeof(big)),
			 -EMSGSIZE);
	assert_null(tp_link_reserve(a.l, TP_FRAME_MAX + 1));
	assert_int_equal(tp_link_send(a.l, TP_F_PACKET, big, TP_FRAME_MAX), 0);
	assert_int_equal(tp_link_start(a.l), -EALREADY);
	assert_int_equal(stats(&a).dropped_out, 0);
}

/* ------------------------------------------------------------- the end */

static void test_eof(void **state)
{
	int fds[2];

	make_pair(fds);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	link_open(&b, fds[1], TP_ROLE_INSIDE, NULL);
	RUN_UNTIL(a.hellos && b.hellos, 2000);
	a.close_on_down = true;
	side_close(&b);
	RUN_UNTIL(a.downs, 2000);
	assert_int_equal(a.down_err, 0);
	assert_non_null(strstr(a.why, "the inside closed the stream"));
	assert_null(a.l); /* closed from inside down_cb */
}

static void test_eof_before_handshake(void **state)
{
	const char msg[] = "bash: line 1: tungate: command not found\n";
	int fds[2];

	make_pair(fds);
	write_all(fds[1], msg, sizeof(msg) - 1);
	close(fds[1]);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	RUN_UNTIL(a.downs, 2000);
	assert_true(a.down_err == -ECONNRESET || a.down_err == -EPIPE);
	assert_non_null(strstr(a.why, "before the handshake"));
	assert_non_null(strstr(a.why, "tungate: command not found"));
}

static void test_goodbye(void **state)
{
	int fds[2];

	make_pair(fds);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	link_open(&b, fds[1], TP_ROLE_INSIDE, NULL);
	RUN_UNTIL(a.hellos && b.hellos, 2000);
	b.close_on_down = true;
	tp_link_goodbye(a.l, false, "see you\ntomorrow");
	assert_int_equal(tp_link_send(a.l, TP_F_PACKET, "x", 1), -EPIPE);
	RUN_UNTIL(b.downs && a.downs, 2000);
	assert_int_equal(b.down_err, 0);
	assert_string_equal(b.why,
			    "the outside said goodbye: see you tomorrow");
	assert_int_equal(a.down_err, 0);
	assert_non_null(strstr(a.why, "the inside closed the stream"));
}

static void test_error_frame(void **state)
{
	int fds[2];

	make_pair(fds);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	link_open(&b, fds[1], TP_ROLE_INSIDE, NULL);
	RUN_UNTIL(a.hellos && b.hellos, 2000);
	tp_link_goodbye(b.l, true, "cannot create the TUN device: EPERM");
	RUN_UNTIL(a.downs, 2000);
	assert_int_equal(a.down_err, -ECONNABORTED);
	assert_string_equal(a.why,
			    "inside: cannot create the TUN device: EPERM");
	assert_int_equal(b.downs, 0);
	side_close(&a); /* the inside sees EOF */
	RUN_UNTIL(b.downs, 2000);
	assert_int_equal(b.down_err, 0);
}

static void test_goodbye_grace(void **state)
{
	uint8_t buf[256];
	size_t got = 0;
	ssize_t n;
	uint64_t t0;
	int fds[2];

	make_pair(fds);
	raw_fd(fds[1]);
	raw_hello(fds[1], TP_PROTO_VERSION, TP_ROLE_INSIDE, "raw");
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	RUN_UNTIL(a.hellos, 2000);
	t0 = uv_now(&loop);
	tp_link_goodbye(a.l, false, NULL);
	RUN_UNTIL(a.downs, 4000);
	assert_true(uv_now(&loop) - t0 >= 1900);
	assert_int_equal(a.down_err, 0);
	assert_non_null(strstr(a.why, "did not close"));
	/* the raw peer got magic, HELLO, an empty GOODBYE, then EOF */
	while ((n = read(fds[1], buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	assert_int_equal(n, 0);
	assert_memory_equal(buf, TP_MAGIC, TP_MAGIC_LEN);
	assert_int_equal(buf[got - 4], TP_F_GOODBYE);
	assert_int_equal(buf[got - 1], 0);
}

/* ------------------------------------------------------------ keepalive */

static void test_keepalive_timeout(void **state)
{
	struct tp_link_opts o = {.timeout_ms = 300};
	uint8_t buf[4096];
	unsigned keepalives = 0;
	size_t off, got = 0;
	ssize_t n;
	uint64_t t0;
	int fds[2];

	make_pair(fds);
	raw_fd(fds[1]);
	raw_hello(fds[1], TP_PROTO_VERSION, TP_ROLE_INSIDE, "silent");
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, &o);
	RUN_UNTIL(a.hellos, 2000);
	t0 = uv_now(&loop);
	RUN_UNTIL(a.downs, 3000);
	assert_true(uv_now(&loop) - t0 >= 250);
	assert_int_equal(a.down_err, -ETIMEDOUT);
	assert_non_null(strstr(a.why, "silent for"));
	assert_non_null(strstr(a.why, "the stream is gone"));

	/* what the link wrote: magic, HELLO, then keepalives */
	while ((n = recv(fds[1], buf + got, sizeof(buf) - got, MSG_DONTWAIT)) >
	       0)
		got += (size_t)n;
	assert_memory_equal(buf, TP_MAGIC, TP_MAGIC_LEN);
	off = TP_MAGIC_LEN;
	while (off < got) {
		struct tp_frame f;
		ssize_t r = tp_frame_decode(buf + off, got - off, &f);

		assert_true(r > 0);
		keepalives += f.type == TP_F_KEEPALIVE;
		off += (size_t)r;
	}
	assert_true(keepalives >= 1);
}

static void test_keepalive_keeps_alive(void **state)
{
	struct tp_link_opts o = {.timeout_ms = 300};
	int fds[2];

	make_pair(fds);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, &o);
	link_open(&b, fds[1], TP_ROLE_INSIDE, &o);
	RUN_UNTIL(a.hellos && b.hellos, 2000);
	RUN_FOR(1200);
	assert_int_equal(a.downs + b.downs, 0);
	assert_true(stats(&a).frames_in >= 4); /* HELLO + keepalives */
	assert_true(stats(&b).frames_in >= 4);
	assert_int_equal(a.frames + b.frames, 0); /* swallowed */
}

/* -------------------------------------------------------- odd frames */

static void test_unknown_frames(void **state)
{
	const uint8_t corrupt[] = {TP_F_PACKET, 0x40, 0, 1, 'z'};
	uint8_t again[TP_FRAME_HDR + 64];
	int fds[2];

	make_pair(fds);
	raw_fd(fds[1]);
	raw_hello(fds[1], TP_PROTO_VERSION, TP_ROLE_INSIDE, "odd");
	raw_frame(fds[1], 42, "abc", 3);
	raw_frame(fds[1], 0, "de", 2);
	raw_frame(fds[1], 255, NULL, 0);
	write_all(fds[1], again, hello_frame(again, TP_ROLE_INSIDE, "again"));
	raw_frame(fds[1], TP_F_PACKET, "ok", 2);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	RUN_UNTIL(a.frames == 1, 2000);
	assert_int_equal(a.last_type, TP_F_PACKET);
	assert_int_equal(a.last_len, 2);
	assert_memory_equal(a.last, "ok", 2);
	/* 42, 0, 255 and the second HELLO: dropped, not fatal */
	assert_int_equal(a.downs, 0);
	assert_int_equal(stats(&a).bad_frames, 4);
	raw_frame(fds[1], TP_F_READY, "r", 1);
	RUN_UNTIL(a.frames == 2, 2000);
	assert_int_equal(a.last_type, TP_F_READY);

	write_all(fds[1], corrupt, sizeof(corrupt));
	RUN_UNTIL(a.downs, 2000);
	assert_int_equal(a.down_err, -EBADMSG);
	assert_non_null(strstr(a.why, "corrupted"));
	assert_int_equal(a.frames, 2);
}

static void test_close_in_frame_cb(void **state)
{
	int fds[2];

	make_pair(fds);
	raw_fd(fds[1]);
	raw_hello(fds[1], TP_PROTO_VERSION, TP_ROLE_INSIDE, "x");
	for (int i = 0; i < 10; i++)
		raw_frame(fds[1], TP_F_PACKET, "0123456789", (size_t)i);
	raw_frame(fds[1], TP_F_GOODBYE, NULL, 0);
	a.close_at_frame = 3;
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	RUN_UNTIL(a.frames == 3, 2000);
	RUN_FOR(30);
	assert_int_equal(a.frames, 3);
	assert_int_equal(a.downs, 0);
	assert_int_equal(a.bad, 0);
	assert_null(a.l);
}

/* ---------------------------------------------------- back-pressure */

static unsigned accepted;

static void fill_cb(uv_timer_t *t)
{
	static uint8_t frame[60000];

	while (tp_link_send(a.l, TP_F_PACKET, frame, sizeof(frame)) == 0)
		accepted++;
}

static void test_enobufs_drain(void **state)
{
	struct tp_link_opts o = {.wbuf_size = 64 * 1024};
	static uv_timer_t filler;
	int fds[2], drains;

	accepted = 0;
	make_pair(fds);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, &o);
	link_open(&b, fds[1], TP_ROLE_INSIDE, NULL);
	RUN_UNTIL(a.hellos && b.hellos, 2000);
	tp_link_read_pause(b.l, true);
	uv_timer_init(&loop, &filler);
	uv_timer_start(&filler, fill_cb, 0, 5);
	RUN_FOR(200);
	uv_timer_stop(&filler);
	uv_close((uv_handle_t *)&filler, NULL);

	assert_true(accepted > 0);
	assert_true(stats(&a).dropped_out > 0);
	assert_true(tp_link_congested(a.l));
	assert_null(tp_link_reserve(a.l, 60000));
	/* drains while the socket buffer was absorbing data are fine; now
	 * it is full and nothing moves while b is paused */
	drains = a.drains;
	RUN_FOR(100);
	assert_int_equal(a.drains, drains);
	assert_int_equal(a.downs + b.downs, 0);

	tp_link_read_pause(b.l, false);
	RUN_UNTIL(a.drains == drains + 1, 2000);
	assert_false(tp_link_congested(a.l));
	RUN_UNTIL(b.frames == accepted, 2000);
	assert_int_equal(b.last_len, 60000);
	print_message("      %u frames accepted before -ENOBUFS, %llu "
		      "refused\n",
		      accepted, (unsigned long long)stats(&a).dropped_out);
}

/* ------------------------------------------------------- transports */

static struct {
	int exits;
	int64_t status;
	int signal;
} ex;

static void exit_cb(struct tp_exec *x, int64_t status, int term_signal,
		    void *data)
{
	ex.exits++;
	ex.status = status;
	ex.signal = term_signal;
}

static void free_cb(uv_handle_t *h)
{
	free(h);
}

static char *slurp(int fd)
{
	static char buf[8192];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_exec_stream(void **state)
{
	char tmpl[] = "/tmp/tungate-link-test-XXXXXX";
	int log = mkstemp(tmpl), saved = dup(STDERR_FILENO);
	struct tp_link_opts o = {.role = TP_ROLE_OUTSIDE};
	uv_stream_t *in, *out;
	struct tp_exec *x;
	char *text;

	/* the child's stderr goes to our log, which goes to fd 2 */
	assert_true(log >= 0 && saved >= 0);
	unlink(tmpl);
	memset(&ex, 0, sizeof(ex));
	dup2(log, STDERR_FILENO);
	assert_int_equal(tp_exec_open(&loop,
				      "printf 'motd line\\n'; "
				      "echo 'err line' >&2; exec cat",
				      "remote", exit_cb, NULL, &in, &out, &x),
			 0);
	/* cat sends our own HELLO back: an outside talking to itself */
	a.l = tp_link_new(&loop, in, out, &ops, &o, &a);
	assert_non_null(a.l);
	assert_int_equal(tp_link_start(a.l), 0);
	RUN_UNTIL(a.downs, 3000);
	assert_int_equal(a.down_err, -EPROTO);
	assert_non_null(strstr(a.why, "too"));
	assert_int_equal(stats(&a).banner_bytes, 10);
	side_close(&a); /* cat sees EOF and ends */
	RUN_UNTIL(ex.exits, 3000);
	tp_exec_close(x);
	RUN_FOR(20);
	dup2(saved, STDERR_FILENO);
	close(saved);
	text = slurp(log);
	close(log);
	assert_non_null(strstr(text, "remote: err line"));
	assert_non_null(strstr(text, "skipped 10 bytes"));
	assert_non_null(strstr(text, "\"motd line \""));
	assert_int_equal(ex.signal, 0);
	assert_int_equal(ex.status, 0);
}

static void test_exec_kill(void **state)
{
	uv_stream_t *in, *out;
	struct tp_exec *x;

	memset(&ex, 0, sizeof(ex));
	assert_int_equal(tp_exec_open(&loop, "exec sleep 30", "remote", exit_cb,
				      NULL, &in, &out, &x),
			 0);
	uv_close((uv_handle_t *)in, free_cb);
	uv_close((uv_handle_t *)out, free_cb);
	tp_exec_kill(x, SIGTERM);
	RUN_UNTIL(ex.exits, 3000);
	assert_int_equal(ex.signal, SIGTERM);
	tp_exec_kill(x, SIGTERM); /* reaped: a no-op */
	tp_exec_close(x);
}

static void test_stdio(void **state)
{
	int saved_in = dup(0), saved_out = dup(1), fds[2], file;
	char tmpl[] = "/tmp/tungate-link-test-XXXXXX";
	uv_stream_t *in = NULL, *out = NULL;
	struct stat s1, s2;

	assert_true(saved_in >= 0 && saved_out >= 0);
	fflush(stdout);

	/* a regular file cannot be polled: a relay thread bridges it, and
	 * its bytes arrive through the stream */
	file = mkstemp(tmpl);
	assert_true(file >= 0);
	unlink(tmpl);
	assert_int_equal(write(file, "from a file", 11), 11);
	lseek(file, 0, SEEK_SET);
	dup2(file, 0);
	close(file);
	assert_int_equal(tp_stdio_open(&loop, &in, &out), 0);
	{
		char got[32];
		int fd = -1;
		ssize_t n;

		assert_int_equal(uv_fileno((uv_handle_t *)in, &fd), 0);
		uv_stream_set_blocking(in, 1);
		n = read(fd, got, sizeof(got));
		assert_int_equal(n, 11);
		assert_memory_equal(got, "from a file", 11);
	}
	uv_close((uv_handle_t *)in, free_cb);
	uv_close((uv_handle_t *)out, free_cb);
	uv_run(&loop, UV_RUN_DEFAULT);
	dup2(saved_out, 1);

	make_pair(fds);
	dup2(fds[1], 0);
	dup2(fds[1], 1);
	close(fds[1]);
	assert_int_equal(tp_stdio_open(&loop, &in, &out), 0);
	/* fd 1 now goes to stderr, fd 0 reads nothing */
	fstat(1, &s1);
	fstat(2, &s2);
	assert_true(s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev);
	b.l = tp_link_new(&loop, in, out, &ops,
			  &(struct tp_link_opts){.role = TP_ROLE_INSIDE}, &b);
	assert_non_null(b.l);
	assert_int_equal(tp_link_start(b.l), 0);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, NULL);
	RUN_UNTIL(a.hellos && b.hellos, 2000);
	assert_int_equal(tp_link_send(b.l, TP_F_READY, "routes", 6), 0);
	RUN_UNTIL(a.frames == 1, 2000);
	assert_memory_equal(a.last, "routes", 6);
	/* closing the link closes the duplicates: the peer sees EOF */
	side_close(&b);
	RUN_UNTIL(a.downs, 2000);
	assert_int_equal(a.down_err, 0);

	dup2(saved_in, 0);
	dup2(saved_out, 1);
	close(saved_in);
	close(saved_out);
}

/* ------------------------------------------------------- session resume */

static int detach_in, detach_out;
static uint8_t detach_rest[256];
static size_t detach_rest_len;

/* as the new inside does: take the stream's fds and unread bytes, and let
 * another link (here: in the same process) carry on */
static void detach_on_hello(struct side *s)
{
	const uint8_t *rest;
	int fi, fo;

	assert_int_equal(tp_link_detach(s->l, &fi, &fo, &rest,
					&detach_rest_len), 0);
	assert_true(detach_rest_len <= sizeof(detach_rest));
	memcpy(detach_rest, rest, detach_rest_len);
	detach_in = dup(fi);
	detach_out = dup(fo);
	side_close(s);
}

static void test_detach_and_resume(void **state)
{
	uint8_t buf[TP_FRAME_HDR + 64], session[TP_SESSION_LEN], got[64];
	struct tp_hello h = {.proto = TP_PROTO_VERSION,
			     .role = TP_ROLE_OUTSIDE};
	uv_stream_t *in, *out;
	int fds[2], n;
	size_t len;

	memset(session, 0x42, sizeof(session));
	make_pair(fds);
	raw_fd(fds[0]);
	/* the outside's handshake and two frames arrive in one read */
	memcpy(h.session, session, sizeof(session));
	n = tp_hello_encode(&h, buf + TP_FRAME_HDR, 64);
	assert_true(n > 0);
	tp_frame_put_hdr(buf, TP_F_HELLO, (size_t)n);
	write_all(fds[0], TP_MAGIC, TP_MAGIC_LEN);
	write_all(fds[0], buf, TP_FRAME_HDR + (size_t)n);
	raw_frame(fds[0], TP_F_CONFIG, "cfg", 3);
	raw_frame(fds[0], TP_F_PACKET, "pkt1", 4);
	b.on_hello = detach_on_hello;
	link_open(&b, fds[1], TP_ROLE_INSIDE, NULL);
	RUN_UNTIL(b.hellos, 2000);
	assert_memory_equal(b.peer.session, session, TP_SESSION_LEN);
	assert_int_equal(b.frames, 0); /* nothing delivered past HELLO */
	assert_int_equal(detach_rest_len, 2 * TP_FRAME_HDR + 7);

	/* the waiting side: a resumed link over the passed fds */
	assert_int_equal(tp_fd_open(&loop, detach_in, detach_out, &in, &out),
			 0);
	c.l = tp_link_new(&loop, in, out, &ops,
			  &(struct tp_link_opts){ .role = TP_ROLE_INSIDE,
						  .resumed = true,
						  .rest = detach_rest,
						  .rest_len = detach_rest_len },
			  &c);
	assert_non_null(c.l);
	assert_int_equal(tp_link_start(c.l), 0);
	assert_int_equal(c.frames, 2); /* delivered from the rest at once */
	assert_int_equal(c.last_type, TP_F_PACKET);
	raw_frame(fds[0], TP_F_PACKET, "pkt2", 4);
	RUN_UNTIL(c.frames == 3, 2000);
	assert_memory_equal(c.last, "pkt2", 4);
	/* and it writes frames only: the handshake was the first link's */
	assert_int_equal(tp_link_send(c.l, TP_F_READY, "up", 2), 0);
	RUN_FOR(20);
	len = (size_t)read(fds[0], got, sizeof(got));
	assert_true(len > TP_MAGIC_LEN);
	assert_memory_equal(got, TP_MAGIC, TP_MAGIC_LEN); /* b's */
	assert_int_equal(got[len - 6], TP_F_READY);
	assert_memory_equal(got + len - 2, "up", 2);
	side_close(&c);
}

/* a resumed stream whose first process had read nothing past HELLO */
static void test_resume_without_rest(void **state)
{
	int fds[2];

	make_pair(fds);
	raw_fd(fds[0]);
	link_open(&c, fds[1], TP_ROLE_INSIDE,
		  &(struct tp_link_opts){.resumed = true});
	assert_int_equal(c.frames, 0);
	raw_frame(fds[0], TP_F_CONFIG, "cfg", 3);
	RUN_UNTIL(c.frames == 1, 2000);
	assert_int_equal(c.last_type, TP_F_CONFIG);
	assert_int_equal(c.hellos, 0);
}

/* ------------------------------------------------------------- stripes */

static uint32_t stripe_next[2]; /* next number expected by a, by b */
static unsigned stripe_wrong;

static void stripe_frame(struct side *s, uint8_t type, const uint8_t *data,
			 size_t len)
{
	uint32_t *next = &stripe_next[s == &b];
	uint32_t got;

	if (type != TP_F_PACKET || len < 4)
		return;
	got = tg_be32(data);
	if (got != *next)
		stripe_wrong++;
	*next = got + 1;
}

static uv_stream_t *pipe_of(int fd)
{
	uv_pipe_t *p = malloc(sizeof(*p));

	assert_non_null(p);
	assert_int_equal(uv_pipe_init(&loop, p, 0), 0);
	assert_int_equal(uv_pipe_open(p, fd), 0);
	return (uv_stream_t *)p;
}

/* @n frames numbered from 0, of sizes that vary, from @from */
static void stripe_send(struct side *from, struct side *to, uint32_t n)
{
	static uint8_t buf[9000];
	uint32_t *next = &stripe_next[to == &b];
	unsigned spins = 0;

	for (uint32_t i = 0; i < n;) {
		size_t len = 4 + (i * 7919u) % (sizeof(buf) - 4);

		tg_put_be32(buf, i);
		int r = tp_link_send(from->l, TP_F_PACKET, buf, len);

		if (r == 0) {
			i++;
			continue;
		}
		assert_int_equal(r, -ENOBUFS);
		assert_true(++spins < 1000000);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	RUN_UNTIL(*next == n, 10000);
}

/* a and b joined by four streams, the first one's and three stripes;
 * Return: the inside's end of the last stripe */
static int stripes_open(void)
{
	struct tp_link_opts o = {.timeout_ms = 5000};
	uint8_t hello[TP_MAGIC_LEN + TP_FRAME_HDR + 128];
	int fds[2], last = -1;

	stripe_next[0] = stripe_next[1] = 0;
	stripe_wrong = 0;
	a.on_frame = b.on_frame = stripe_frame;
	make_pair(fds);
	link_open(&a, fds[0], TP_ROLE_OUTSIDE, &o);
	link_open(&b, fds[1], TP_ROLE_INSIDE, &o);
	RUN_UNTIL(a.hellos == 1 && b.hellos == 1, 2000);
	for (int i = 0; i < 3; i++) {
		uv_stream_t *p;
		size_t plen;

		make_pair(fds);
		p = pipe_of(fds[0]);
		assert_int_equal(tp_link_add_stripe(a.l, p, p, false, NULL, 0),
				 0);
		RUN_FOR(20);
		/* what the inside started for the stripe reads: the magic
		 * and the HELLO, which says it is a stripe */
		assert_int_equal(read(fds[1], hello, TP_MAGIC_LEN + TP_FRAME_HDR),
				 TP_MAGIC_LEN + TP_FRAME_HDR);
		plen = (size_t)(hello[TP_MAGIC_LEN + 2] << 8 |
				hello[TP_MAGIC_LEN + 3]);
		assert_true(plen <= 128);
		assert_int_equal(read(fds[1], hello, plen), (ssize_t)plen);
		assert_true(hello[plen - 1] & TP_HELLO_STRIPE);
		raw_hello(fds[1], TP_PROTO_VERSION, TP_ROLE_INSIDE, "x");
		p = pipe_of(fds[1]);
		assert_int_equal(tp_link_add_stripe(b.l, p, p, true, NULL, 0),
				 0);
		last = fds[1];
	}
	RUN_UNTIL(tp_link_stripes(a.l) == 4, 2000);
	assert_int_equal(tp_link_stripes(b.l), 4);
	return last;
}

/* frames sent over four streams arrive in order, both ways; a stripe
 * that breaks after it carried frames takes the link down */
static void test_stripes(void **state)
{
	int last = stripes_open();

	stripe_send(&a, &b, 4000);
	stripe_send(&b, &a, 4000);
	assert_int_equal(stripe_wrong, 0);
	assert_int_equal(a.downs + b.downs, 0);
	assert_true(stats(&a).frames_out > 4000);
	/* one of the inside's stripes goes: the link is down */
	shutdown(last, SHUT_RDWR);
	RUN_UNTIL(b.downs == 1, 2000);
	assert_non_null(strstr(b.why, "stripe 3"));
	assert_int_equal(a.bad + b.bad, 0);
}

/*
 * Traffic that never backs up a stream is still spread over all of them:
 * bursts smaller than a chunk, each written out before the next. Each
 * SSH channel carries at most its window per round trip, so one stream
 * that took every burst would hold the link to one channel's pace.
 */
static void test_stripes_spread(void **state)
{
	static uint8_t buf[1000];
	struct tp_link_stats st;
	uint64_t total = 0, least = UINT64_MAX, frames = 0;

	(void)stripes_open();
	for (uint32_t i = 0; i < 3200;) {
		for (int k = 0; k < 16; k++, i++) {
			tg_put_be32(buf, i);
			assert_int_equal(
				tp_link_send(b.l, TP_F_PACKET, buf, sizeof(buf)),
				0);
		}
		RUN_UNTIL(stripe_next[0] == i, 2000);
	}
	assert_int_equal(stripe_wrong, 0);
	for (unsigned n = 0; n < 4; n++) {
		assert_int_equal(tp_link_stripe_stats(b.l, n, &st), 0);
		total += st.bytes_out;
		frames += st.frames_out;
		if (st.bytes_out < least)
			least = st.bytes_out;
	}
	assert_int_equal(tp_link_stripe_stats(b.l, 4, &st), -ENOENT);
	assert_true(total >= 3200 * sizeof(buf));
	/* a chunk each in turn: a quarter each, give or take a chunk */
	assert_true(least >= total / 8);
	/* and a SEQ per chunk, not per frame (plus HELLOs and keepalives) */
	assert_true(frames <= 3200 + total / (256 * 1024) + 1 + 16);
	assert_int_equal(a.downs + b.downs, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_handshake),
		T(test_banner_skipped),
		T(test_magic_split_across_reads),
		T(test_garbage_eproto),
		T(test_version_mismatch),
		T(test_first_frame_not_hello),
		T(test_handshake_timeout),
		T(test_many_frames),
		T(test_send_errors),
		T(test_eof),
		T(test_eof_before_handshake),
		T(test_goodbye),
		T(test_error_frame),
		T(test_goodbye_grace),
		T(test_keepalive_timeout),
		T(test_keepalive_keeps_alive),
		T(test_unknown_frames),
		T(test_close_in_frame_cb),
		T(test_enobufs_drain),
		T(test_exec_stream),
		T(test_exec_kill),
		T(test_stdio),
		T(test_detach_and_resume),
		T(test_resume_without_rest),
		T(test_stripes),
		T(test_stripes_spread),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
