/* SPDX-License-Identifier: MIT */
/*
 * install.c - configure the TUN device and install the inside's policy
 * routing (DESIGN.md, "Routing inside").
 *
 * Theory of operation: for each family, two rules and one table.
 *
 *	PREF	 lookup main suppress_prefixlength 0
 *	PREF + 1 lookup TABLE
 *
 * The first rule lets every route the container already has win, except
 * its default route; the second sends what is left to TABLE, which holds a
 * route into the device for each offered prefix, for the tunnel's DNS
 * address, and for 0.0.0.0/0 and ::/0 with route_default. A "keep" prefix
 * (the stream's own peer) that such a route would catch - the default
 * route, or an offered prefix that holds it - gets a throw route in TABLE:
 * the lookup then goes on to the next rule, main with its default route,
 * so the tunnel never carries itself; an offered prefix inside a keep
 * prefix is skipped. TABLE defaults to 7467 and PREF to 7466 when the plan
 * leaves them 0.
 *
 * The main table is read first: an offered prefix wholly inside one of the
 * container's own routes would never be used, so it is skipped with a
 * warning; one that contains or overlaps such routes is installed, with a
 * warning for each (a count past the first few), since those parts stay
 * direct. An all-zero dns4/dns6 means no DNS route; an all-zero addr6
 * means no IPv6 at all.
 *
 * Order: MTU and up, the device's addresses (IPv6 without DAD), then the
 * state file with every item, then the routes, then the rules - traffic
 * moves only once the table rule is in, with its table full. Removal runs
 * in reverse. If IPv6 is disabled in the container, only IPv4 is set up.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"
#include "tun_internal.h"

#define TUN_TABLE_DEFAULT 7467
#define TUN_PREF_DEFAULT 7466
#define TUN_PLAN_MAX (1u << 20) /* prefixes in a plan */
#define MAIN_DUMP_TRIES 4
#define WARN_LINE_MAX 320
#define WARN_OVERLAPS 8 /* per prefix; then one line for the rest */

struct tun_state {
	char path[PATH_MAX];
	int lock_fd;
	int ifindex;
	bool v6;
	bool addr4_done, addr6_done;
	uint8_t addr4[4], addr6[16];
	size_t n_routes; /* offered prefixes routed */
	size_t n_items, n_done, cap_items; /* n_done: installed */
	struct tun_item items[];
};

/* the main table's routes that the suppress rule lets win */
struct main_routes {
	struct tun_nl_route_info *r;
	size_t n, cap;
	int own_oif;
};

struct build {
	const struct tun_plan *plan;
	struct tun_state *st;
	const struct main_routes *main;
	uint32_t table, pref;
	tun_warn_fn warn;
	void *arg;
};

__attribute__((format(printf, 2, 3))) static void warnf(const struct build *b,
							const char *fmt, ...)
{
	char line[WARN_LINE_MAX];
	va_list ap;

	if (!b->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	b->warn(b->arg, line);
}

/* " via eth0", or "" for a route without a device */
static const char *via(int oif, char buf[IFNAMSIZ + 8])
{
	char name[IFNAMSIZ];

	if (!oif || !if_indextoname((unsigned)oif, name))
		return "";
	snprintf(buf, IFNAMSIZ + 8, " via %s", name);
	return buf;
}

static bool prefix_eq(const struct tg_prefix *a, const struct tg_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static int main_route_cb(const struct tun_nl_route_info *ri, void *arg)
{
	struct main_routes *m = arg;

	switch (ri->type) {
	case RTN_LOCAL:
	case RTN_BROADCAST:
	case RTN_ANYCAST:
	case RTN_MULTICAST:
		return 0;
	}
	if (!ri->dst.plen || tun_prefix_special(&ri->dst) ||
	    (m->own_oif && ri->oif == m->own_oif))
		return 0;
	for (size_t i = 0; i < m->n; i++)
		if (prefix_eq(&m->r[i].dst, &ri->dst))
			return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		void *r = realloc(m->r, cap * sizeof(*m->r));

		if (!r)
			return -ENOMEM;
		m->r = r;
		m->cap = cap;
	}
	m->r[m->n++] = *ri;
	return 0;
}

static int main_routes_load(struct tun_nl *nl, struct main_routes *m)
{
	int err, tries = 0;

	do {
		m->n = 0;
		err = tun_nl_route_dump_main(nl, AF_INET, main_route_cb, m);
		if (!err)
			err = tun_nl_route_dump_main(nl, AF_INET6,
						     main_route_cb, m);
	} while (err == -EAGAIN && ++tries < MAIN_DUMP_TRIES);
	return err;
}

/* the most specific of the container's routes that holds all of @p */
static const struct tun_nl_route_info *main_within(const struct build *b,
						   const struct tg_prefix *p)
{
	const struct tun_nl_route_info *best = NULL;

	for (size_t i = 0; i < b->main->n; i++) {
		const struct tun_nl_route_info *r = &b->main->r[i];

		if (tg_prefix_contains(&r->dst, p) &&
		    (!best || r->dst.plen > best->dst.plen))
			best = r;
	}
	return best;
}

static bool family_on(const struct build *b, int family)
{
	return family == AF_INET || (family == AF_INET6 && b->st->v6);
}

/* add a route item unless the same one is there; Return: added */
static bool plan_route(struct build *b, uint8_t kind,
		       const struct tg_prefix *dst)
{
	struct tun_state *st = b->st;

	for (size_t i = 0; i < st->n_items; i++)
		if (st->items[i].kind == kind &&
		    prefix_eq(&st->items[i].dst, dst))
			return false;
	if (st->n_items == st->cap_items)
		return false; /* cannot happen: sized for the plan */
	st->items[st->n_items++] = (struct tun_item){
		.kind = kind,
		.family = dst->family,
		.table = b->table,
		.suppress = -1,
		.dst = *dst,
	};
	return true;
}

static void plan_default(struct build *b, int family)
{
	struct tg_prefix any = {.family = (uint8_t)family};

	if (family_on(b, family) && plan_route(b, TUN_ITEM_ROUTE, &any))
		b->st->n_routes++;
}

/* warn for each of the container's routes and keep prefixes inside @p */
static void plan_overlaps(struct build *b, const struct tg_prefix *p)
{
	char ps[TG_PREFIX_STRLEN], rs[TG_PREFIX_STRLEN], v[IFNAMSIZ + 8];
	size_t n = 0;

	for (size_t i = 0; i < b->main->n; i++) {
		const struct tun_nl_route_info *r = &b->main->r[i];

		if (!tg_prefix_overlaps(&r->dst, p) || ++n > WARN_OVERLAPS)
			continue;
		warnf(b, "%s overlaps %s (routed%s): that part stays direct",
		      tg_prefix_str(p, ps), tg_prefix_str(&r->dst, rs),
		      *via(r->oif, v) ? v : " by this container");
	}
	if (n > WARN_OVERLAPS)
		warnf(b,
		      "%s overlaps %zu more of this container's routes: those "
		      "parts stay direct",
		      tg_prefix_str(p, ps), n - WARN_OVERLAPS);
	for (size_t i = 0; i < b->plan->n_keep; i++)
		if (tg_prefix_contains(p, &b->plan->keep[i]))
			warnf(b,
			      "%s holds %s, the tunnel's own peer: that stays "
			      "direct",
			      tg_prefix_str(p, ps),
			      tg_prefix_str(&b->plan->keep[i], rs));
}

static bool in_keep(const struct build *b, const struct tg_prefix *p,
		    const struct tg_prefix **k)
{
	for (size_t i = 0; i < b->plan->n_keep; i++) {
		*k = &b->plan->keep[i];
		if (tg_prefix_contains(*k, p))
			return true;
	}
	return false;
}

static void plan_offered(struct build *b, struct tg_prefix p)
{
	char ps[TG_PREFIX_STRLEN], rs[TG_PREFIX_STRLEN], v[IFNAMSIZ + 8];
	const struct tun_nl_route_info *in;
	const struct tg_prefix *k;

	tun_nl_prefix_mask(&p);
	if (!family_on(b, p.family))
		return;
	if (!p.plen) {
		plan_default(b, p.family);
		return;
	}
	in = main_within(b, &p);
	if (in) {
		warnf(b,
		      "not routing %s through the tunnel: it lies inside "
		      "%s, which this container routes itself%s",
		      tg_prefix_str(&p, ps), tg_prefix_str(&in->dst, rs),
		      via(in->oif, v));
		return;
	}
	if (in_keep(b, &p, &k)) {
		warnf(b,
		      "not routing %s through the tunnel: it lies inside "
		      "%s, which the tunnel's own stream uses",
		      tg_prefix_str(&p, ps), tg_prefix_str(k, rs));
		return;
	}
	if (plan_route(b, TUN_ITEM_ROUTE, &p)) {
		b->st->n_routes++;
		plan_overlaps(b, &p);
	}
}

static void plan_dns(struct build *b, int family, const uint8_t *addr)
{
	static const uint8_t zero[16];
	char ps[TG_PREFIX_STRLEN], rs[TG_PREFIX_STRLEN], v[IFNAMSIZ + 8];
	const struct tun_nl_route_info *in;
	struct tg_prefix p;

	if (!family_on(b, family) ||
	    !memcmp(addr, zero, family == AF_INET ? 4 : 16))
		return;
	tg_prefix_host(&p, family, addr);
	in = main_within(b, &p);
	if (in)
		warnf(b,
		      "the tunnel's DNS address %s lies inside %s, which "
		      "this container routes itself%s: DNS through the "
		      "tunnel will not work",
		      tg_prefix_str(&p, ps), tg_prefix_str(&in->dst, rs),
		      via(in->oif, v));
	plan_route(b, TUN_ITEM_ROUTE, &p);
}

/* a throw route for a keep prefix that one of our routes would catch */
static void plan_keep(struct build *b, struct tg_prefix k)
{
	struct tun_state *st = b->st;
	size_t n = st->n_items;

	tun_nl_prefix_mask(&k);
	if (!family_on(b, k.family))
		return;
	for (size_t i = 0; i < n; i++)
		if (st->items[i].kind == TUN_ITEM_ROUTE &&
		    tg_prefix_contains(&st->items[i].dst, &k) &&
		    !prefix_eq(&st->items[i].dst, &k)) {
			plan_route(b, TUN_ITEM_THROW, &k);
			return;
		}
}

static void plan_rules(struct build *b, int family)
{
	struct tun_state *st = b->st;

	if (!family_on(b, family) || st->cap_items - st->n_items < 2)
		return;
	st->items[st->n_items++] = (struct tun_item){
		.kind = TUN_ITEM_RULE,
		.family = (uint8_t)family,
		.prio = b->pref,
		.table = RT_TABLE_MAIN,
		.suppress = 0,
	};
	st->items[st->n_items++] = (struct tun_item){
		.kind = TUN_ITEM_RULE,
		.family = (uint8_t)family,
		.prio = b->pref + 1,
		.table = b->table,
		.suppress = -1,
	};
}

static void plan_build(struct build *b)
{
	const struct tun_plan *plan = b->plan;

	if (plan->route_default) {
		plan_default(b, AF_INET);
		plan_default(b, AF_INET6);
	}
	for (size_t i = 0; i < plan->n_routes; i++)
		plan_offered(b, plan->routes[i]);
	plan_dns(b, AF_INET, plan->dns4);
	plan_dns(b, AF_INET6, plan->dns6);
	for (size_t i = 0; i < plan->n_keep; i++)
		plan_keep(b, plan->keep[i]);
	plan_rules(b, AF_INET);
	plan_rules(b, AF_INET6);
}

static int item_add(struct tun_nl *nl, const struct tun_state *st,
		    const struct tun_item *it)
{
	struct tun_nl_rule ru = {
		.family = it->family,
		.prio = it->prio,
		.table = it->table,
		.suppress = it->suppress,
	};
	struct tun_nl_route rt = {
		.dst = it->dst,
		.table = it->table,
		.type = it->kind == TUN_ITEM_THROW ? RTN_THROW : RTN_UNICAST,
	};

	if (it->kind == TUN_ITEM_RULE)
		return tun_nl_rule(nl, true, &ru);
	if (it->kind == TUN_ITEM_ROUTE) {
		rt.oif = st->ifindex;
		rt.prefsrc = it->family == AF_INET ? st->addr4 : st->addr6;
	}
	return tun_nl_route(nl, true, &rt);
}

int tun_item_del(struct tun_nl *nl, const struct tun_item *it)
{
	struct tun_nl_rule ru = {
		.family = it->family,
		.prio = it->prio,
		.table = it->table,
		.suppress = it->suppress,
	};
	struct tun_nl_route rt = {
		.dst = it->dst,
		.table = it->table,
		.type = it->kind == TUN_ITEM_THROW ? RTN_THROW : RTN_UNICAST,
	};

	if (it->kind == TUN_ITEM_RULE)
		return tun_nl_rule(nl, false, &ru);
	return tun_nl_route(nl, false, &rt);
}

bool tun_item_gone(int err)
{
	/* rules say ENOENT, routes ESRCH, addresses EADDRNOTAVAIL; a
	 * vanished device ENODEV; no IPv6 at all EAFNOSUPPORT */
	return err == -ENOENT || err == -ESRCH || err == -EADDRNOTAVAIL ||
	       err == -ENODEV || err == -EAFNOSUPPORT;
}

static int dev_setup(struct tun_nl *nl, struct build *b)
{
	struct tun_state *st = b->st;
	int err;

	err = tun_nl_link_set(nl, st->ifindex, b->plan->mtu);
	if (err)
		return err;
	err = tun_nl_addr(nl, true, st->ifindex, AF_INET, st->addr4);
	if (err)
		return err;
	st->addr4_done = true;
	if (!st->v6)
		return 0;
	err = tun_nl_addr(nl, true, st->ifindex, AF_INET6, st->addr6);
	/* disable_ipv6 says EACCES; a kernel without IPv6 EAFNOSUPPORT */
	if (err == -EACCES || err == -EAFNOSUPPORT || err == -EOPNOTSUPP) {
		st->v6 = false;
		warnf(b,
		      "IPv6 is disabled on %s in this container: only IPv4 "
		      "goes through the tunnel",
		      b->plan->ifname);
		return 0;
	}
	if (err)
		return err;
	st->addr6_done = true;
	return 0;
}

static void first_err(int *err, int e)
{
	if (e && !*err)
		*err = e;
}

/* undo what is installed; the state file goes once all of it is gone */
static int teardown(struct tun_nl *nl, struct tun_state *st)
{
	bool all_gone = true;
	int err = 0, e;

	while (st->n_done > 0) {
		e = tun_item_del(nl, &st->items[--st->n_done]);
		if (e && !tun_item_gone(e)) {
			all_gone = false;
			first_err(&err, e);
		}
	}
	if (st->addr6_done) {
		e = tun_nl_addr(nl, false, st->ifindex, AF_INET6, st->addr6);
		first_err(&err, tun_item_gone(e) ? 0 : e);
		st->addr6_done = false;
	}
	if (st->addr4_done) {
		e = tun_nl_addr(nl, false, st->ifindex, AF_INET, st->addr4);
		first_err(&err, tun_item_gone(e) ? 0 : e);
		st->addr4_done = false;
	}
	if (all_gone)
		tun_state_remove(st->path, st->lock_fd);
	else if (st->lock_fd >= 0)
		close(st->lock_fd); /* kept for tun_recover() */
	st->lock_fd = -1;
	return err;
}

static int plan_check(const struct tun_plan *p, struct build *b)
{
	static const uint8_t zero[16];
	const struct tg_prefix *lists[2] = {p->routes, p->keep};
	size_t counts[2] = {p->n_routes, p->n_keep};

	b->table = p->table ? p->table : TUN_TABLE_DEFAULT;
	b->pref = p->pref ? p->pref : TUN_PREF_DEFAULT;
	if (!p->ifname || !memcmp(p->addr4, zero, sizeof(p->addr4)) ||
	    b->table == RT_TABLE_DEFAULT || b->table == RT_TABLE_MAIN ||
	    b->table == RT_TABLE_LOCAL || b->pref >= 32765)
		return -EINVAL;
	for (int l = 0; l < 2; l++) {
		if ((counts[l] && !lists[l]) || counts[l] > TUN_PLAN_MAX)
			return -EINVAL;
		for (size_t i = 0; i < counts[l]; i++) {
			const struct tg_prefix *q = &lists[l][i];

			if (!(q->family == AF_INET && q->plen <= 32) &&
			    !(q->family == AF_INET6 && q->plen <= 128))
				return -EINVAL;
		}
	}
	return 0;
}

static struct tun_state *state_new(const struct tun_plan *p)
{
	static const uint8_t zero[16];
	size_t cap = p->n_routes + p->n_keep + 8; /* + 2 defaults, 2 DNS
						   * routes, 4 rules */
	struct tun_state *st =
		calloc(1, sizeof(*st) + cap * sizeof(st->items[0]));

	if (!st)
		return NULL;
	st->cap_items = cap;
	st->lock_fd = -1;
	memcpy(st->addr4, p->addr4, sizeof(st->addr4));
	memcpy(st->addr6, p->addr6, sizeof(st->addr6));
	st->v6 = memcmp(p->addr6, zero, sizeof(zero)) != 0;
	return st;
}

int tun_install(const struct tun_plan *plan, tun_warn_fn warn, void *arg,
		struct tun_state **stp)
{
	struct main_routes m = {0};
	struct build b = {.plan = plan, .main = &m, .warn = warn, .arg = arg};
	struct tun_state *st;
	struct tun_nl nl;
	int err;

	*stp = NULL;
	err = plan_check(plan, &b);
	if (err)
		return err;
	st = b.st = state_new(plan);
	if (!st)
		return -ENOMEM;
	err = tun_state_path(plan->ifname, st->path, sizeof(st->path));
	if (err)
		goto out_free;
	st->ifindex = m.own_oif = (int)if_nametoindex(plan->ifname);
	err = st->ifindex ? tun_nl_open(&nl) : -ENODEV;
	if (err)
		goto out_free;
	err = main_routes_load(&nl, &m);
	if (!err)
		err = dev_setup(&nl, &b);
	if (!err) {
		plan_build(&b);
		err = tun_state_create(st->path, st->items, st->n_items,
				       &st->lock_fd);
	}
	/* n_done counts only what went in: an -EEXIST is someone else's */
	while (!err && st->n_done < st->n_items) {
		err = item_add(&nl, st, &st->items[st->n_done]);
		if (!err)
			st->n_done++;
	}
	if (err)
		teardown(&nl, st);
	tun_nl_close(&nl);
	free(m.r);
	if (!err) {
		*stp = st;
		return 0;
	}
out_free:
	free(st);
	return err;
}

size_t tun_installed_routes(const struct tun_state *st)
{
	return st ? st->n_routes : 0;
}

int tun_uninstall(struct tun_state *st)
{
	struct tun_nl nl;
	int err;

	if (!st)
		return 0;
	err = tun_nl_open(&nl);
	if (!err) {
		err = teardown(&nl, st);
		tun_nl_close(&nl);
	} else if (st->lock_fd >= 0) {
		close(st->lock_fd); /* the file stays, for tun_recover() */
	}
	free(st);
	return err;
}
