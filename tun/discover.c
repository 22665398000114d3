/* SPDX-License-Identifier: MIT */
/*
 * discover.c - this machine's own routes, for --route auto.
 *
 * The outside offers the inside what its own machine can reach beyond its
 * default route: the main table's unicast routes of both families (VPN
 * prefixes, LAN subnets), minus the default route and the addresses that
 * never leave a host or a link (loopback, link-local, multicast). Reading
 * routes needs no privilege.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "tun/tun.h"
#include "tun/tun_internal.h"

#define DISCOVER_TRIES 4 /* a dump cut short by a route change is redone */

struct discover {
	struct tg_prefix *out;
	size_t cap, n;
	bool full;
};

static int discover_cb(const struct tun_nl_route_info *ri, void *arg)
{
	struct discover *d = arg;

	if (ri->type != RTN_UNICAST || !ri->dst.plen ||
	    tg_prefix_special(&ri->dst))
		return 0;
	/* the same prefix twice: other metrics, other devices */
	for (size_t i = 0; i < d->n; i++)
		if (tg_prefix_eq(&d->out[i], &ri->dst))
			return 0;
	if (d->n == d->cap) {
		d->full = true;
		return 0;
	}
	d->out[d->n++] = ri->dst;
	return 0;
}

/**
 * tun_routes_discover() - see tun.h
 *
 * Return: 0; -ENOBUFS if there were more than @cap (the first @cap are
 *	   filled in); or -errno
 */
int tun_routes_discover(struct tg_prefix *out, size_t cap, size_t *n)
{
	struct discover d = {.out = out, .cap = cap};
	struct tun_nl nl;
	int err, tries = 0;

	*n = 0;
	err = tun_nl_open(&nl);
	if (err)
		return err;
	do {
		d.n = 0;
		d.full = false;
		err = tun_nl_route_dump_main(&nl, AF_INET, discover_cb, &d);
		if (!err)
			err = tun_nl_route_dump_main(&nl, AF_INET6, discover_cb,
						     &d);
	} while (err == -EAGAIN && ++tries < DISCOVER_TRIES);
	tun_nl_close(&nl);
	if (err)
		return err;
	*n = d.n;
	return d.full ? -ENOBUFS : 0;
}
