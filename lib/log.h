/* SPDX-License-Identifier: MIT */
/*
 * log.h - one line per event on stderr, with a level.
 *
 * Shared by every module: a module logs only where it decides a flow's or
 * the program's fate (the handler), never deep inside a helper. Per-packet
 * detail goes through tg_trace(), which costs one branch when off.
 *
 * A line that a peer can provoke at will (a malformed message, a line of
 * the remote's stderr) goes through a rate limiter, struct tg_ratelimit:
 * the first few of an interval are shown, the rest are counted and said
 * in one "N more like this suppressed" line when the next interval
 * begins (or when the source ends: tg_ratelimit_flush()); ratelimit.c.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum tg_log_level {
	TG_LOG_ERR = 0,
	TG_LOG_WARN,
	TG_LOG_INFO,
	TG_LOG_DEBUG,
	TG_LOG_TRACE,
};

extern int tg_log_level;

/**
 * tg_log_init() - set the threshold and the line prefix
 * @level:	highest level printed
 * @prefix:	prepended to each line ("outside", "inside"), may be NULL
 */
void tg_log_init(int level, const char *prefix);

void tg_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* what a limiter lets through by default: 20 lines per 5 s */
#define TG_RATELIMIT_BURST 20
#define TG_RATELIMIT_MS 5000

/*
 * One kind of repeated line. Zeroed (or TG_RATELIMIT_INIT) it takes the
 * defaults; one thread uses it at a time.
 */
struct tg_ratelimit {
	const char *key; /* names the lines in the summary ("remote") */
	unsigned burst; /* lines shown per interval (0: the default) */
	unsigned interval_ms; /* (0: the default) */
	/* state */
	uint64_t begin_ms; /* the current interval's start */
	uint64_t missed; /* lines held back in it */
	unsigned shown; /* lines shown in it */
	int level; /* of the lines held back: the summary's */
	bool started;
	/* a call site's (tg_log_rl()): listed for tg_ratelimit_flush_due() */
	bool listed_kind, listed;
	struct tg_ratelimit *next_listed;
};

#define TG_RATELIMIT_INIT(k) { .key = (k) }
#define TG_RATELIMIT_LISTED(k) { .key = (k), .listed_kind = true }

/**
 * tg_ratelimit_at() - may a line of kind @rl be shown at @now_ms?
 * @rl:		the kind of line
 * @level:	its level (the summary's, if it is held back)
 * @now_ms:	a monotonic clock, in ms
 * @missed:	set to the lines held back in the interval that just ended,
 *		to be said before this one (0: nothing to say)
 *
 * Return: true to show the line, false when it was counted instead
 */
bool tg_ratelimit_at(struct tg_ratelimit *rl, int level, uint64_t now_ms,
		     uint64_t *missed);

/**
 * tg_log_limited() - tg_log() through @rl: the summary of the interval
 * before, if due, then the line, if @rl lets it through
 */
void tg_log_limited(struct tg_ratelimit *rl, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * tg_ratelimit_flush() - say now what @rl has held back (the source of
 * the lines ends), and start afresh
 */
void tg_ratelimit_flush(struct tg_ratelimit *rl);

/**
 * tg_ratelimit_flush_due() - say what the call sites' limiters held back
 * in intervals that have ended (@all: in every interval, even this one);
 * the loop calls it every second and at its end, so a flood that stops
 * is still counted. From the thread that uses tg_log_rl().
 */
void tg_ratelimit_flush_due(bool all);

/* one limiter per call site, its summary named by @key; one thread only */
#define tg_log_rl(level, key, ...)                                             \
	do {                                                                   \
		static struct tg_ratelimit rl_ = TG_RATELIMIT_LISTED(key);     \
		tg_log_limited(&rl_, (level), __VA_ARGS__);                    \
	} while (0)
#define tg_warn_rl(key, ...) tg_log_rl(TG_LOG_WARN, key, __VA_ARGS__)
#define tg_info_rl(key, ...) tg_log_rl(TG_LOG_INFO, key, __VA_ARGS__)

#define tg_err(...) tg_log(TG_LOG_ERR, __VA_ARGS__)
#define tg_warn(...) tg_log(TG_LOG_WARN, __VA_ARGS__)
#define tg_info(...) tg_log(TG_LOG_INFO, __VA_ARGS__)
#define tg_debug(...)                                                          \
	do {                                                                   \
		if (tg_log_level >= TG_LOG_DEBUG)                              \
			tg_log(TG_LOG_DEBUG, __VA_ARGS__);                     \
	} while (0)
#define tg_trace(...)                                                          \
	do {                                                                   \
		if (tg_log_level >= TG_LOG_TRACE)                              \
			tg_log(TG_LOG_TRACE, __VA_ARGS__);                     \
	} while (0)

#endif
