// SPDX-License-Identifier: MIT
/*
 * host_poll.c - tg_host_watch_addrs() where the system tells no one when
 * an address changes: a timer says "read them again" every
 * TG_HOST_POLL_MS. The caller compares what it reads with what it had, so
 * a tick that finds nothing new costs one getifaddrs(). For a port whose
 * back end (host_<system>.c) has no notifications of its own; the Linux
 * build uses host_linux.c instead, and builds this file for its unit test.
 */
#include <errno.h>
#include <stdlib.h>

#include "cmd/host.h"

struct tg_host_watch {
	uv_timer_t timer;
	tg_host_watch_cb cb;
	void *arg;
};

static void tick_cb(uv_timer_t *t)
{
	struct tg_host_watch *w = t->data;

	w->cb(w->arg);
}

int tg_host_watch_addrs(uv_loop_t *loop, tg_host_watch_cb cb, void *arg,
			struct tg_host_watch **out)
{
	struct tg_host_watch *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->arg = arg;
	uv_timer_init(loop, &w->timer);
	w->timer.data = w;
	uv_timer_start(&w->timer, tick_cb, TG_HOST_POLL_MS, TG_HOST_POLL_MS);
	*out = w;
	return 0;
}

static void close_cb(uv_handle_t *h)
{
	free(h->data);
}

void tg_host_watch_close(struct tg_host_watch *w)
{
	if (w)
		uv_close((uv_handle_t *)&w->timer, close_cb);
}
