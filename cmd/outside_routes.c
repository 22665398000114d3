/* SPDX-License-Identifier: MIT */
/*
 * outside_routes.c - the routes the outside offers, and the stream's own
 * path that the inside must keep out of the tunnel.
 *
 * Theory of operation: the offer is the --route prefixes, plus, with
 * `auto` (the default when no --route is given), this machine's own
 * non-default unicast routes (tg_host_routes(): LAN subnets, what a
 * VPN client installed), or everything with `default`. It is logged in one
 * line. With auto the routes are read again when the stream comes up and
 * then every 2 s; when the set changes the new offer is logged and the
 * caller is told, which sends the inside a new CONFIG frame and moves the
 * NAT's policy along. Polling is portable and cheap (one dump of the main
 * table); a route change shows up in the container within one period and
 * a round trip.
 *
 * The stream must never be carried by the tunnel it carries. The inside
 * keeps its own end of an SSH session direct by itself (SSH_CONNECTION);
 * what the outside knows goes into the CONFIG frame's keep list: the
 * --peer addresses, and with --ssh the two ends of the SSH connection's
 * TCP socket, found among this process's sockets when the inside says
 * HELLO (the only connected TCP socket at that moment; the SSH transport
 * does not hand out its socket). An offered prefix that holds one of them
 * is still offered, since the rest of it may be what the user wants; the
 * inside cuts the kept address out of it with a throw route.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <uv.h>

#include "lib/log.h"
#include "cmd/outside_routes.h"
#include "cmd/host.h"

#define POLL_MS 2000
#define SCAN_FDS_MAX 1024 /* the SSH socket is opened early: a low fd */
#define LINE_MAX_OFFER 900

struct outside_routes {
	uv_loop_t *loop;
	const struct tg_opts *o;
	struct tp_config *c;
	outside_routes_cb cb;
	void *arg;
	uv_timer_t timer;
	bool timer_init, watch, scanned, warned;
	size_t n_found;
	struct tg_prefix found[TP_CONFIG_MAX_ROUTES];
	struct tg_prefix scratch[TP_CONFIG_MAX_ROUTES];
};

/* " a b c" into @line; Return: how many did not fit */
static size_t list_str(char *line, size_t cap, const struct tg_prefix *l,
		       size_t n)
{
	char p[TG_PREFIX_STRLEN];
	size_t len = 0, i;

	line[0] = '\0';
	for (i = 0; i < n && len + TG_PREFIX_STRLEN + 8 < cap; i++)
		len += (size_t)snprintf(line + len, cap - len, " %s",
					tg_prefix_str(&l[i], p));
	return n - i;
}

static void log_offer(const struct tp_config *c, const char *why)
{
	char line[LINE_MAX_OFFER];
	size_t left;

	if (c->route_default) {
		tg_info("offering every destination (--route default)");
		return;
	}
	if (!c->n_routes) {
		tg_warn("%sno routes to offer: this machine has no routes "
			"besides its default; name prefixes with --route CIDR",
			why);
		return;
	}
	left = list_str(line, sizeof(line), c->routes, c->n_routes);
	tg_info("%soffering %zu route%s:%s%s", why, c->n_routes,
		c->n_routes == 1 ? "" : "s", line, left ? " ..." : "");
}

static void log_keep(const struct tp_config *c, const char *why)
{
	char line[LINE_MAX_OFFER];

	if (!c->n_keep)
		return;
	list_str(line, sizeof(line), c->keep, c->n_keep);
	tg_info("keeping out of the tunnel (%s):%s", why, line);
}

/* the offer: --route prefixes first, then what discovery found */
static void offer_build(struct outside_routes *r)
{
	const struct tg_opts *o = r->o;
	struct tp_config *c = r->c;
	size_t n = 0;

	c->route_default = o->route_default;
	for (size_t i = 0; i < o->n_routes && n < TP_CONFIG_MAX_ROUTES; i++)
		if (!tg_prefix_in(c->routes, n, &o->routes[i]))
			c->routes[n++] = o->routes[i];
	for (size_t i = 0; i < r->n_found && n < TP_CONFIG_MAX_ROUTES; i++)
		if (!tg_prefix_in(c->routes, n, &r->found[i]))
			c->routes[n++] = r->found[i];
	c->n_routes = n;
}

/* Return: 0, or -errno when the routes could not be read at all */
static int discover(struct outside_routes *r, struct tg_prefix *out, size_t *n)
{
	int err = tg_host_routes(out, TP_CONFIG_MAX_ROUTES, n);

	if (err == -ENOBUFS && !r->warned) {
		r->warned = true;
		tg_warn("this machine has more than %d routes: offering the "
			"first %d; name prefixes with --route CIDR",
			TP_CONFIG_MAX_ROUTES, TP_CONFIG_MAX_ROUTES);
	}
	return err == -ENOBUFS ? 0 : err;
}

static void log_change(struct outside_routes *r, const struct tg_prefix *now,
		       size_t n)
{
	size_t added = 0, gone = 0;
	char why[80];

	for (size_t i = 0; i < n; i++)
		added += !tg_prefix_in(r->found, r->n_found, &now[i]);
	for (size_t i = 0; i < r->n_found; i++)
		gone += !tg_prefix_in(now, n, &r->found[i]);
	snprintf(why, sizeof(why),
		 "routes changed (%zu new, %zu gone): ", added, gone);
	memcpy(r->found, now, n * sizeof(*now));
	r->n_found = n;
	offer_build(r);
	log_offer(r->c, why);
}

/* Return: whether the offer changed */
static bool rediscover(struct outside_routes *r)
{
	size_t n = 0;
	int err = discover(r, r->scratch, &n);

	if (err) {
		tg_debug("reading this machine's routes: %s", strerror(-err));
		return false;
	}
	if (tg_prefix_same_set(r->scratch, n, r->found, r->n_found))
		return false;
	log_change(r, r->scratch, n);
	return true;
}

static void poll_cb(uv_timer_t *t)
{
	struct outside_routes *r = t->data;

	if (rediscover(r) && r->cb)
		r->cb(r->arg);
}

struct outside_routes *outside_routes_new(uv_loop_t *loop,
					  const struct tg_opts *o,
					  struct tp_config *c,
					  outside_routes_cb cb, void *arg)
{
	struct outside_routes *r = calloc(1, sizeof(*r));
	int err;

	if (!r) {
		tg_err("out of memory");
		return NULL;
	}
	r->loop = loop;
	r->o = o;
	r->c = c;
	r->cb = cb;
	r->arg = arg;
	r->watch = o->route_auto || !o->routes_given;
	if (r->watch) {
		err = discover(r, r->found, &r->n_found);
		if (err) {
			tg_err("cannot read this machine's routes: %s; name "
			       "prefixes with --route CIDR",
			       strerror(-err));
			free(r);
			return NULL;
		}
	}
	offer_build(r);
	c->n_keep = 0;
	for (size_t i = 0; i < o->n_keep && i < TP_CONFIG_MAX_KEEP; i++)
		c->keep[c->n_keep++] = o->keep[i];
	log_offer(c, "");
	log_keep(c, "--peer");
	return r;
}

/* a socket address as a host prefix; false for loopback or another family */
static bool sock_prefix(const struct sockaddr_storage *ss, struct tg_prefix *p)
{
	static const uint8_t lo6[16] = {[15] = 1};
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		tg_prefix_host(p, AF_INET, (const uint8_t *)&a4->sin_addr);
		return p->addr[0] != 127;
	}
	if (ss->ss_family != AF_INET6 ||
	    !memcmp(a6->sin6_addr.s6_addr, lo6, 16))
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
		tg_prefix_host(p, AF_INET, a6->sin6_addr.s6_addr + 12);
		return p->addr[0] != 127;
	}
	tg_prefix_host(p, AF_INET6, a6->sin6_addr.s6_addr);
	return true;
}

static void keep_add(struct tp_config *c, const struct tg_prefix *p)
{
	if (c->n_keep < TP_CONFIG_MAX_KEEP &&
	    !tg_prefix_in(c->keep, c->n_keep, p))
		c->keep[c->n_keep++] = *p;
}

/* both ends of every connected TCP socket of this process */
static void scan_tcp(struct tp_config *c)
{
	for (int fd = 0; fd < SCAN_FDS_MAX; fd++) {
		struct sockaddr_storage a, b;
		socklen_t la = sizeof(a), lb = sizeof(b), lt = sizeof(int);
		struct tg_prefix p;
		int type;

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &lt) < 0 ||
		    type != SOCK_STREAM ||
		    getpeername(fd, (struct sockaddr *)&b, &lb) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &la) < 0)
			continue;
		if (sock_prefix(&a, &p))
			keep_add(c, &p);
		if (sock_prefix(&b, &p))
			keep_add(c, &p);
	}
}

void outside_routes_stream(struct outside_routes *r)
{
	size_t kept;
	bool changed = false;

	if (!r)
		return;
	if (r->o->transport == TG_TP_SSH && !r->scanned) {
		r->scanned = true;
		kept = r->c->n_keep;
		scan_tcp(r->c);
		if (r->c->n_keep > kept)
			log_keep(r->c, "the SSH connection's own path");
	}
	if (!r->watch)
		return;
	/* the offer may be minutes old: an SSH login can take that long */
	changed = rediscover(r);
	if (!r->timer_init) {
		uv_timer_init(r->loop, &r->timer);
		r->timer.data = r;
		r->timer_init = true;
		uv_timer_start(&r->timer, poll_cb, POLL_MS, POLL_MS);
	}
	if (changed && r->cb)
		r->cb(r->arg);
}

static void close_cb(uv_handle_t *h)
{
	free(h->data);
}

void outside_routes_close(struct outside_routes *r)
{
	if (!r)
		return;
	if (!r->timer_init) {
		free(r);
		return;
	}
	uv_close((uv_handle_t *)&r->timer, close_cb);
}
