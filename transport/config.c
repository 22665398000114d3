/* SPDX-License-Identifier: MIT */
/*
 * config.c - CONFIG frame payload: struct tp_config as TLVs.
 *
 * Theory of operation: each field is one TLV (u16 type, u16 length, value,
 * big-endian), each route one more TLV, so the payload grows with the
 * route count and a newer outside can add types that an older inside
 * skips. Known types must have their exact length; the decoder rejects
 * anything it would otherwise have to guess about (short TLVs, prefix
 * lengths beyond the address, more routes than fit, control characters in
 * the search list, which ends up in resolv.conf), and an MTU outside
 * 1280..65535, the range a TUN device carrying IPv6 can use.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/config.h"
#include "lib/wire.h"

enum {
	TLV_MTU = 1, /* u32 */
	TLV_FLAGS = 2, /* u32, CFG_F_* */
	TLV_TUN4 = 3, /* 4 bytes */
	TLV_TUN6 = 4, /* 16 bytes */
	TLV_DNS4 = 5, /* 4 bytes */
	TLV_DNS6 = 6, /* 16 bytes */
	TLV_SEARCH = 7, /* text, no NUL */
	TLV_ROUTE4 = 8, /* u8 prefix length, 4 bytes address */
	TLV_ROUTE6 = 9, /* u8 prefix length, 16 bytes address */
	TLV_KEEP4 = 10, /* as TLV_ROUTE4: a prefix to keep out of the tunnel */
	TLV_KEEP6 = 11, /* as TLV_ROUTE6 */
};

enum {
	CFG_F_DNS = 1u << 0,
	CFG_F_ROUTE_DEFAULT = 1u << 1,
};

#define TLV_HDR 4
#define MTU_MIN 1280
#define MTU_MAX 65535

struct tlv_out {
	uint8_t *p;
	size_t left;
};

/* append a TLV header and return where its @len value bytes go */
static uint8_t *tlv_put(struct tlv_out *o, uint16_t type, size_t len)
{
	uint8_t *v;

	if (o->left < TLV_HDR + len)
		return NULL;
	tg_put_be16(o->p, type);
	tg_put_be16(o->p + 2, (uint16_t)len);
	v = o->p + TLV_HDR;
	o->p += TLV_HDR + len;
	o->left -= TLV_HDR + len;
	return v;
}

static bool tlv_put_bytes(struct tlv_out *o, uint16_t type, const void *val,
			  size_t len)
{
	uint8_t *v = tlv_put(o, type, len);

	if (!v)
		return false;
	memcpy(v, val, len);
	return true;
}

static bool tlv_put_u32(struct tlv_out *o, uint16_t type, uint32_t val)
{
	uint8_t *v = tlv_put(o, type, 4);

	if (!v)
		return false;
	tg_put_be32(v, val);
	return true;
}

static bool tlv_put_route(struct tlv_out *o, const struct tg_prefix *r,
			  bool keep)
{
	size_t alen = r->family == AF_INET ? 4 : 16;
	uint16_t type = keep ? (r->family == AF_INET ? TLV_KEEP4 : TLV_KEEP6)
			     : (r->family == AF_INET ? TLV_ROUTE4 : TLV_ROUTE6);
	uint8_t *v;

	v = tlv_put(o, type, 1 + alen);
	if (!v)
		return false;
	v[0] = r->plen;
	memcpy(v + 1, r->addr, alen);
	return true;
}

/**
 * tp_config_encode() - serialise @c into @buf
 * @c:		configuration
 * @buf:	output
 * @cap:	bytes available at @buf
 *
 * Return: length written, -ENOSPC, or -EINVAL for a route that is neither
 * IPv4 nor IPv6 or a route count above TP_CONFIG_MAX_ROUTES (keep prefixes:
 * TP_CONFIG_MAX_KEEP)
 */
int tp_config_encode(const struct tp_config *c, uint8_t *buf, size_t cap)
{
	struct tlv_out o = {.p = buf, .left = cap};
	uint32_t flags = (c->dns ? CFG_F_DNS : 0) |
			 (c->route_default ? CFG_F_ROUTE_DEFAULT : 0);
	size_t slen = strnlen(c->search, sizeof(c->search) - 1);

	if (c->n_routes > TP_CONFIG_MAX_ROUTES ||
	    c->n_keep > TP_CONFIG_MAX_KEEP)
		return -EINVAL;
	if (!tlv_put_u32(&o, TLV_MTU, c->mtu) ||
	    !tlv_put_u32(&o, TLV_FLAGS, flags) ||
	    !tlv_put_bytes(&o, TLV_TUN4, c->tun4, sizeof(c->tun4)) ||
	    !tlv_put_bytes(&o, TLV_TUN6, c->tun6, sizeof(c->tun6)) ||
	    !tlv_put_bytes(&o, TLV_DNS4, c->dns4, sizeof(c->dns4)) ||
	    !tlv_put_bytes(&o, TLV_DNS6, c->dns6, sizeof(c->dns6)))
		return -ENOSPC;
	if (slen && !tlv_put_bytes(&o, TLV_SEARCH, c->search, slen))
		return -ENOSPC;
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct tg_prefix *r = &c->routes[i];

		if (r->family != AF_INET && r->family != AF_INET6)
			return -EINVAL;
		if (!tlv_put_route(&o, r, false))
			return -ENOSPC;
	}
	for (size_t i = 0; i < c->n_keep; i++) {
		const struct tg_prefix *r = &c->keep[i];

		if (r->family != AF_INET && r->family != AF_INET6)
			return -EINVAL;
		if (!tlv_put_route(&o, r, true))
			return -ENOSPC;
	}
	return (int)(cap - o.left);
}

/* zero the bits beyond the prefix, as tg_prefix_parse() does */
static int decode_route(struct tp_config *c, int family, bool keep,
			const uint8_t *v, size_t len)
{
	size_t alen = family == AF_INET ? 4 : 16;
	size_t *n = keep ? &c->n_keep : &c->n_routes;
	struct tg_prefix *r;

	if (len != 1 + alen || v[0] > alen * 8)
		return -EBADMSG;
	if (*n >= (keep ? TP_CONFIG_MAX_KEEP : TP_CONFIG_MAX_ROUTES))
		return -EBADMSG;
	r = keep ? &c->keep[(*n)++] : &c->routes[(*n)++];
	r->family = (uint8_t)family;
	r->plen = v[0];
	memcpy(r->addr, v + 1, alen);
	tg_prefix_mask(r);
	return 0;
}

static int decode_search(struct tp_config *c, const uint8_t *v, size_t len)
{
	if (len >= sizeof(c->search))
		return -EBADMSG;
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] == 0x7f)
			return -EBADMSG;
	memcpy(c->search, v, len);
	c->search[len] = '\0';
	return 0;
}

static int decode_fixed(void *dst, size_t size, const uint8_t *v, size_t len)
{
	if (len != size)
		return -EBADMSG;
	memcpy(dst, v, len);
	return 0;
}

static int decode_tlv(struct tp_config *c, uint16_t type, const uint8_t *v,
		      size_t len)
{
	uint32_t flags;

	switch (type) {
	case TLV_MTU:
		if (len != 4)
			return -EBADMSG;
		c->mtu = tg_be32(v);
		return 0;
	case TLV_FLAGS:
		if (len != 4)
			return -EBADMSG;
		flags = tg_be32(v);
		c->dns = flags & CFG_F_DNS;
		c->route_default = flags & CFG_F_ROUTE_DEFAULT;
		return 0;
	case TLV_TUN4:
		return decode_fixed(c->tun4, sizeof(c->tun4), v, len);
	case TLV_TUN6:
		return decode_fixed(c->tun6, sizeof(c->tun6), v, len);
	case TLV_DNS4:
		return decode_fixed(c->dns4, sizeof(c->dns4), v, len);
	case TLV_DNS6:
		return decode_fixed(c->dns6, sizeof(c->dns6), v, len);
	case TLV_SEARCH:
		return decode_search(c, v, len);
	case TLV_ROUTE4:
		return decode_route(c, AF_INET, false, v, len);
	case TLV_ROUTE6:
		return decode_route(c, AF_INET6, false, v, len);
	case TLV_KEEP4:
		return decode_route(c, AF_INET, true, v, len);
	case TLV_KEEP6:
		return decode_route(c, AF_INET6, true, v, len);
	default:
		return 0; /* from a newer outside: skip */
	}
}

/**
 * tp_config_decode() - parse a CONFIG payload; unknown TLVs are skipped
 * @c:		result, zeroed first
 * @buf:	payload
 * @len:	its length
 *
 * Return: 0, or -EBADMSG (truncated TLV, bad length for a known type, bad
 * prefix, too many routes, MTU missing or outside 1280..65535)
 */
int tp_config_decode(struct tp_config *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int r;

	memset(c, 0, sizeof(*c));
	while (off < len) {
		uint16_t type, vlen;

		if (len - off < TLV_HDR)
			return -EBADMSG;
		type = tg_be16(buf + off);
		vlen = tg_be16(buf + off + 2);
		off += TLV_HDR;
		if (len - off < vlen)
			return -EBADMSG;
		r = decode_tlv(c, type, buf + off, vlen);
		if (r < 0)
			return r;
		off += vlen;
	}
	if (c->mtu < MTU_MIN || c->mtu > MTU_MAX)
		return -EBADMSG;
	return 0;
}

static size_t v4_only(struct tg_prefix *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (p[i].family == AF_INET)
			p[k++] = p[i];
	return k;
}

/**
 * tp_config_v4_only() - drop everything IPv6 from @c
 * @c:		configuration, changed in place; the order of what is left
 *		is kept
 */
void tp_config_v4_only(struct tp_config *c)
{
	c->n_routes = v4_only(c->routes, c->n_routes);
	c->n_keep = v4_only(c->keep, c->n_keep);
	memset(c->tun6, 0, sizeof(c->tun6));
	memset(c->dns6, 0, sizeof(c->dns6));
}
