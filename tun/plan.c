/* SPDX-License-Identifier: MIT */
/*
 * plan.c - turn a plan (what the outside offers, what must stay direct)
 * into the items the inside installs: routes into the device, throw
 * routes, and the two rules per family (README.md, "Inside: what is caught").
 *
 * Theory of operation: the container's main table is read first. An
 * offered prefix wholly inside one of the container's own routes would
 * never be used (the suppress rule lets that route win), so it is skipped
 * with a warning; one that contains or overlaps such routes is installed,
 * with a warning for each (a count past the first few), since those parts
 * stay direct. A "keep" prefix (the stream's own path) that one of our
 * routes would catch gets a throw route: the lookup goes on to the next
 * rule, main with its default route, so the tunnel never carries itself;
 * an offered prefix inside a keep prefix is skipped. An all-zero DNS
 * address means no DNS route.
 *
 * Main-table mode (a kernel, or qemu-user, that takes no policy rules):
 * the same items go in the main table, where the longest prefix wins as
 * the suppress rule would have it: the container's own routes inside an
 * offered prefix stay direct, and one that holds an offered prefix makes
 * it skipped, so ours never cover the container's gateway subnet. The
 * default is its two halves, /1 each, and a keep prefix gets a route via
 * the container's default next hop instead of a throw route (no rules:
 * no next rule to throw to).
 *
 * The same code serves tun_install() and tun_update(); an update warns
 * only about prefixes that were not in the previous offer.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tun/tun.h"
#include "tun/tun_internal.h"

#define TUN_TABLE_DEFAULT 7467
#define TUN_PREF_DEFAULT 7466
#define TUN_PLAN_MAX (1u << 20) /* prefixes in a plan */
#define MAIN_DUMP_TRIES 4
#define WARN_LINE_MAX 320
#define WARN_OVERLAPS 8 /* per prefix; then one line for the rest */

__attribute__((format(printf, 2, 3))) static void
warnf(const struct tun_build *b, const char *fmt, ...)
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

	buf[0] = '\0';
	if (!oif || !if_indextoname((unsigned)oif, name))
		return buf;
	snprintf(buf, IFNAMSIZ + 8, " via %s", name);
	return buf;
}

bool tun_item_eq(const struct tun_item *a, const struct tun_item *b)
{
	if (a->kind != b->kind || a->family != b->family ||
	    a->table != b->table)
		return false;
	if (a->kind == TUN_ITEM_RULE)
		return a->prio == b->prio && a->suppress == b->suppress;
	return tg_prefix_eq(&a->dst, &b->dst);
}

static int main_route_cb(const struct tg_nl_route_info *ri, void *arg)
{
	struct tun_main_routes *m = arg;
	int f = ri->dst.family == AF_INET6;

	/* our own keep routes (main-table mode) are not the container's */
	if (ri->proto == TUN_RTPROT)
		return 0;
	if (!ri->dst.plen && ri->type == RTN_UNICAST && !m->has_dflt[f] &&
	    ri->oif != m->own_oif) {
		m->dflt[f] = *ri;
		m->has_dflt[f] = true;
	}
	switch (ri->type) {
	case RTN_LOCAL:
	case RTN_BROADCAST:
	case RTN_ANYCAST:
	case RTN_MULTICAST:
		return 0;
	}
	if (!ri->dst.plen || tg_prefix_special(&ri->dst) ||
	    (m->own_oif && ri->oif == m->own_oif))
		return 0;
	for (size_t i = 0; i < m->n; i++)
		if (tg_prefix_eq(&m->r[i].dst, &ri->dst))
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

int tun_main_routes_load(struct tg_nl *nl, struct tun_main_routes *m)
{
	int err, tries = 0;

	do {
		m->n = 0;
		m->has_dflt[0] = m->has_dflt[1] = false;
		err = tg_nl_route_dump_main(nl, AF_INET, main_route_cb, m);
		if (!err)
			err = tg_nl_route_dump_main(nl, AF_INET6,
						     main_route_cb, m);
	} while (err == -EAGAIN && ++tries < MAIN_DUMP_TRIES);
	return err;
}

const struct tg_nl_route_info *tun_main_within(const struct tun_main_routes *m,
						const struct tg_prefix *p)
{
	const struct tg_nl_route_info *best = NULL;

	for (size_t i = 0; i < m->n; i++) {
		const struct tg_nl_route_info *r = &m->r[i];

		if (tg_prefix_contains(&r->dst, p) &&
		    (!best || r->dst.plen > best->dst.plen))
			best = r;
	}
	return best;
}

static bool family_on(const struct tun_build *b, int family)
{
	return family == AF_INET || (family == AF_INET6 && b->v6);
}

/* add a route item unless the same one is there; Return: added */
static bool plan_route(struct tun_build *b, uint8_t kind,
		       const struct tg_prefix *dst)
{
	struct tun_item it = {
		.kind = kind,
		.family = dst->family,
		.table = b->table,
		.suppress = -1,
		.dst = *dst,
	};

	for (size_t i = 0; i < b->n_items; i++)
		if (tun_item_eq(&b->items[i], &it))
			return false;
	if (b->n_items == b->cap_items)
		return false; /* cannot happen: sized for the plan */
	b->items[b->n_items++] = it;
	return true;
}

/*
 * Everything: 0.0.0.0/0 in the tunnel's table; in the main table, where
 * the container's default route holds /0, the two halves, which beat it
 * and lose to every other route the container has.
 */
static void plan_default(struct tun_build *b, int family)
{
	struct tg_prefix half = {.family = (uint8_t)family, .plen = 1};
	bool added;

	if (!family_on(b, family))
		return;
	if (!b->main_table) {
		half.plen = 0;
		if (plan_route(b, TUN_ITEM_ROUTE, &half))
			b->n_routes++;
		return;
	}
	added = plan_route(b, TUN_ITEM_ROUTE, &half);
	half.addr[0] = 0x80;
	added |= plan_route(b, TUN_ITEM_ROUTE, &half);
	if (added)
		b->n_routes++;
}

/* warn for each of the container's routes and keep prefixes inside @p */
static void plan_overlaps(struct tun_build *b, const struct tg_prefix *p)
{
	char ps[TG_PREFIX_STRLEN], rs[TG_PREFIX_STRLEN], v[IFNAMSIZ + 8];
	size_t n = 0;

	for (size_t i = 0; i < b->main->n; i++) {
		const struct tg_nl_route_info *r = &b->main->r[i];

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
			      "%s holds %s, the tunnel's own stream: that "
			      "stays "
			      "direct",
			      tg_prefix_str(p, ps),
			      tg_prefix_str(&b->plan->keep[i], rs));
}

static bool in_keep(const struct tun_build *b, const struct tg_prefix *p,
		    const struct tg_prefix **k)
{
	for (size_t i = 0; i < b->plan->n_keep; i++) {
		*k = &b->plan->keep[i];
		if (tg_prefix_contains(*k, p))
			return true;
	}
	return false;
}

/* an update says nothing new about a prefix that was offered before */
static bool quiet(const struct tun_build *b, const struct tg_prefix *p)
{
	for (size_t i = 0; i < b->n_quiet; i++)
		if (tg_prefix_eq(&b->quiet[i], p))
			return true;
	return false;
}

static void plan_offered(struct tun_build *b, struct tg_prefix p)
{
	char ps[TG_PREFIX_STRLEN], rs[TG_PREFIX_STRLEN], v[IFNAMSIZ + 8];
	const struct tg_nl_route_info *in;
	const struct tg_prefix *k;
	bool say;

	tg_prefix_mask(&p);
	if (!family_on(b, p.family))
		return;
	if (!p.plen) {
		plan_default(b, p.family);
		return;
	}
	say = !quiet(b, &p);
	in = tun_main_within(b->main, &p);
	if (in) {
		if (say)
			warnf(b,
			      "not routing %s through the tunnel: it lies "
			      "inside %s, which this container routes "
			      "itself%s",
			      tg_prefix_str(&p, ps),
			      tg_prefix_str(&in->dst, rs), via(in->oif, v));
		return;
	}
	if (in_keep(b, &p, &k)) {
		if (say)
			warnf(b,
			      "not routing %s through the tunnel: it lies "
			      "inside %s, which the tunnel's own stream uses",
			      tg_prefix_str(&p, ps), tg_prefix_str(k, rs));
		return;
	}
	if (plan_route(b, TUN_ITEM_ROUTE, &p)) {
		b->n_routes++;
		if (say)
			plan_overlaps(b, &p);
	}
}

static void plan_dns(struct tun_build *b, int family, const uint8_t *addr)
{
	static const uint8_t zero[16];
	char ps[TG_PREFIX_STRLEN], rs[TG_PREFIX_STRLEN], v[IFNAMSIZ + 8];
	const struct tg_nl_route_info *in;
	struct tg_prefix p;

	if (!family_on(b, family) ||
	    !memcmp(addr, zero, family == AF_INET ? 4 : 16))
		return;
	tg_prefix_host(&p, family, addr);
	in = tun_main_within(b->main, &p);
	if (in && !b->update)
		warnf(b,
		      "the tunnel's DNS address %s lies inside %s, which "
		      "this container routes itself%s: DNS through the "
		      "tunnel will not work",
		      tg_prefix_str(&p, ps), tg_prefix_str(&in->dst, rs),
		      via(in->oif, v));
	plan_route(b, TUN_ITEM_ROUTE, &p);
}

/*
 * Main-table mode has no next rule to throw to: the keep prefix gets a
 * route of its own through the container's default next hop, which is
 * where it went before. One of the container's own routes that holds it
 * is more specific than ours (else ours would have been skipped), so it
 * wins without help; without a default route it had no way out anyway.
 */
static void plan_keep_via(struct tun_build *b, const struct tg_prefix *k)
{
	const struct tg_nl_route_info *d;
	int f = k->family == AF_INET6;

	if (tun_main_within(b->main, k) || !b->main->has_dflt[f] ||
	    !plan_route(b, TUN_ITEM_VIA, k))
		return;
	d = &b->main->dflt[f];
	b->items[b->n_items - 1].via_oif = d->oif;
	b->items[b->n_items - 1].via_has_gw = d->has_gw;
	memcpy(b->items[b->n_items - 1].via_gw, d->gw, sizeof(d->gw));
}

/* a throw route for a keep prefix that one of our routes would catch */
static void plan_keep(struct tun_build *b, struct tg_prefix k)
{
	size_t n = b->n_items;

	tg_prefix_mask(&k);
	if (!family_on(b, k.family))
		return;
	for (size_t i = 0; i < n; i++)
		if (b->items[i].kind == TUN_ITEM_ROUTE &&
		    tg_prefix_contains(&b->items[i].dst, &k) &&
		    !tg_prefix_eq(&b->items[i].dst, &k)) {
			if (b->main_table)
				plan_keep_via(b, &k);
			else
				plan_route(b, TUN_ITEM_THROW, &k);
			return;
		}
}

/* main-table mode: routes act as they go in, so the stream's own path
 * goes in first (and comes out last) */
static void plan_via_first(struct tun_build *b)
{
	size_t k = 0;

	for (size_t i = 0; i < b->n_items; i++) {
		struct tun_item it = b->items[i];

		if (it.kind != TUN_ITEM_VIA)
			continue;
		memmove(&b->items[k + 1], &b->items[k],
			(i - k) * sizeof(b->items[0]));
		b->items[k++] = it;
	}
}

static void plan_rules(struct tun_build *b, int family)
{
	if (!family_on(b, family) || b->main_table ||
	    b->cap_items - b->n_items < 2)
		return;
	b->items[b->n_items++] = (struct tun_item){
		.kind = TUN_ITEM_RULE,
		.family = (uint8_t)family,
		.prio = b->pref,
		.table = RT_TABLE_MAIN,
		.suppress = 0,
	};
	b->items[b->n_items++] = (struct tun_item){
		.kind = TUN_ITEM_RULE,
		.family = (uint8_t)family,
		.prio = b->pref + 1,
		.table = b->table,
		.suppress = -1,
	};
}

int tun_build_items(struct tun_build *b)
{
	const struct tun_plan *plan = b->plan;

	/* + 2 defaults (main-table mode: 4 halves), 2 DNS routes, 4 rules */
	b->cap_items = plan->n_routes + plan->n_keep + 8;
	b->items = calloc(b->cap_items, sizeof(*b->items));
	b->n_items = b->n_routes = 0;
	if (!b->items)
		return -ENOMEM;
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
	plan_via_first(b);
	plan_rules(b, AF_INET);
	plan_rules(b, AF_INET6);
	return 0;
}

static bool prefixes_ok(const struct tg_prefix *list, size_t n)
{
	if ((n && !list) || n > TUN_PLAN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct tg_prefix *q = &list[i];

		if (!(q->family == AF_INET && q->plen <= 32) &&
		    !(q->family == AF_INET6 && q->plen <= 128))
			return false;
	}
	return true;
}

int tun_plan_limits(const struct tun_plan *p, uint32_t *table, uint32_t *pref)
{
	*table = p->table ? p->table : TUN_TABLE_DEFAULT;
	*pref = p->pref ? p->pref : TUN_PREF_DEFAULT;
	if (*table == RT_TABLE_DEFAULT || *table == RT_TABLE_MAIN ||
	    *table == RT_TABLE_LOCAL || *pref >= 32765)
		return -EINVAL;
	if (!prefixes_ok(p->routes, p->n_routes) ||
	    !prefixes_ok(p->keep, p->n_keep))
		return -EINVAL;
	return 0;
}

int tun_state_offered(struct tun_state *st, const struct tun_plan *plan)
{
	struct tg_prefix *o = NULL;

	if (plan->n_routes) {
		o = malloc(plan->n_routes * sizeof(*o));
		if (!o)
			return -ENOMEM;
		memcpy(o, plan->routes, plan->n_routes * sizeof(*o));
	}
	free(st->offered);
	st->offered = o;
	st->n_offered = plan->n_routes;
	for (size_t i = 0; i < st->n_offered; i++)
		tg_prefix_mask(&st->offered[i]);
	return 0;
}
