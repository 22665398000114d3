/* SPDX-License-Identifier: MIT */
/*
 * outside_routes.h - what the outside offers the inside, and keeps
 * offering as this machine's routes change.
 */
#ifndef TG_OUTSIDE_ROUTES_H
#define TG_OUTSIDE_ROUTES_H

#include <uv.h>

#include "transport/config.h"
#include "cmd/opts.h"

struct outside_routes;

/* the offer in @c changed (routes learned or withdrawn) */
typedef void (*outside_routes_cb)(void *arg);

/**
 * outside_routes_new() - fill the routes of @c from the command line
 * (--route CIDR, auto, default; --peer), log the offer in one line, and,
 * with auto, look at this machine's routes again every 2 s
 * @loop:	event loop
 * @o:		command line
 * @c:		the configuration to fill, kept up to date afterwards
 * @cb:		called after @c changed
 * @arg:	for @cb
 *
 * Logs why on failure.
 * Return: the watcher, or NULL
 */
struct outside_routes *outside_routes_new(uv_loop_t *loop,
					  const struct tg_opts *o,
					  struct tp_config *c,
					  outside_routes_cb cb, void *arg);

/**
 * outside_routes_stream() - the stream is up (HELLO): with --ssh, add the
 * two ends of its TCP connection to @c's keep list, so the inside never
 * routes its own stream into the tunnel
 * @r:		watcher
 */
void outside_routes_stream(struct outside_routes *r);

/** outside_routes_close() - stop watching; frees @r (may be NULL) */
void outside_routes_close(struct outside_routes *r);

#endif
