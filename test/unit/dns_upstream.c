/* SPDX-License-Identifier: MIT */
/*
 * dns_upstream.c - unit tests for the forwarding path of dns/ against a
 * fake server on 127.0.0.1 (dns_fake.h): record types and TTLs, the
 * cache and coalescing (counted at the server), negative answers,
 * SERVFAIL on failure and timeout, truncation with and without EDNS0,
 * and DNS over a stream (socketpair).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "dns/dns_internal.h"
#include "test/unit/dns_test.h"
#include "test/unit/dns_fake.h"

static struct got g[4];
static uint8_t q[512];
static uv_loop_t loop;

static struct dns_proxy *setup(unsigned timeout_ms)
{
	struct dns_opts o = {.timeout_ms = timeout_ms};
	struct dns_proxy *p;

	memset(g, 0, sizeof(g));
	assert_int_equal(uv_loop_init(&loop), 0);
	fake_start(&loop);
	o.resolv_conf = fk.resolv;
	o.upstream_port = (uint16_t)fk.port;
	p = dns_proxy_new(&loop, &o);
	assert_non_null(p);
	return p;
}

static void teardown(struct dns_proxy *p)
{
	fake_stop();
	finish(&loop, p);
}

/* ask and wait for the answer */
static ldns_pkt *ask(struct dns_proxy *p, struct got *a, uint16_t id,
		     uint16_t flags, const char *name, uint16_t type,
		     uint16_t edns, bool udp)
{
	size_t n = make_query(q, id, flags, name, type, edns, false);
	int want = a->calls + 1;

	assert_int_equal(query(p, q, n, udp, a), 0);
	assert_true(run_until(&loop, &a->calls, want, 6000));
	assert_int_equal(a->msg[0] << 8 | a->msg[1], id);
	/* the question exactly as asked */
	assert_memory_equal(a->msg + 12, q + 12, n - 12 - (edns ? 11 : 0));
	return parse(a);
}

static void test_txt_and_cache(void **state)
{
	struct dns_proxy *p = setup(0);
	struct dns_stats st;
	ldns_pkt *a;
	ldns_rr *rr;

	a = ask(p, &g[0], 0x1001, 0x0100, "TxT.TeSt", 16, 0, true);
	assert_memory_equal(g[0].msg + 2, "\x81\x80\0\1\0\1", 6);
	rr = ldns_rr_list_rr(ldns_pkt_answer(a), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_TXT);
	assert_int_equal(ldns_rr_ttl(rr), 300);
	assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr, 0)), "\13hello world",
			    12);
	ldns_pkt_free(a);
	assert_int_equal(fk.udp_count, 1);

	/* from the cache: the server is not asked; RD off is echoed */
	a = ask(p, &g[1], 0x1002, 0x0000, "txt.TEST", 16, 0, true);
	assert_memory_equal(g[1].msg + 2, "\x80\x80\0\1\0\1", 6);
	ldns_pkt_free(a);
	assert_int_equal(fk.udp_count, 1);
	dns_get_stats(p, &st);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.lookups, 1);
	assert_int_equal(st.answered, 2);
	teardown(p);
}

static void test_types(void **state)
{
	static const struct {
		const char *name;
		uint16_t type;
		uint32_t ttl;
	} t[] = {
		{"mx.test", 15, 600},	{"srv.test", 33, 120},
		{"caa.test", 257, 300}, {"https.test", 65, 300},
		{"svcb.test", 64, 300}, {"cname.test", 5, 60},
		{"test", 2, 3600},	{"test", 6, 3600},
		{"null.test", 10, 300}, {"7.2.0.192.in-addr.arpa", 12, 300},
	};
	struct dns_proxy *p = setup(0);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ldns_pkt *a = ask(p, &g[0], (uint16_t)i, 0x0100, t[i].name,
				  t[i].type, 1232, true);
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(a), 0);

		assert_int_equal(ldns_pkt_get_rcode(a), 0);
		assert_non_null(rr);
		assert_int_equal(ldns_rr_get_type(rr), t[i].type);
		assert_int_equal(ldns_rr_ttl(rr), t[i].ttl);
		assert_int_equal(ldns_pkt_edns_udp_size(a), 1232);
		ldns_pkt_free(a);
	}
	teardown(p);
}

static void test_coalesce(void **state)
{
	struct dns_proxy *p = setup(0);
	struct dns_stats st;
	size_t n;

	n = make_query(q, 0x2001, 0x0100, "mx.test", 15, 0, false);
	assert_int_equal(query(p, q, n, true, &g[0]), 0);
	n = make_query(q, 0x2002, 0x0100, "MX.test", 15, 0, false);
	assert_int_equal(query(p, q, n, true, &g[1]), 0);
	assert_true(run_until(&loop, &g[1].calls, 1, 6000));
	assert_true(run_until(&loop, &g[0].calls, 1, 1000));
	assert_memory_equal(g[0].msg, "\x20\x01\x81\x80\0\1\0\1", 8);
	assert_memory_equal(g[1].msg, "\x20\x02\x81\x80\0\1\0\1", 8);
	assert_memory_equal(g[1].msg + 12, "\2MX\4test", 8);
	assert_int_equal(fk.udp_count, 1);
	dns_get_stats(p, &st);
	assert_int_equal(st.coalesced, 1);
	assert_int_equal(st.lookups, 1);
	teardown(p);
}

static void test_negative(void **state)
{
	struct dns_proxy *p = setup(0);
	struct dns_stats st;
	ldns_pkt *a;
	ldns_rr *soa;

	/* NXDOMAIN with the SOA, then from the cache */
	a = ask(p, &g[0], 0x3001, 0x0100, "nx.test", 16, 0, true);
	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(a), 0);
	soa = ldns_rr_list_rr(ldns_pkt_authority(a), 0);
	assert_non_null(soa);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	ldns_pkt_free(a);
	ldns_pkt_free(ask(p, &g[0], 0x3002, 0x0100, "nx.test", 16, 0, true));
	assert_int_equal(g[0].msg[3] & 0xf, 3);
	assert_int_equal(fk.udp_count, 1);

	/* NODATA: NOERROR, no answer, the SOA */
	a = ask(p, &g[1], 0x3003, 0x0100, "txt.test", 15, 0, true);
	assert_int_equal(ldns_pkt_get_rcode(a), 0);
	assert_int_equal(ldns_pkt_ancount(a), 0);
	assert_int_equal(ldns_pkt_nscount(a), 1);
	ldns_pkt_free(a);

	/* NXDOMAIN without a SOA: not cached (RFC 2308 5) */
	ldns_pkt_free(ask(p, &g[2], 0x3004, 0x0100, "nosoa.test", 16, 0, true));
	ldns_pkt_free(ask(p, &g[2], 0x3005, 0x0100, "nosoa.test", 16, 0, true));
	assert_int_equal(g[2].msg[3] & 0xf, 3);
	assert_int_equal(fk.udp_count, 4);

	/* the upstream's SERVFAIL and REFUSED: SERVFAIL, not cached */
	ldns_pkt_free(ask(p, &g[3], 0x3006, 0x0100, "fail.test", 16, 0, true));
	assert_int_equal(g[3].msg[3] & 0xf, 2);
	ldns_pkt_free(ask(p, &g[3], 0x3007, 0x0100, "fail.test", 16, 0, true));
	ldns_pkt_free(ask(p, &g[3], 0x3008, 0x0100, "nope.test", 16, 0, true));
	assert_int_equal(g[3].msg[3] & 0xf, 2);
	assert_int_equal(fk.udp_count, 7);
	dns_get_stats(p, &st);
	assert_int_equal(st.nxdomain, 4);
	assert_int_equal(st.nodata, 1);
	assert_int_equal(st.servfail, 3);
	teardown(p);
}

static void test_timeout(void **state)
{
	struct dns_proxy *p = setup(400);
	uint64_t t0 = uv_hrtime(), ms;
	struct dns_stats st;

	ldns_pkt_free(ask(p, &g[0], 0x4001, 0x0100, "slow.test", 16, 0, true));
	ms = (uv_hrtime() - t0) / 1000000;
	assert_int_equal(g[0].msg[3] & 0xf, 2);
	/* the 400 ms given, not the default 4000 ms; wall time, so the upper
	 * bound leaves room for a loaded machine */
	assert_true(ms >= 300 && ms < 3000);
	dns_get_stats(p, &st);
	assert_int_equal(st.servfail, 1);
	assert_true(fk.udp_count >= 1);
	teardown(p);
}

static void test_no_nameserver(void **state)
{
	struct dns_proxy *p = setup(0);

	assert_int_equal(truncate(fk.resolv, 7), 0); /* "# fake\n" */
	ldns_pkt_free(ask(p, &g[0], 0x4101, 0x0100, "txt.test", 16, 0, true));
	assert_int_equal(g[0].msg[3] & 0xf, 2);
	assert_int_equal(fk.udp_count, 0);
	teardown(p);
}

static void test_truncation(void **state)
{
	struct dns_proxy *p = setup(0);
	struct dns_stats st;
	ldns_pkt *a;

	/* ~830 bytes: over 512 without EDNS0: TC, no records */
	a = ask(p, &g[0], 0x5001, 0x0100, "mid.test", 16, 0, true);
	assert_true(ldns_pkt_tc(a));
	assert_int_equal(ldns_pkt_ancount(a), 0);
	assert_true(g[0].len <= 512);
	ldns_pkt_free(a);
	/* fits the client's EDNS0 size */
	a = ask(p, &g[0], 0x5002, 0x0100, "mid.test", 16, 1232, true);
	assert_false(ldns_pkt_tc(a));
	assert_int_equal(ldns_pkt_ancount(a), 1);
	ldns_pkt_free(a);
	/* ~3 KB: the upstream's UDP answer is truncated, ldns goes TCP */
	a = ask(p, &g[1], 0x5003, 0x0100, "big.test", 16, 4096, true);
	assert_false(ldns_pkt_tc(a));
	assert_int_equal(ldns_pkt_ancount(a), 1);
	assert_true(g[1].len > 3000 && g[1].len <= 4096);
	assert_true(fk.tcp_count >= 1);
	ldns_pkt_free(a);
	a = ask(p, &g[1], 0x5004, 0x0100, "big.test", 16, 1232, true);
	assert_true(ldns_pkt_tc(a));
	assert_true(g[1].len <= 1232);
	ldns_pkt_free(a);
	/* over TCP: whole */
	a = ask(p, &g[2], 0x5005, 0x0100, "big.test", 16, 0, false);
	assert_false(ldns_pkt_tc(a));
	assert_int_equal(ldns_pkt_ancount(a), 1);
	ldns_pkt_free(a);
	dns_get_stats(p, &st);
	assert_int_equal(st.truncated, 2);
	teardown(p);
}

/* the far end of a socketpair: frames in, answers out */
struct client {
	uv_pipe_t pipe;
	struct got a[4];
	int answers, eof;
	size_t used;
	uint8_t buf[1 << 18];
};

static struct client cl;

static void cl_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	b->base = (char *)cl.buf + cl.used;
	b->len = sizeof(cl.buf) - cl.used;
}

static void cl_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	if (nread < 0) {
		cl.eof = 1;
		uv_read_stop(s);
		return;
	}
	cl.used += (size_t)nread;
	while (cl.used >= 2 && cl.used >= 2u + (cl.buf[0] << 8 | cl.buf[1])) {
		size_t len = (size_t)(cl.buf[0] << 8 | cl.buf[1]);

		assert_true(cl.answers < 4);
		memcpy(cl.a[cl.answers].msg, cl.buf + 2, len);
		cl.a[cl.answers++].len = len;
		memmove(cl.buf, cl.buf + 2 + len, cl.used - 2 - len);
		cl.used -= 2 + len;
	}
}

static uv_pipe_t *stream_setup(struct dns_proxy *p)
{
	uv_pipe_t *srv = malloc(sizeof(*srv));
	int sv[2];

	memset(&cl, 0, sizeof(cl));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	uv_pipe_init(&loop, srv, 0);
	assert_int_equal(uv_pipe_open(srv, sv[0]), 0);
	assert_int_equal(dns_serve_stream(p, (uv_stream_t *)srv), 0);
	uv_pipe_init(&loop, &cl.pipe, 0);
	assert_int_equal(uv_pipe_open(&cl.pipe, sv[1]), 0);
	uv_read_start((uv_stream_t *)&cl.pipe, cl_alloc, cl_read);
	return srv;
}

static size_t frame(uint8_t *b, uint16_t id, const char *name, uint16_t t)
{
	size_t n = make_query(b + 2, id, 0x0100, name, t, 0, false);

	b[0] = (uint8_t)(n >> 8);
	b[1] = (uint8_t)n;
	return n + 2;
}

static void write_all(const uint8_t *b, size_t n)
{
	uv_buf_t ub = uv_buf_init((char *)b, (unsigned)n);

	assert_int_equal(uv_try_write((uv_stream_t *)&cl.pipe, &ub, 1), n);
}

static int answer_id(int i)
{
	return cl.a[i].msg[0] << 8 | cl.a[i].msg[1];
}

static void test_stream(void **state)
{
	struct dns_proxy *p = setup(0);
	static uint8_t b[1024];
	size_t n = 0;
	int big = -1;

	stream_setup(p);
	/* three queries in one write, the last one in two pieces */
	n += frame(b + n, 0x6001, "txt.test", 16);
	n += frame(b + n, 0x6002, "big.test", 16);
	n += frame(b + n, 0x6003, "localhost", 1);
	write_all(b, n - 5);
	uv_run(&loop, UV_RUN_NOWAIT);
	write_all(b + n - 5, 5);
	assert_true(run_until(&loop, &cl.answers, 3, 6000));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cl.a[i].msg[3] & 0xf, 0);
		if (answer_id(i) == 0x6002)
			big = i;
	}
	assert_true(big >= 0);
	assert_true(cl.a[big].len > 3000);
	assert_int_equal(cl.a[big].msg[2] & 0x02, 0); /* no TC */
	assert_int_equal(answer_id(0) + answer_id(1) + answer_id(2),
			 0x6001 + 0x6002 + 0x6003);
	/* a zero length is garbage: the proxy closes */
	write_all((const uint8_t *)"\0\0", 2);
	assert_true(run_until(&loop, &cl.eof, 1, 2000));
	assert_true(dns_list_empty(&p->conns));
	uv_close((uv_handle_t *)&cl.pipe, NULL);
	teardown(p);
}

/* the client half-closes after asking: it still gets its answer */
static void test_stream_half_close(void **state)
{
	struct dns_proxy *p = setup(0);
	static uint8_t b[512];
	uv_shutdown_t sh;

	stream_setup(p);
	write_all(b, frame(b, 0x7001, "mx.test", 15));
	assert_int_equal(uv_shutdown(&sh, (uv_stream_t *)&cl.pipe, NULL), 0);
	assert_true(run_until(&loop, &cl.eof, 1, 6000));
	assert_int_equal(cl.answers, 1);
	assert_int_equal(answer_id(0), 0x7001);
	assert_true(dns_list_empty(&p->conns));
	uv_close((uv_handle_t *)&cl.pipe, NULL);
	teardown(p);
}

/* dns_proxy_close() closes the stream, with a query pending */
static void test_stream_proxy_close(void **state)
{
	struct dns_proxy *p = setup(300);
	static uint8_t b[512];

	stream_setup(p);
	write_all(b, frame(b, 0x7101, "slow.test", 16));
	uv_run(&loop, UV_RUN_NOWAIT);
	dns_proxy_close(p);
	assert_true(run_until(&loop, &cl.eof, 1, 2000));
	assert_int_equal(cl.answers, 0);
	uv_close((uv_handle_t *)&cl.pipe, NULL);
	fake_stop();
	finish(&loop, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt_and_cache),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_coalesce),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_no_nameserver),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_half_close),
		cmocka_unit_test(test_stream_proxy_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
