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
 * Own addresses are read once, when the NAT starts.
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
	{{AF_INET6, 96, {[10] = 0xff, [11] = 0xff}}, POLICY_MAPPED},
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

int nat_policy_add_own(struct nat_policy *p, int family, const uint8_t *addr)
{
	struct tg_prefix *np;

	if (p->n_own == p->cap_own) {
		size_t cap = p->cap_own ? 2 * p->cap_own : 8;

		np = realloc(p->own, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		p->own = np;
		p->cap_own = cap;
	}
	tg_prefix_host(&p->own[p->n_own++], family, addr);
	return 0;
}

int nat_policy_init(struct nat_policy *p, const struct nat_opts *o)
{
	int r = 0;

	memset(p, 0, sizeof(*p));
	p->route_default = o->route_default;
	p->routes = dup_prefixes(o->routes, o->n_routes);
	p->allow = dup_prefixes(o->allow, o->n_allow);
	if ((o->n_routes && !p->routes) || (o->n_allow && !p->allow)) {
		nat_policy_free(p);
		return -ENOMEM;
	}
	p->n_routes = o->n_routes;
	p->n_allow = o->n_allow;
	for (size_t i = 0; i < o->n_own && !r; i++)
		r = nat_policy_add_own(p, o->own[i].family, o->own[i].addr);
	if (r)
		nat_policy_free(p);
	return r;
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

enum policy_verdict nat_policy_check(const struct nat_policy *p, int family,
				     const uint8_t *addr)
{
	enum policy_verdict v;

	if (match_any(p->allow, p->n_allow, family, addr))
		return POLICY_ALLOW;
	v = special_range(family, addr);
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
