/* SPDX-License-Identifier: MIT */
/*
 * policy.c - which destinations the NAT may reach.
 *
 * Theory of operation: the inside may only reach what the outside offered
 * it, and never, by accident, this machine itself or its neighbours'
 * link-local and multicast space: a container must not reach the
 * developer's localhost services. The checks run in a fixed order so that
 * a refusal names the most telling reason (127.0.0.1 is "loopback", not
 * "not an offered route"). An --allow prefix overrides all of them.
 *
 * IPv6 has spellings of IPv4 addresses that this machine's kernel, a NAT64
 * translator or a 6to4 tunnel on it turns back into the IPv4 address:
 * ::ffff:a.b.c.d (mapped; a dual-stack socket connects to a.b.c.d),
 * ::a.b.c.d (compatible; the sit device's ::/96 route), 64:ff9b::a.b.c.d
 * (RFC 6052's well-known NAT64 prefix) and 2002:AABB:CCDD::/48 (6to4,
 * RFC 3056). Each counts as its IPv4 address: refused as loopback,
 * link-local or own when that address is (unless --allow names it), and
 * a mapped address is refused in any case, being IPv4 in disguise.
 *
 * Own addresses are whatever the caller says, as often as it says it
 * (nat_policy_set_own(): the outside keeps them current, cmd/host.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include "nat/policy.h"

/* refused ranges, in the order they are checked */
static const struct {
	struct tg_prefix pfx;
	enum policy_verdict why;
} special[] = {
	{{AF_INET, 8, {0}}, POLICY_UNSPECIFIED},
	{{AF_INET6, 128, {0}}, POLICY_UNSPECIFIED},
	{{AF_INET, 8, {127}}, POLICY_LOOPBACK},
	{{AF_INET6, 128, {[15] = 1}}, POLICY_LOOPBACK},
	{{AF_INET, 16, {169, 254}}, POLICY_LINK_LOCAL},
	{{AF_INET6, 10, {0xfe, 0x80}}, POLICY_LINK_LOCAL},
	{{AF_INET, 4, {224}}, POLICY_MULTICAST},
	{{AF_INET6, 8, {0xff}}, POLICY_MULTICAST},
	{{AF_INET, 32, {255, 255, 255, 255}}, POLICY_BROADCAST},
};

/* IPv6 prefixes that carry an IPv4 address, and where it sits */
static const struct {
	struct tg_prefix pfx;
	uint8_t at;
} embeds[] = {
	{{AF_INET6, 96, {[10] = 0xff, [11] = 0xff}}, 12}, /* first: mapped */
	{{AF_INET6, 96, {0}}, 12},
	{{AF_INET6, 96, {0x00, 0x64, 0xff, 0x9b}}, 12},
	{{AF_INET6, 16, {0x20, 0x02}}, 2},
};

static struct tg_prefix *dup_prefixes(const struct tg_prefix *src, size_t n)
{
	struct tg_prefix *p;

	if (!n)
		return NULL;
	p = calloc(n, sizeof(*p));
	if (p)
		memcpy(p, src, n * sizeof(*p));
	return p;
}

int nat_policy_set_own(struct nat_policy *p, const struct tg_prefix *own,
		       size_t n)
{
	struct tg_prefix *np = dup_prefixes(own, n);

	if (n && !np)
		return -ENOMEM;
	free(p->own);
	p->own = np;
	p->n_own = n;
	return 0;
}

int nat_policy_init(struct nat_policy *p, const struct nat_opts *o)
{
	memset(p, 0, sizeof(*p));
	p->route_default = o->route_default;
	p->routes = dup_prefixes(o->routes, o->n_routes);
	p->allow = dup_prefixes(o->allow, o->n_allow);
	p->own = dup_prefixes(o->own, o->n_own);
	if ((o->n_routes && !p->routes) || (o->n_allow && !p->allow) ||
	    (o->n_own && !p->own)) {
		nat_policy_free(p);
		return -ENOMEM;
	}
	p->n_routes = o->n_routes;
	p->n_allow = o->n_allow;
	p->n_own = o->n_own;
	return 0;
}

void nat_policy_free(struct nat_policy *p)
{
	free(p->routes);
	free(p->allow);
	free(p->own);
	memset(p, 0, sizeof(*p));
}

static bool match_any(const struct tg_prefix *list, size_t n, int family,
		      const uint8_t *addr)
{
	for (size_t i = 0; i < n; i++)
		if (tg_prefix_match(&list[i], family, addr))
			return true;
	return false;
}

static enum policy_verdict special_range(int family, const uint8_t *addr)
{
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (tg_prefix_match(&special[i].pfx, family, addr))
			return special[i].why;
	return POLICY_ALLOW;
}

/* the verdict on the IPv4 address inside an IPv6 one (the top of the file) */
static enum policy_verdict embedded(const struct nat_policy *p,
				    const uint8_t *addr)
{
	enum policy_verdict v;
	const uint8_t *v4;

	for (size_t i = 0; i < sizeof(embeds) / sizeof(embeds[0]); i++) {
		if (!tg_prefix_match(&embeds[i].pfx, AF_INET6, addr))
			continue;
		v4 = addr + embeds[i].at;
		v = special_range(AF_INET, v4);
		if (v == POLICY_ALLOW &&
		    match_any(p->own, p->n_own, AF_INET, v4))
			v = POLICY_OWN;
		if (match_any(p->allow, p->n_allow, AF_INET, v4))
			v = POLICY_ALLOW;
		if (v == POLICY_LOOPBACK || v == POLICY_LINK_LOCAL ||
		    v == POLICY_OWN)
			return v;
		return i == 0 ? POLICY_MAPPED : POLICY_ALLOW;
	}
	return POLICY_ALLOW;
}

enum policy_verdict nat_policy_check(const struct nat_policy *p, int family,
				     const uint8_t *addr)
{
	enum policy_verdict v;

	if (match_any(p->allow, p->n_allow, family, addr))
		return POLICY_ALLOW;
	v = special_range(family, addr);
	if (v == POLICY_ALLOW && family == AF_INET6)
		v = embedded(p, addr);
	if (v != POLICY_ALLOW)
		return v;
	if (match_any(p->own, p->n_own, family, addr))
		return POLICY_OWN;
	if (!p->route_default &&
	    !match_any(p->routes, p->n_routes, family, addr))
		return POLICY_NOT_OFFERED;
	return POLICY_ALLOW;
}

static const char *const policy_reasons[] = {
	[POLICY_ALLOW] = "allowed",
	[POLICY_UNSPECIFIED] = "unspecified address",
	[POLICY_LOOPBACK] = "loopback",
	[POLICY_LINK_LOCAL] = "link-local",
	[POLICY_MULTICAST] = "multicast",
	[POLICY_BROADCAST] = "broadcast",
	[POLICY_MAPPED] = "IPv4-mapped IPv6 address",
	[POLICY_OWN] = "this machine's own address",
	[POLICY_NOT_OFFERED] = "not an offered route",
};
_Static_assert(sizeof(policy_reasons) / sizeof(policy_reasons[0]) ==
		       POLICY_COUNT,
	       "one reason per enum policy_verdict");

const char *nat_policy_reason(enum policy_verdict v)
{
	return (unsigned)v < POLICY_COUNT ? policy_reasons[v] : "refused";
}

bool nat_policy_no_icmp(enum policy_verdict v)
{
	return v == POLICY_MULTICAST || v == POLICY_BROADCAST ||
	       v == POLICY_UNSPECIFIED;
}

int nat_policy_set_routes(struct nat_policy *p, bool route_default,
			  const struct tg_prefix *routes, size_t n)
{
	struct tg_prefix *r = dup_prefixes(routes, n);

	if (n && !r)
		return -ENOMEM;
	free(p->routes);
	p->routes = r;
	p->n_routes = n;
	p->route_default = route_default;
	return 0;
}
