/* SPDX-License-Identifier: MIT */
/*
 * host.h - what the outside knows of the machine it runs on: its routes,
 * its own addresses, its resolver.
 *
 * One interface, one back end per platform (host_linux.c; host.c holds
 * what is portable, host_poll.c the address watcher of a platform that
 * has no change notifications), the way wireguard-tools keeps
 * ipc-linux.h beside ipc.c: another platform adds a file, its callers
 * stay as they are.
 * Everything here is the outside's; the inside's plumbing is tun/.
 */
#ifndef TG_HOST_H
#define TG_HOST_H

#include <stddef.h>
#include <uv.h>

#include "lib/prefix.h"

/**
 * tg_host_routes() - this machine's non-default unicast routes, for
 * --route auto; loopback, link-local, multicast and default routes are
 * left out, each prefix comes once
 * @out:	array to fill
 * @cap:	its size
 * @n:		set to the number filled
 *
 * Return: 0; -ENOBUFS if there were more than @cap (the first @cap are
 *	   filled in); or -errno
 */
int tg_host_routes(struct tg_prefix *out, size_t cap, size_t *n);

/**
 * tg_host_addrs() - this machine's own addresses, as host prefixes: every
 * address of every interface, whatever the interface's state (down, no
 * carrier: the kernel still delivers to its addresses), each once
 * @out:	set to an array the caller frees (NULL if there are none)
 * @n:		set to its length
 *
 * Return: 0 or -errno
 */
int tg_host_addrs(struct tg_prefix **out, size_t *n);

struct tg_host_watch;

/* this machine's addresses may have changed: read them again */
typedef void (*tg_host_watch_cb)(void *arg);

/**
 * tg_host_watch_addrs() - call @cb soon after any address of this machine
 * is added or removed
 * @loop:	event loop
 * @cb:		called on the loop, at most once per loop turn (also, now
 *		and then, when nothing changed)
 * @arg:	for @cb
 * @out:	set to the watcher
 *
 * Linux: rtnetlink's address notifications (host_linux.c), at once.
 * Elsewhere: getifaddrs() every TG_HOST_POLL_MS (host_poll.c).
 *
 * Return: 0 or -errno (nothing to close then)
 */
int tg_host_watch_addrs(uv_loop_t *loop, tg_host_watch_cb cb, void *arg,
			struct tg_host_watch **out);

#define TG_HOST_POLL_MS 500

/** tg_host_watch_close() - stop; frees @w once libuv is done (may be NULL) */
void tg_host_watch_close(struct tg_host_watch *w);

/* Where this machine's resolver is configured. */
struct tg_host_resolver {
	const char *resolv_conf;     /* nameservers and search domains */
	const char *resolved_socket; /* systemd-resolved's varlink socket,
				      * NULL where there is none to ask */
};

/** tg_host_resolver() - fill @r (static strings) */
void tg_host_resolver(struct tg_host_resolver *r);

#endif
