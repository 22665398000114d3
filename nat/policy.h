/* SPDX-License-Identifier: MIT */
/*
 * policy.h - which destinations the NAT may reach.
 */
#ifndef NAT_POLICY_H
#define NAT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/nat.h"
#include "lib/prefix.h"

enum policy_verdict {
	POLICY_ALLOW = 0,
	POLICY_UNSPECIFIED,
	POLICY_LOOPBACK,
	POLICY_LINK_LOCAL,
	POLICY_MULTICAST,
	POLICY_BROADCAST,
	POLICY_MAPPED,
	POLICY_OWN,
	POLICY_NOT_OFFERED,
	POLICY_COUNT
};

struct nat_policy {
	bool route_default;
	struct tg_prefix *routes, *allow, *own;
	size_t n_routes, n_allow, n_own;
};

/**
 * nat_policy_init() - copy the routes, the allow list and this machine's own
 * addresses of @o
 * @p:		policy
 * @o:		options
 *
 * Return: 0 or -ENOMEM
 */
int nat_policy_init(struct nat_policy *p, const struct nat_opts *o);

void nat_policy_free(struct nat_policy *p);

/**
 * nat_policy_set_own() - replace this machine's own addresses
 * @p:		policy
 * @own:	host prefixes (copied)
 * @n:		their number
 *
 * Return: 0, or -ENOMEM (the old ones stay)
 */
int nat_policy_set_own(struct nat_policy *p, const struct tg_prefix *own,
		       size_t n);

/**
 * nat_policy_check() - may the NAT send to @addr?
 * @p:		policy
 * @family:	AF_INET or AF_INET6
 * @addr:	4 or 16 bytes
 *
 * The allow list wins over every refusal. An IPv6 address that embeds
 * an IPv4 one (mapped, compatible, NAT64, 6to4) is refused as that
 * IPv4 address is when it is loopback, link-local or own.
 *
 * Return: POLICY_ALLOW or the reason for refusing
 */
enum policy_verdict nat_policy_check(const struct nat_policy *p, int family,
				     const uint8_t *addr);

/** nat_policy_reason() - the reason in words, for a log line */
const char *nat_policy_reason(enum policy_verdict v);

/**
 * nat_policy_no_icmp() - may not be answered with an ICMP error: a multicast
 * or broadcast destination (RFC 1122 3.2.2, RFC 4443 2.4 e)
 */
bool nat_policy_no_icmp(enum policy_verdict v);

/**
 * nat_policy_set_routes() - replace the offered prefixes
 * Return: 0, or -ENOMEM (the old ones stay)
 */
int nat_policy_set_routes(struct nat_policy *p, bool route_default,
			  const struct tg_prefix *routes, size_t n);

#endif
