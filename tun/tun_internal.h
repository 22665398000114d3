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

#include "netlink.h"
#include "prefix.h"

#define TUN_STATE_DIR "/run/tungate"
#define TUN_ITEM_STRLEN 128

enum tun_item_kind {
	TUN_ITEM_ROUTE = 1, /* unicast route into the device */
	TUN_ITEM_THROW, /* throw route: lookup goes on to the next rule */
	TUN_ITEM_RULE, /* "lookup TABLE [suppress_prefixlength N]" */
};

/* one thing tun_install() puts into the kernel, by its own identity */
struct tun_item {
	uint8_t kind;
	uint8_t family; /* AF_INET, AF_INET6 */
	uint32_t table;
	uint32_t prio; /* rules */
	int suppress; /* rules: suppress_prefixlength, or -1 */
	struct tg_prefix dst; /* routes */
};

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
int tun_item_del(struct tun_nl *nl, const struct tun_item *it);

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

/** tun_state_remove() - delete the state file and drop its lock */
void tun_state_remove(const char *path, int lock_fd);

/**
 * tun_prefix_special() - loopback, link-local or multicast: never routed
 * through the tunnel, never in the way of a prefix that is
 */
bool tun_prefix_special(const struct tg_prefix *p);

#endif
