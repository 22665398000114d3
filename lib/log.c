/* SPDX-License-Identifier: MIT */
/*
 * log.c - one line per event on stderr.
 *
 * Under systemd (JOURNAL_STREAM set) the journal adds its own timestamps,
 * so lines carry only "<level>prefix: message"; on a terminal or a file
 * they start with the wall-clock time. Each line is formatted into one
 * buffer and written with a single write(2), so lines from the child's
 * stderr relay and from the loop never interleave mid-line.
 *
 * The rate limiter counts in fixed intervals, as the kernel's
 * ___ratelimit() does: the first `burst` lines of an interval are shown,
 * the others counted; the first line of a later interval first says how
 * many the one before held back, so a burst is shown whole and a flood
 * costs a few lines per interval, whatever its rate. A kind of line that
 * stops has its count said by tg_ratelimit_flush() (its source ended), by
 * its next line, or, for the call sites of tg_log_rl(), which are listed
 * on first use, by tg_ratelimit_flush_due() once its interval is over.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

int tg_log_level = TG_LOG_INFO;
static const char *log_prefix = "tungate";
static int log_journal = -1;

void tg_log_init(int level, const char *prefix)
{
	tg_log_level = level;
	if (prefix)
		log_prefix = prefix;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

/* the call sites' limiters, listed on first use */
static struct tg_ratelimit *listed;
static pthread_mutex_t listed_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_name[] = {
	[TG_LOG_ERR] = "error",	  [TG_LOG_WARN] = "warning",
	[TG_LOG_INFO] = "info",	  [TG_LOG_DEBUG] = "debug",
	[TG_LOG_TRACE] = "trace",
};

/* sd-daemon(3) priority prefixes, so the journal keeps the level */
static const char *const level_sd[] = {
	[TG_LOG_ERR] = "<3>",	[TG_LOG_WARN] = "<4>", [TG_LOG_INFO] = "<6>",
	[TG_LOG_DEBUG] = "<7>", [TG_LOG_TRACE] = "<7>",
};

static void log_v(int level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n = 0;
	int r;

	if (level > tg_log_level)
		return;
	if (level < TG_LOG_ERR || level > TG_LOG_TRACE)
		level = TG_LOG_ERR;
	if (log_journal < 0)
		log_journal = getenv("JOURNAL_STREAM") != NULL;

	if (log_journal) {
		r = snprintf(line, sizeof(line), "%s%s: ", level_sd[level],
			     log_prefix);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		r = snprintf(line, sizeof(line),
			     "%02d:%02d:%02d.%03ld %s: %s: ", tm.tm_hour,
			     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
			     log_prefix, level_name[level]);
	}
	if (r > 0)
		n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;

	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r
						  : sizeof(line) - n - 1;
	/* one event, one line: fold any newline inside the message */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void tg_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(level, fmt, ap);
	va_end(ap);
}

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
	log_v(level, fmt, ap);
	va_end(ap);
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
