/* SPDX-License-Identifier: MIT */
/*
 * pkt.c - parse IP packets from the inside, build packets for it.
 *
 * Theory of operation: every byte of a packet from the inside is read
 * through a struct tg_cur, whose pull and get calls fail instead of
 * reading past the end, so a packet of any length and content is either
 * parsed or rejected. The IP layer narrows the cursor to the length the
 * header declares (trailing bytes are ignored), the transport layer then
 * checks its own header, length and checksum. Nothing here allocates or
 * logs: the caller counts and decides.
 *
 * Builders write in place: the NAT receives payloads PKT_HDR_ROOM bytes
 * into its buffer and writes the headers in front of them, so a reply is
 * never copied.
 */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/csum.h"
#include "nat/pkt.h"

/* the transport checksum over the pseudo-header and @pi's l4 bytes */
static uint16_t l4_csum(const struct pkt_info *pi, const uint8_t *l4,
			size_t len)
{
	uint32_t sum = tg_csum_pseudo(pi->family, pi->src, pi->dst, pi->proto,
				   (uint32_t)len);

	return tg_csum_fold(tg_csum_add(sum, l4, len));
}

/* RFC 791; on success @c holds the IP payload */
static int parse_ip4(struct tg_cur *c, struct pkt_info *pi)
{
	const uint8_t *h = tg_cur_pull(c, PKT_IP4_HLEN);
	size_t hlen, tlen;

	if (!h || h[0] >> 4 != 4)
		return -EBADMSG;
	hlen = (size_t)(h[0] & 0xf) * 4;
	tlen = tg_be16(h + 2);
	if (hlen < PKT_IP4_HLEN || tlen < hlen || tlen > c->left + PKT_IP4_HLEN)
		return -EBADMSG;
	/* options: skipped, but they count in the header checksum */
	if (!tg_cur_pull(c, hlen - PKT_IP4_HLEN) || tg_csum(h, hlen))
		return -EBADMSG;
	/* more fragments, or a fragment offset */
	if (tg_be16(h + 6) & 0x3fff)
		return -EPROTONOSUPPORT;

	pi->family = AF_INET;
	pi->ttl = h[8];
	pi->proto = h[9];
	memcpy(pi->src, h + 12, 4);
	memcpy(pi->dst, h + 16, 4);
	pi->ip = h;
	pi->ip_len = tlen;
	pi->ip_hlen = hlen;
	c->left = tlen - hlen;
	return 0;
}

/* RFC 8200 section 4: walk the headers we may skip, refuse the others */
static int parse_ip6_ext(struct tg_cur *c, uint8_t *nh)
{
	const uint8_t *e;
	unsigned i;

	for (i = 0;; i++) {
		switch (*nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			break;
		case IPPROTO_FRAGMENT:
			return -EPROTONOSUPPORT;
		default:
			return 0;
		}
		if (i >= PKT_MAX_EXT)
			return -EPROTONOSUPPORT;
		e = tg_cur_pull(c, 8);
		if (!e || !tg_cur_pull(c, (size_t)e[1] * 8))
			return -EBADMSG;
		/* segments left: the real destination is elsewhere */
		if (*nh == IPPROTO_ROUTING && e[3])
			return -EPROTONOSUPPORT;
		*nh = e[0];
	}
}

static int parse_ip6(struct tg_cur *c, struct pkt_info *pi)
{
	const uint8_t *h = tg_cur_pull(c, PKT_IP6_HLEN);
	size_t plen;
	uint8_t nh;
	int r;

	if (!h || h[0] >> 4 != 6)
		return -EBADMSG;
	plen = tg_be16(h + 4);
	if (plen > c->left)
		return -EBADMSG;
	c->left = plen;
	nh = h[6];
	r = parse_ip6_ext(c, &nh);
	if (r)
		return r;

	pi->family = AF_INET6;
	pi->proto = nh;
	pi->ttl = h[7];
	memcpy(pi->src, h + 8, 16);
	memcpy(pi->dst, h + 24, 16);
	pi->ip = h;
	pi->ip_len = PKT_IP6_HLEN + plen;
	pi->ip_hlen = pi->ip_len - c->left;
	return 0;
}

/* RFC 768 */
static int parse_udp(struct tg_cur *c, struct pkt_info *pi)
{
	const uint8_t *h = tg_cur_pull(c, PKT_UDP_HLEN);
	size_t ulen;

	if (!h)
		return -EBADMSG;
	ulen = tg_be16(h + 4);
	/* a shorter UDP length than IP's leaves padding, which we drop */
	if (ulen < PKT_UDP_HLEN || ulen > c->left + PKT_UDP_HLEN)
		return -EBADMSG;
	/* zero means "no checksum" on IPv4 only (RFC 8200 section 8.1) */
	if ((tg_be16(h + 6) || pi->family == AF_INET6) && l4_csum(pi, h, ulen))
		return -EBADMSG;
	pi->sport = tg_be16(h);
	pi->dport = tg_be16(h + 2);
	pi->l4_len = ulen;
	pi->data_len = ulen - PKT_UDP_HLEN;
	return 0;
}

/* RFC 792, RFC 4443: every message has type, code, checksum, 4 bytes */
static int parse_icmp(struct tg_cur *c, struct pkt_info *pi)
{
	const uint8_t *h = tg_cur_pull(c, PKT_ICMP_HLEN);
	uint16_t sum;

	if (!h)
		return -EBADMSG;
	if (pi->family == AF_INET)
		sum = tg_csum(h, pi->l4_len);
	else
		sum = l4_csum(pi, h, pi->l4_len);
	if (sum)
		return -EBADMSG;
	pi->icmp_type = h[0];
	pi->icmp_code = h[1];
	pi->icmp_id = tg_be16(h + 4);
	pi->icmp_seq = tg_be16(h + 6);
	return 0;
}

/* RFC 793 section 3.1 */
static int parse_tcp(struct tg_cur *c, struct pkt_info *pi)
{
	const uint8_t *h = tg_cur_pull(c, PKT_TCP_HLEN);
	size_t hlen;

	if (!h)
		return -EBADMSG;
	hlen = (size_t)(h[12] >> 4) * 4;
	if (hlen < PKT_TCP_HLEN || !tg_cur_pull(c, hlen - PKT_TCP_HLEN) ||
	    l4_csum(pi, h, pi->l4_len))
		return -EBADMSG;
	pi->sport = tg_be16(h);
	pi->dport = tg_be16(h + 2);
	pi->tcp_seq = tg_be32(h + 4);
	pi->tcp_ack = tg_be32(h + 8);
	pi->tcp_flags = h[13] & 0x3f;
	pi->tcp_win = tg_be16(h + 14);
	pi->tcp_hlen = hlen;
	pi->data_len = pi->l4_len - hlen;
	return 0;
}

int nat_pkt_parse(const uint8_t *buf, size_t len, struct pkt_info *pi)
{
	struct tg_cur c = {.p = buf, .left = len};
	int r;

	memset(pi, 0, sizeof(*pi));
	if (!len)
		return -EBADMSG;
	if (buf[0] >> 4 == 4)
		r = parse_ip4(&c, pi);
	else if (buf[0] >> 4 == 6)
		r = parse_ip6(&c, pi);
	else
		r = -EBADMSG;
	if (r)
		return r;

	pi->l4 = c.p;
	pi->l4_len = c.left;
	switch (pi->proto) {
	case IPPROTO_UDP:
		r = parse_udp(&c, pi);
		break;
	case IPPROTO_TCP:
		r = parse_tcp(&c, pi);
		break;
	case IPPROTO_ICMP:
		r = pi->family == AF_INET ? parse_icmp(&c, pi)
					  : -EPROTONOSUPPORT;
		break;
	case IPPROTO_ICMPV6:
		r = pi->family == AF_INET6 ? parse_icmp(&c, pi)
					   : -EPROTONOSUPPORT;
		break;
	default:
		r = -EPROTONOSUPPORT;
	}
	if (!r)
		pi->data = c.p;
	return r;
}

size_t nat_pkt_ip_hlen(int family)
{
	return family == AF_INET ? PKT_IP4_HLEN : PKT_IP6_HLEN;
}

void nat_pkt_put_ip(uint8_t *buf, int family, const uint8_t *src,
		    const uint8_t *dst, uint8_t proto, size_t l4_len)
{
	if (family == AF_INET) {
		memset(buf, 0, PKT_IP4_HLEN);
		buf[0] = 0x45;
		tg_put_be16(buf + 2, (uint16_t)(PKT_IP4_HLEN + l4_len));
		buf[8] = PKT_TTL;
		buf[9] = proto;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, dst, 4);
		tg_put_be16(buf + 10, tg_csum(buf, PKT_IP4_HLEN));
		return;
	}
	memset(buf, 0, PKT_IP6_HLEN);
	buf[0] = 0x60;
	tg_put_be16(buf + 4, (uint16_t)l4_len);
	buf[6] = proto;
	buf[7] = PKT_TTL;
	memcpy(buf + 8, src, 16);
	memcpy(buf + 24, dst, 16);
}

/* does a transport segment of @l4_len fit the IP length fields? */
static bool l4_fits(int family, size_t l4_len)
{
	return l4_len + (family == AF_INET ? PKT_IP4_HLEN : 0) <= 0xffff;
}

size_t nat_pkt_build_udp(uint8_t *buf, int family, const uint8_t *src,
			 uint16_t sport, const uint8_t *dst, uint16_t dport,
			 size_t plen)
{
	size_t hlen = nat_pkt_ip_hlen(family), ulen = PKT_UDP_HLEN + plen;
	uint8_t *u = buf + hlen;
	uint16_t sum;

	if (!l4_fits(family, ulen))
		return 0;
	tg_put_be16(u, sport);
	tg_put_be16(u + 2, dport);
	tg_put_be16(u + 4, (uint16_t)ulen);
	tg_put_be16(u + 6, 0);
	sum = tg_csum_fold(tg_csum_add(
		tg_csum_pseudo(family, src, dst, IPPROTO_UDP, (uint32_t)ulen),
		u, ulen));
	/* a computed zero is sent as all ones (RFC 768) */
	tg_put_be16(u + 6, sum ? sum : 0xffff);
	nat_pkt_put_ip(buf, family, src, dst, IPPROTO_UDP, ulen);
	return hlen + ulen;
}

size_t nat_pkt_build_icmp(uint8_t *buf, int family, const uint8_t *src,
			  const uint8_t *dst, size_t icmp_len)
{
	size_t hlen = nat_pkt_ip_hlen(family);
	uint8_t *m = buf + hlen;
	uint8_t proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	uint32_t sum = 0;

	if (icmp_len < PKT_ICMP_HLEN || !l4_fits(family, icmp_len))
		return 0;
	tg_put_be16(m + 2, 0);
	if (family == AF_INET6)
		sum = tg_csum_pseudo6(src, dst, proto, (uint32_t)icmp_len);
	tg_put_be16(m + 2, tg_csum_fold(tg_csum_add(sum, m, icmp_len)));
	nat_pkt_put_ip(buf, family, src, dst, proto, icmp_len);
	return hlen + icmp_len;
}

void nat_pkt_unreach_code(int family, enum pkt_unreach why, uint8_t *type,
			  uint8_t *code)
{
	static const uint8_t v4[] = {
		[PKT_UNREACH_NET] = 0,
		[PKT_UNREACH_HOST] = 1,
		[PKT_UNREACH_PORT] = 3,
		[PKT_UNREACH_ADMIN] = 13,
	};
	static const uint8_t v6[] = {
		[PKT_UNREACH_NET] = 0,
		[PKT_UNREACH_HOST] = 3,
		[PKT_UNREACH_PORT] = 4,
		[PKT_UNREACH_ADMIN] = 1,
	};
	_Static_assert(sizeof(v4) == PKT_UNREACH_COUNT &&
			       sizeof(v6) == PKT_UNREACH_COUNT,
		       "one code per enum pkt_unreach and family");

	assert((unsigned)why < PKT_UNREACH_COUNT);
	*type = family == AF_INET ? PKT_ICMP4_UNREACH : PKT_ICMP6_UNREACH;
	*code = family == AF_INET ? v4[why] : v6[why];
}

size_t nat_pkt_build_icmp_error(uint8_t *buf, size_t cap, const uint8_t *from,
				enum pkt_unreach why, const uint8_t *orig,
				size_t orig_len)
{
	int family;
	size_t quote, hlen;
	const uint8_t *to;
	uint8_t *m;

	if (orig_len >= PKT_IP4_HLEN && orig[0] >> 4 == 4) {
		family = AF_INET;
		to = orig + 12;
		quote = (size_t)(orig[0] & 0xf) * 4 + 8;
	} else if (orig_len >= PKT_IP6_HLEN && orig[0] >> 4 == 6) {
		family = AF_INET6;
		to = orig + 8;
		quote = PKT_ICMP6_ERR_MAX - PKT_IP6_HLEN - PKT_ICMP_HLEN;
	} else {
		return 0;
	}
	if (quote > orig_len)
		quote = orig_len;
	hlen = nat_pkt_ip_hlen(family);
	if (cap < hlen + PKT_ICMP_HLEN + quote)
		return 0;
	m = buf + hlen;
	nat_pkt_unreach_code(family, why, &m[0], &m[1]);
	memset(m + 2, 0, 6);
	memmove(m + PKT_ICMP_HLEN, orig, quote);
	return nat_pkt_build_icmp(buf, family, from, to, PKT_ICMP_HLEN + quote);
}

size_t nat_pkt_build_tcp(uint8_t *buf, size_t cap, const struct pkt_tcp_seg *s)
{
	size_t iphl = nat_pkt_ip_hlen(s->family);
	size_t thl = PKT_TCP_HLEN + s->opt_len, l4 = thl + s->data_len;
	uint8_t *t = buf + iphl;
	uint32_t sum;

	if (s->opt_len % 4 || s->opt_len > 40 || cap < iphl + l4 ||
	    !l4_fits(s->family, l4))
		return 0;
	/* the data first: it may sit where it belongs already */
	if (s->data_len && s->data != t + thl)
		memmove(t + thl, s->data, s->data_len);
	tg_put_be16(t, s->sport);
	tg_put_be16(t + 2, s->dport);
	tg_put_be32(t + 4, s->seq);
	tg_put_be32(t + 8, s->ack);
	t[12] = (uint8_t)(thl / 4 << 4);
	t[13] = s->flags;
	tg_put_be16(t + 14, s->win);
	tg_put_be32(t + 16, 0); /* checksum, urgent pointer */
	if (s->opt_len)
		memcpy(t + PKT_TCP_HLEN, s->opt, s->opt_len);
	sum = tg_csum_pseudo(s->family, s->src, s->dst, IPPROTO_TCP,
			     (uint32_t)l4);
	tg_put_be16(t + 16, tg_csum_fold(tg_csum_add(sum, t, l4)));
	nat_pkt_put_ip(buf, s->family, s->src, s->dst, IPPROTO_TCP, l4);
	return iphl + l4;
}

size_t nat_pkt_build_tcp_rst(uint8_t *buf, size_t cap,
			     const struct pkt_info *pi)
{
	struct pkt_tcp_seg s = {
		.family = pi->family,
		.src = pi->dst,
		.dst = pi->src,
		.sport = pi->dport,
		.dport = pi->sport,
		.flags = PKT_TCP_RST,
	};

	if (pi->tcp_flags & PKT_TCP_RST)
		return 0;
	if (pi->tcp_flags & PKT_TCP_ACK) {
		s.seq = pi->tcp_ack;
	} else {
		/* SEG.LEN counts SYN and FIN as one octet each */
		s.ack = pi->tcp_seq + (uint32_t)pi->data_len +
			!!(pi->tcp_flags & PKT_TCP_SYN) +
			!!(pi->tcp_flags & PKT_TCP_FIN);
		s.flags |= PKT_TCP_ACK;
	}
	return nat_pkt_build_tcp(buf, cap, &s);
}
