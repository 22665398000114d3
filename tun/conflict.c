/* SPDX-License-Identifier: MIT */
/*
 * conflict.c - are the tunnel's own addresses free in this container?
 *
 * Theory of operation: the TUN address and the DNS address are the
 * tunnel's. If either is already assigned to an interface of the
 * container, the kernel would deliver the container's packets for it
 * locally and the tunnel's traffic would be answered by the wrong host, so
 * the inside refuses to start and the user picks another address. If the
 * DNS address lies inside a subnet the container routes itself, the
 * suppress rule sends its queries there instead of into the tunnel: with
 * resolv.conf pointing at it, name resolution would break, so that is
 * refused too (without --dns it is only a route, and install warns).
 * Checked before the device exists, so no address is ours yet.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tun/tun.h"
#include "tun/tun_internal.h"

static const uint8_t zero[16];

/* the interface that holds @p's address, or false */
static bool addr_assigned(const struct ifaddrs *ifs, const struct tg_prefix *p,
			  char dev[IFNAMSIZ])
{
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;
		const uint8_t *a;

		if (!sa || sa->sa_family != p->family)
			continue;
		if (sa->sa_family == AF_INET)
			a = (const uint8_t *)&((const struct sockaddr_in *)sa)
				    ->sin_addr;
		else
			a = ((const struct sockaddr_in6 *)sa)
				    ->sin6_addr.s6_addr;
		if (!tg_prefix_match(p, p->family, a))
			continue;
		snprintf(dev, IFNAMSIZ, "%s", i->ifa_name);
		return true;
	}
	return false;
}

static bool check_one(const struct ifaddrs *ifs, enum tun_conflict_kind kind,
		      int family, const uint8_t *addr, struct tun_conflict *c)
{
	if (!memcmp(addr, zero, family == AF_INET ? 4 : 16))
		return false;
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	tg_prefix_host(&c->addr, family, addr);
	return addr_assigned(ifs, &c->addr, c->dev);
}

static int assigned(const struct tun_plan *plan, struct tun_conflict *c)
{
	struct ifaddrs *ifs;
	bool hit;

	if (getifaddrs(&ifs) < 0)
		return -errno;
	hit = check_one(ifs, TUN_CONFLICT_TUN, AF_INET, plan->addr4, c) ||
	      check_one(ifs, TUN_CONFLICT_TUN, AF_INET6, plan->addr6, c) ||
	      check_one(ifs, TUN_CONFLICT_DNS, AF_INET, plan->dns4, c) ||
	      check_one(ifs, TUN_CONFLICT_DNS, AF_INET6, plan->dns6, c);
	freeifaddrs(ifs);
	return hit;
}

static bool dns_within(const struct tun_main_routes *m, int family,
		       const uint8_t *addr, struct tun_conflict *c)
{
	const struct tg_nl_route_info *r;

	if (!memcmp(addr, zero, family == AF_INET ? 4 : 16))
		return false;
	memset(c, 0, sizeof(*c));
	c->kind = TUN_CONFLICT_DNS;
	tg_prefix_host(&c->addr, family, addr);
	r = tun_main_within(m, &c->addr);
	if (!r)
		return false;
	c->within = r->dst;
	if (!r->oif || !if_indextoname((unsigned)r->oif, c->dev))
		c->dev[0] = '\0';
	return true;
}

static int dns_routed(const struct tun_plan *plan, struct tun_conflict *c)
{
	struct tun_main_routes m = {0};
	struct tg_nl nl;
	bool hit = false;
	int err;

	err = tg_nl_open(&nl);
	if (err)
		return err;
	err = tun_main_routes_load(&nl, &m);
	tg_nl_close(&nl);
	if (!err)
		hit = dns_within(&m, AF_INET, plan->dns4, c) ||
		      dns_within(&m, AF_INET6, plan->dns6, c);
	free(m.r);
	return err ? err : hit;
}

int tun_check_addrs(const struct tun_plan *plan, struct tun_conflict *c)
{
	int r = assigned(plan, c);

	if (r || !plan->dns)
		return r;
	return dns_routed(plan, c);
}
