/* SPDX-License-Identifier: MIT */
/*
 * tun_internal.h - what the files of tun/ share and nobody else uses: the
 * installed items, the state file that lists them, prefix classification.
 */
#ifndef TUN_INTERNAL_H
#define TUN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>

#include "tun/netlink.h"
#include "lib/prefix.h"
#include "tun/tun.h"

#define TUN_ITEM_STRLEN 128
/* the rtm_protocol of our routes in the main table (main-table mode): a
 * removal names it, so it never takes a route of the container's own;
 * iproute2 shows it as "proto 116" (no name of rt_protos uses it) */
#define TUN_RTPROT 116

enum tun_item_kind {
	TUN_ITEM_ROUTE = 1, /* unicast route into the device */
	TUN_ITEM_THROW, /* throw route: lookup goes on to the next rule */
	TUN_ITEM_RULE, /* "lookup TABLE [suppress_prefixlength N]" */
	TUN_ITEM_VIA, /* main-table mode: a keep prefix through the
		       * container's own default next hop */
};

/* one thing tun_install() puts into the kernel, by its own identity */
struct tun_item {
	uint8_t kind;
	uint8_t family; /* AF_INET, AF_INET6 */
	uint32_t table;
	uint32_t prio; /* rules */
	int suppress; /* rules: suppress_prefixlength, or -1 */
	struct tg_prefix dst; /* routes */
	/* TUN_ITEM_VIA, to add it (a removal needs only the identity) */
	int via_oif;
	bool via_has_gw;
	uint8_t via_gw[16];
};

/* what tun_install() put in, for tun_update() and tun_uninstall() */
struct tun_state {
	char path[PATH_MAX];
	int lock_fd;
	int ifindex;
	bool v6;
	bool main_table; /* no policy rules here: routes in the main table */
	bool addr4_done, addr6_done;
	uint8_t addr4[4], addr6[16];
	uint8_t dns4[4], dns6[16];
	uint32_t table, pref;
	size_t n_routes; /* offered prefixes routed */
	struct tun_item *items; /* installed first to last */
	size_t n_items, n_done; /* n_done: installed */
	struct tg_prefix *offered; /* the last offer, not warned about again */
	size_t n_offered;
};

/* the main table's routes that the suppress rule lets win */
struct tun_main_routes {
	struct tg_nl_route_info *r;
	size_t n, cap;
	int own_oif; /* the TUN device: its routes are ours, not the main's */
	/* the container's first default route of each family (IPv4, IPv6):
	 * where a keep prefix goes in main-table mode */
	struct tg_nl_route_info dflt[2];
	bool has_dflt[2];
};

/* one plan turned into items */
struct tun_build {
	const struct tun_plan *plan;
	const struct tun_main_routes *main;
	uint32_t table, pref;
	bool v6;
	bool main_table; /* routes in main (table is RT_TABLE_MAIN), no rules */
	struct tun_item *items;
	size_t n_items, cap_items;
	size_t n_routes;
	/* an update: warn only for prefixes not in @quiet, not for DNS */
	bool update;
	const struct tg_prefix *quiet;
	size_t n_quiet;
	tun_warn_fn warn;
	void *arg;
};

/**
 * tun_main_routes_load() - the container's own routes (main table), minus
 * its defaults, special prefixes and routes via @m->own_oif
 * Return: 0 or -errno; @m->r is freed by the caller
 */
int tun_main_routes_load(struct tg_nl *nl, struct tun_main_routes *m);

/**
 * tun_main_within() - the most specific of the container's routes that
 * holds all of @p, or NULL
 */
const struct tg_nl_route_info *tun_main_within(const struct tun_main_routes *m,
						const struct tg_prefix *p);

/**
 * tun_build_items() - turn @b->plan into items: routes, DNS routes, throw
 * routes, then the rules; warns through @b->warn
 * Return: 0 or -ENOMEM (@b->items is then NULL)
 */
int tun_build_items(struct tun_build *b);

/** tun_plan_limits() - check a plan and take its table and preference */
int tun_plan_limits(const struct tun_plan *p, uint32_t *table, uint32_t *pref);

/** tun_item_eq() - the same item, by identity */
bool tun_item_eq(const struct tun_item *a, const struct tun_item *b);

/** tun_item_add() - install an item of @st. Return: 0 or -errno */
int tun_item_add(struct tg_nl *nl, const struct tun_state *st,
		 const struct tun_item *it);

/**
 * tun_state_offered() - remember @plan's prefixes as the last offer
 * Return: 0 or -ENOMEM (the old list is kept)
 */
int tun_state_offered(struct tun_state *st, const struct tun_plan *plan);

/** tun_item_format() - one state file line, without the newline */
void tun_item_format(const struct tun_item *it, char buf[TUN_ITEM_STRLEN]);

/**
 * tun_item_parse() - read a line written by tun_item_format(); refuses
 * anything malformed, and any item whose removal could touch what tungate
 * never installs (routes in main/local/default, the system's rules)
 * Return: true if @it was filled
 */
bool tun_item_parse(const char *line, struct tun_item *it);

/**
 * tun_item_del() - remove an item by its identity
 * Return: 0, or -errno; tun_item_gone() tells an item already absent
 */
int tun_item_del(struct tg_nl *nl, const struct tun_item *it);

/** tun_item_gone() - does this error from a removal mean "not there"? */
bool tun_item_gone(int err);

/**
 * tun_state_create() - write the state file that lists @items, and keep it
 * open and locked for as long as they are installed
 * @path:	from tun_state_path()
 * @lock_fd:	set to the open, flock()ed file
 *
 * Return: 0; -EEXIST if a state file is already there (tun_recover()
 *	   first); or -errno
 */
int tun_state_create(const char *path, const struct tun_item *items, size_t n,
		     int *lock_fd);

/**
 * tun_state_replace() - write a new state file that lists @items and put it
 * in place of the one locked on *@lock_fd, which it then replaces
 * Return: 0 or -errno (the old file and lock stay)
 */
int tun_state_replace(const char *path, const struct tun_item *items, size_t n,
		      int *lock_fd);

/** tun_state_remove() - delete the state file and drop its lock */
void tun_state_remove(const char *path, int lock_fd);

#endif
