// SPDX-License-Identifier: MIT
/*
 * pkt.c - fuzz nat_pkt_parse() of nat/pkt.c and the builders that answer a
 * parsed packet.
 *
 * The input is one packet from the inside. Properties of an accepted one:
 * every pointer and length stays inside the input, every checksum it
 * claims checks out (computed again here with csum.h), and what the NAT
 * would send back for it (a RST, an ICMP error, a UDP reply) parses again
 * and is addressed to the packet's source. The TCP options walk of
 * nat/tcp_in.c runs on every TCP header too.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/csum.h"
#include "test/fuzz/fuzz.h"
#include "nat/pkt.h"
#include "test/fuzz/pkt_check.h"
#include "nat/tcp_conn.h"

static uint8_t out[PKT_HDR_ROOM + 65536];

static void check_bounds(const uint8_t *buf, size_t len,
			 const struct pkt_info *pi)
{
	const uint8_t *end = pi->ip + pi->ip_len;

	FZ_CHECK(pi->ip == buf && pi->ip_len <= len);
	FZ_CHECK(pi->ip_hlen <= pi->ip_len);
	FZ_CHECK(pi->l4 == pi->ip + pi->ip_hlen);
	FZ_CHECK(pi->l4_len <= (size_t)(end - pi->l4));
	FZ_CHECK(pi->data >= pi->l4 && pi->data <= pi->l4 + pi->l4_len);
	/* ICMP leaves data_len 0: its users take l4 and l4_len */
	if (pi->proto == IPPROTO_ICMP || pi->proto == IPPROTO_ICMPV6)
		FZ_CHECK(pi->data == pi->l4 + PKT_ICMP_HLEN);
	else
		FZ_CHECK(pi->data + pi->data_len == pi->l4 + pi->l4_len);
	if (pi->family == AF_INET) {
		FZ_CHECK(pi->ip_hlen >= PKT_IP4_HLEN);
		FZ_CHECK(pi->proto != IPPROTO_ICMPV6);
		FZ_CHECK(tg_csum(pi->ip, pi->ip_hlen) == 0);
	} else {
		FZ_CHECK(pi->family == AF_INET6);
		FZ_CHECK(pi->ip_hlen >= PKT_IP6_HLEN);
		FZ_CHECK(pi->proto != IPPROTO_ICMP);
	}
}

/* something we built for the inside: it parses, and goes to @to */
static void check_reply(const uint8_t *p, size_t len, const struct pkt_info *o,
			struct pkt_info *pi)
{
	FZ_CHECK(nat_pkt_parse(p, len, pi) == 0);
	FZ_CHECK(pi->ip_len == len);
	FZ_CHECK(pi->family == o->family);
	FZ_CHECK(!memcmp(pi->dst, o->src, 16));
	FZ_CHECK(!memcmp(pi->src, o->dst, 16));
	check_csum(pi);
}

static void answer(const struct pkt_info *o)
{
	struct pkt_info pi;
	size_t n;

	n = nat_pkt_build_icmp_error(out, sizeof(out), o->dst,
				     PKT_UNREACH_ADMIN, o->ip, o->ip_len);
	FZ_CHECK(n > 0);
	check_reply(out, n, o, &pi);
	FZ_CHECK(pi.proto ==
		 (o->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6));
	FZ_CHECK(o->family == AF_INET6 || n <= 20 + 8 + 60 + 8);
	FZ_CHECK(n <= PKT_ICMP6_ERR_MAX);
	if (o->proto == IPPROTO_TCP) {
		struct tcp_syn_opts so;

		/* the options walk of tcp_in.c: ASan watches its reads */
		nat_tcp_parse_syn_opts(o, &so);
		FZ_CHECK(!so.has_wscale || o->tcp_hlen >= PKT_TCP_HLEN + 3);
		FZ_CHECK(!so.has_mss || o->tcp_hlen >= PKT_TCP_HLEN + 4);
		n = nat_pkt_build_tcp_rst(out, sizeof(out), o);
		FZ_CHECK(!n == !!(o->tcp_flags & PKT_TCP_RST));
		if (n) {
			check_reply(out, n, o, &pi);
			FZ_CHECK(pi.tcp_flags & PKT_TCP_RST);
			FZ_CHECK(pi.sport == o->dport && pi.dport == o->sport);
		}
	}
	if (o->proto == IPPROTO_UDP) {
		/* the payload echoed back, built in place as udp.c does */
		uint8_t *p = out + PKT_HDR_ROOM;

		memcpy(p, o->data, o->data_len);
		p -= nat_pkt_ip_hlen(o->family) + PKT_UDP_HLEN;
		n = nat_pkt_build_udp(p, o->family, o->dst, o->dport, o->src,
				      o->sport, o->data_len);
		FZ_CHECK(n > 0);
		check_reply(p, n, o, &pi);
		FZ_CHECK(pi.data_len == o->data_len);
		FZ_CHECK(!memcmp(pi.data, o->data, o->data_len));
	}
}

static void parse_one(const uint8_t *data, size_t size)
{
	struct pkt_info pi;
	int r = nat_pkt_parse(data, size, &pi);

	FZ_CHECK(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT);
	if (r)
		return;
	check_bounds(data, size, &pi);
	check_csum(&pi);
	answer(&pi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *pkt;

	/* the first byte: odd to make the checksums right, even for as is;
	 * the packet gets a buffer of its own size, for ASan to watch */
	if (!size)
		return 0;
	pkt = malloc(size - 1 ? size - 1 : 1);
	FZ_CHECK(pkt);
	memcpy(pkt, data + 1, size - 1);
	if (data[0] & 1)
		fz_fix_csums(pkt, size - 1);
	parse_one(pkt, size - 1);
	free(pkt);
	return 0;
}
