/* SPDX-License-Identifier: MIT */
/*
 * dns_stream.c - unit tests for the accounting of DNS over TCP (stream.c):
 * per connection at most 16 queries in flight and 64 KiB of unwritten
 * answers (then it stops reading), every connection within the budget
 * (dns_opts.tcp_buffer_bytes), the oldest idle one closed when what they
 * hold fills it. Answers come from records put in the cache, so no
 * lookup runs; clients are raw socketpair ends that read only when told.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns/dns_internal.h"
#include "test/unit/dns_test.h"

#define ANSWER_MAX (2 + DNS_MSG_MAX)
#define CONN_RBUF_MIN 1024

static uv_loop_t loop;

static void key_of(const char *name, uint16_t type, struct dns_key *k)
{
	uint8_t b[512];
	struct dns_qinfo qi;
	size_t n = make_query(b, 1, 0x0100, name, type, 0, false);

	assert_int_equal(dns_msg_parse_query(b, n, &qi), 0);
	dns_key_from_question(&qi.q, k);
}

/* a cached TXT answer for @name of about @bytes, for 300 s */
static void put_txt(struct dns_proxy *p, const char *name, size_t bytes)
{
	static char text[DNS_MSG_MAX];
	struct dns_key k;
	struct dns_rec *rec;
	ldns_pkt *pkt;
	ldns_rr *rr;
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "%s. 300 IN TXT", name);
	while (bytes >= 256) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, " \"%0250d\"",
				      0);
		bytes -= 251;
	}
	key_of(name, 16, &k);
	pkt = dns_rec_pkt_new(&k, 0);
	assert_non_null(pkt);
	assert_int_equal(ldns_rr_new_frm_str(&rr, text, 300, NULL, NULL),
			 LDNS_STATUS_OK);
	ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
	rec = dns_rec_finish(pkt, &k, 300);
	assert_non_null(rec);
	rec->born_ms = uv_now(&loop);
	dns_cache_put(&p->cache, &k, rec, uv_now(&loop));
	dns_rec_unref(rec);
}

static struct dns_proxy *setup(size_t budget)
{
	struct dns_opts o = {.tcp_buffer_bytes = budget};
	struct dns_proxy *p;

	assert_int_equal(uv_loop_init(&loop), 0);
	p = dns_proxy_new(&loop, &o);
	assert_non_null(p);
	put_txt(p, "big.test", 48000);
	put_txt(p, "small.test", 300);
	return p;
}

/* a connection served by @p; returns the client's end, non-blocking */
static int conn_open(struct dns_proxy *p)
{
	uv_pipe_t *srv = malloc(sizeof(*srv));
	int sv[2], small = 4096;

	assert_non_null(srv);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* the kernel takes little: what it does not is ours to hold */
	assert_int_equal(
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
		0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	uv_pipe_init(&loop, srv, 0);
	assert_int_equal(uv_pipe_open(srv, sv[0]), 0);
	assert_int_equal(dns_serve_stream(p, (uv_stream_t *)srv), 0);
	return sv[1];
}

/* @n framed queries for @name TXT from @fd, all written */
static void ask(int fd, const char *name, int n)
{
	static uint8_t b[1 << 16];
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		size_t m = make_query(b + len + 2, (uint16_t)i, 0x0100, name,
				      16, 0, false);

		b[len] = (uint8_t)(m >> 8);
		b[len + 1] = (uint8_t)m;
		len += 2 + m;
		assert_true(len + 600 < sizeof(b));
	}
	assert_int_equal(write(fd, b, len), (ssize_t)len);
}

/* the client reads what there is; returns whole answers seen so far */
struct reader {
	int fd;
	size_t have, answers;
	bool eof;
	uint8_t buf[2 + DNS_MSG_MAX];
};

static void drain(struct reader *r)
{
	ssize_t n;

	while ((n = read(r->fd, r->buf + r->have, sizeof(r->buf) - r->have)) >
	       0) {
		size_t f;

		r->have += (size_t)n;
		while (r->have >= 2 && r->have >= 2 + (f = tg_be16(r->buf))) {
			memmove(r->buf, r->buf + 2 + f, r->have - 2 - f);
			r->have -= 2 + f;
			r->answers++;
		}
	}
	if (n == 0 || (n < 0 && errno != EAGAIN))
		r->eof = true;
}

/* what the connections hold, without the reservations of queries in
 * flight */
static size_t held(const struct dns_proxy *p)
{
	return p->tcp_bytes - p->tcp_inflight * ANSWER_MAX;
}

struct peaks {
	size_t bytes, held, inflight;
};

/* turn the loop for @ms, reading with @r (if any; until it has @want
 * answers, if not 0) and noting peaks */
static void spin_until(struct dns_proxy *p, unsigned ms, struct reader *r,
		       size_t want, struct peaks *pk)
{
	uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000;

	while (uv_hrtime() < end && !(r && want && r->answers >= want)) {
		uv_run(&loop, UV_RUN_NOWAIT);
		if (pk) {
			pk->bytes = p->tcp_bytes > pk->bytes ? p->tcp_bytes
							     : pk->bytes;
			pk->held = held(p) > pk->held ? held(p) : pk->held;
			pk->inflight = p->tcp_inflight > pk->inflight
					       ? p->tcp_inflight
					       : pk->inflight;
		}
		if (r)
			drain(r);
		usleep(200);
	}
}

static void spin(struct dns_proxy *p, unsigned ms, struct reader *r,
		 struct peaks *pk)
{
	spin_until(p, ms, r, 0, pk);
}

/* small answers: 16 queries in flight at most, and all of them answered */
static void test_sixteen_in_flight(void **state)
{
	struct dns_proxy *p = setup(0);
	static struct reader r;
	struct peaks pk = {0};

	memset(&r, 0, sizeof(r));
	r.fd = conn_open(p);
	ask(r.fd, "small.test", 200);
	spin_until(p, 20000, &r, 200, &pk);
	assert_int_equal(pk.inflight, 16);
	assert_int_equal(r.answers, 200);
	assert_int_equal(p->tcp_inflight, 0);
	assert_int_equal(p->tcp_bytes, CONN_RBUF_MIN);
	close(r.fd);
	spin(p, 50, NULL, NULL);
	assert_int_equal(p->tcp_conns, 0);
	assert_int_equal(p->tcp_bytes, 0);
	finish(&loop, p);
}

/* 48 KB answers to a client that does not read: it stops at 64 KiB and
 * one answer unwritten, and takes no more queries until it reads */
static void test_unwritten_bound(void **state)
{
	struct dns_proxy *p = setup(0);
	static struct reader r;
	struct peaks pk = {0};
	struct dns_stats st;
	uint64_t asked;

	memset(&r, 0, sizeof(r));
	r.fd = conn_open(p);
	ask(r.fd, "big.test", 100);
	spin(p, 200, NULL, &pk);
	dns_get_stats(p, &st);
	asked = st.queries;
	assert_true(asked >= 1 && asked < 10);
	assert_true(held(p) > 64 * 1024);
	assert_true(pk.held <= CONN_RBUF_MIN + 64 * 1024 + 48 * 1024 + 2);
	assert_true(pk.inflight <= 1);
	/* it stays so */
	spin(p, 100, NULL, &pk);
	dns_get_stats(p, &st);
	assert_int_equal(st.queries, asked);
	/* the client reads: every answer comes, within the same bound */
	spin_until(p, 20000, &r, 100, &pk);
	assert_int_equal(r.answers, 100);
	assert_true(pk.held <= CONN_RBUF_MIN + 64 * 1024 + 48 * 1024 + 2);
	assert_int_equal(p->tcp_bytes, CONN_RBUF_MIN);
	close(r.fd);
	finish(&loop, p);
}

/* a frame larger than the small read buffer: it grows, charged, then
 * shrinks back */
static void test_large_query(void **state)
{
	struct dns_proxy *p = setup(0);
	static struct reader r;
	static uint8_t b[4096];
	size_t n = make_query(b + 2, 7, 0x0100, "small.test", 16, 0, false);

	memset(&r, 0, sizeof(r));
	r.fd = conn_open(p);
	/* padding after the question: a 3000-byte message */
	n = 3000;
	b[0] = (uint8_t)(n >> 8);
	b[1] = (uint8_t)n;
	assert_int_equal(write(r.fd, b, 1500), 1500);
	spin(p, 50, &r, NULL);
	assert_int_equal(p->tcp_bytes, 2 + n);
	assert_int_equal(write(r.fd, b + 1500, 2 + n - 1500),
			 (ssize_t)(2 + n - 1500));
	spin_until(p, 5000, &r, 1, NULL);
	assert_int_equal(r.answers, 1);
	assert_int_equal(p->tcp_bytes, CONN_RBUF_MIN);
	close(r.fd);
	finish(&loop, p);
}

/* four clients that do not read, a budget for about two: it is never
 * exceeded, the oldest are closed, and a new client is answered */
static void test_budget(void **state)
{
	size_t budget = 256 * 1024;
	struct dns_proxy *p = setup(budget);
	static struct reader r[5];
	struct peaks pk = {0};
	struct dns_stats st;

	memset(r, 0, sizeof(r));
	for (int i = 0; i < 4; i++) {
		r[i].fd = conn_open(p);
		ask(r[i].fd, "big.test", 20);
		spin(p, 100, NULL, &pk);
	}
	assert_true(pk.bytes <= budget);
	dns_get_stats(p, &st);
	assert_true(st.tcp_evicted >= 1);
	assert_int_equal(st.tcp_buffer_max, budget);
	assert_int_equal(st.tcp_conns, 4 - st.tcp_evicted);
	/* the first, the least recently active, went first */
	drain(&r[0]);
	assert_true(r[0].eof);
	drain(&r[3]);
	assert_false(r[3].eof);
	/* a new client is answered, room made for it */
	r[4].fd = conn_open(p);
	ask(r[4].fd, "small.test", 1);
	spin_until(p, 5000, &r[4], 1, &pk);
	assert_int_equal(r[4].answers, 1);
	assert_true(pk.bytes <= budget);
	for (int i = 0; i < 5; i++)
		close(r[i].fd);
	spin(p, 50, NULL, NULL);
	assert_int_equal(p->tcp_bytes, 0);
	finish(&loop, p);
}

/* many clients that do not read, all asking at once, most of them
 * stalled: a new client still gets its answer, and the budget holds */
static void test_stalled_crowd(void **state)
{
	size_t budget = 512 * 1024;
	struct dns_proxy *p = setup(budget);
	static struct reader r[13];
	struct peaks pk = {0};
	struct dns_stats st;

	memset(r, 0, sizeof(r));
	for (int i = 0; i < 12; i++) {
		r[i].fd = conn_open(p);
		ask(r[i].fd, "big.test", 20);
	}
	spin(p, 200, NULL, &pk);
	for (int round = 0; round < 3; round++) {
		struct reader *n = &r[12];

		memset(n, 0, sizeof(*n));
		n->fd = conn_open(p);
		ask(n->fd, "small.test", 1);
		spin_until(p, 5000, n, 1, &pk);
		assert_int_equal(n->answers, 1);
		close(n->fd);
		spin(p, 20, NULL, &pk);
	}
	assert_true(pk.bytes <= budget);
	dns_get_stats(p, &st);
	assert_true(st.tcp_evicted >= 1);
	for (int i = 0; i < 12; i++)
		close(r[i].fd);
	spin(p, 50, NULL, NULL);
	finish(&loop, p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sixteen_in_flight),
		cmocka_unit_test(test_unwritten_bound),
		cmocka_unit_test(test_large_query),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_stalled_crowd),
	};

	signal(SIGPIPE, SIG_IGN); /* as the outside: EPIPE, not a signal */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
