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
 *
 * Own addresses change under a running outside (DHCP, a VPN coming up,
 * `ip addr add`) and must be refused at once: a NETLINK_ROUTE socket
 * joined to the IPv4 and IPv6 address groups is watched by the loop, and
 * each wakeup drains whatever is queued and says "read them again" once.
 * The messages themselves are not parsed: a re-read (getifaddrs, host.c)
 * is always right, even after the kernel dropped notifications for a full
 * socket buffer (ENOBUFS), and addresses change seldom. Joining these
 * groups needs no privilege either.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd/host.h"
#include "lib/log.h"
#include "lib/netlink.h"

#define DISCOVER_TRIES 4 /* a dump cut short by a route change is redone */
#define DRAIN_MAX 64 /* notifications read per wakeup */

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

struct tg_host_watch {
	uv_poll_t poll;
	int fd;
	tg_host_watch_cb cb;
	void *arg;
};

static void watch_cb(uv_poll_t *h, int status, int events)
{
	struct tg_host_watch *w = h->data;
	uint8_t buf[4096];
	ssize_t r;
	int left = DRAIN_MAX, again = 0;

	/* ENOBUFS (notifications lost) and errors alike: read them again;
	 * what is still queued wakes the loop once more */
	do
		r = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
	while (--left && (r >= 0 || errno == EINTR || errno == ENOBUFS));
	/* lost notifications are POLLERR, on which libuv stops the handle
	 * (status < 0): the recv() above cleared the error, watch again */
	if (status < 0)
		again = uv_poll_start(&w->poll, UV_READABLE, watch_cb);
	if (again < 0)
		tg_warn("own addresses: cannot watch them again (%s); "
			"changes from now on are not seen",
			uv_strerror(again));
	w->cb(w->arg);
}

int tg_host_watch_addrs(uv_loop_t *loop, tg_host_watch_cb cb, void *arg,
			struct tg_host_watch **out)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	struct tg_host_watch *w = calloc(1, sizeof(*w));
	int err;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->arg = arg;
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       NETLINK_ROUTE);
	if (w->fd < 0 || bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	err = uv_poll_init(loop, &w->poll, w->fd);
	if (err)
		goto out;
	w->poll.data = w;
	err = uv_poll_start(&w->poll, UV_READABLE, watch_cb);
	if (err) {
		tg_host_watch_close(w);
		return err;
	}
	*out = w;
	return 0;
out:
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return err;
}

static void close_cb(uv_handle_t *h)
{
	struct tg_host_watch *w = h->data;

	close(w->fd);
	free(w);
}

void tg_host_watch_close(struct tg_host_watch *w)
{
	if (w)
		uv_close((uv_handle_t *)&w->poll, close_cb);
}
