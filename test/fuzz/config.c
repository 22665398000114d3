// SPDX-License-Identifier: MIT
/*
 * config.c - fuzz the CONFIG payload decoder of transport/config.c.
 *
 * Property: whatever the decoder accepts is something the inside can act
 * on safely (MTU in range, routes masked and within their family, search
 * text printable) and survives encode + decode unchanged.
 */
#include <string.h>
#include <sys/socket.h>

#include "transport/config.h"
#include "test/fuzz/fuzz.h"

static void check_sane(const struct tp_config *c)
{
	FZ_CHECK(c->mtu >= 1280 && c->mtu <= 65535);
	FZ_CHECK(c->n_routes <= TP_CONFIG_MAX_ROUTES);
	FZ_CHECK(strlen(c->search) < sizeof(c->search));
	for (const char *s = c->search; *s; s++)
		FZ_CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct tg_prefix *r = &c->routes[i];
		unsigned bits = r->family == AF_INET ? 32 : 128;

		FZ_CHECK(r->family == AF_INET || r->family == AF_INET6);
		FZ_CHECK(r->plen <= bits);
		for (unsigned b = r->plen; b < 128; b++)
			FZ_CHECK(!(r->addr[b / 8] & (0x80 >> (b % 8))));
	}
}

static bool same(const struct tp_config *a, const struct tp_config *b)
{
	/* a later SEARCH TLV leaves a longer earlier one behind its NUL */
	return a->mtu == b->mtu && a->dns == b->dns &&
	       a->route_default == b->route_default &&
	       !memcmp(a->tun4, b->tun4, 4) && !memcmp(a->tun6, b->tun6, 16) &&
	       !memcmp(a->dns4, b->dns4, 4) && !memcmp(a->dns6, b->dns6, 16) &&
	       !strcmp(a->search, b->search) && a->n_routes == b->n_routes &&
	       !memcmp(a->routes, b->routes,
		       a->n_routes * sizeof(a->routes[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tp_config c, c2;
	static uint8_t buf[65536];
	int n;

	if (tp_config_decode(&c, data, size) < 0)
		return 0;
	check_sane(&c);
	n = tp_config_encode(&c, buf, sizeof(buf));
	/* 512 routes of 21 bytes and the rest fit a frame: never -ENOSPC */
	FZ_CHECK(n > 0 && n <= 65535);
	FZ_CHECK(tp_config_decode(&c2, buf, (size_t)n) == 0);
	FZ_CHECK(same(&c, &c2));
	return 0;
}
