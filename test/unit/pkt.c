/* SPDX-License-Identifier: MIT */
/*
 * pkt.c - unit tests for nat/pkt.c: parse valid packets, reject broken
 * ones at every truncation (ASan watches every read), and check that the
 * builders' packets parse and verify.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "nat/pkt.h"
#include "test/unit/nat_test.h"

static uint8_t buf[70000];

/* parse a copy of exactly @len bytes, so ASan sees any read past it */
static int parse_exact(const uint8_t *p, size_t len, struct pkt_info *pi)
{
	uint8_t *c = malloc(len ? len : 1);
	int r;

	assert_non_null(c);
	memcpy(c, p, len);
	r = nat_pkt_parse(c, len, pi);
	free(c);
	return r;
}

static void test_cursor(void **state)
{
	const uint8_t b[] = {1, 2, 3};
	struct tg_cur c = {b, sizeof(b)};
	uint16_t v16;
	uint32_t v32;
	uint8_t v8;

	assert_null(tg_cur_pull(&c, 4));
	assert_int_equal(c.left, 3);
	assert_false(tg_cur_be32(&c, &v32));
	assert_true(tg_cur_be16(&c, &v16));
	assert_int_equal(v16, 0x0102);
	assert_false(tg_cur_be16(&c, &v16));
	assert_int_equal(c.left, 1);
	assert_true(tg_cur_u8(&c, &v8));
	assert_int_equal(v8, 3);
	assert_false(tg_cur_u8(&c, &v8));
	assert_non_null(tg_cur_pull(&c, 0));
}

/* @pi is a UDP datagram @src:@sport -> @dst:@dport with @len bytes of data */
static void check_udp_info(const struct pkt_info *pi, int family,
			   const uint8_t *src, unsigned sport,
			   const uint8_t *dst, unsigned dport, size_t len)
{
	size_t alen = family == AF_INET ? 4 : 16;

	assert_int_equal(pi->family, family);
	assert_int_equal(pi->proto, IPPROTO_UDP);
	assert_memory_equal(pi->src, src, alen);
	assert_memory_equal(pi->dst, dst, alen);
	assert_int_equal(pi->sport, sport);
	assert_int_equal(pi->dport, dport);
	assert_int_equal(pi->ip_hlen, t_iphlen(family));
	assert_int_equal(pi->data_len, len);
}

static void test_udp4(void **state)
{
	struct pkt_info pi;
	size_t n = t_udp(buf, AF_INET, T_IN4, 40000, T_DST4, 53, "hello", 5);

	assert_int_equal(parse_exact(buf, n, &pi), 0);
	check_udp_info(&pi, AF_INET, T_IN4, 40000, T_DST4, 53, 5);
	assert_int_equal(pi.ip_len, n);
	assert_int_equal(pi.l4_len, 13);
	assert_int_equal(pi.ttl, 64);

	/* data points into the caller's buffer */
	assert_int_equal(nat_pkt_parse(buf, n, &pi), 0);
	assert_ptr_equal(pi.data, buf + 28);
	assert_ptr_equal(pi.ip, buf);

	/* trailing bytes past the total length are ignored */
	assert_int_equal(parse_exact(buf, n + 7, &pi), 0);
	assert_int_equal(pi.ip_len, n);

	/* checksum zero: none, on IPv4 */
	put16(buf + 26, 0);
	assert_int_equal(parse_exact(buf, n, &pi), 0);
}

static void test_udp6(void **state)
{
	struct pkt_info pi;
	size_t n = t_udp(buf, AF_INET6, T_IN6, 5353, T_DST6, 5000, "x", 1);

	assert_int_equal(parse_exact(buf, n, &pi), 0);
	check_udp_info(&pi, AF_INET6, T_IN6, 5353, T_DST6, 5000, 1);
	assert_int_equal(parse_exact(buf, n + 3, &pi), 0);
	assert_int_equal(pi.ip_len, n);
	/* IPv6 requires the UDP checksum */
	put16(buf + 46, 0);
	assert_int_equal(parse_exact(buf, n, &pi), -EBADMSG);
}

static void test_icmp(void **state)
{
	struct pkt_info pi;
	size_t n = t_echo(buf, AF_INET, T_IN4, T_DST4, 0x1234, 7, "ping", 4);

	assert_int_equal(parse_exact(buf, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_ICMP);
	assert_int_equal(pi.icmp_type, 8);
	assert_int_equal(pi.icmp_code, 0);
	assert_int_equal(pi.icmp_id, 0x1234);
	assert_int_equal(pi.icmp_seq, 7);
	assert_int_equal(pi.l4_len, 12);
	buf[n - 1] ^= 1;
	assert_int_equal(parse_exact(buf, n, &pi), -EBADMSG);

	n = t_echo(buf, AF_INET6, T_IN6, T_DST6, 0xbeef, 9, "ping6", 5);
	assert_int_equal(parse_exact(buf, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_ICMPV6);
	assert_int_equal(pi.icmp_type, 128);
	assert_int_equal(pi.icmp_id, 0xbeef);
	assert_int_equal(pi.icmp_seq, 9);
	/* ICMPv6 needs the pseudo-header: a plain sum would not verify */
	buf[n - 1] ^= 1;
	assert_int_equal(parse_exact(buf, n, &pi), -EBADMSG);

	/* ICMP in IPv6 and ICMPv6 in IPv4 are not what they claim */
	n = t_echo(buf, AF_INET, T_IN4, T_DST4, 1, 1, "", 0);
	buf[9] = IPPROTO_ICMPV6;
	put16(buf + 10, 0);
	put16(buf + 10, ref_csum(buf, 20));
	assert_int_equal(parse_exact(buf, n, &pi), -EPROTONOSUPPORT);
}

static void test_tcp(void **state)
{
	const uint8_t mss[] = {2, 4, 0x05, 0xb4};
	struct pkt_info pi;
	size_t n;

	n = t_tcp(buf, AF_INET, T_IN4, 33000, T_DST4, 80, 1000, 0, PKT_TCP_SYN,
		  mss, 4, "", 0);
	assert_int_equal(parse_exact(buf, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_TCP);
	assert_int_equal(pi.sport, 33000);
	assert_int_equal(pi.dport, 80);
	assert_int_equal(pi.tcp_seq, 1000);
	assert_int_equal(pi.tcp_flags, PKT_TCP_SYN);
	assert_int_equal(pi.tcp_hlen, 24);
	assert_int_equal(pi.tcp_win, 65535);
	assert_int_equal(pi.data_len, 0);

	n = t_tcp(buf, AF_INET6, T_IN6, 1, T_DST6, 2, 0xfffffff0, 77,
		  PKT_TCP_ACK | PKT_TCP_PSH, NULL, 0, "data", 4);
	assert_int_equal(parse_exact(buf, n, &pi), 0);
	assert_int_equal(pi.tcp_seq, 0xfffffff0);
	assert_int_equal(pi.tcp_ack, 77);
	assert_int_equal(pi.data_len, 4);
	assert_memory_equal(pi.data, "data", 4);

	/* data offset below 5, and past the segment */
	buf[40 + 12] = 0x40;
	assert_int_equal(parse_exact(buf, n, &pi), -EBADMSG);
	buf[40 + 12] = 0xf0;
	assert_int_equal(parse_exact(buf, n, &pi), -EBADMSG);
}

/* every proper prefix of a valid packet is rejected, and read in bounds */
static void truncate_all(const uint8_t *p, size_t n)
{
	struct pkt_info pi;

	assert_int_equal(parse_exact(p, n, &pi), 0);
	for (size_t len = 0; len < n; len++)
		assert_int_not_equal(parse_exact(p, len, &pi), 0);
}

static void test_truncated(void **state)
{
	const uint8_t opt[] = {1, 1, 1, 0};
	uint8_t p[200];

	truncate_all(p, t_udp(p, AF_INET, T_IN4, 1, T_DST4, 2, "abc", 3));
	truncate_all(p, t_udp(p, AF_INET6, T_IN6, 1, T_DST6, 2, "abc", 3));
	truncate_all(p, t_echo(p, AF_INET, T_IN4, T_DST4, 1, 2, "ab", 2));
	truncate_all(p, t_echo(p, AF_INET6, T_IN6, T_DST6, 1, 2, "ab", 2));
	truncate_all(p, t_tcp(p, AF_INET, T_IN4, 1, T_DST4, 2, 3, 4,
			      PKT_TCP_ACK, opt, 4, "xyz", 3));
	truncate_all(p, t_tcp(p, AF_INET6, T_IN6, 1, T_DST6, 2, 3, 4,
			      PKT_TCP_SYN, NULL, 0, "", 0));
}

/* refresh the IPv4 header checksum after editing the header */
static void fix_ip4(uint8_t *p)
{
	size_t hl = (size_t)(p[0] & 0xf) * 4;

	put16(p + 10, 0);
	put16(p + 10, ref_csum(p, hl < 20 ? 20 : hl));
}

static void test_ip4_bad(void **state)
{
	struct pkt_info pi;
	uint8_t p[200], q[200];
	size_t n = t_udp(p, AF_INET, T_IN4, 1, T_DST4, 2, "abcdef", 6);

	memcpy(q, p, n);
	q[0] = 0x44; /* IHL 4 */
	fix_ip4(q);
	assert_int_equal(parse_exact(q, n, &pi), -EBADMSG);

	memcpy(q, p, n);
	q[0] = 0x4f; /* IHL 15: 60 bytes, more than the packet */
	fix_ip4(q);
	assert_int_equal(parse_exact(q, n, &pi), -EBADMSG);

	memcpy(q, p, n);
	put16(q + 2, (unsigned)n + 1); /* total length > buffer */
	fix_ip4(q);
	assert_int_equal(parse_exact(q, n, &pi), -EBADMSG);

	memcpy(q, p, n);
	put16(q + 2, 19); /* total length < header */
	fix_ip4(q);
	assert_int_equal(parse_exact(q, n, &pi), -EBADMSG);

	memcpy(q, p, n);
	q[10] ^= 0x40; /* header checksum */
	assert_int_equal(parse_exact(q, n, &pi), -EBADMSG);

	memcpy(q, p, n);
	q[0] = 0x55; /* version 5 */
	assert_int_equal(parse_exact(q, n, &pi), -EBADMSG);

	memcpy(q, p, n);
	q[6] = 0x20; /* more fragments */
	fix_ip4(q);
	assert_int_equal(parse_exact(q, n, &pi), -EPROTONOSUPPORT);

	memcpy(q, p, n);
	put16(q + 6, 0x0001); /* fragment offset */
	fix_ip4(q);
	assert_int_equal(parse_exact(q, n, &pi), -EPROTONOSUPPORT);

	memcpy(q, p, n);
	q[9] = 47; /* GRE */
	fix_ip4(q);
	assert_int_equal(parse_exact(q, n, &pi), -EPROTONOSUPPORT);
}

/* IPv4 options are skipped, and checked by the header checksum */
static void test_ip4_options(void **state)
{
	struct pkt_info pi;
	uint8_t p[200], q[200];
	size_t n = t_udp(p, AF_INET, T_IN4, 1, T_DST4, 2, "abcdef", 6);

	/* insert 4 bytes of NOP options after the fixed header */
	memcpy(q, p, 20);
	memset(q + 20, 1, 4);
	memcpy(q + 24, p + 20, n - 20);
	q[0] = 0x46;
	put16(q + 2, (unsigned)n + 4);
	fix_ip4(q);
	assert_int_equal(parse_exact(q, n + 4, &pi), 0);
	assert_int_equal(pi.ip_hlen, 24);
	assert_int_equal(pi.sport, 1);
	assert_int_equal(pi.data_len, 6);
	q[21] = 0; /* an option byte changed: the checksum catches it */
	assert_int_equal(parse_exact(q, n + 4, &pi), -EBADMSG);
}

static void test_udp_bad(void **state)
{
	struct pkt_info pi;
	uint8_t p[200], q[200];
	size_t n = t_udp(p, AF_INET, T_IN4, 1, T_DST4, 2, "abcdef", 6);

	memcpy(q, p, n);
	put16(q + 24, 7); /* UDP length below its header */
	assert_int_equal(parse_exact(q, n, &pi), -EBADMSG);
	put16(q + 24, 15); /* past the IP payload */
	assert_int_equal(parse_exact(q, n, &pi), -EBADMSG);
	memcpy(q, p, n);
	q[n - 1] ^= 0xff; /* payload changed: checksum fails */
	assert_int_equal(parse_exact(q, n, &pi), -EBADMSG);

	/* a shorter UDP length leaves padding, which is not payload */
	n = t_udp(p, AF_INET, T_IN4, 1, T_DST4, 2, "abcdef", 6);
	memcpy(q, p, n);
	q[n] = 0;
	q[n + 1] = 0;
	put16(q + 2, (unsigned)n + 2);
	fix_ip4(q);
	assert_int_equal(parse_exact(q, n + 2, &pi), 0);
	assert_int_equal(pi.data_len, 6);
}

/* an IPv6 packet with extension headers @ext (each 8 bytes, chained) */
static size_t ip6_ext(uint8_t *p, const uint8_t *types, size_t n_ext,
		      uint8_t last)
{
	uint8_t u[8 + 3];
	size_t o = 40;

	t_udp(p, AF_INET6, T_IN6, 9, T_DST6, 10, "abc", 3);
	memcpy(u, p + 40, sizeof(u));
	p[6] = n_ext ? types[0] : last;
	for (size_t i = 0; i < n_ext; i++) {
		memset(p + o, 0, 8);
		p[o] = i + 1 < n_ext ? types[i + 1] : last;
		p[o + 1] = 0;
		p[o + 2] = 1; /* PadN */
		o += 8;
	}
	memcpy(p + o, u, sizeof(u));
	put16(p + 4, (unsigned)(o - 40 + sizeof(u)));
	return o + sizeof(u);
}

static void test_ip6_ext(void **state)
{
	const uint8_t hdst[] = {IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
				IPPROTO_ROUTING};
	const uint8_t frag[] = {IPPROTO_HOPOPTS, IPPROTO_FRAGMENT};
	uint8_t many[PKT_MAX_EXT + 1];
	struct pkt_info pi;
	uint8_t p[400];
	size_t n;

	n = ip6_ext(p, hdst, 3, IPPROTO_UDP);
	assert_int_equal(parse_exact(p, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_UDP);
	assert_int_equal(pi.ip_hlen, 40 + 24);
	assert_int_equal(pi.sport, 9);
	assert_int_equal(pi.data_len, 3);
	truncate_all(p, n);

	/* a routing header with segments left: not for us to follow */
	p[40 + 16 + 3] = 1;
	assert_int_equal(parse_exact(p, n, &pi), -EPROTONOSUPPORT);

	/* an extension header longer than the payload */
	n = ip6_ext(p, hdst, 3, IPPROTO_UDP);
	p[40 + 1] = 20;
	assert_int_equal(parse_exact(p, n, &pi), -EBADMSG);

	n = ip6_ext(p, frag, 2, IPPROTO_UDP);
	assert_int_equal(parse_exact(p, n, &pi), -EPROTONOSUPPORT);

	memset(many, IPPROTO_DSTOPTS, sizeof(many));
	n = ip6_ext(p, many, PKT_MAX_EXT, IPPROTO_UDP);
	assert_int_equal(parse_exact(p, n, &pi), 0);
	n = ip6_ext(p, many, PKT_MAX_EXT + 1, IPPROTO_UDP);
	assert_int_equal(parse_exact(p, n, &pi), -EPROTONOSUPPORT);

	/* no next header, and an unknown one */
	n = ip6_ext(p, hdst, 1, 59);
	assert_int_equal(parse_exact(p, n, &pi), -EPROTONOSUPPORT);

	/* payload length past the buffer */
	n = ip6_ext(p, NULL, 0, IPPROTO_UDP);
	put16(p + 4, (unsigned)(n - 40 + 1));
	assert_int_equal(parse_exact(p, n, &pi), -EBADMSG);
}

/* a packet's own checksums, checked with the reference sum */
static void assert_sums(const uint8_t *p, size_t n)
{
	struct pkt_info pi;
	int fam = p[0] >> 4 == 4 ? AF_INET : AF_INET6;
	size_t hl = t_iphlen(fam);

	assert_int_equal(parse_exact(p, n, &pi), 0);
	if (fam == AF_INET)
		assert_int_equal(ref_csum(p, 20), 0);
	if (pi.proto == IPPROTO_ICMP)
		assert_int_equal(ref_csum(p + hl, n - hl), 0);
	else
		assert_int_equal(ref_l4_csum(fam, p + (fam == AF_INET ? 12 : 8),
					     p + (fam == AF_INET ? 16 : 24),
					     pi.proto, p + hl, n - hl),
				 0);
}

static void test_build_udp(void **state)
{
	struct pkt_info pi;
	size_t n;

	memcpy(buf + 28, "reply!", 6);
	n = nat_pkt_build_udp(buf, AF_INET, T_DST4, 53, T_IN4, 40000, 6);
	assert_int_equal(n, 34);
	assert_sums(buf, n);
	assert_int_equal(nat_pkt_parse(buf, n, &pi), 0);
	check_udp_info(&pi, AF_INET, T_DST4, 53, T_IN4, 40000, 6);
	assert_memory_equal(pi.data, "reply!", 6);

	memcpy(buf + 48, "v6 odd", 6);
	n = nat_pkt_build_udp(buf, AF_INET6, T_DST6, 5000, T_IN6, 1, 6);
	assert_int_equal(n, 54);
	assert_sums(buf, n);

	/* the largest datagrams that fit, and one byte more */
	memset(buf + 28, 0xa5, 65535);
	assert_int_equal(nat_pkt_build_udp(buf, AF_INET, T_DST4, 1, T_IN4, 2,
					   65535 - 28),
			 65535);
	assert_sums(buf, 65535);
	assert_int_equal(nat_pkt_build_udp(buf, AF_INET, T_DST4, 1, T_IN4, 2,
					   65535 - 27),
			 0);
	assert_int_equal(nat_pkt_build_udp(buf, AF_INET6, T_DST6, 1, T_IN6, 2,
					   65535 - 8),
			 40 + 65535);
	assert_sums(buf, 40 + 65535);
	assert_int_equal(nat_pkt_build_udp(buf, AF_INET6, T_DST6, 1, T_IN6, 2,
					   65535 - 7),
			 0);
}

static void test_build_icmp(void **state)
{
	struct pkt_info pi;
	uint8_t *m = buf + 20;
	size_t n;

	m[0] = PKT_ICMP4_ECHO_REPLY;
	m[1] = 0;
	put16(m + 4, 0x4242);
	put16(m + 6, 3);
	memcpy(m + 8, "pong", 4);
	n = nat_pkt_build_icmp(buf, AF_INET, T_DST4, T_IN4, 12);
	assert_int_equal(n, 32);
	assert_sums(buf, n);
	assert_int_equal(nat_pkt_parse(buf, n, &pi), 0);
	assert_int_equal(pi.icmp_type, 0);
	assert_int_equal(pi.icmp_id, 0x4242);

	m = buf + 40;
	m[0] = PKT_ICMP6_ECHO_REPLY;
	m[1] = 0;
	memcpy(m + 8, "pong6", 5);
	n = nat_pkt_build_icmp(buf, AF_INET6, T_DST6, T_IN6, 13);
	assert_int_equal(n, 53);
	assert_sums(buf, n);
	assert_int_equal(nat_pkt_build_icmp(buf, AF_INET6, T_DST6, T_IN6, 7),
			 0);
}

static void test_build_icmp_error(void **state)
{
	static uint8_t big[2000], pay[1500];
	struct pkt_info pi;
	uint8_t orig[200], out[1400];
	size_t on, n;

	on = t_udp(orig, AF_INET, T_IN4, 40000, T_DST4, 53, "0123456789", 10);
	n = nat_pkt_build_icmp_error(out, sizeof(out), T_DST4, PKT_UNREACH_PORT,
				     orig, on);
	assert_int_equal(n, 20 + 8 + 28);
	assert_sums(out, n);
	assert_int_equal(nat_pkt_parse(out, n, &pi), 0);
	assert_int_equal(pi.icmp_type, 3);
	assert_int_equal(pi.icmp_code, 3);
	assert_memory_equal(pi.src, T_DST4, 4);
	assert_memory_equal(pi.dst, T_IN4, 4);
	assert_memory_equal(out + 28, orig, 28);

	n = nat_pkt_build_icmp_error(out, sizeof(out), T_DST4,
				     PKT_UNREACH_ADMIN, orig, on);
	assert_int_equal(out[20], 3);
	assert_int_equal(out[21], 13);
	n = nat_pkt_build_icmp_error(out, sizeof(out), T_DST4, PKT_UNREACH_HOST,
				     orig, on);
	assert_int_equal(out[21], 1);
	n = nat_pkt_build_icmp_error(out, sizeof(out), T_DST4, PKT_UNREACH_NET,
				     orig, on);
	assert_int_equal(out[21], 0);

	/* IPv6: everything, up to 1280 bytes in all */
	on = t_udp(orig, AF_INET6, T_IN6, 1, T_DST6, 2, "abc", 3);
	n = nat_pkt_build_icmp_error(out, sizeof(out), T_DST6, PKT_UNREACH_PORT,
				     orig, on);
	assert_int_equal(n, 40 + 8 + on);
	assert_sums(out, n);
	assert_int_equal(out[40], 1);
	assert_int_equal(out[41], 4);
	assert_memory_equal(out + 48, orig, on);
	nat_pkt_build_icmp_error(out, sizeof(out), T_DST6, PKT_UNREACH_ADMIN,
				 orig, on);
	assert_int_equal(out[41], 1);
	nat_pkt_build_icmp_error(out, sizeof(out), T_DST6, PKT_UNREACH_HOST,
				 orig, on);
	assert_int_equal(out[41], 3);

	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)i;
	on = t_udp(big, AF_INET6, T_IN6, 1, T_DST6, 2, pay, sizeof(pay));
	n = nat_pkt_build_icmp_error(out, sizeof(out), T_DST6, PKT_UNREACH_PORT,
				     big, on);
	assert_int_equal(n, 1280);
	assert_sums(out, n);
	assert_memory_equal(out + 48, big, 1280 - 48);

	/* too small an output, or not an IP packet */
	assert_int_equal(nat_pkt_build_icmp_error(out, 100, T_DST6,
						  PKT_UNREACH_PORT, big, on),
			 0);
	assert_int_equal(nat_pkt_build_icmp_error(out, sizeof(out), T_DST6,
						  PKT_UNREACH_PORT, big, 39),
			 0);
	big[0] = 0x10;
	assert_int_equal(nat_pkt_build_icmp_error(out, sizeof(out), T_DST6,
						  PKT_UNREACH_PORT, big, on),
			 0);
}

static void test_build_rst(void **state)
{
	struct pkt_info syn, rst;
	uint8_t p[200], out[200];
	size_t n;

	/* SYN, no ACK: <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK> */
	n = t_tcp(p, AF_INET, T_IN4, 33000, T_DST4, 80, 1000, 0, PKT_TCP_SYN,
		  NULL, 0, "", 0);
	assert_int_equal(nat_pkt_parse(p, n, &syn), 0);
	n = nat_pkt_build_tcp_rst(out, sizeof(out), &syn);
	assert_int_equal(n, 40);
	assert_sums(out, n);
	assert_int_equal(nat_pkt_parse(out, n, &rst), 0);
	assert_int_equal(rst.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK);
	assert_int_equal(rst.tcp_seq, 0);
	assert_int_equal(rst.tcp_ack, 1001);
	assert_int_equal(rst.sport, 80);
	assert_int_equal(rst.dport, 33000);
	assert_memory_equal(rst.src, T_DST4, 4);
	assert_memory_equal(rst.dst, T_IN4, 4);

	/* FIN and data without ACK count too */
	n = t_tcp(p, AF_INET6, T_IN6, 1, T_DST6, 2, 0xfffffffe, 0, PKT_TCP_FIN,
		  NULL, 0, "abc", 3);
	assert_int_equal(nat_pkt_parse(p, n, &syn), 0);
	n = nat_pkt_build_tcp_rst(out, sizeof(out), &syn);
	assert_int_equal(n, 60);
	assert_sums(out, n);
	assert_int_equal(nat_pkt_parse(out, n, &rst), 0);
	assert_int_equal(rst.tcp_ack, 2); /* wraps */

	/* with ACK: <SEQ=SEG.ACK><CTL=RST> */
	n = t_tcp(p, AF_INET, T_IN4, 1, T_DST4, 2, 5, 777,
		  PKT_TCP_ACK | PKT_TCP_PSH, NULL, 0, "zz", 2);
	assert_int_equal(nat_pkt_parse(p, n, &syn), 0);
	n = nat_pkt_build_tcp_rst(out, sizeof(out), &syn);
	assert_int_equal(nat_pkt_parse(out, n, &rst), 0);
	assert_int_equal(rst.tcp_flags, PKT_TCP_RST);
	assert_int_equal(rst.tcp_seq, 777);
	assert_int_equal(rst.tcp_ack, 0);

	/* a RST is never answered; a small buffer is refused */
	n = t_tcp(p, AF_INET, T_IN4, 1, T_DST4, 2, 5, 0, PKT_TCP_RST, NULL, 0,
		  "", 0);
	assert_int_equal(nat_pkt_parse(p, n, &syn), 0);
	assert_int_equal(nat_pkt_build_tcp_rst(out, sizeof(out), &syn), 0);
	syn.tcp_flags = PKT_TCP_SYN;
	assert_int_equal(nat_pkt_build_tcp_rst(out, 39, &syn), 0);
}

static void test_build_tcp(void **state)
{
	const uint8_t opt[] = {2, 4, 0x05, 0xb4};
	struct pkt_tcp_seg s = {
		.family = AF_INET6,
		.src = T_DST6,
		.dst = T_IN6,
		.sport = 443,
		.dport = 50000,
		.seq = 1,
		.ack = 2,
		.flags = PKT_TCP_SYN | PKT_TCP_ACK,
		.win = 1000,
		.opt = opt,
		.opt_len = 4,
		.data = (const uint8_t *)"hi",
		.data_len = 2,
	};
	struct pkt_info pi;
	size_t n = nat_pkt_build_tcp(buf, sizeof(buf), &s);

	assert_int_equal(n, 40 + 24 + 2);
	assert_sums(buf, n);
	assert_int_equal(nat_pkt_parse(buf, n, &pi), 0);
	assert_int_equal(pi.tcp_hlen, 24);
	assert_int_equal(pi.tcp_win, 1000);
	assert_memory_equal(pi.data, "hi", 2);
	/* data already in place */
	s.data = buf + 64;
	assert_int_equal(nat_pkt_build_tcp(buf, sizeof(buf), &s), n);
	assert_memory_equal(buf + 64, "hi", 2);
	s.opt_len = 3;
	assert_int_equal(nat_pkt_build_tcp(buf, sizeof(buf), &s), 0);
}

/* random damage to valid packets: parse or reject, never read outside */
static void test_mutations(void **state)
{
	uint8_t p[300];
	size_t lens[4];
	struct pkt_info pi;
	unsigned seed = 12345;
	uint8_t base[4][300];

	lens[0] = t_udp(base[0], AF_INET, T_IN4, 1, T_DST4, 2, "abcdef", 6);
	lens[1] = ip6_ext(base[1], (const uint8_t[]){0, 60}, 2, 17);
	lens[2] = t_echo(base[2], AF_INET6, T_IN6, T_DST6, 1, 2, "x", 1);
	lens[3] = t_tcp(base[3], AF_INET, T_IN4, 1, T_DST4, 2, 3, 4, 0x12, NULL,
			0, "q", 1);
	for (int it = 0; it < 200000; it++) {
		int k = it % 4;
		size_t n = lens[k];

		memcpy(p, base[k], n);
		for (int m = 0; m < 1 + it % 3; m++) {
			seed = seed * 1103515245 + 12345;
			p[(seed >> 8) % n] = (uint8_t)(seed >> 20);
		}
		seed = seed * 1103515245 + 12345;
		if (seed & 0x10000)
			n = (seed >> 4) % (n + 1);
		(void)parse_exact(p, n, &pi);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_udp4),
		cmocka_unit_test(test_udp6),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_ip4_bad),
		cmocka_unit_test(test_ip4_options),
		cmocka_unit_test(test_udp_bad),
		cmocka_unit_test(test_ip6_ext),
		cmocka_unit_test(test_build_udp),
		cmocka_unit_test(test_build_icmp),
		cmocka_unit_test(test_build_icmp_error),
		cmocka_unit_test(test_build_rst),
		cmocka_unit_test(test_build_tcp),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
