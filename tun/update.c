/* SPDX-License-Identifier: MIT */
/*
 * update.c - follow the outside's offer while running (tun_update()).
 *
 * Theory of operation: the new offer is turned into items exactly as
 * tun_install() does (plan.c), against the container's main table as it
 * is now, and compared with what is installed, item by item (by
 * identity). Then, so that a crash at any point leaves nothing that the
 * state file does not name:
 *
 *	1. the state file is rewritten to list old and new items together;
 *	2. new throw routes (main-table mode: routes via the container's
 *	   next hop) go in, then new routes (a hole for the stream's path
 *	   exists before the route it is cut into);
 *	3. withdrawn routes come out, then withdrawn throw (via) routes;
 *	4. the state file is rewritten to list what is installed now.
 *
 * The device, its addresses and the rules stay as they are. An item the
 * kernel refuses to add is dropped with a warning; one it refuses to
 * remove stays listed, so that exit and tun_recover() try again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tun/tun.h"
#include "tun/tun_internal.h"

struct update {
	struct tun_state *st;
	struct tg_nl *nl;
	struct tun_item *want; /* the new plan's items */
	size_t n_want;
	bool *have; /* want[i] is installed (before or now) */
	struct tun_item *keep; /* old items that would not come out */
	struct tun_item *now; /* what is installed once done */
	size_t n_keep;
	size_t added, removed;
	tun_warn_fn warn;
	void *arg;
};

static bool listed(const struct tun_item *list, size_t n,
		   const struct tun_item *it)
{
	for (size_t i = 0; i < n; i++)
		if (tun_item_eq(&list[i], it))
			return true;
	return false;
}

static void update_warn(const struct update *u, const char *what,
			const struct tun_item *it, int err)
{
	char line[TUN_ITEM_STRLEN + 96], item[TUN_ITEM_STRLEN];

	if (!u->warn)
		return;
	tun_item_format(it, item);
	snprintf(line, sizeof(line), "cannot %s '%s': %s", what, item,
		 strerror(-err));
	u->warn(u->arg, line);
}

/* step 1: the state file names the union of old and new */
static int update_record_union(struct update *u)
{
	struct tun_state *st = u->st;
	struct tun_item *all;
	size_t n = st->n_done;
	int err;

	all = malloc((st->n_done + u->n_want) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	memcpy(all, st->items, st->n_done * sizeof(*all));
	for (size_t i = 0; i < u->n_want; i++)
		if (!listed(st->items, st->n_done, &u->want[i]))
			all[n++] = u->want[i];
	err = tun_state_replace(st->path, all, n, &st->lock_fd);
	free(all);
	return err;
}

/* step 2: new items of @kind go in */
static void update_add(struct update *u, uint8_t kind)
{
	struct tun_state *st = u->st;
	int err;

	for (size_t i = 0; i < u->n_want; i++) {
		if (u->want[i].kind != kind)
			continue;
		if (listed(st->items, st->n_done, &u->want[i])) {
			u->have[i] = true;
			continue;
		}
		err = tun_item_add(u->nl, st, &u->want[i]);
		if (err) {
			update_warn(u, "add", &u->want[i], err);
			continue;
		}
		u->have[i] = true;
		if (kind == TUN_ITEM_ROUTE)
			u->added++;
	}
}

/* step 3: withdrawn items of @kind come out, last installed first */
static void update_remove(struct update *u, uint8_t kind)
{
	struct tun_state *st = u->st;
	int err;

	for (size_t i = st->n_done; i-- > 0;) {
		const struct tun_item *it = &st->items[i];

		if (it->kind != kind || listed(u->want, u->n_want, it))
			continue;
		err = tun_item_del(u->nl, it);
		if (err && !tun_item_gone(err)) {
			update_warn(u, "remove", it, err);
			u->keep[u->n_keep++] = *it;
			continue;
		}
		if (kind == TUN_ITEM_ROUTE)
			u->removed++;
	}
}

/* step 4: what is installed now, in an order teardown() can undo */
static void update_commit(struct update *u, size_t n_routes)
{
	struct tun_state *st = u->st;
	size_t n = u->n_keep;

	memcpy(u->now, u->keep, u->n_keep * sizeof(*u->now));
	for (size_t i = 0; i < u->n_want; i++)
		if (u->have[i])
			u->now[n++] = u->want[i];
	/* a failure leaves a superset listed: removing what is gone is fine */
	(void)tun_state_replace(st->path, u->now, n, &st->lock_fd);
	free(st->items);
	st->items = u->now;
	u->now = NULL;
	st->n_items = st->n_done = n;
	st->n_routes = n_routes;
}

static int update_apply(struct update *u, size_t n_routes)
{
	size_t old = u->st->n_done;
	int err;

	/* every allocation first: past step 1 nothing may fail */
	u->have = calloc(u->n_want + 1, sizeof(*u->have));
	u->keep = malloc((old + 1) * sizeof(*u->keep));
	u->now = malloc((old + u->n_want + 1) * sizeof(*u->now));
	if (!u->have || !u->keep || !u->now)
		return -ENOMEM;
	err = update_record_union(u);
	if (err)
		return err;
	update_add(u, TUN_ITEM_VIA);
	update_add(u, TUN_ITEM_THROW);
	update_add(u, TUN_ITEM_ROUTE);
	update_add(u, TUN_ITEM_RULE);
	update_remove(u, TUN_ITEM_ROUTE);
	update_remove(u, TUN_ITEM_THROW);
	update_remove(u, TUN_ITEM_VIA);
	update_remove(u, TUN_ITEM_RULE);
	update_commit(u, n_routes);
	return 0;
}

int tun_update(struct tun_state *st, const struct tun_plan *plan,
	       tun_warn_fn warn, void *arg, size_t *added, size_t *removed)
{
	struct tun_plan p = *plan;
	struct tun_main_routes m = {.own_oif = st->ifindex};
	struct tun_build b = {
		.plan = &p,
		.main = &m,
		.table = st->main_table ? RT_TABLE_MAIN : st->table,
		.pref = st->pref,
		.v6 = st->v6,
		.main_table = st->main_table,
		.update = true,
		.quiet = st->offered,
		.n_quiet = st->n_offered,
		.warn = warn,
		.arg = arg,
	};
	struct update u = {.st = st, .warn = warn, .arg = arg};
	struct tg_nl nl;
	uint32_t table, pref;
	int err;

	*added = *removed = 0;
	/* what an update does not change stays as installed */
	p.table = st->table;
	p.pref = st->pref;
	memcpy(p.dns4, st->dns4, sizeof(p.dns4));
	memcpy(p.dns6, st->dns6, sizeof(p.dns6));
	err = tun_plan_limits(&p, &table, &pref);
	if (err)
		return err;
	err = tg_nl_open(&nl);
	if (err)
		return err;
	u.nl = &nl;
	err = tun_main_routes_load(&nl, &m);
	if (!err)
		err = tun_build_items(&b);
	if (!err) {
		u.want = b.items;
		u.n_want = b.n_items;
		err = update_apply(&u, b.n_routes);
	}
	/* at worst, warnings about old prefixes come again next time */
	if (!err)
		(void)tun_state_offered(st, plan);
	tg_nl_close(&nl);
	free(m.r);
	free(b.items);
	free(u.have);
	free(u.keep);
	free(u.now);
	*added = u.added;
	*removed = u.removed;
	return err;
}
