/* SPDX-License-Identifier: MIT */
/*
 * prefix.c - IPv4/IPv6 prefixes: parse, print, compare.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cmd/prefix.h"

static unsigned addr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* keep the first @plen bits of @addr, zero the rest */
static void mask_bits(uint8_t *addr, unsigned bytes, unsigned plen)
{
	for (unsigned i = 0; i < bytes; i++) {
		if (plen >= 8) {
			plen -= 8;
			continue;
		}
		addr[i] &= (uint8_t)(0xff << (8 - plen));
		plen = 0;
	}
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
	mask_bits(p->addr, addr_bits(p->family) / 8, p->plen);
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
