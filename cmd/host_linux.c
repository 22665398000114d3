/* SPDX-License-Identifier: MIT */
/*
 * host_linux.c - host.h on Linux: routes from rtnetlink, the resolver of
 * /etc/resolv.conf and systemd-resolved.
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

#include "cmd/host.h"
#include "lib/netlink.h"

#define DISCOVER_TRIES 4 /* a dump cut short by a route change is redone */

struct discover {
	struct tg_prefix *out;
	size_t cap, n;
	bool full;
};

static int discover_cb(const struct tg_nl_route_info *ri, void *arg)
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

int tg_host_routes(struct tg_prefix *out, size_t cap, size_t *n)
{
	struct discover d = {.out = out, .cap = cap};
	struct tg_nl nl;
	int err, tries = 0;

	*n = 0;
	err = tg_nl_open(&nl);
	if (err)
		return err;
	do {
		d.n = 0;
		d.full = false;
		err = tg_nl_route_dump_main(&nl, AF_INET, discover_cb, &d);
		if (!err)
			err = tg_nl_route_dump_main(&nl, AF_INET6, discover_cb,
						     &d);
	} while (err == -EAGAIN && ++tries < DISCOVER_TRIES);
	tg_nl_close(&nl);
	if (err)
		return err;
	*n = d.n;
	return d.full ? -ENOBUFS : 0;
}

void tg_host_resolver(struct tg_host_resolver *r)
{
	r->resolv_conf = "/etc/resolv.conf";
	r->resolved_socket = "/run/systemd/resolve/io.systemd.Resolve";
}
