/* SPDX-License-Identifier: MIT */
/*
 * csum.c - unit tests for nat/csum.c: RFC 1071 vectors, odd lengths,
 * pseudo-headers against an independent reference (nat_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lib/csum.h"
#include "test/unit/nat_test.h"

/* RFC 1071 section 3: the sum of these words is 0xddf2 */
static void test_rfc1071(void **state)
{
	const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	assert_int_equal(tg_csum_fold(tg_csum_add(0, b, sizeof(b))),
			 (uint16_t)~0xddf2);
	assert_int_equal(tg_csum(b, sizeof(b)), 0x220d);
	/* chained in even pieces, same result */
	assert_int_equal(tg_csum_fold(tg_csum_add(tg_csum_add(0, b, 2), b + 2, 6)),
			 0x220d);
}

static void test_odd(void **state)
{
	const uint8_t one[] = {0x01};
	const uint8_t three[] = {0x01, 0x02, 0x03};
	uint8_t big[1001];

	assert_int_equal(tg_csum(one, 1), 0xfeff);
	assert_int_equal(tg_csum(three, 3), (uint16_t)~0x0402);
	assert_int_equal(tg_csum(NULL, 0), 0xffff);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	for (size_t n = 0; n <= sizeof(big); n++)
		assert_int_equal(tg_csum(big, n), ref_csum(big, n));
	/* even pieces then an odd tail */
	assert_int_equal(
		tg_csum_fold(tg_csum_add(tg_csum_add(0, big, 500), big + 500, 501)),
		ref_csum(big, 1001));
}

/* a captured header: 192.168.0.1 -> 192.168.0.199, checksum 0xb861 */
static void test_ip4_header(void **state)
{
	uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
		       0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
		       0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

	assert_int_equal(tg_csum(h, sizeof(h)), 0);
	h[10] = h[11] = 0;
	assert_int_equal(tg_csum(h, sizeof(h)), 0xb861);
}

static void test_udp4_pseudo(void **state)
{
	uint8_t u[8 + 13] = {0x9c, 0x40, 0x00, 0x35, 0x00, 21, 0, 0};
	uint32_t s;

	memcpy(u + 8, "odd payload!!", 13);
	s = tg_csum_pseudo4(T_IN4, T_DST4, IPPROTO_UDP, sizeof(u));
	assert_int_equal(
		tg_csum_fold(tg_csum_add(s, u, sizeof(u))),
		ref_l4_csum(AF_INET, T_IN4, T_DST4, IPPROTO_UDP, u, sizeof(u)));
	assert_int_equal(
		tg_csum_pseudo(AF_INET, T_IN4, T_DST4, IPPROTO_UDP, sizeof(u)), s);
	/* with the checksum in place, the whole verifies to 0 */
	put16(u + 6, tg_csum_fold(tg_csum_add(s, u, sizeof(u))));
	assert_int_equal(tg_csum_fold(tg_csum_add(s, u, sizeof(u))), 0);
}

static void test_udp6_pseudo(void **state)
{
	uint8_t u[8 + 1200];
	uint32_t s;

	for (size_t i = 0; i < sizeof(u); i++)
		u[i] = (uint8_t)(0xff - i);
	put16(u + 4, sizeof(u));
	put16(u + 6, 0);
	s = tg_csum_pseudo6(T_IN6, T_DST6, IPPROTO_UDP, sizeof(u));
	assert_int_equal(tg_csum_fold(tg_csum_add(s, u, sizeof(u))),
			 ref_l4_csum(AF_INET6, T_IN6, T_DST6, IPPROTO_UDP, u,
				     sizeof(u)));
	assert_int_equal(
		tg_csum_pseudo(AF_INET6, T_IN6, T_DST6, IPPROTO_UDP, sizeof(u)),
		s);
	put16(u + 6, tg_csum_fold(tg_csum_add(s, u, sizeof(u))));
	assert_int_equal(tg_csum_fold(tg_csum_add(s, u, sizeof(u))), 0);
	/* an odd length with an address full of ones: carries fold right */
	const uint8_t ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				  0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				  0xff, 0xff, 0xff, 0xff};
	s = tg_csum_pseudo6(ones, ones, IPPROTO_TCP, 777);
	assert_int_equal(
		tg_csum_fold(tg_csum_add(s, u, 777)),
		ref_l4_csum(AF_INET6, ones, ones, IPPROTO_TCP, u, 777));
}

/* a whole packet from the reference builder verifies to zero */
static void test_packet_verifies(void **state)
{
	uint8_t p[200];
	size_t n = t_udp(p, AF_INET, T_IN4, 1000, T_DST4, 53, "abcde", 5);
	uint32_t s =
		tg_csum_pseudo4(T_IN4, T_DST4, IPPROTO_UDP, (uint16_t)(n - 20));

	assert_int_equal(tg_csum(p, 20), 0);
	assert_int_equal(tg_csum_fold(tg_csum_add(s, p + 20, n - 20)), 0);
}

/* lengths past 16 bits (jumbograms) carry into the pseudo-header sum */
static void test_pseudo6_long(void **state)
{
	static uint8_t big[0x10005];
	uint32_t s;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i >> 3);
	s = tg_csum_pseudo6(T_IN6, T_DST6, IPPROTO_UDP, sizeof(big));
	assert_int_equal(tg_csum_fold(tg_csum_add(s, big, sizeof(big))),
			 ref_l4_csum(AF_INET6, T_IN6, T_DST6, IPPROTO_UDP, big,
				     sizeof(big)));
}

static void test_replace16(void **state)
{
	uint8_t b[64];
	uint16_t c, c2;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 13);
	for (unsigned v = 0; v < 0x10000; v += 0x0101) {
		put16(b + 2, 0);
		put16(b + 4, 0xbeef);
		c = tg_csum(b, sizeof(b));
		put16(b + 2, c);
		put16(b + 4, v);
		c2 = tg_csum_replace16(c, 0xbeef, (uint16_t)v);
		put16(b + 2, c2);
		/* 0 and 0xffff are the same number in one's complement */
		c = tg_csum(b, sizeof(b));
		assert_true(c == 0 || c == 0xffff);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071),
		cmocka_unit_test(test_odd),
		cmocka_unit_test(test_ip4_header),
		cmocka_unit_test(test_udp4_pseudo),
		cmocka_unit_test(test_udp6_pseudo),
		cmocka_unit_test(test_packet_verifies),
		cmocka_unit_test(test_pseudo6_long),
		cmocka_unit_test(test_replace16),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
