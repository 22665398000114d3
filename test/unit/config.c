/* SPDX-License-Identifier: MIT */
/*
 * config.c - unit tests for transport/config.c: the CONFIG payload.
 *
 * Malformed inputs are made by editing a real encoding (the last TLV of
 * an encoding is its last route), so the tests do not depend on the TLV
 * type numbers except where a raw TLV is appended.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "transport/config.h"

#define BUF_CAP 65535

static uint8_t buf[BUF_CAP];

static void add_route(struct tp_config *c, const char *s)
{
	assert_true(tg_prefix_parse(s, &c->routes[c->n_routes]));
	c->n_routes++;
}

static struct tp_config *config_new(void)
{
	struct tp_config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->mtu = 65520;
	c->dns = true;
	c->route_default = false;
	memcpy(c->tun4, (uint8_t[]){198, 18, 0, 1}, 4);
	memcpy(c->dns4, (uint8_t[]){198, 18, 0, 53}, 4);
	memcpy(c->tun6, (uint8_t[]){0xfd, 0x7e, 0x74, 0x75, 0, 0x6e, [15] = 1},
	       16);
	memcpy(c->dns6,
	       (uint8_t[]){0xfd, 0x7e, 0x74, 0x75, 0, 0x6e, [15] = 0x53}, 16);
	strcpy(c->search, "corp.example lan.example");
	add_route(c, "198.18.2.0/24");
	add_route(c, "198.19.0.0/16");
	add_route(c, "fd7e:1::/32");
	add_route(c, "fd7e:2:3::/48");
	return c;
}

static void assert_config_equal(const struct tp_config *a,
				const struct tp_config *b)
{
	assert_int_equal(a->mtu, b->mtu);
	assert_int_equal(a->dns, b->dns);
	assert_int_equal(a->route_default, b->route_default);
	assert_memory_equal(a->tun4, b->tun4, 4);
	assert_memory_equal(a->tun6, b->tun6, 16);
	assert_memory_equal(a->dns4, b->dns4, 4);
	assert_memory_equal(a->dns6, b->dns6, 16);
	assert_string_equal(a->search, b->search);
	assert_int_equal(a->n_routes, b->n_routes);
	for (size_t i = 0; i < a->n_routes; i++) {
		assert_int_equal(a->routes[i].family, b->routes[i].family);
		assert_int_equal(a->routes[i].plen, b->routes[i].plen);
		assert_memory_equal(a->routes[i].addr, b->routes[i].addr, 16);
	}
}

static void test_round_trip(void **state)
{
	struct tp_config *c = config_new(), *d = calloc(1, sizeof(*d));
	int n;

	assert_non_null(d);
	n = tp_config_encode(c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), 0);
	assert_config_equal(c, d);
	assert_int_equal(d->routes[0].family, AF_INET);
	assert_int_equal(d->routes[2].family, AF_INET6);

	/* flags the other way round, no routes, no search list */
	c->dns = false;
	c->route_default = true;
	c->n_routes = 0;
	c->search[0] = '\0';
	c->mtu = 1280;
	n = tp_config_encode(c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), 0);
	assert_config_equal(c, d);
	free(c);
	free(d);
}

static void test_encode_nospc(void **state)
{
	struct tp_config *c = config_new();
	int n = tp_config_encode(c, buf, sizeof(buf));

	assert_true(n > 0);
	for (int cap = 0; cap < n; cap += 7)
		assert_int_equal(tp_config_encode(c, buf, (size_t)cap),
				 -ENOSPC);
	assert_int_equal(tp_config_encode(c, buf, (size_t)n - 1), -ENOSPC);
	assert_int_equal(tp_config_encode(c, buf, (size_t)n), n);
	free(c);
}

static void test_unknown_tlv_skipped(void **state)
{
	struct tp_config *c = config_new(), *d = calloc(1, sizeof(*d));
	const uint8_t unknown[] = {0x7f, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
	const uint8_t empty[] = {0xff, 0xff, 0x00, 0x00};
	int n = tp_config_encode(c, buf, sizeof(buf));

	assert_non_null(d);
	/* in the middle: before the existing bytes, and at the end */
	memmove(buf + sizeof(unknown), buf, (size_t)n);
	memcpy(buf, unknown, sizeof(unknown));
	n += (int)sizeof(unknown);
	memcpy(buf + n, empty, sizeof(empty));
	n += (int)sizeof(empty);
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), 0);
	assert_config_equal(c, d);
	free(c);
	free(d);
}

static void test_truncated_rejected(void **state)
{
	struct tp_config *c = config_new(), *d = calloc(1, sizeof(*d));
	int n = tp_config_encode(c, buf, sizeof(buf));

	assert_non_null(d);
	/* the last route TLV is 4 + 17 bytes: any cut inside it fails */
	for (int cut = 1; cut < 21; cut++)
		assert_int_equal(tp_config_decode(d, buf, (size_t)(n - cut)),
				 -EBADMSG);
	/* without the whole TLV it is a valid, shorter config */
	assert_int_equal(tp_config_decode(d, buf, (size_t)(n - 21)), 0);
	assert_int_equal(d->n_routes, 3);
	/* a length that runs past the end */
	buf[n - 21 + 3] = 18;
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), -EBADMSG);
	free(c);
	free(d);
}

static void test_bad_route_rejected(void **state)
{
	struct tp_config *c = config_new(), *d = calloc(1, sizeof(*d));
	int n;

	assert_non_null(d);
	/* IPv6 route last: value is plen + 16 bytes */
	n = tp_config_encode(c, buf, sizeof(buf));
	buf[n - 17] = 128;
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), 0);
	buf[n - 17] = 129;
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), -EBADMSG);
	buf[n - 17] = 255;
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), -EBADMSG);

	/* IPv4 route last: value is plen + 4 bytes */
	c->n_routes = 1;
	n = tp_config_encode(c, buf, sizeof(buf));
	buf[n - 5] = 32;
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), 0);
	assert_int_equal(d->routes[0].plen, 32);
	buf[n - 5] = 33;
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), -EBADMSG);

	/* wrong value length for a route: plen + 4 bytes claimed 6 */
	buf[n - 5] = 24;
	buf[n - 5 - 1] = 6;
	buf[n] = 0;
	assert_int_equal(tp_config_decode(d, buf, (size_t)n + 1), -EBADMSG);
	free(c);
	free(d);
}

static void test_host_bits_cleared(void **state)
{
	struct tp_config *c = config_new(), *d = calloc(1, sizeof(*d));
	int n;

	assert_non_null(d);
	c->n_routes = 1;
	n = tp_config_encode(c, buf, sizeof(buf));
	/* 198.18.2.0/24 -> 198.18.2.77/20 on the wire */
	buf[n - 5] = 20;
	buf[n - 1] = 77;
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), 0);
	assert_int_equal(d->routes[0].plen, 20);
	assert_memory_equal(d->routes[0].addr, ((uint8_t[]){198, 18, 0, 0}), 4);
	free(c);
	free(d);
}

static void test_too_many_routes(void **state)
{
	struct tp_config *c = config_new(), *d = calloc(1, sizeof(*d));
	int n;

	assert_non_null(d);
	c->n_routes = 0;
	for (unsigned i = 0; i < TP_CONFIG_MAX_ROUTES; i++) {
		struct tg_prefix *r = &c->routes[c->n_routes++];

		memset(r, 0, sizeof(*r));
		r->family = AF_INET;
		r->plen = 32;
		memcpy(r->addr, ((uint8_t[]){198, 18, i >> 8, i & 0xff}), 4);
	}
	n = tp_config_encode(c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), 0);
	assert_int_equal(d->n_routes, TP_CONFIG_MAX_ROUTES);
	assert_config_equal(c, d);
	/* one more copy of the last route TLV (4 + 5 bytes) */
	memcpy(buf + n, buf + n - 9, 9);
	assert_int_equal(tp_config_decode(d, buf, (size_t)n + 9), -EBADMSG);

	c->n_routes = TP_CONFIG_MAX_ROUTES + 1;
	assert_int_equal(tp_config_encode(c, buf, sizeof(buf)), -EINVAL);
	free(c);
	free(d);
}

static void test_mtu_range(void **state)
{
	struct tp_config *c = config_new(), *d = calloc(1, sizeof(*d));
	const uint32_t good[] = {1280, 1500, 65520, 65535};
	const uint32_t bad[] = {0, 576, 1279, 65536, 0xffffffff};
	int n;

	assert_non_null(d);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		c->mtu = good[i];
		n = tp_config_encode(c, buf, sizeof(buf));
		assert_int_equal(tp_config_decode(d, buf, (size_t)n), 0);
		assert_int_equal(d->mtu, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c->mtu = bad[i];
		n = tp_config_encode(c, buf, sizeof(buf));
		assert_int_equal(tp_config_decode(d, buf, (size_t)n), -EBADMSG);
	}
	/* no MTU at all */
	assert_int_equal(tp_config_decode(d, buf, 0), -EBADMSG);
	free(c);
	free(d);
}

static void test_search_checked(void **state)
{
	struct tp_config *c = config_new(), *d = calloc(1, sizeof(*d));
	int n;

	assert_non_null(d);
	c->n_routes = 0;
	/* the longest search list that fits */
	memset(c->search, 'a', sizeof(c->search) - 1);
	c->search[sizeof(c->search) - 1] = '\0';
	n = tp_config_encode(c, buf, sizeof(buf));
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), 0);
	assert_int_equal(strlen(d->search), sizeof(c->search) - 1);

	/* a newline would inject a line into resolv.conf */
	strcpy(c->search, "corp.example\nnameserver 1.2.3.4");
	n = tp_config_encode(c, buf, sizeof(buf));
	assert_int_equal(tp_config_decode(d, buf, (size_t)n), -EBADMSG);
	free(c);
	free(d);
}

/* an inside without IPv6 is offered IPv4 alone, in the same order */
static void test_v4_only(void **state)
{
	struct tp_config *c = config_new();
	static const uint8_t zero[16];

	add_route(c, "198.20.0.0/15");
	assert_true(tg_prefix_parse("fd7e:9::1/128", &c->keep[c->n_keep++]));
	assert_true(tg_prefix_parse("198.18.1.1/32", &c->keep[c->n_keep++]));
	tp_config_v4_only(c);
	assert_int_equal(c->n_routes, 3);
	for (size_t i = 0; i < c->n_routes; i++)
		assert_int_equal(c->routes[i].family, AF_INET);
	assert_int_equal(c->routes[2].plen, 15);
	assert_int_equal(c->n_keep, 1);
	assert_int_equal(c->keep[0].family, AF_INET);
	assert_memory_equal(c->tun6, zero, 16);
	assert_memory_equal(c->dns6, zero, 16);
	assert_int_equal(c->tun4[0], 198);
	assert_int_equal(c->dns4[3], 53);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_encode_nospc),
		cmocka_unit_test(test_unknown_tlv_skipped),
		cmocka_unit_test(test_truncated_rejected),
		cmocka_unit_test(test_bad_route_rejected),
		cmocka_unit_test(test_host_bits_cleared),
		cmocka_unit_test(test_too_many_routes),
		cmocka_unit_test(test_mtu_range),
		cmocka_unit_test(test_search_checked),
		cmocka_unit_test(test_v4_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
