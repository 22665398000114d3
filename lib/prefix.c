/* SPDX-License-Identifier: MIT */
/*
 * prefix.c - IPv4/IPv6 prefixes: parse, print, compare, mask, classify.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/prefix.h"

static unsigned addr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* do the first @plen bits of @a and @b agree? */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned whole = plen / 8, rest = plen % 8;

	if (memcmp(a, b, whole))
		return false;
	if (!rest)
		return true;
	return !((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest)));
}

bool tg_prefix_parse(const char *s, struct tg_prefix *p)
{
	char buf[TG_PREFIX_STRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long plen;
	char *end;

	if (alen == 0 || alen >= sizeof(buf))
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(p, 0, sizeof(*p));

	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->family = AF_INET6;
	else
		return false;

	plen = addr_bits(p->family);
	if (slash) {
		/* strtoul would take " 8", "+8" and "-1" */
		if (slash[1] < '0' || slash[1] > '9')
			return false;
		plen = strtoul(slash + 1, &end, 10);
		if (*end || plen > addr_bits(p->family))
			return false;
	}
	p->plen = (uint8_t)plen;
	tg_prefix_mask(p);
	return true;
}

char *tg_prefix_str(const struct tg_prefix *p, char buf[TG_PREFIX_STRLEN])
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, TG_PREFIX_STRLEN, "%s/%u", a, p->plen);
	return buf;
}

bool tg_prefix_contains(const struct tg_prefix *outer,
			const struct tg_prefix *inner)
{
	return outer->family == inner->family && outer->plen <= inner->plen &&
	       bits_equal(outer->addr, inner->addr, outer->plen);
}

bool tg_prefix_overlaps(const struct tg_prefix *a, const struct tg_prefix *b)
{
	unsigned plen = a->plen < b->plen ? a->plen : b->plen;

	return a->family == b->family && bits_equal(a->addr, b->addr, plen);
}

bool tg_prefix_match(const struct tg_prefix *p, int family,
		     const uint8_t *addr)
{
	return p->family == family && bits_equal(p->addr, addr, p->plen);
}

void tg_prefix_host(struct tg_prefix *p, int family, const uint8_t *addr)
{
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)family;
	p->plen = (uint8_t)addr_bits(family);
	memcpy(p->addr, addr, p->plen / 8);
}

bool tg_prefix_eq(const struct tg_prefix *a, const struct tg_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

bool tg_prefix_in(const struct tg_prefix *list, size_t n,
		  const struct tg_prefix *p)
{
	for (size_t i = 0; i < n; i++)
		if (tg_prefix_eq(&list[i], p))
			return true;
	return false;
}

bool tg_prefix_same_set(const struct tg_prefix *a, size_t na,
			const struct tg_prefix *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!tg_prefix_in(b, nb, &a[i]))
			return false;
	return true;
}

void tg_prefix_mask(struct tg_prefix *p)
{
	for (unsigned i = 0, left = p->plen; i < sizeof(p->addr); i++) {
		p->addr[i] &= left >= 8 ? 0xff : (uint8_t)(0xff << (8 - left));
		left = left >= 8 ? left - 8 : 0;
	}
}

bool tg_prefix_special(const struct tg_prefix *p)
{
	static const struct tg_prefix special[] = {
		{.family = AF_INET, .plen = 8, .addr = {127}},
		{.family = AF_INET, .plen = 16, .addr = {169, 254}},
		{.family = AF_INET, .plen = 4, .addr = {224}},
		{.family = AF_INET6, .plen = 128, .addr = {[15] = 1}},
		{.family = AF_INET6, .plen = 10, .addr = {0xfe, 0x80}},
		{.family = AF_INET6, .plen = 8, .addr = {0xff}},
	};

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (tg_prefix_contains(&special[i], p))
			return true;
	return false;
}
