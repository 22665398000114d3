/* SPDX-License-Identifier: MIT */
/*
 * tungate.h - the two programs that cmd/main.c dispatches to.
 */
#ifndef TG_TUNGATE_H
#define TG_TUNGATE_H

#include "cmd/opts.h"

/* exit statuses (README.md, "Use": 0, 1, 2) */
enum { TG_EXIT_OK = 0, TG_EXIT_FAIL = 1, TG_EXIT_USAGE = 2 };

int tg_outside_run(const struct tg_opts *o);
int tg_inside_run(const struct tg_opts *o);

#endif
