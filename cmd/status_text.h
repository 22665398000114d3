/* SPDX-License-Identifier: MIT */
/*
 * status_text.h - the status document as a person reads it: a summary,
 * the connections table and the DNS table.
 */
#ifndef TG_STATUS_TEXT_H
#define TG_STATUS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd/json.h"

/* a growing text buffer */
struct tg_sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

void tg_sbuf_printf(struct tg_sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tg_sbuf_free(struct tg_sbuf *b);

/**
 * tg_status_text() - render the document @d into @out, lines ending in
 * '\n', plain ASCII
 * @d:		the parsed document
 * @out:	appended to
 * @width:	columns to fit (0: no limit); tables shrink their widest
 *		columns first, and every line is cut to this width
 * @height:	lines to fit (0: no limit); the tables share what the
 *		summary leaves, and say how many rows they left out
 *
 * Return: 0, or -EINVAL if @d is not a status document
 */
int tg_status_text(const struct tg_jdoc *d, struct tg_sbuf *out, int width,
		   int height);

#endif
