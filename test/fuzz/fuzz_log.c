// SPDX-License-Identifier: MIT
/*
 * fuzz_log.c - cmd/log.c for the fuzz targets: every line is formatted
 * (so that the sanitizers see what a hostile packet does to a log call)
 * and then dropped, unless FUZZ_LOG is set in the environment, because
 * a line per execution would slow the fuzzer down a hundredfold.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/log.h"

int tg_log_level = TG_LOG_TRACE;

void tg_log_init(int level, const char *prefix)
{
	(void)level;
	(void)prefix;
}

void tg_log(int level, const char *fmt, ...)
{
	static int show = -1;
	char line[1024];
	va_list ap;

	if (show < 0)
		show = getenv("FUZZ_LOG") != NULL;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (show)
		fprintf(stderr, "log %d: %s\n", level, line);
}
