/* SPDX-License-Identifier: MIT */
/*
 * prefix.h - an IPv4 or IPv6 address with a prefix length.
 *
 * The one address type that every folder shares: the outside offers
 * prefixes, the CONFIG frame carries them, the inside routes them and the
 * NAT checks destinations against them. IPv4 addresses sit in the first 4
 * bytes of @addr, network byte order; the bytes past them are zero.
 */
#ifndef TG_PREFIX_H
#define TG_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TG_PREFIX_STRLEN 64 /* "ffff:...:ffff/128" and a NUL */

/* the bytes of an address of @family (AF_INET: 4, else 16) */
static inline size_t tg_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

struct tg_prefix {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t plen;
	uint8_t addr[16];
};

/**
 * tg_prefix_parse() - parse "198.18.2.0/24", "fd7e::/16" or a bare address
 * @s:		text
 * @p:		result; host bits are cleared
 *
 * Return: true on success
 */
bool tg_prefix_parse(const char *s, struct tg_prefix *p);

/**
 * tg_prefix_str() - format as "addr/plen"
 * Return: @buf
 */
char *tg_prefix_str(const struct tg_prefix *p, char buf[TG_PREFIX_STRLEN]);

/**
 * tg_prefix_contains() - does @outer cover all of @inner?
 */
bool tg_prefix_contains(const struct tg_prefix *outer,
			const struct tg_prefix *inner);

/**
 * tg_prefix_overlaps() - do the two prefixes share any address?
 */
bool tg_prefix_overlaps(const struct tg_prefix *a, const struct tg_prefix *b);

/**
 * tg_prefix_match() - is the address @addr (4 or 16 bytes by @family) in @p?
 */
bool tg_prefix_match(const struct tg_prefix *p, int family,
		     const uint8_t *addr);

/**
 * tg_prefix_host() - a /32 or /128 prefix for one address
 */
void tg_prefix_host(struct tg_prefix *p, int family, const uint8_t *addr);

/** tg_prefix_eq() - the same family, length and address? */
bool tg_prefix_eq(const struct tg_prefix *a, const struct tg_prefix *b);

/** tg_prefix_in() - is @p one of the @n prefixes of @list? */
bool tg_prefix_in(const struct tg_prefix *list, size_t n,
		  const struct tg_prefix *p);

/** tg_prefix_same_set() - @a and @b hold the same prefixes, in any order
 * (neither holds one twice) */
bool tg_prefix_same_set(const struct tg_prefix *a, size_t na,
			const struct tg_prefix *b, size_t nb);

/** tg_prefix_mask() - clear the host bits of @p */
void tg_prefix_mask(struct tg_prefix *p);

/**
 * tg_prefix_special() - inside loopback, link-local or multicast? Such
 * prefixes are never routed into the tunnel, whichever side asks.
 */
bool tg_prefix_special(const struct tg_prefix *p);

#endif
