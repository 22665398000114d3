/* SPDX-License-Identifier: MIT */
/*
 * dns_msg.c - unit tests for dns/msg.c and dns/rec.c: query parsing,
 * answer building (case, id, flags, TTL aging, EDNS0, truncation),
 * negative TTLs, and random queries (parse and answer never fail).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns_internal.h"
#include "test/unit/dns_test.h"

static uint8_t q[512];

/* a record as the proxy would cache it, built with ldns */
static struct dns_rec *rec_of(const char *const *rrs, int n, int rcode)
{
	struct dns_question dq;
	struct dns_key k;
	struct dns_qinfo qi;
	size_t len = make_query(q, 0, 0, "www.example.com", 16, 0, false);
	ldns_pkt *pkt;

	dns_msg_parse_query(q, len, &qi);
	dq = qi.q;
	dns_key_from_question(&dq, &k);
	pkt = dns_rec_pkt_new(&k, rcode);
	for (int i = 0; i < n; i++) {
		ldns_rr *rr = NULL;

		assert_int_equal(
			ldns_rr_new_frm_str(&rr, rrs[i] + 2, 0, NULL, NULL),
			LDNS_STATUS_OK);
		ldns_pkt_push_rr(pkt, rrs[i][0] - '0', rr);
	}
	return dns_rec_finish(pkt, &k, 300);
}

static const char *const rrs_txt[] = {
	"1 www.example.com. 300 IN TXT \"hello\"",
	"1 www.example.com. 100 IN TXT \"world\"",
	"2 example.com. 3600 IN NS ns.example.com.",
	"3 ns.example.com. 3600 IN A 192.0.2.1",
};

static void test_answer_build(void **state)
{
	struct dns_rec *r = rec_of(rrs_txt, 4, 0);
	static uint8_t out[DNS_MSG_MAX];
	struct dns_qinfo qi;
	struct got a;
	ldns_pkt *pkt;
	bool trunc;
	size_t n;

	assert_non_null(r);
	r->born_ms = 1000;
	n = make_query(q, 0xbeef, 0x0110, "WwW.ExAmple.COM", 16, 0, false);
	dns_msg_parse_query(q, n, &qi);
	a.len = dns_msg_answer(out, &qi, r, 0, 6999, 512, &trunc);
	assert_false(trunc);
	memcpy(a.msg, out, a.len);
	/* id, QR RD RA CD, the question as asked */
	assert_memory_equal(a.msg, "\xbe\xef\x81\x90\0\1\0\2\0\1\0\1", 12);
	assert_memory_equal(a.msg + 12, q + 12, n - 12);
	pkt = parse(&a);
	/* 5 seconds old: every TTL 5 less */
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0)),
			 295);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(pkt), 1)),
			 95);
	assert_int_equal(
		ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_additional(pkt), 0)),
		3595);
	ldns_pkt_free(pkt);
	/* past a TTL: 0, not negative */
	a.len = dns_msg_answer(out, &qi, r, 0, 1000 + 200 * 1000, 512, &trunc);
	memcpy(a.msg, out, a.len);
	pkt = parse(&a);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(pkt), 1)),
			 0);
	ldns_pkt_free(pkt);
	/* too big: the additional section goes first, without TC */
	n = a.len;
	a.len = dns_msg_answer(out, &qi, r, 0, 1000, n - 1, &trunc);
	assert_false(trunc);
	assert_int_equal(tg_be16(out + 10), 0);
	assert_int_equal(tg_be16(out + 6), 2);
	/* then everything: TC, the question alone */
	a.len = dns_msg_answer(out, &qi, r, 0, 1000, 60, &trunc);
	assert_true(trunc);
	assert_int_equal(a.len, 12 + qi.q.len + 4);
	assert_memory_equal(out + 2, "\x83\x90\0\1\0\0\0\0\0\0", 10);
	/* with EDNS0: OPT kept after truncation, DO copied */
	n = make_query(q, 0xbeef, 0x0100, "www.example.com", 16, 1232, true);
	dns_msg_parse_query(q, n, &qi);
	a.len = dns_msg_answer(out, &qi, r, 0, 1000, 60, &trunc);
	assert_true(trunc);
	assert_int_equal(a.len, 12 + qi.q.len + 4 + 11);
	assert_int_equal(tg_be16(out + 10), 1);
	memcpy(a.msg, out, a.len);
	pkt = parse(&a);
	assert_true(ldns_pkt_tc(pkt));
	assert_true(ldns_pkt_edns_do(pkt));
	assert_int_equal(ldns_pkt_edns_udp_size(pkt), 1232);
	ldns_pkt_free(pkt);
	dns_rec_unref(r);
}

static void test_negative_ttl(void **state)
{
	const char *const nx[] = {
		"2 example.com. 3600 IN SOA ns.example.com. h.example.com. "
		"1 7200 900 1209600 60",
	};
	const char *const nx_big[] = {
		"2 example.com. 3600 IN SOA ns.example.com. h.example.com. "
		"1 7200 900 1209600 86400",
	};
	/* a record of @rrs, @rcode; read back as @as (if not -1): its TTL */
	const struct {
		const char *const *rrs;
		int n, rcode, as;
		uint32_t ttl;
	} t[] = {
		{nx, 1, LDNS_RCODE_NXDOMAIN, -1, 60},
		/* capped */
		{nx_big, 1, LDNS_RCODE_NOERROR, -1, 300},
		/* no SOA: not cached; positive: the smallest answer TTL */
		{rrs_txt, 1, LDNS_RCODE_NXDOMAIN, LDNS_RCODE_NOERROR, 300},
		{rrs_txt, 1, LDNS_RCODE_NXDOMAIN, LDNS_RCODE_SERVFAIL, 0},
		{rrs_txt, 2, 0, -1, 100},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct dns_rec *r = rec_of(t[i].rrs, t[i].n, t[i].rcode);
		ldns_pkt *pkt;
		struct got a;
		uint32_t ttl;

		memcpy(a.msg, r->wire, r->len);
		a.len = r->len;
		pkt = parse(&a);
		if (t[i].as >= 0)
			ldns_pkt_set_rcode(pkt, (uint8_t)t[i].as);
		ttl = dns_rec_pkt_ttl(pkt, 300);
		if (ttl != t[i].ttl)
			fail_msg("case %zu: TTL %u, want %u", i, ttl, t[i].ttl);
		ldns_pkt_free(pkt);
		dns_rec_unref(r);
	}
}

static void test_parse_query(void **state)
{
	struct dns_qinfo qi;
	size_t n;

	n = make_query(q, 7, 0x0110, "a.B.c", 16, 4096, true);
	assert_int_equal(dns_msg_parse_query(q, n, &qi), 0);
	assert_int_equal(qi.rcode, 0);
	assert_true(qi.has_q && qi.edns && qi.edns_do);
	assert_int_equal(qi.udp_size, 4096);
	assert_int_equal(qi.q.len, 7);
	assert_memory_equal(qi.q.name, "\1a\1B\1c", 7);
	assert_int_equal(qi.q.type, 16);
	/* a small EDNS size still means 512 */
	n = make_query(q, 7, 0x0100, "a", 16, 100, false);
	assert_int_equal(dns_msg_parse_query(q, n, &qi), 0);
	assert_int_equal(qi.udp_size, 512);
	/* EDNS version 1: BADVERS */
	q[n - 5] = 1;
	assert_int_equal(dns_msg_parse_query(q, n, &qi), 0);
	assert_int_equal(qi.rcode, DNS_R_BADVERS);
	/* two OPT records */
	n = make_query(q, 7, 0x0100, "a", 16, 1232, false);
	memcpy(q + n, q + n - 11, 11);
	q[11] = 2;
	assert_int_equal(dns_msg_parse_query(q, n + 11, &qi), 0);
	assert_int_equal(qi.rcode, DNS_R_FORMERR);
	/* a compression pointer in the question */
	n = make_query(q, 7, 0x0100, "a", 16, 0, false);
	q[12] = 0xc0;
	assert_int_equal(dns_msg_parse_query(q, n, &qi), 0);
	assert_int_equal(qi.rcode, DNS_R_FORMERR);
	/* an additional record that runs past the end */
	n = make_query(q, 7, 0x0100, "a", 16, 1232, false);
	assert_int_equal(dns_msg_parse_query(q, n - 1, &qi), 0);
	assert_int_equal(qi.rcode, DNS_R_FORMERR);
	assert_true(qi.has_q);
	/* two questions */
	n = make_query(q, 7, 0x0100, "a", 16, 0, false);
	q[5] = 2;
	assert_int_equal(dns_msg_parse_query(q, n, &qi), 0);
	assert_int_equal(qi.rcode, DNS_R_FORMERR);
	assert_false(qi.has_q);
}

static void test_name_text(void **state)
{
	char buf[300];

	assert_int_equal(dns_name_text((const uint8_t *)"\3www\2ex\0", 8, buf,
				       sizeof(buf)),
			 6);
	assert_string_equal(buf, "www.ex");
	assert_int_equal(dns_name_text((const uint8_t *)"\0", 1, buf, 8), 1);
	assert_string_equal(buf, ".");
	assert_int_equal(dns_name_text((const uint8_t *)"\3a.b\0", 5, buf, 8),
			 -EINVAL);
	assert_int_equal(dns_name_text((const uint8_t *)"\3abc\0", 5, buf, 3),
			 -ENOSPC);
}

/* mutated and cut queries: the parse never fails, the answer is sound */
static void test_random_queries(void **state)
{
	static uint8_t out[DNS_MSG_MAX];
	unsigned seed = 4242;
	struct dns_qinfo qi;
	struct got a;

	for (int i = 0; i < 20000; i++) {
		size_t n = make_query(q, (uint16_t)i, 0x0100, "wWw.example.com",
				      (uint16_t)(i % 300), i % 2 ? 1232 : 0,
				      i % 3);
		bool trunc;

		for (int j = rand_r(&seed) % 6; j > 0; j--)
			q[(size_t)rand_r(&seed) % n] = (uint8_t)rand_r(&seed);
		if (i % 5 == 0)
			n = (size_t)rand_r(&seed) % (n + 1);
		if (dns_msg_parse_query(q, n, &qi)) {
			assert_true(n < 12);
			continue;
		}
		a.len = dns_msg_answer(out, &qi, NULL,
				       qi.rcode ? qi.rcode : DNS_R_SERVFAIL, 0,
				       qi.udp_size, &trunc);
		assert_true(a.len >= 12 && a.len <= qi.udp_size);
		assert_false(trunc);
		memcpy(a.msg, out, a.len);
		ldns_pkt_free(parse(&a));
		assert_int_equal(a.msg[0] << 8 | a.msg[1], qi.id);
		if (qi.has_q)
			assert_memory_equal(a.msg + 12, q + 12, qi.q.len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_query),
		cmocka_unit_test(test_answer_build),
		cmocka_unit_test(test_negative_ttl),
		cmocka_unit_test(test_name_text),
		cmocka_unit_test(test_random_queries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
