/* SPDX-License-Identifier: MIT */
/*
 * pkt.h - IP packets: a bounds-checked cursor, a parser that fills one
 * struct pkt_info, and builders for the packets the NAT sends inside.
 */
#ifndef NAT_PKT_H
#define NAT_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wire.h"

#define PKT_IP4_HLEN 20
#define PKT_IP6_HLEN 40
#define PKT_UDP_HLEN 8
#define PKT_ICMP_HLEN 8
#define PKT_TCP_HLEN 20
/* room in front of received data for any IP + UDP/ICMP header we build */
#define PKT_HDR_ROOM (PKT_IP6_HLEN + PKT_UDP_HLEN)
/* IPv6 ICMP errors fill at most the minimum MTU (RFC 4443 section 2.4) */
#define PKT_ICMP6_ERR_MAX 1280
#define PKT_TTL 64
/* a cap on IPv6 extension headers before the transport header */
#define PKT_MAX_EXT 8

#define PKT_ICMP4_ECHO_REPLY 0
#define PKT_ICMP4_UNREACH 3
#define PKT_ICMP4_ECHO 8
#define PKT_ICMP6_UNREACH 1
#define PKT_ICMP6_ECHO 128
#define PKT_ICMP6_ECHO_REPLY 129

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

/* why a destination is unreachable, mapped to a type and code per family */
enum pkt_unreach {
	PKT_UNREACH_NET,
	PKT_UNREACH_HOST,
	PKT_UNREACH_PORT,
	PKT_UNREACH_ADMIN,
	PKT_UNREACH_COUNT
};

/*
 * One parsed packet. Pointers point into the caller's buffer and live as
 * long as it does. IPv4 addresses fill the first 4 bytes of src/dst.
 */
struct pkt_info {
	int family; /* AF_INET or AF_INET6 */
	uint8_t proto; /* IPPROTO_UDP, _TCP, _ICMP or _ICMPV6 */
	uint8_t ttl; /* or hop limit */
	uint8_t src[16], dst[16];
	const uint8_t *ip; /* the packet, without trailing bytes */
	size_t ip_len;
	size_t ip_hlen; /* IP header, options, extension headers */
	const uint8_t *l4; /* transport header */
	size_t l4_len; /* transport header and data */
	uint16_t sport, dport; /* UDP, TCP */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id, icmp_seq;
	uint32_t tcp_seq, tcp_ack;
	uint16_t tcp_win;
	uint8_t tcp_flags;
	size_t tcp_hlen;
	const uint8_t *data; /* after the transport header */
	size_t data_len;
};

/**
 * nat_pkt_parse() - check and parse one IP packet
 * @buf:	packet
 * @len:	its length; bytes past the IP length fields are ignored
 * @pi:		result
 *
 * Checks versions, lengths and every checksum (IPv4 header, UDP unless
 * zero on IPv4, ICMP, ICMPv6, TCP).
 *
 * Return: 0; -EBADMSG if malformed; -EPROTONOSUPPORT for fragments,
 * transports other than UDP/TCP/ICMP and extension headers we do not walk
 */
int nat_pkt_parse(const uint8_t *buf, size_t len, struct pkt_info *pi);

/** nat_pkt_ip_hlen() - the length of the IP header nat_pkt_put_ip() writes */
size_t nat_pkt_ip_hlen(int family);

/**
 * nat_pkt_put_ip() - write an IP header (no options) with its checksum
 * @buf:	at least nat_pkt_ip_hlen(@family) bytes
 * @family:	AF_INET or AF_INET6
 * @src:	source address
 * @dst:	destination address
 * @proto:	transport protocol
 * @l4_len:	transport length; the caller keeps the total within 65535
 *		for IPv4 and the payload within 65535 for IPv6
 */
void nat_pkt_put_ip(uint8_t *buf, int family, const uint8_t *src,
		    const uint8_t *dst, uint8_t proto, size_t l4_len);

/**
 * nat_pkt_build_udp() - finish a UDP datagram whose payload is already in place
 * @buf:	packet start; the payload sits at buf + nat_pkt_ip_hlen() + 8
 * @family:	AF_INET or AF_INET6
 * @src:	source address
 * @sport:	source port
 * @dst:	destination address
 * @dport:	destination port
 * @plen:	payload length
 *
 * Return: the packet's length, or 0 if @plen does not fit the length fields
 */
size_t nat_pkt_build_udp(uint8_t *buf, int family, const uint8_t *src,
			 uint16_t sport, const uint8_t *dst, uint16_t dport,
			 size_t plen);

/**
 * nat_pkt_build_icmp() - finish an ICMP/ICMPv6 message already in place
 * @buf:	packet start; the ICMP header sits at buf + nat_pkt_ip_hlen()
 * @family:	AF_INET (ICMP) or AF_INET6 (ICMPv6)
 * @src:	source address
 * @dst:	destination address
 * @icmp_len:	ICMP header and data
 *
 * Computes the ICMP checksum (with the pseudo-header for ICMPv6) and
 * writes the IP header.
 *
 * Return: the packet's length, or 0 if too long
 */
size_t nat_pkt_build_icmp(uint8_t *buf, int family, const uint8_t *src,
			  const uint8_t *dst, size_t icmp_len);

/**
 * nat_pkt_unreach_code() - ICMP type and code for @why in @family
 */
void nat_pkt_unreach_code(int family, enum pkt_unreach why, uint8_t *type,
			  uint8_t *code);

/**
 * nat_pkt_build_icmp_error() - a destination unreachable quoting @orig
 * @buf:	output
 * @cap:	its size
 * @from:	source of the error (the destination @orig was sent to)
 * @why:	reason
 * @orig:	the offending packet as the inside sent it
 * @orig_len:	its length
 *
 * Quotes the IP header and 8 bytes for IPv4 (RFC 792), as much as fits in
 * 1280 bytes for IPv6 (RFC 4443). Sent to @orig's source.
 *
 * Return: the packet's length, or 0 if @orig is not an IP packet or @cap
 * is too small
 */
size_t nat_pkt_build_icmp_error(uint8_t *buf, size_t cap, const uint8_t *from,
				enum pkt_unreach why, const uint8_t *orig,
				size_t orig_len);

/* a TCP segment to build; options are copied as given (padded by caller) */
struct pkt_tcp_seg {
	int family;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const uint8_t *opt;
	size_t opt_len; /* a multiple of 4, at most 40 */
	const uint8_t *data; /* may already sit at its place in @buf */
	size_t data_len;
};

/**
 * nat_pkt_build_tcp() - an IP packet carrying one TCP segment
 * @buf:	output
 * @cap:	its size
 * @s:		the segment
 *
 * Return: the packet's length, or 0 if it does not fit @cap or the
 * length fields, or the options are not a multiple of 4
 */
size_t nat_pkt_build_tcp(uint8_t *buf, size_t cap, const struct pkt_tcp_seg *s);

/**
 * nat_pkt_build_tcp_rst() - the RST that answers @pi (RFC 793, "Reset
 * Generation"): SEQ=SEG.ACK if it has ACK, else SEQ=0 and an ACK for
 * SEG.SEQ+SEG.LEN
 * @buf:	output
 * @cap:	its size
 * @pi:		a parsed TCP segment from the inside
 *
 * Return: the packet's length, or 0 if @pi carries RST (never answered)
 * or @cap is too small
 */
size_t nat_pkt_build_tcp_rst(uint8_t *buf, size_t cap,
			     const struct pkt_info *pi);

#endif
