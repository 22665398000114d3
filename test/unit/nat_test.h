/* SPDX-License-Identifier: MIT */
/*
 * nat_test.h - packets for the nat/ unit tests, built by hand.
 *
 * Deliberately independent of nat/pkt.c and nat/csum.c: the checksum is a
 * plain loop over a byte array that holds the pseudo-header spelled out,
 * so a bug in the code under test cannot cancel itself out here.
 */
#ifndef NAT_TEST_H
#define NAT_TEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

static inline uint16_t ref_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] * 256 + p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] * 256;
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)(~sum & 0xffff);
}

/* transport checksum: pseudo-header and segment copied into one array */
static inline uint16_t ref_l4_csum(int family, const uint8_t *src,
				   const uint8_t *dst, uint8_t proto,
				   const uint8_t *l4, size_t len)
{
	static uint8_t b[40 + 70000];
	size_t o = 0;

	if (family == AF_INET) {
		memcpy(b, src, 4);
		memcpy(b + 4, dst, 4);
		b[8] = 0;
		b[9] = proto;
		b[10] = (uint8_t)(len >> 8);
		b[11] = (uint8_t)len;
		o = 12;
	} else {
		memcpy(b, src, 16);
		memcpy(b + 16, dst, 16);
		b[32] = (uint8_t)(len >> 24);
		b[33] = (uint8_t)(len >> 16);
		b[34] = (uint8_t)(len >> 8);
		b[35] = (uint8_t)len;
		b[36] = b[37] = b[38] = 0;
		b[39] = proto;
		o = 40;
	}
	memcpy(b + o, l4, len);
	return ref_csum(b, o + len);
}

static inline void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static inline size_t t_iphlen(int family)
{
	return family == AF_INET ? 20 : 40;
}

/* an IP header for @l4len bytes of @proto; returns its length */
static inline size_t t_ip(uint8_t *b, int family, uint8_t proto,
			  const uint8_t *src, const uint8_t *dst, size_t l4len)
{
	if (family == AF_INET) {
		memset(b, 0, 20);
		b[0] = 0x45;
		put16(b + 2, (unsigned)(20 + l4len));
		put16(b + 4, 0x1234);
		b[6] = 0x40; /* DF */
		b[8] = 64;
		b[9] = proto;
		memcpy(b + 12, src, 4);
		memcpy(b + 16, dst, 4);
		put16(b + 10, ref_csum(b, 20));
		return 20;
	}
	memset(b, 0, 40);
	b[0] = 0x60;
	put16(b + 4, (unsigned)l4len);
	b[6] = proto;
	b[7] = 64;
	memcpy(b + 8, src, 16);
	memcpy(b + 24, dst, 16);
	return 40;
}

static inline size_t t_udp(uint8_t *b, int family, const uint8_t *src,
			   unsigned sport, const uint8_t *dst, unsigned dport,
			   const void *data, size_t dlen)
{
	size_t h = t_ip(b, family, IPPROTO_UDP, src, dst, 8 + dlen);
	uint8_t *u = b + h;

	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (unsigned)(8 + dlen));
	put16(u + 6, 0);
	memcpy(u + 8, data, dlen);
	put16(u + 6, ref_l4_csum(family, src, dst, IPPROTO_UDP, u, 8 + dlen));
	if (!get16(u + 6))
		put16(u + 6, 0xffff);
	return h + 8 + dlen;
}

static inline size_t t_echo(uint8_t *b, int family, const uint8_t *src,
			    const uint8_t *dst, unsigned id, unsigned seq,
			    const void *data, size_t dlen)
{
	uint8_t proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	size_t h = t_ip(b, family, proto, src, dst, 8 + dlen);
	uint8_t *m = b + h;

	m[0] = family == AF_INET ? 8 : 128;
	m[1] = 0;
	put16(m + 2, 0);
	put16(m + 4, id);
	put16(m + 6, seq);
	memcpy(m + 8, data, dlen);
	if (family == AF_INET)
		put16(m + 2, ref_csum(m, 8 + dlen));
	else
		put16(m + 2, ref_l4_csum(family, src, dst, proto, m, 8 + dlen));
	return h + 8 + dlen;
}

static inline size_t t_tcp(uint8_t *b, int family, const uint8_t *src,
			   unsigned sport, const uint8_t *dst, unsigned dport,
			   uint32_t seq, uint32_t ack, uint8_t flags,
			   const uint8_t *opt, size_t olen, const void *data,
			   size_t dlen)
{
	size_t thl = 20 + olen, l4 = thl + dlen;
	size_t h = t_ip(b, family, IPPROTO_TCP, src, dst, l4);
	uint8_t *t = b + h;

	memset(t, 0, 20);
	put16(t, sport);
	put16(t + 2, dport);
	put16(t + 4, seq >> 16);
	put16(t + 6, seq & 0xffff);
	put16(t + 8, ack >> 16);
	put16(t + 10, ack & 0xffff);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = flags;
	put16(t + 14, 65535);
	if (olen)
		memcpy(t + 20, opt, olen);
	memcpy(t + thl, data, dlen);
	put16(t + 16, ref_l4_csum(family, src, dst, IPPROTO_TCP, t, l4));
	return h + l4;
}

static const uint8_t T_IN4[4] = {198, 18, 0, 1};
static const uint8_t T_DST4[4] = {198, 18, 7, 7};
static const uint8_t T_LO4[4] = {127, 0, 0, 1};
static const uint8_t T_IN6[16] = {0xfd, 0x7e, 0x74, 0x75, 0x00, 0x6e, [15] = 1};
static const uint8_t T_DST6[16] = {0xfd, 0x7e, 0x00, 0x07, [15] = 7};
static const uint8_t T_LO6[16] = {[15] = 1};

#endif
