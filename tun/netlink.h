/* SPDX-License-Identifier: MIT */
/*
 * netlink.h - what the inside installs over rtnetlink (internal to tun/):
 * link state, addresses, routes, policy rules, on lib/netlink.h's client.
 */
#ifndef TUN_NETLINK_H
#define TUN_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/netlink.h"

/** tun_nl_link_set() - set the MTU (0: leave it) and bring the link up */
int tun_nl_link_set(struct tg_nl *nl, int ifindex, uint32_t mtu);

/**
 * tun_nl_addr() - add or delete a host address (/32 or /128) on a link;
 * IPv6 addresses skip duplicate address detection (IFA_F_NODAD)
 * @addr:	4 or 16 bytes by @family
 */
int tun_nl_addr(struct tg_nl *nl, bool add, int ifindex, int family,
		const uint8_t *addr);

struct tun_nl_route {
	struct tg_prefix dst;
	uint32_t table;
	uint8_t type; /* RTN_UNICAST, RTN_THROW; 0 on delete: any */
	int oif; /* 0: none */
	const uint8_t *prefsrc; /* NULL: none */
	const uint8_t *gw; /* NULL: none (on-link) */
	uint8_t proto; /* 0: RTPROT_STATIC on add, any on delete */
};

/**
 * tun_nl_route() - add (exclusively) or delete a route in a table
 * Return: 0 or -errno (-EEXIST: already there; -ESRCH: not there)
 */
int tun_nl_route(struct tg_nl *nl, bool add, const struct tun_nl_route *r);

struct tun_nl_rule {
	uint8_t family;
	uint32_t prio;
	uint32_t table;
	int suppress; /* suppress_prefixlength, or -1 */
};

/**
 * tun_nl_rule() - add (exclusively) or delete a "lookup TABLE" rule; a
 * delete matches the family, priority, table and suppress_prefixlength
 * Return: 0 or -errno (-EEXIST: already there; -ENOENT: not there)
 */
int tun_nl_rule(struct tg_nl *nl, bool add, const struct tun_nl_rule *r);

/**
 * tun_nl_rules_work() - does this kernel, or what stands for it, take
 * policy rules? Asks for a dump of the IPv4 rules, which changes nothing.
 * Return: 1 yes, 0 no (EOPNOTSUPP: qemu-user, or a kernel built without
 * CONFIG_IP_MULTIPLE_TABLES), or -errno
 */
int tun_nl_rules_work(struct tg_nl *nl);

#endif
