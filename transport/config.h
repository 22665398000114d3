/* SPDX-License-Identifier: MIT */
/*
 * config.h - what the outside tells the inside in its CONFIG frame.
 *
 * Encoded as TLVs (u16 type, u16 length, value, all big-endian) so that a
 * newer outside can add fields an older inside skips. The outside sends it
 * again whenever its offer changes: an inside takes a second CONFIG as an
 * update of the routes.
 */
#ifndef TP_CONFIG_H
#define TP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/prefix.h"

#define TP_CONFIG_MAX_ROUTES 512
#define TP_CONFIG_MAX_KEEP 16
#define TP_CONFIG_SEARCH_MAX 256

struct tp_config {
	uint32_t mtu;
	bool dns;		/* the inside should point resolv.conf at dns4/6 */
	bool route_default;	/* everything goes through the tunnel */
	uint8_t tun4[4], tun6[16];
	uint8_t dns4[4], dns6[16];
	char search[TP_CONFIG_SEARCH_MAX]; /* space separated search domains */
	size_t n_routes;
	struct tg_prefix routes[TP_CONFIG_MAX_ROUTES];
	size_t n_keep;		/* the stream's own path: never routed into
				 * the tunnel, even when an offer holds it */
	struct tg_prefix keep[TP_CONFIG_MAX_KEEP];
};

/**
 * tp_config_encode() - serialise @c into @buf
 * Return: length written, or -ENOSPC
 */
int tp_config_encode(const struct tp_config *c, uint8_t *buf, size_t cap);

/**
 * tp_config_decode() - parse a CONFIG payload; unknown TLVs are skipped
 * Return: 0, or -EBADMSG (truncated TLV, bad prefix, too many routes)
 */
int tp_config_decode(struct tp_config *c, const uint8_t *buf, size_t len);

/**
 * tp_config_v4_only() - what an inside without IPv6 is offered: @c's IPv6
 * routes and keep prefixes dropped, its IPv6 TUN and DNS addresses zeroed
 * (the inside then sets up no IPv6 at all)
 */
void tp_config_v4_only(struct tp_config *c);

#endif
