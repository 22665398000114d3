/* SPDX-License-Identifier: MIT */
/* Unit tests for cmd/prefix.c: parsing, printing, containment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "lib/prefix.h"

static struct tg_prefix P(const char *s)
{
	struct tg_prefix p;

	assert_true(tg_prefix_parse(s, &p));
	return p;
}

static void test_parse_v4(void **state)
{
	struct tg_prefix p = P("198.19.2.77/24");
	char buf[TG_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.plen, 24);
	/* host bits cleared */
	assert_string_equal(tg_prefix_str(&p, buf), "198.19.2.0/24");
	assert_string_equal(tg_prefix_str(&(struct tg_prefix){ 0 }, buf),
			    "?/0");
	p = P("198.18.0.53");
	assert_int_equal(p.plen, 32);
	p = P("0.0.0.0/0");
	assert_int_equal(p.plen, 0);
}

static void test_parse_v6(void **state)
{
	struct tg_prefix p = P("fd7e:2::1/64");
	char buf[TG_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(p.family, AF_INET6);
	assert_string_equal(tg_prefix_str(&p, buf), "fd7e:2::/64");
	p = P("fd7e::1/127");
	assert_string_equal(tg_prefix_str(&p, buf), "fd7e::/127");
	p = P("::/0");
	assert_int_equal(p.plen, 0);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "/", "/24", "198.18.0.0/", "198.18.0.0/33", "fd7e::/129",
		"198.18.0.0/-1", "198.18.0.0/+8", "198.18.0.0/24x", "host",
		"198.18.0/24", "198.18.0.0/24/8", "1.2.3.4.5",
		"fd7e::/ 8",
	};
	struct tg_prefix p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(tg_prefix_parse(bad[i], &p));
}

static void test_contains_overlaps(void **state)
{
	struct tg_prefix a = P("198.18.0.0/15"), b = P("198.19.2.0/24"),
			 c = P("198.20.0.0/16"), d = P("fd7e::/16"),
			 e = P("fd7e:2::/64");

	(void)state;
	assert_true(tg_prefix_contains(&a, &b));
	assert_false(tg_prefix_contains(&b, &a));
	assert_true(tg_prefix_overlaps(&a, &b));
	assert_true(tg_prefix_overlaps(&b, &a));
	assert_false(tg_prefix_overlaps(&a, &c));
	assert_false(tg_prefix_overlaps(&a, &d)); /* families differ */
	assert_true(tg_prefix_contains(&d, &e));
	assert_true(tg_prefix_contains(&a, &a));
	/* an odd prefix length checks the partial byte */
	assert_false(tg_prefix_contains(&(struct tg_prefix){ 0 }, &a));
	struct tg_prefix f = P("198.19.2.128/25"), g = P("198.19.2.0/25");
	assert_false(tg_prefix_overlaps(&f, &g));
	assert_true(tg_prefix_contains(&b, &f));
}

static void test_match_host(void **state)
{
	struct tg_prefix b = P("198.19.2.0/24"), h;
	uint8_t in[4] = { 198, 19, 2, 200 }, out[4] = { 198, 19, 3, 1 };
	char buf[TG_PREFIX_STRLEN];

	(void)state;
	assert_true(tg_prefix_match(&b, AF_INET, in));
	assert_false(tg_prefix_match(&b, AF_INET, out));
	assert_false(tg_prefix_match(&b, AF_INET6, in));
	tg_prefix_host(&h, AF_INET, in);
	assert_string_equal(tg_prefix_str(&h, buf), "198.19.2.200/32");
	assert_true(tg_prefix_contains(&b, &h));
}

static void test_sets(void **state)
{
	struct tg_prefix a[3] = {P("198.19.2.0/24"), P("fd7e::1/128"),
				 P("198.19.2.1/32")};
	struct tg_prefix b[3] = {P("198.19.2.1/32"), P("198.19.2.0/24"),
				 P("fd7e::1/128")};
	struct tg_prefix c = P("198.19.2.0/25");

	(void)state;
	assert_true(tg_prefix_in(a, 3, &b[0]));
	assert_false(tg_prefix_in(a, 3, &c));
	assert_false(tg_prefix_in(NULL, 0, &c));
	assert_true(tg_prefix_same_set(a, 3, b, 3));
	assert_false(tg_prefix_same_set(a, 3, b, 2));
	assert_true(tg_prefix_same_set(NULL, 0, NULL, 0));
	b[2] = c;
	assert_false(tg_prefix_same_set(a, 3, b, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_contains_overlaps),
		cmocka_unit_test(test_match_host),
		cmocka_unit_test(test_sets),
	};

	return cmocka_run_group_tests_name("prefix", tests, NULL, NULL);
}
