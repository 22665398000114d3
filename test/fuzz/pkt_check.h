/* SPDX-License-Identifier: MIT */
/*
 * pkt_check.h - for the fuzz targets: is a packet that nat_pkt_parse()
 * accepted, or that the NAT built, what it claims to be? The checksums are
 * computed again from the parsed fields with nat/csum.h.
 */
#ifndef TG_PKT_CHECK_H
#define TG_PKT_CHECK_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/csum.h"
#include "test/fuzz/fuzz.h"
#include "nat/pkt.h"

static inline void check_csum(const struct pkt_info *pi)
{
	uint32_t sum = tg_csum_pseudo(pi->family, pi->src, pi->dst, pi->proto,
				   (uint32_t)pi->l4_len);

	switch (pi->proto) {
	case IPPROTO_UDP:
		FZ_CHECK(pi->l4_len >= PKT_UDP_HLEN);
		if (pi->family == AF_INET && !tg_be16(pi->l4 + 6))
			return;
		break;
	case IPPROTO_TCP:
		FZ_CHECK(pi->tcp_hlen >= PKT_TCP_HLEN &&
			 pi->tcp_hlen <= pi->l4_len);
		break;
	case IPPROTO_ICMP:
		sum = 0;
		/* fall through */
	case IPPROTO_ICMPV6:
		FZ_CHECK(pi->l4_len >= PKT_ICMP_HLEN);
		break;
	default:
		FZ_CHECK(!"parsed an unsupported transport");
	}
	FZ_CHECK(tg_csum_fold(tg_csum_add(sum, pi->l4, pi->l4_len)) == 0);
}

/* a packet the NAT hands to the inside: whole, valid, within the MTU */
static inline void check_emitted(const uint8_t *p, size_t len, uint32_t mtu)
{
	struct pkt_info pi;

	FZ_CHECK(len <= mtu);
	FZ_CHECK(nat_pkt_parse(p, len, &pi) == 0);
	FZ_CHECK(pi.ip_len == len);
	check_csum(&pi);
	/* we always compute it: zero would mean none on IPv4 */
	if (pi.proto == IPPROTO_UDP)
		FZ_CHECK(tg_be16(pi.l4 + 6) != 0);
}

/* where the transport header of @p starts, and its protocol; or 0 */
static inline size_t fz_l4_off(const uint8_t *p, size_t len, uint8_t *proto,
			       size_t *l4_len)
{
	size_t off, end;
	uint8_t nh;

	if (len >= 20 && p[0] >> 4 == 4) {
		off = (size_t)(p[0] & 0xf) * 4;
		end = tg_be16(p + 2);
		*proto = p[9];
	} else if (len >= 40 && p[0] >> 4 == 6) {
		off = 40;
		end = 40 + (size_t)tg_be16(p + 4);
		nh = p[6];
		for (int i = 0; i < PKT_MAX_EXT && off + 8 <= len; i++) {
			if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
			    nh != IPPROTO_DSTOPTS)
				break;
			nh = p[off];
			off += 8 + (size_t)p[off + 1] * 8;
		}
		*proto = nh;
	} else {
		return 0;
	}
	if (end > len)
		end = len;
	if (off >= end)
		return 0;
	*l4_len = end - off;
	return off;
}

/*
 * Make the checksums of @p right, so that a mutated packet gets past them
 * into the code behind: the IPv4 header's, and the transport's over the
 * bytes the IP header says it has (a UDP length field is made to agree).
 */
static inline void fz_fix_csums(uint8_t *p, size_t len)
{
	size_t off, l4_len, at;
	uint8_t proto;
	uint32_t sum;
	uint8_t *t;

	if (len >= 20 && p[0] >> 4 == 4 && (size_t)(p[0] & 0xf) * 4 <= len &&
	    (p[0] & 0xf) >= 5) {
		tg_put_be16(p + 10, 0);
		tg_put_be16(p + 10, tg_csum(p, (size_t)(p[0] & 0xf) * 4));
	}
	off = fz_l4_off(p, len, &proto, &l4_len);
	if (!off)
		return;
	t = p + off;
	if (proto == IPPROTO_UDP && l4_len >= 8) {
		tg_put_be16(t + 4, (uint16_t)l4_len);
		at = 6;
	} else if (proto == IPPROTO_TCP && l4_len >= 20) {
		at = 16;
	} else if ((proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) &&
		   l4_len >= 8) {
		at = 2;
	} else {
		return;
	}
	tg_put_be16(t + at, 0);
	sum = proto == IPPROTO_ICMP
		      ? 0
		      : tg_csum_pseudo(p[0] >> 4 == 4 ? AF_INET : AF_INET6,
				    p + (p[0] >> 4 == 4 ? 12 : 8),
				    p + (p[0] >> 4 == 4 ? 16 : 24), proto,
				    (uint32_t)l4_len);
	tg_put_be16(t + at, tg_csum_fold(tg_csum_add(sum, t, l4_len)));
}

#endif
