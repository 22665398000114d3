/* SPDX-License-Identifier: MIT */
/*
 * log.c - unit tests for lib/log.c's rate limiter: a burst is shown
 * whole, a flood costs a burst and one summary per interval, a pause
 * starts afresh, and the summary counts every line held back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/log.h"

static void test_burst(void **state)
{
	struct tg_ratelimit rl = TG_RATELIMIT_INIT("k");
	uint64_t missed;

	(void)state;
	for (unsigned i = 0; i < TG_RATELIMIT_BURST; i++) {
		assert_true(tg_ratelimit_at(&rl, TG_LOG_INFO, 1000 + i, &missed));
		assert_int_equal(missed, 0);
	}
	/* the rest of the interval is counted */
	for (unsigned i = 0; i < 1000; i++) {
		assert_false(tg_ratelimit_at(&rl, TG_LOG_INFO, 1100, &missed));
		assert_int_equal(missed, 0);
	}
	/* the next interval's first line says so, and is shown */
	assert_true(tg_ratelimit_at(&rl, TG_LOG_INFO, 1000 + TG_RATELIMIT_MS,
				    &missed));
	assert_int_equal(missed, 1000);
	/* counted once only */
	assert_true(tg_ratelimit_at(&rl, TG_LOG_INFO, 1001 + TG_RATELIMIT_MS,
				    &missed));
	assert_int_equal(missed, 0);
}

/* a flood of a million lines over 10 s: a few lines per interval */
static void test_flood(void **state)
{
	struct tg_ratelimit rl = {.key = "remote", .burst = 50};
	uint64_t missed, shown = 0, summaries = 0, counted = 0;
	const uint64_t n = 1000000;

	(void)state;
	for (uint64_t i = 0; i < n; i++) {
		if (tg_ratelimit_at(&rl, TG_LOG_INFO, i / 100, &missed))
			shown++;
		if (missed) {
			summaries++;
			counted += missed;
		}
	}
	counted += rl.missed; /* what a flush would say */
	assert_int_equal(shown + counted, n);
	/* 10 000 ms: two intervals of 5 s */
	assert_int_equal(shown, 2 * 50);
	assert_int_equal(summaries, 1);
}

/* per second, one line and the count of the others (the NAT's use) */
static void test_one_a_second(void **state)
{
	struct tg_ratelimit rl = {.burst = 1, .interval_ms = 1000};
	uint64_t missed;

	(void)state;
	assert_true(tg_ratelimit_at(&rl, TG_LOG_WARN, 0, &missed));
	assert_false(tg_ratelimit_at(&rl, TG_LOG_WARN, 10, &missed));
	assert_false(tg_ratelimit_at(&rl, TG_LOG_WARN, 999, &missed));
	assert_true(tg_ratelimit_at(&rl, TG_LOG_WARN, 1000, &missed));
	assert_int_equal(missed, 2);
	/* a long pause: the next line is shown, nothing to say */
	assert_true(tg_ratelimit_at(&rl, TG_LOG_WARN, 60000, &missed));
	assert_int_equal(missed, 0);
	/* a clock that went back (it must not) starts afresh */
	assert_false(tg_ratelimit_at(&rl, TG_LOG_WARN, 60001, &missed));
	assert_true(tg_ratelimit_at(&rl, TG_LOG_WARN, 5, &missed));
	assert_int_equal(missed, 1);
}

/* the level of the lines held back is the summary's; flush starts afresh */
static void test_flush(void **state)
{
	struct tg_ratelimit rl = {.burst = 1};
	uint64_t missed;

	(void)state;
	tg_log_init(TG_LOG_ERR, "test"); /* nothing printed */
	assert_true(tg_ratelimit_at(&rl, TG_LOG_INFO, 0, &missed));
	assert_false(tg_ratelimit_at(&rl, TG_LOG_WARN, 1, &missed));
	assert_int_equal(rl.level, TG_LOG_WARN);
	assert_int_equal(rl.missed, 1);
	tg_ratelimit_flush(&rl);
	assert_int_equal(rl.missed, 0);
	assert_true(tg_ratelimit_at(&rl, TG_LOG_INFO, 2, &missed));
	assert_int_equal(missed, 0);
	/* below the threshold: neither shown nor counted */
	tg_log_limited(&rl, TG_LOG_INFO, "x");
	tg_log_limited(&rl, TG_LOG_INFO, "x");
	assert_int_equal(rl.missed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_one_a_second),
		cmocka_unit_test(test_flush),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
