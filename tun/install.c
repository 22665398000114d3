/* SPDX-License-Identifier: MIT */
/*
 * install.c - configure the TUN device and install the inside's policy
 * routing (README.md, "Inside: what is caught").
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
 * Which prefixes become which items is plan.c's job; tun_update() (update.c)
 * changes the routes later, as the outside's offer changes. An all-zero
 * addr6 means no IPv6 at all.
 *
 * Order: MTU and up, the device's addresses (IPv6 without DAD), then the
 * state file with every item, then the routes, then the rules - traffic
 * moves only once the table rule is in, with its table full. Removal runs
 * in reverse. If IPv6 is disabled in the container, only IPv4 is set up.
 *
 * Where policy rules are not to be had (qemu-user, --main-table) the
 * routes go in the main table instead (plan.c says how), each with the
 * protocol TUN_RTPROT, which every removal names: a route of the
 * container's own with the same prefix is never taken out.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun/tun.h"
#include "tun/tun_internal.h"

/* one tun_install() call */
struct install {
	const struct tun_plan *plan;
	struct tun_state *st;
	tun_warn_fn warn;
	void *arg;
};

/*
 * @it as a netlink request: @st, NULL for a removal, gives a route into
 * the device its interface and source; a removal finds it without them.
 */
static int item_apply(struct tg_nl *nl, bool add, const struct tun_state *st,
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
		/* in main, only a route of ours is ever taken out */
		.proto = it->table == RT_TABLE_MAIN ? TUN_RTPROT : 0,
	};

	if (it->kind == TUN_ITEM_RULE)
		return tun_nl_rule(nl, add, &ru);
	if (st && it->kind == TUN_ITEM_ROUTE) {
		rt.oif = st->ifindex;
		rt.prefsrc = it->family == AF_INET ? st->addr4 : st->addr6;
	}
	if (st && it->kind == TUN_ITEM_VIA) {
		rt.oif = it->via_oif;
		rt.gw = it->via_has_gw ? it->via_gw : NULL;
	}
	return tun_nl_route(nl, add, &rt);
}

int tun_item_add(struct tg_nl *nl, const struct tun_state *st,
		 const struct tun_item *it)
{
	return item_apply(nl, true, st, it);
}

int tun_item_del(struct tg_nl *nl, const struct tun_item *it)
{
	return item_apply(nl, false, NULL, it);
}

bool tun_item_gone(int err)
{
	/* rules say ENOENT, routes ESRCH, addresses EADDRNOTAVAIL; a
	 * vanished device ENODEV; no IPv6 at all EAFNOSUPPORT */
	return err == -ENOENT || err == -ESRCH || err == -EADDRNOTAVAIL ||
	       err == -ENODEV || err == -EAFNOSUPPORT;
}

static int dev_setup(struct tg_nl *nl, const struct install *in)
{
	struct tun_state *st = in->st;
	char line[160];
	int err;

	err = tun_nl_link_set(nl, st->ifindex, in->plan->mtu);
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
		snprintf(line, sizeof(line),
			 "IPv6 is disabled on %s in this container: only IPv4 "
			 "goes through the tunnel",
			 in->plan->ifname);
		if (in->warn)
			in->warn(in->arg, line);
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
static int teardown(struct tg_nl *nl, struct tun_state *st)
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

static void state_free(struct tun_state *st)
{
	free(st->items);
	free(st->offered);
	free(st);
}

static struct tun_state *state_new(const struct tun_plan *p)
{
	static const uint8_t zero[16];
	struct tun_state *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->lock_fd = -1;
	memcpy(st->addr4, p->addr4, sizeof(st->addr4));
	memcpy(st->addr6, p->addr6, sizeof(st->addr6));
	memcpy(st->dns4, p->dns4, sizeof(st->dns4));
	memcpy(st->dns6, p->dns6, sizeof(st->dns6));
	st->v6 = memcmp(p->addr6, zero, sizeof(zero)) != 0;
	if (tun_plan_limits(p, &st->table, &st->pref) < 0 ||
	    tun_state_offered(st, p) < 0) {
		state_free(st);
		return NULL;
	}
	return st;
}

/*
 * Policy rules, or the main table: qemu-user (7.2) refuses RTM_NEWRULE
 * with EOPNOTSUPP, as a kernel without CONFIG_IP_MULTIPLE_TABLES does.
 * Asked before anything is installed, and said once.
 */
static int install_mode(struct tg_nl *nl, const struct install *in)
{
	struct tun_state *st = in->st;
	int r = in->plan->main_table ? 0 : tun_nl_rules_work(nl);

	if (r < 0)
		return r;
	st->main_table = r == 0;
	if (!st->main_table || !in->warn)
		return 0;
	in->warn(in->arg,
		 in->plan->main_table
			 ? "--main-table: the tunnel's routes go in the main "
			   "table, no policy rules"
			 : "this kernel takes no policy rules (qemu-user does "
			   "not emulate them): the tunnel's routes go in the "
			   "main table, each more specific than the "
			   "container's default route");
	return 0;
}

/* read the main table, set up the device, turn the plan into items */
static int install_prepare(struct tg_nl *nl, const struct install *in)
{
	struct tun_state *st = in->st;
	struct tun_main_routes m = {.own_oif = st->ifindex};
	struct tun_build b = {
		.plan = in->plan,
		.main = &m,
		.table = st->table,
		.pref = st->pref,
		.warn = in->warn,
		.arg = in->arg,
	};
	int err;

	err = install_mode(nl, in);
	if (!err)
		err = tun_main_routes_load(nl, &m);
	if (!err)
		err = dev_setup(nl, in);
	if (!err) {
		b.v6 = st->v6;
		b.main_table = st->main_table;
		if (b.main_table)
			b.table = RT_TABLE_MAIN;
		err = tun_build_items(&b);
	}
	free(m.r);
	if (err)
		return err;
	st->items = b.items;
	st->n_items = b.n_items;
	st->n_routes = b.n_routes;
	return 0;
}

int tun_install(const struct tun_plan *plan, tun_warn_fn warn, void *arg,
		struct tun_state **stp)
{
	static const uint8_t zero[16];
	struct install in = {.plan = plan, .warn = warn, .arg = arg};
	struct tun_state *st;
	struct tg_nl nl;
	uint32_t table, pref;
	int err;

	*stp = NULL;
	err = tun_plan_limits(plan, &table, &pref);
	if (err || !plan->ifname || !memcmp(plan->addr4, zero, 4))
		return err ? err : -EINVAL;
	st = in.st = state_new(plan);
	if (!st)
		return -ENOMEM;
	err = tun_state_path(plan->ifname, st->path, sizeof(st->path));
	if (err)
		goto out_free;
	st->ifindex = (int)if_nametoindex(plan->ifname);
	err = st->ifindex ? tg_nl_open(&nl) : -ENODEV;
	if (err)
		goto out_free;
	err = install_prepare(&nl, &in);
	if (!err)
		err = tun_state_create(st->path, st->items, st->n_items,
				       &st->lock_fd);
	/* n_done counts only what went in: an -EEXIST is someone else's */
	while (!err && st->n_done < st->n_items) {
		err = tun_item_add(&nl, st, &st->items[st->n_done]);
		if (!err)
			st->n_done++;
	}
	if (err)
		teardown(&nl, st);
	tg_nl_close(&nl);
	if (!err) {
		*stp = st;
		return 0;
	}
out_free:
	state_free(st);
	return err;
}

size_t tun_installed_routes(const struct tun_state *st)
{
	return st ? st->n_routes : 0;
}

int tun_uninstall(struct tun_state *st)
{
	struct tg_nl nl;
	int err;

	if (!st)
		return 0;
	err = tg_nl_open(&nl);
	if (!err) {
		err = teardown(&nl, st);
		tg_nl_close(&nl);
	} else if (st->lock_fd >= 0) {
		close(st->lock_fd); /* the file stays, for tun_recover() */
	}
	state_free(st);
	return err;
}
