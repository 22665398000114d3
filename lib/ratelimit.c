/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.c - log.h's rate limiter for lines a peer can repeat at will.
 *
 * Theory of operation: counting is in fixed intervals, as the kernel's
 * ___ratelimit() does: the first `burst` lines of an interval are shown,
 * the others counted; the first line of a later interval first says how
 * many the one before held back, so a burst is shown whole and a flood
 * costs a few lines per interval, whatever its rate. A kind of line that
 * stops has its count said by tg_ratelimit_flush() (its source ended), by
 * its next line, or, for the call sites of tg_log_rl(), which are listed
 * on first use, by tg_ratelimit_flush_due() once its interval is over.
 *
 * A separate file from log.c, so that the fuzz targets, which replace
 * log.c's output, keep the limiter the NAT uses.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "lib/log.h"

/* the call sites' limiters, listed on first use */
static struct tg_ratelimit *listed;
static pthread_mutex_t listed_lock = PTHREAD_MUTEX_INITIALIZER;

bool tg_ratelimit_at(struct tg_ratelimit *rl, int level, uint64_t now_ms,
		     uint64_t *missed)
{
	uint64_t interval = rl->interval_ms ? rl->interval_ms : TG_RATELIMIT_MS;
	unsigned burst = rl->burst ? rl->burst : TG_RATELIMIT_BURST;

	*missed = 0;
	if (!rl->started || now_ms - rl->begin_ms >= interval ||
	    now_ms < rl->begin_ms) {
		*missed = rl->missed;
		rl->started = true;
		rl->begin_ms = now_ms;
		rl->shown = 0;
		rl->missed = 0;
	}
	if (rl->shown < burst) {
		rl->shown++;
		return true;
	}
	rl->missed++;
	rl->level = level;
	return false;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_missed(const struct tg_ratelimit *rl, int level,
		       uint64_t missed)
{
	tg_log(level, "%s%s%" PRIu64 " more like this suppressed",
	       rl->key ? rl->key : "", rl->key ? ": " : "", missed);
}

void tg_log_limited(struct tg_ratelimit *rl, int level, const char *fmt, ...)
{
	int prev = rl->level;
	uint64_t missed;
	char msg[1024];
	bool show;
	va_list ap;

	/* a line below the threshold costs nothing, and is not counted */
	if (level > tg_log_level)
		return;
	if (rl->listed_kind && !rl->listed) {
		pthread_mutex_lock(&listed_lock);
		rl->next_listed = listed;
		listed = rl;
		rl->listed = true;
		pthread_mutex_unlock(&listed_lock);
	}
	show = tg_ratelimit_at(rl, level, mono_ms(), &missed);
	if (missed)
		log_missed(rl, prev, missed);
	if (!show)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tg_log(level, "%s", msg);
}

void tg_ratelimit_flush(struct tg_ratelimit *rl)
{
	if (rl->missed)
		log_missed(rl, rl->level, rl->missed);
	rl->missed = 0;
	rl->started = false;
}

void tg_ratelimit_flush_due(bool all)
{
	uint64_t now = mono_ms();
	struct tg_ratelimit *rl;

	pthread_mutex_lock(&listed_lock);
	rl = listed;
	pthread_mutex_unlock(&listed_lock);
	for (; rl; rl = rl->next_listed) {
		uint64_t interval =
			rl->interval_ms ? rl->interval_ms : TG_RATELIMIT_MS;

		if (rl->missed && (all || now - rl->begin_ms >= interval))
			tg_ratelimit_flush(rl);
	}
}
