/* SPDX-License-Identifier: MIT */
/*
 * dns.c - unit tests for dns/: the proxy end to end for broken queries
 * and for names of /etc/hosts only (no packet leaves the machine; the
 * forwarding path is in dns_upstream.c, the message level in dns_msg.c),
 * the cache, the getaddrinfo mapping.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns_internal.h"
#include "test/unit/dns_test.h"

static struct got g[4];
static uint8_t q[512];

static struct dns_proxy *setup(uv_loop_t *loop, const struct dns_opts *o)
{
	struct dns_proxy *p;

	memset(g, 0, sizeof(g));
	assert_int_equal(uv_loop_init(loop), 0);
	p = dns_proxy_new(loop, o);
	assert_non_null(p);
	return p;
}

static void test_dropped_header(void **state)
{
	struct dns_stats st;
	uv_loop_t loop;
	struct dns_proxy *p = setup(&loop, NULL);

	assert_int_equal(query(p, q, 11, true, &g[0]), -EBADMSG);
	assert_int_equal(query(p, q, 0, true, &g[0]), -EBADMSG);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(g[0].calls, 0);
	dns_get_stats(p, &st);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.queries, 0);
	finish(&loop, p);
}

/* each broken query gets its answer, asynchronously, id echoed */
static void test_formerr_notimp(void **state)
{
	uv_loop_t loop;
	struct dns_proxy *p = setup(&loop, NULL);
	struct dns_stats st;
	size_t n;

	/* a header, then half a name */
	n = make_query(q, 0x1111, 0x0100, "example.com", 1, 0, false);
	assert_int_equal(query(p, q, 16, true, &g[0]), 0);
	/* a response */
	make_query(q, 0x2222, 0x8100, "example.com", 1, 0, false);
	assert_int_equal(query(p, q, n, true, &g[1]), 0);
	/* opcode STATUS (2) */
	make_query(q, 0x3333, 0x1100, "example.com", 1, 0, false);
	assert_int_equal(query(p, q, n, true, &g[2]), 0);
	/* AXFR over UDP */
	make_query(q, 0x4444, 0x0100, "Example.com", 252, 0, false);
	assert_int_equal(query(p, q, n, true, &g[3]), 0);
	assert_int_equal(g[0].calls + g[1].calls + g[2].calls + g[3].calls, 0);
	assert_true(run_until(&loop, &g[3].calls, 1, 1000));

	assert_int_equal(g[0].calls, 1);
	assert_int_equal(g[0].len, 12);
	assert_memory_equal(g[0].msg, "\x11\x11\x81\x81\0\0\0\0\0\0\0\0", 12);
	assert_memory_equal(g[1].msg, "\x22\x22\x81\x81\0\0", 6);
	/* NOTIMP keeps the opcode it cannot do */
	assert_memory_equal(g[2].msg, "\x33\x33\x91\x84\0\0", 6);
	/* NOTIMP with the question as asked */
	assert_memory_equal(g[3].msg, "\x44\x44\x81\x84\0\1\0\0\0\0\0\0", 12);
	assert_int_equal(g[3].len, n);
	assert_memory_equal(g[3].msg + 12, q + 12, n - 12);
	dns_get_stats(p, &st);
	assert_int_equal(st.formerr, 2);
	assert_int_equal(st.answered, 4);
	finish(&loop, p);
}

static void test_badvers_answer(void **state)
{
	uv_loop_t loop;
	struct dns_proxy *p = setup(&loop, NULL);
	ldns_pkt *a;
	size_t n;

	n = make_query(q, 0x5555, 0x0100, "localhost", 1, 1232, false);
	q[n - 5] = 1; /* version */
	assert_int_equal(query(p, q, n, true, &g[0]), 0);
	assert_true(run_until(&loop, &g[0].calls, 1, 1000));
	a = parse(&g[0]);
	assert_int_equal(ldns_pkt_get_rcode(a), 0);
	assert_int_equal(ldns_pkt_edns_extended_rcode(a), 1);
	assert_int_equal(ldns_pkt_edns_udp_size(a), 1232);
	ldns_pkt_free(a);
	finish(&loop, p);
}

static struct dns_rec *small_rec(const char *name, uint32_t ttl,
				 struct dns_key *k)
{
	struct dns_qinfo qi;
	size_t n = make_query(q, 0, 0, name, 1, 0, false);
	struct dns_rec *r;

	dns_msg_parse_query(q, n, &qi);
	dns_key_from_question(&qi.q, k);
	memcpy(q + 12, k->name, k->len);
	r = dns_rec_new(q, n, k->len, ttl);
	assert_non_null(r);
	return r;
}

static void test_cache(void **state)
{
	struct dns_cache c;
	struct dns_key k[4], kx;
	struct dns_rec *r[4], *hit;
	size_t one;

	assert_int_equal(dns_cache_init(&c, 3, 1 << 20), 0);
	r[0] = small_rec("a.example", 10, &k[0]);
	r[1] = small_rec("b.example", 10, &k[1]);
	r[2] = small_rec("c.example", 0, &k[2]);
	r[3] = small_rec("d.example", 10, &k[3]);
	one = sizeof(struct dns_rec) + r[0]->len;
	for (int i = 0; i < 4; i++)
		dns_cache_put(&c, &k[i], r[i], 0);
	/* TTL 0 is not kept */
	assert_int_equal(c.entries, 3);
	assert_null(dns_cache_get(&c, &k[2], 0));
	/* keyed by the lowercase name: "A.EXAMPLE" finds it */
	dns_rec_unref(small_rec("A.EXAMPLE", 1, &kx));
	hit = dns_cache_get(&c, &kx, 9999);
	assert_ptr_equal(hit, r[0]);
	dns_rec_unref(hit);
	/* expired at 10 s */
	assert_null(dns_cache_get(&c, &k[0], 10000));
	assert_int_equal(c.entries, 2);
	dns_cache_free(&c);

	/* bounds: 2 entries; the least recently used goes */
	assert_int_equal(dns_cache_init(&c, 2, 1 << 20), 0);
	dns_cache_put(&c, &k[0], r[0], 0);
	dns_cache_put(&c, &k[1], r[1], 0);
	dns_rec_unref(dns_cache_get(&c, &k[0], 0));
	dns_cache_put(&c, &k[3], r[3], 0);
	assert_int_equal(c.entries, 2);
	assert_null(dns_cache_get(&c, &k[1], 0));
	hit = dns_cache_get(&c, &k[0], 0);
	assert_non_null(hit);
	dns_cache_free(&c);
	/* a reference outlives the cache */
	assert_int_equal(hit->refs, 2);
	dns_rec_unref(hit);

	/* bounds: bytes for two records */
	assert_int_equal(dns_cache_init(&c, 100, 2 * one + 1), 0);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			dns_cache_put(&c, &k[i], r[i], 0);
	assert_int_equal(c.entries, 2);
	assert_true(c.bytes <= 2 * one + 1);
	assert_null(dns_cache_get(&c, &k[0], 0));
	dns_cache_free(&c);
	/* a record bigger than the whole cache is not kept */
	assert_int_equal(dns_cache_init(&c, 100, one - 1), 0);
	dns_cache_put(&c, &k[0], r[0], 0);
	assert_int_equal(c.entries, 0);
	dns_cache_free(&c);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(r[i]->refs, 1);
		dns_rec_unref(r[i]);
	}
}

static void test_addr_rcode(void **state)
{
	assert_int_equal(dns_addr_rcode(0, AF_INET), DNS_R_NOERROR);
	assert_int_equal(dns_addr_rcode(UV_EAI_NODATA, AF_INET6),
			 DNS_R_NOERROR);
	assert_int_equal(dns_addr_rcode(UV_EAI_ADDRFAMILY, AF_INET6),
			 DNS_R_NOERROR);
	assert_int_equal(dns_addr_rcode(UV_EAI_NONAME, AF_INET6),
			 DNS_ADDR_CONFIRM);
	assert_int_equal(dns_addr_rcode(UV_EAI_NONAME, AF_UNSPEC),
			 DNS_R_NXDOMAIN);
	assert_int_equal(dns_addr_rcode(0, AF_UNSPEC), DNS_R_NOERROR);
	assert_int_equal(dns_addr_rcode(UV_EAI_NODATA, AF_UNSPEC),
			 DNS_R_NOERROR);
	assert_int_equal(dns_addr_rcode(UV_EAI_AGAIN, AF_INET), DNS_R_SERVFAIL);
	assert_int_equal(dns_addr_rcode(UV_EAI_FAIL, AF_INET), DNS_R_SERVFAIL);
	assert_int_equal(dns_addr_rcode(UV_EAI_MEMORY, AF_UNSPEC),
			 DNS_R_SERVFAIL);
}

static void key_of(const char *name, uint16_t type, struct dns_key *k)
{
	struct dns_qinfo qi;
	size_t n = make_query(q, 0, 0, name, type, 0, false);

	dns_msg_parse_query(q, n, &qi);
	dns_key_from_question(&qi.q, k);
}

static void test_addr_wants(void **state)
{
	struct dns_key k;

	key_of("localhost", 1, &k);
	assert_true(dns_addr_wants(&k));
	key_of("localhost", 28, &k);
	assert_true(dns_addr_wants(&k));
	key_of("localhost", 16, &k);
	assert_false(dns_addr_wants(&k));
	/* numeric names go upstream: getaddrinfo would echo them */
	key_of("127.0.0.1", 1, &k);
	assert_false(dns_addr_wants(&k));
	key_of("127.1", 1, &k);
	assert_false(dns_addr_wants(&k));
	key_of("", 1, &k);
	assert_false(dns_addr_wants(&k));
	key_of("a b.example", 1, &k);
	assert_false(dns_addr_wants(&k));
}

/* addresses as getaddrinfo gives them: CNAME, families, duplicates */
static void test_addr_rec(void **state)
{
	struct sockaddr_in s4[2] = {{.sin_family = AF_INET},
				    {.sin_family = AF_INET}};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct addrinfo ai[4] = {0};
	struct dns_key k;
	struct dns_rec *r;
	ldns_pkt *pkt;
	struct got a;
	char *s;

	inet_pton(AF_INET, "192.0.2.7", &s4[0].sin_addr);
	inet_pton(AF_INET, "192.0.2.8", &s4[1].sin_addr);
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	ai[0] = (struct addrinfo){.ai_family = AF_INET6,
				  .ai_addr = (struct sockaddr *)&s6,
				  .ai_addrlen = sizeof(s6),
				  .ai_next = &ai[1]};
	for (int i = 1; i < 4; i++)
		ai[i] = (struct addrinfo){
			.ai_family = AF_INET,
			.ai_addr = (struct sockaddr *)&s4[i == 3],
			.ai_addrlen = sizeof(s4[0]),
			.ai_next = i < 3 ? &ai[i + 1] : NULL};
	key_of("wiki", 1, &k);
	r = dns_addr_rec(&k, "Wiki.Corp.Example", ai, AF_INET, 0, 30);
	assert_non_null(r);
	memcpy(a.msg, r->wire, r->len);
	a.len = r->len;
	pkt = parse(&a);
	s = ldns_rr_list2str(ldns_pkt_answer(pkt));
	assert_string_equal(s, "wiki.\t30\tIN\tCNAME\tWiki.Corp.Example.\n"
			       "Wiki.Corp.Example.\t30\tIN\tA\t192.0.2.7\n"
			       "Wiki.Corp.Example.\t30\tIN\tA\t192.0.2.8\n");
	free(s);
	ldns_pkt_free(pkt);
	dns_rec_unref(r);
	/* the same name in another case: no CNAME */
	r = dns_addr_rec(&k, "WIKI", ai, AF_INET, 0, 30);
	assert_int_equal(tg_be16(r->wire + 6), 2);
	dns_rec_unref(r);
	/* AAAA from the same list; then none of the family: NODATA */
	key_of("wiki", 28, &k);
	r = dns_addr_rec(&k, NULL, ai, AF_INET6, 0, 30);
	assert_int_equal(tg_be16(r->wire + 6), 1);
	dns_rec_unref(r);
	r = dns_addr_rec(&k, "wiki", &ai[1], AF_INET6, 0, 30);
	assert_int_equal(tg_be16(r->wire + 6), 0);
	assert_int_equal(r->wire[3] & 0xf, 0);
	dns_rec_unref(r);
	r = dns_addr_rec(&k, NULL, NULL, AF_INET6, DNS_R_NXDOMAIN, 30);
	assert_int_equal(r->wire[3] & 0xf, DNS_R_NXDOMAIN);
	dns_rec_unref(r);
}

/* localhost from /etc/hosts, through the whole proxy, then the cache */
static void test_localhost(void **state)
{
	struct dns_opts o = {.addr_ttl_s = 42};
	uv_loop_t loop;
	struct dns_proxy *p = setup(&loop, &o);
	struct dns_stats st;
	ldns_pkt *a;
	ldns_rr *rr;
	size_t n;

	n = make_query(q, 0xa1a1, 0x0100, "LocalHost", 1, 0, false);
	assert_int_equal(query(p, q, n, true, &g[0]), 0);
	assert_int_equal(g[0].calls, 0);
	assert_true(run_until(&loop, &g[0].calls, 1, 5000));
	assert_memory_equal(g[0].msg, "\xa1\xa1\x81\x80\0\1", 6);
	assert_memory_equal(g[0].msg + 12, q + 12, n - 12);
	a = parse(&g[0]);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(a)), 1);
	rr = ldns_rr_list_rr(ldns_pkt_answer(a), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
	assert_int_equal(ldns_rr_ttl(rr), 42);
	assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr, 0)), "\x7f\0\0\1", 4);
	ldns_pkt_free(a);

	/* again, other id and case, RD off: from the cache */
	n = make_query(q, 0xb2b2, 0x0000, "LOCALHOST", 1, 0, false);
	assert_int_equal(query(p, q, n, true, &g[1]), 0);
	assert_int_equal(g[1].calls, 0);
	assert_true(run_until(&loop, &g[1].calls, 1, 1000));
	assert_memory_equal(g[1].msg, "\xb2\xb2\x80\x80\0\1\0\1", 8);
	assert_memory_equal(g[1].msg + 12, q + 12, n - 12);
	dns_get_stats(p, &st);
	assert_int_equal(st.lookups, 1);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.cache_entries, 1);
	assert_int_equal(st.pending, 0);
	finish(&loop, p);
}

/* ::1 only if /etc/hosts has it: otherwise glibc would ask the DNS */
static void test_localhost6(void **state)
{
	FILE *f = fopen("/etc/hosts", "r");
	char line[256];
	bool have = false;
	uv_loop_t loop;
	struct dns_proxy *p;
	size_t n;

	while (f && fgets(line, sizeof(line), f))
		have |= !strncmp(line, "::1", 3) && strstr(line, "localhost");
	if (f)
		fclose(f);
	if (!have) {
		print_message("no ::1 localhost in /etc/hosts: skipped\n");
		skip();
	}
	p = setup(&loop, NULL);
	n = make_query(q, 0x6666, 0x0100, "localhost", 28, 0, false);
	assert_int_equal(query(p, q, n, true, &g[0]), 0);
	assert_true(run_until(&loop, &g[0].calls, 1, 5000));
	assert_memory_equal(g[0].msg, "\x66\x66\x81\x80\0\1\0\1", 8);
	finish(&loop, p);
}

/* ANY: RFC 8482, without a lookup */
static void test_any(void **state)
{
	uv_loop_t loop;
	struct dns_proxy *p = setup(&loop, NULL);
	struct dns_stats st;
	ldns_pkt *a;
	char *s;
	size_t n;

	n = make_query(q, 0x7777, 0x0100, "Anything.Example", 255, 0, false);
	assert_int_equal(query(p, q, n, true, &g[0]), 0);
	assert_true(run_until(&loop, &g[0].calls, 1, 1000));
	a = parse(&g[0]);
	s = ldns_rr_list2str(ldns_pkt_answer(a));
	assert_string_equal(s, "Anything.Example.\t30\tIN\tHINFO\t\"RFC8482\" "
			       "\"\"\n");
	free(s);
	ldns_pkt_free(a);
	dns_get_stats(p, &st);
	assert_int_equal(st.lookups, 0);
	finish(&loop, p);
}

static void test_pending_bound_and_cancel(void **state)
{
	struct dns_opts o = {.max_pending = 2};
	uv_loop_t loop;
	struct dns_proxy *p = setup(&loop, &o);
	struct dns_stats st;
	size_t n;

	n = make_query(q, 1, 0x0100, "localhost", 1, 0, false);
	assert_int_equal(query(p, q, n, true, &g[0]), 0);
	assert_int_equal(query(p, q, n, true, &g[1]), 0);
	assert_int_equal(query(p, q, n, true, &g[2]), -ENOBUFS);
	dns_cancel(p, &g[0]);
	dns_get_stats(p, &st);
	assert_int_equal(st.overload, 1);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.coalesced, 1);
	assert_true(run_until(&loop, &g[1].calls, 1, 5000));
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(g[0].calls, 0);
	assert_int_equal(g[2].calls, 0);
	/* cancelled while ready, too */
	assert_int_equal(query(p, q, n, true, &g[3]), 0);
	dns_cancel(p, &g[3]);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(g[3].calls, 0);
	/* closing with a query pending: no answer */
	assert_int_equal(query(p, q, n, true, &g[3]), 0);
	finish(&loop, p);
	assert_int_equal(g[3].calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dropped_header),
		cmocka_unit_test(test_formerr_notimp),
		cmocka_unit_test(test_badvers_answer),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_addr_rcode),
		cmocka_unit_test(test_addr_wants),
		cmocka_unit_test(test_addr_rec),
		cmocka_unit_test(test_localhost),
		cmocka_unit_test(test_localhost6),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_pending_bound_and_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
