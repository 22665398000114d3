// SPDX-License-Identifier: MIT
/*
 * netlink.c - what the inside installs over rtnetlink: link state,
 * addresses, routes and policy rules (the client itself is lib/netlink.c).
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>

#include "tun/netlink.h"

int tun_nl_link_set(struct tg_nl *nl, int ifindex, uint32_t mtu)
{
	struct tg_nl_req r;
	struct ifinfomsg *ifi =
		tg_nl_req_init(&r, RTM_NEWLINK, 0, sizeof(*ifi));
	int err;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (mtu && (err = tg_nl_attr_put_u32(&r.n, sizeof(r), IFLA_MTU, mtu)))
		return err;
	return tg_nl_talk(nl, &r.n);
}

int tun_nl_addr(struct tg_nl *nl, bool add, int ifindex, int family,
		const uint8_t *addr)
{
	struct tg_nl_req r;
	struct ifaddrmsg *ifa = tg_nl_req_init(
		&r, add ? RTM_NEWADDR : RTM_DELADDR,
		add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*ifa));
	size_t alen = tg_addr_len(family);
	int err;

	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)(alen * 8);
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* the address is ours alone: no need to wait for DAD to use it */
	if (family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	if ((err = tg_nl_attr_put(&r.n, sizeof(r), IFA_LOCAL, addr, alen)) ||
	    (err = tg_nl_attr_put(&r.n, sizeof(r), IFA_ADDRESS, addr, alen)))
		return err;
	if (family == AF_INET6 &&
	    (err = tg_nl_attr_put_u32(&r.n, sizeof(r), IFA_FLAGS,
				       IFA_F_NODAD)))
		return err;
	return tg_nl_talk(nl, &r.n);
}

static uint8_t route_scope(bool add, const struct tun_nl_route *rt)
{
	if (!add)
		return RT_SCOPE_NOWHERE; /* matches any scope */
	if (rt->type == RTN_UNICAST && rt->oif && !rt->gw)
		return RT_SCOPE_LINK; /* on-link: no gateway */
	return RT_SCOPE_UNIVERSE;
}

int tun_nl_route(struct tg_nl *nl, bool add, const struct tun_nl_route *rt)
{
	struct tg_nl_req r;
	struct rtmsg *rtm = tg_nl_req_init(
		&r, add ? RTM_NEWROUTE : RTM_DELROUTE,
		add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*rtm));
	size_t alen = tg_addr_len(rt->dst.family);
	int err = 0;

	rtm->rtm_family = rt->dst.family;
	rtm->rtm_dst_len = rt->dst.plen;
	rtm->rtm_table = rt->table < 256 ? (uint8_t)rt->table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = add ? RTPROT_STATIC : RTPROT_UNSPEC;
	if (rt->proto)
		rtm->rtm_protocol = rt->proto;
	rtm->rtm_scope = route_scope(add, rt);
	rtm->rtm_type = rt->type;
	if ((err = tg_nl_attr_put_u32(&r.n, sizeof(r), RTA_TABLE,
				       rt->table)) ||
	    (rt->dst.plen && (err = tg_nl_attr_put(&r.n, sizeof(r), RTA_DST,
						    rt->dst.addr, alen))) ||
	    (rt->oif && (err = tg_nl_attr_put_u32(&r.n, sizeof(r), RTA_OIF,
						   (uint32_t)rt->oif))) ||
	    (rt->prefsrc && (err = tg_nl_attr_put(&r.n, sizeof(r), RTA_PREFSRC,
						   rt->prefsrc, alen))) ||
	    (rt->gw && (err = tg_nl_attr_put(&r.n, sizeof(r), RTA_GATEWAY,
					      rt->gw, alen))))
		return err;
	return tg_nl_talk(nl, &r.n);
}

int tun_nl_rule(struct tg_nl *nl, bool add, const struct tun_nl_rule *ru)
{
	struct tg_nl_req r;
	struct fib_rule_hdr *frh = tg_nl_req_init(
		&r, add ? RTM_NEWRULE : RTM_DELRULE,
		add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*frh));
	int err;

	frh->family = ru->family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = ru->table < 256 ? (uint8_t)ru->table : RT_TABLE_UNSPEC;
	if ((err = tg_nl_attr_put_u32(&r.n, sizeof(r), FRA_PRIORITY,
				       ru->prio)) ||
	    (err = tg_nl_attr_put_u32(&r.n, sizeof(r), FRA_TABLE, ru->table)))
		return err;
	if (ru->suppress >= 0 &&
	    (err = tg_nl_attr_put_u32(&r.n, sizeof(r), FRA_SUPPRESS_PREFIXLEN,
				       (uint32_t)ru->suppress)))
		return err;
	return tg_nl_talk(nl, &r.n);
}

static int rule_dump_cb(const struct nlmsghdr *h, void *arg)
{
	(void)h;
	(void)arg;
	return 0;
}

int tun_nl_rules_work(struct tg_nl *nl)
{
	struct tg_nl_req r;
	struct fib_rule_hdr *frh =
		tg_nl_req_init(&r, RTM_GETRULE, 0, sizeof(*frh));
	int err, tries = 0;

	frh->family = AF_INET;
	do
		err = tg_nl_dump(nl, &r.n, rule_dump_cb, NULL);
	while (err == -EAGAIN && ++tries < 4);
	if (err == -EOPNOTSUPP)
		return 0;
	return err < 0 ? err : 1;
}
