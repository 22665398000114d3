/* SPDX-License-Identifier: MIT */
/*
 * log.c - one line per event on stderr.
 *
 * Under systemd (JOURNAL_STREAM set) the journal adds its own timestamps,
 * so lines carry only "<level>prefix: message"; on a terminal or a file
 * they start with the wall-clock time. Each line is formatted into one
 * buffer and written with a single write(2), so lines from the child's
 * stderr relay and from the loop never interleave mid-line. The rate
 * limiter of log.h is ratelimit.c's.
 */
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

void tg_log(int level, const char *fmt, ...)
{
	char line[1024];
	size_t n = 0;
	va_list ap;
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

	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
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
