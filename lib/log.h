/* SPDX-License-Identifier: MIT */
/*
 * log.h - one line per event on stderr, with a level.
 *
 * Shared by every module: a module logs only where it decides a flow's or
 * the program's fate (the handler), never deep inside a helper. Per-packet
 * detail goes through tg_trace(), which costs one branch when off.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#include <stdbool.h>

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
