// SPDX-License-Identifier: MIT
/*
 * mkseeds.c - writes the seed corpora of test/fuzz/corpus/ (make
 * fuzz-seeds). Every seed is built with the project's own encoders and
 * the packet builders of the unit tests, so that the seeds are what a
 * real inside, outside, resolver or container sends: a handshake as
 * transport/ writes it, packets as a kernel writes them, DNS messages as
 * dig and a recursive resolver write them, resolv.conf as distributions
 * and container runtimes write it.
 *
 * Usage: mkseeds DIR (the corpus directory; subdirectories must exist).
 */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/config.h"
#include "transport/frame.h"
#include "test/fuzz/nat_fake.h"
#include "test/unit/nat_test.h"
#include "nat/pkt.h"

static const char *dir;
static uint8_t buf[1 << 17];

static void put(const char *target, const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ------------------------------------------------------------ transport */

static size_t frame(uint8_t *b, uint8_t type, const void *data, size_t len)
{
	tp_frame_put_hdr(b, type, len);
	memcpy(b + TP_FRAME_HDR, data, len);
	return TP_FRAME_HDR + len;
}

static size_t hello(uint8_t *b, uint8_t role, uint16_t proto)
{
	struct tp_hello h = {.proto = proto, .role = role};
	uint8_t p[80];

	snprintf(h.version, sizeof(h.version), "0.1.0");
	return frame(b, TP_F_HELLO, p,
		     (size_t)tp_hello_encode(&h, p, sizeof(p)));
}

static size_t config(uint8_t *b, int variant)
{
	struct tp_config *c = calloc(1, sizeof(*c));
	int n;

	c->mtu = variant ? 1500 : 65520;
	c->dns = true;
	c->route_default = !variant;
	memcpy(c->tun4, T_IN4, 4);
	memcpy(c->tun6, T_IN6, 16);
	memcpy(c->dns4, (uint8_t[]){198, 18, 0, 53}, 4);
	memcpy(c->dns6, T_IN6, 16);
	c->dns6[15] = 0x53;
	if (variant) {
		snprintf(c->search, sizeof(c->search), "corp.example.com lab");
		c->n_routes = 3;
		tg_prefix_parse("198.18.0.0/15", &c->routes[0]);
		tg_prefix_parse("fd7e::/16", &c->routes[1]);
		tg_prefix_parse("10.1.2.0/24", &c->routes[2]);
	}
	n = tp_config_encode(c, b, 65535);
	free(c);
	return (size_t)n;
}

/* what the outside sends: magic, HELLO, CONFIG, then packets */
static size_t outside_stream(uint8_t *b, bool banner, int variant)
{
	uint8_t pkt[256], cfg[1024];
	size_t n = 0, len;

	if (banner) {
		const char *motd = "Welcome to Ubuntu 22.04\r\nLast login: "
				   "Mon Jan  1 00:00:00 2024\r\n";

		memcpy(b, motd, strlen(motd));
		n = strlen(motd);
	}
	memcpy(b + n, TP_MAGIC, TP_MAGIC_LEN);
	n += TP_MAGIC_LEN;
	n += hello(b + n, TP_ROLE_OUTSIDE, TP_PROTO_VERSION);
	n += frame(b + n, TP_F_CONFIG, cfg, config(cfg, variant));
	len = t_udp(pkt, AF_INET, T_DST4, 53, T_IN4, 40000, "\x12\x34\x81\x80",
		    4);
	n += frame(b + n, TP_F_PACKET, pkt, len);
	n += frame(b + n, TP_F_KEEPALIVE, NULL, 0);
	if (variant)
		n += frame(b + n, TP_F_GOODBYE, "outside stopped", 15);
	return n;
}

/* what the inside sends: magic, HELLO, READY, packets */
static size_t inside_stream(uint8_t *b, int variant)
{
	uint8_t pkt[256];
	size_t n = 0, len;

	memcpy(b, TP_MAGIC, TP_MAGIC_LEN);
	n = TP_MAGIC_LEN;
	n += hello(b + n, TP_ROLE_INSIDE, variant == 2 ? 2 : TP_PROTO_VERSION);
	n += frame(b + n, TP_F_READY, "routes: default", 15);
	len = t_echo(pkt, AF_INET6, T_IN6, T_DST6, 7, 1, "ping", 4);
	n += frame(b + n, TP_F_PACKET, pkt, len);
	len = t_tcp(pkt, AF_INET, T_IN4, 40001, T_DST4, 80, 1000, 0,
		    PKT_TCP_SYN, (const uint8_t *)"\x02\x04\x05\xb4", 4, NULL,
		    0);
	n += frame(b + n, TP_F_PACKET, pkt, len);
	if (variant == 1)
		n += frame(b + n, TP_F_ERROR, "cannot add route", 16);
	return n;
}

static void transport_seeds(void)
{
	uint8_t cfg[2048];
	size_t n;

	n = outside_stream(buf, false, 0);
	put("frame", "outside", buf, n);
	n = outside_stream(buf, true, 1);
	put("frame", "outside-banner", buf, n);
	n = inside_stream(buf, 0);
	put("frame", "inside", buf, n);
	n = inside_stream(buf, 1);
	put("frame", "inside-error", buf, n);
	put("frame", "partial-magic", "motd\n\0TUNG", 10);

	put("config", "default", cfg, config(cfg, 0));
	put("config", "routes", cfg, config(cfg, 1));

	/* link: byte 0 is the local role (odd: outside) and write size */
	for (int v = 0; v < 3; v++) {
		char name[32];

		buf[0] = (uint8_t)(v == 1 ? 0x11 : 0x01);
		n = inside_stream(buf + 1, v);
		snprintf(name, sizeof(name), "outside-reads-inside-%d", v);
		put("link", name, buf, n + 1);
		buf[0] = (uint8_t)(v == 1 ? 0x20 : 0x00);
		n = outside_stream(buf + 1, v == 1, v & 1);
		snprintf(name, sizeof(name), "inside-reads-outside-%d", v);
		put("link", name, buf, n + 1);
	}
}

/* ---------------------------------------------------------------- nat */

static const uint8_t MSS_WS_SACK_TS[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
					   0, 1, 0,    0,    0, 0, 1, 3,  3, 7};

static size_t packets(uint8_t pk[][2048], size_t *len)
{
	size_t n = 0;
	uint8_t *b;

	len[n] = t_udp(pk[n], AF_INET, T_IN4, 40000, T_DST4, 53, "\xab\xcd\x01",
		       3);
	n++;
	len[n] = t_udp(pk[n], AF_INET6, T_IN6, 40000, T_DST6, 443, "quic", 4);
	n++;
	len[n] = t_echo(pk[n], AF_INET, T_IN4, T_DST4, 0x1234, 1,
			"abcdefghijklmnopqrstuvwabcdefghi", 32);
	n++;
	len[n] = t_echo(pk[n], AF_INET6, T_IN6, T_DST6, 0x1234, 1, "ping", 4);
	n++;
	len[n] = t_tcp(pk[n], AF_INET, T_IN4, 40001, T_DST4, 80, 1000, 0,
		       PKT_TCP_SYN, MSS_WS_SACK_TS, 20, NULL, 0);
	n++;
	len[n] = t_tcp(pk[n], AF_INET6, T_IN6, 40001, T_DST6, 443, 1000, 0,
		       PKT_TCP_SYN, MSS_WS_SACK_TS, 20, NULL, 0);
	n++;
	len[n] = t_tcp(pk[n], AF_INET, T_IN4, 40002, T_DST4, 80, 5000, 77,
		       PKT_TCP_ACK | PKT_TCP_PSH, NULL, 0, "GET / HTTP/1.0\r\n",
		       16);
	n++;
	/* IPv4 with options (record route), header checksum redone */
	b = pk[n];
	len[n] = t_udp(b + 4, AF_INET, T_IN4, 40000, T_DST4, 53, "x", 1) + 4;
	memmove(b, b + 4, 20);
	memcpy(b + 20, "\x07\x03\x04\x00", 4);
	b[0] = 0x46;
	put16(b + 2, (unsigned)len[n]);
	put16(b + 10, 0);
	put16(b + 10, ref_csum(b, 24));
	n++;
	/* IPv6 with a hop-by-hop header in front of UDP */
	b = pk[n];
	len[n] = t_udp(b, AF_INET6, T_IN6, 40000, T_DST6, 53, "y", 1);
	memmove(b + 48, b + 40, len[n] - 40);
	memset(b + 40, 0, 8);
	b[40] = IPPROTO_UDP;
	b[42] = 1; /* PadN */
	b[43] = 4;
	b[6] = 0; /* hop-by-hop */
	len[n] += 8;
	put16(b + 4, (unsigned)(len[n] - 40));
	n++;
	/* a refused destination: this machine's loopback */
	len[n] = t_udp(pk[n], AF_INET, T_IN4, 40000, T_LO4, 22, "z", 1);
	n++;
	return n;
}

static void nat_seeds(uint8_t pk[][2048], size_t *len, size_t n)
{
	char name[32];
	size_t m = 1;

	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "pkt-%zu", i);
		buf[0] = 1; /* fix checksums after mutation */
		memcpy(buf + 1, pk[i], len[i]);
		put("pkt", name, buf, len[i] + 1);
	}
	/* nat: MTU byte, then (flags, length, packet) */
	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		buf[m++] = 1;
		put16(buf + m, (unsigned)len[i]);
		memcpy(buf + m + 2, pk[i], len[i]);
		m += 2 + len[i];
	}
	put("nat", "all", buf, m);
}

/* nat_mem scripts: see the opcodes of nat_mem.c */
enum {
	M_PACKET,
	M_ANSWER,
	M_UDP_REPLY,
	M_UDP_ERROR,
	M_PING_REPLY,
	M_PING_ERROR,
	M_FAIL,
	M_TIME,
	M_FAR_WRITE,
	M_FAR_SHUT,
	M_FAR_CLOSE,
	M_OUT_FULL,
	M_SVC_REPLY,
	M_SVC_REFUSE,
	M_FAR_PAUSE,
};

static size_t m_packet(uint8_t *b, const uint8_t *p, size_t len)
{
	b[0] = M_PACKET;
	b[1] = 0;
	b[2] = 1;
	put16(b + 3, (unsigned)len);
	memcpy(b + 5, p, len);
	return 5 + len;
}

static size_t m_data(uint8_t *b, uint8_t op, uint8_t i, const char *s)
{
	size_t l = strlen(s);

	b[0] = op;
	b[1] = i;
	put16(b + 2, (unsigned)l);
	memcpy(b + 4, s, l);
	return 4 + l;
}

/* the inside's answer to the last segment: ACK (and @flags), @data */
static size_t m_answer(uint8_t *b, uint8_t flags, const char *data)
{
	size_t l = strlen(data);

	b[0] = M_ANSWER;
	b[1] = 0;
	b[2] = 0; /* ring slot: ring_n - 1 is not addressable; slot 0.. */
	b[3] = 0; /* no options */
	b[4] = flags;
	put16(b + 5, 65535);
	put16(b + 7, 0);
	put16(b + 9, 0);
	put16(b + 11, (unsigned)l);
	memcpy(b + 13, data, l);
	return 13 + l;
}

static void nat_mem_seeds(uint8_t pk[][2048], size_t *len)
{
	size_t m;
	uint8_t p[256];
	size_t pl;

	/* UDP out, a reply, an error, expiry */
	m = 1;
	buf[0] = 0;
	m += m_packet(buf + m, pk[0], len[0]);
	m += m_data(buf + m, M_UDP_REPLY, 0, "\xab\xcd\x81\x80");
	buf[m++] = M_UDP_ERROR, buf[m++] = 0, buf[m++] = 0;
	m += m_packet(buf + m, pk[1], len[1]);
	buf[m++] = M_TIME, buf[m++] = 30;
	put("nat_mem", "udp", buf, m);

	/* ping and its reply (as a Linux ping socket returns it) */
	m = 1;
	m += m_packet(buf + m, pk[2], len[2]);
	memcpy(p, "\x00\x00\x00\x00\x00\x2a\x00\x01", 8);
	memcpy(p + 8, "abcdefghijklmnopqrstuvwabcdefghi", 32);
	buf[m++] = M_PING_REPLY, buf[m++] = 0;
	put16(buf + m, 40);
	memcpy(buf + m + 2, p, 40);
	m += 42;
	m += m_packet(buf + m, pk[3], len[3]);
	buf[m++] = M_PING_ERROR, buf[m++] = 1, buf[m++] = 1;
	put("nat_mem", "ping", buf, m);

	/* TCP: SYN, handshake, data both ways, FINs */
	m = 1;
	m += m_packet(buf + m, pk[4], len[4]);
	m += m_answer(buf + m, PKT_TCP_ACK, "");
	m += m_answer(buf + m, PKT_TCP_ACK | PKT_TCP_PSH,
		      "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	m += m_data(buf + m, M_FAR_WRITE, 0, "HTTP/1.1 200 OK\r\n\r\nhello");
	buf[m++] = M_FAR_SHUT, buf[m++] = 0;
	m += m_answer(buf + m, PKT_TCP_ACK | PKT_TCP_FIN, "");
	buf[m++] = M_TIME, buf[m++] = 20;
	put("nat_mem", "tcp", buf, m);

	/* TCP over IPv6, refused at connect, then a reset from the far end */
	m = 1;
	buf[m++] = M_FAIL, buf[m++] = FAKE_TCP_REFUSE, buf[m++] = 0;
	m += m_packet(buf + m, pk[5], len[5]);
	m += m_packet(buf + m, pk[5], len[5]);
	m += m_answer(buf + m, PKT_TCP_ACK, "");
	buf[m++] = M_FAR_CLOSE, buf[m++] = 0, buf[m++] = 1;
	put("nat_mem", "tcp6-refused", buf, m);

	/* the DNS service: a query and its answer */
	m = 1;
	pl = t_udp(p, AF_INET, T_IN4, 40000, (const uint8_t[]){198, 18, 0, 53},
		   53,
		   "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
		   "\x03www\x07example\x03com\x00\x00\x01\x00\x01",
		   33);
	m += m_packet(buf + m, p, pl);
	m += m_data(buf + m, M_SVC_REPLY, 0,
		    "\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00");
	pl = t_tcp(p, AF_INET, T_IN4, 40005, (const uint8_t[]){198, 18, 0, 53},
		   53, 1, 0, PKT_TCP_SYN, NULL, 0, NULL, 0);
	m += m_packet(buf + m, p, pl);
	m += m_answer(buf + m, PKT_TCP_ACK, "\x00\x11");
	put("nat_mem", "service", buf, m);

	/* bulk both ways against a far end that stops reading and an
	 * inside stream that fills up */
	m = 1;
	m += m_packet(buf + m, pk[4], len[4]);
	m += m_answer(buf + m, PKT_TCP_ACK, "");
	buf[m++] = M_FAR_PAUSE, buf[m++] = 0, buf[m++] = 1;
	for (int k = 0; k < 2; k++) {
		static char bulk[12001];

		memset(bulk, 'a' + k, sizeof(bulk) - 1);
		m += m_answer(buf + m, PKT_TCP_ACK, bulk);
	}
	buf[m++] = M_OUT_FULL, buf[m++] = 1;
	for (int k = 0; k < 4; k++) {
		static char bulk[4001];

		memset(bulk, 'A' + k, sizeof(bulk) - 1);
		m += m_data(buf + m, M_FAR_WRITE, 0, bulk);
	}
	buf[m++] = M_TIME, buf[m++] = 12;
	buf[m++] = M_OUT_FULL, buf[m++] = 0;
	buf[m++] = M_FAR_PAUSE, buf[m++] = 0, buf[m++] = 0;
	m += m_answer(buf + m, PKT_TCP_ACK, "");
	m += m_answer(buf + m, PKT_TCP_ACK, "");
	put("nat_mem", "tcp-bulk", buf, m);
}

/* ---------------------------------------------------------------- dns */

static size_t wire(ldns_pkt *p, uint8_t *b)
{
	uint8_t *w = NULL;
	size_t n = 0;

	if (ldns_pkt2wire(&w, p, &n) != LDNS_STATUS_OK)
		exit(1);
	memcpy(b, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

static ldns_pkt *query(const char *name, ldns_rr_type t, bool edns)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(name), t,
					 LDNS_RR_CLASS_IN, LDNS_RD);

	ldns_pkt_set_id(p, 0x1234);
	if (edns) {
		ldns_pkt_set_edns_udp_size(p, 1232);
		ldns_pkt_set_edns_do(p, true);
	}
	return p;
}

static ldns_pkt *reply(const char *name, ldns_rr_type t, int rcode,
		       const char *const *rrs)
{
	ldns_pkt *p = query(name, t, false);

	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	for (; *rrs; rrs++) {
		ldns_rr *rr = NULL;

		if (ldns_rr_new_frm_str(&rr, *rrs + 2, 0, NULL, NULL))
			exit(1);
		ldns_pkt_push_rr(p, (ldns_pkt_section)(**rrs - '0'), rr);
	}
	return p;
}

/* one case of dns_msg.c: flags, query, source */
static size_t dns_case(uint8_t *b, uint8_t flags, ldns_pkt *q, ldns_pkt *src,
		       const uint8_t *raw, size_t raw_len)
{
	size_t n = wire(q, b + 3), s;

	b[0] = flags;
	put16(b + 1, (unsigned)n);
	if (src)
		s = wire(src, b + 5 + n);
	else
		memcpy(b + 5 + n, raw, s = raw_len);
	put16(b + 3 + n, (unsigned)s);
	return 5 + n + s;
}

static void dns_seeds(void)
{
	static const char *const mx[] = {
		"1 example.com. 3600 IN MX 10 mail.example.com.",
		"2 example.com. 3600 IN NS a.iana-servers.net.",
		"3 mail.example.com. 3600 IN A 192.0.2.25", NULL};
	static const char *const nx[] = {
		"2 example.com. 3600 IN SOA ns.icann.org. noc.dns.icann.org. "
		"2024010101 7200 3600 1209600 3600",
		NULL};
	static const char *const txt[] = {
		"1 _dmarc.Example.COM. 300 IN TXT \"v=DMARC1; p=none\"",
		"1 _dmarc.Example.COM. 300 IN CNAME txt.example.net.", NULL};
	/* getaddrinfo: rcode 0, canonical name, then v6 flag + address */
	static const uint8_t addrs[] = {0,   15,  'w', 'w', 'w', '.', 'e',
					'x', 'a', 'm', 'p', 'l', 'e', '.',
					'n', 'e', 't', 0,   93,	 184, 216,
					34,  0,	  198, 18,  0,	 1};
	size_t m = 0;

	m += dns_case(buf + m, 0x09, query("example.com.", LDNS_RR_TYPE_MX, 1),
		      reply("example.com.", LDNS_RR_TYPE_MX, 0, mx), NULL, 0);
	put("dns_msg", "mx-upstream", buf, m);
	m = dns_case(buf, 0x08, query("nope.example.com.", LDNS_RR_TYPE_TXT, 0),
		     reply("nope.example.com.", LDNS_RR_TYPE_TXT, 3, nx), NULL,
		     0);
	put("dns_msg", "nxdomain-soa", buf, m);
	m = dns_case(buf, 0x01,
		     query("_dmarc.Example.COM.", LDNS_RR_TYPE_TXT, 1),
		     reply("_dmarc.example.com.", LDNS_RR_TYPE_TXT, 0, txt),
		     NULL, 0);
	put("dns_msg", "txt-case", buf, m);
	m = dns_case(buf, 0x0b, query("www.Example.com.", LDNS_RR_TYPE_A, 1),
		     NULL, addrs, sizeof(addrs));
	m += dns_case(buf + m, 0x0a,
		      query("www.example.com.", LDNS_RR_TYPE_AAAA, 0), NULL,
		      addrs, sizeof(addrs));
	put("dns_msg", "addr", buf, m);
	m = dns_case(buf, 0x0d, query("example.org.", LDNS_RR_TYPE_ANY, 1),
		     NULL, NULL, 0);
	put("dns_msg", "any", buf, m);
	m = dns_case(buf, 0x00, query("example.org.", LDNS_RR_TYPE_AXFR, 0),
		     NULL, NULL, 0);
	put("dns_msg", "axfr", buf, m);
}

/* dns_proxy scripts: see the opcodes of dns_proxy.c */
enum {
	P_QUERY,
	P_OPEN,
	P_WRITE,
	P_EOF,
	P_CLOSE,
	P_COMPLETE,
	P_CANCEL,
	P_TIME,
	P_FAIL,
	P_BUSY
};

static size_t p_slice(uint8_t *b, uint8_t op, uint8_t i, const uint8_t *d,
		      size_t len)
{
	b[0] = op;
	b[1] = i;
	put16(b + 2, (unsigned)len);
	memcpy(b + 4, d, len);
	return 4 + len;
}

static size_t p_query(uint8_t *b, uint8_t asker, ldns_pkt *q)
{
	static uint8_t w[4096];

	return p_slice(b, P_QUERY, asker, w, wire(q, w));
}

/* a lookup completed with getaddrinfo status index @st and @src */
static size_t p_complete(uint8_t *b, uint8_t st, const uint8_t *src, size_t len)
{
	b[0] = P_COMPLETE;
	b[1] = 0;
	b[2] = st;
	put16(b + 3, (unsigned)len);
	memcpy(b + 5, src, len);
	return 5 + len;
}

static void dns_proxy_seeds(void)
{
	static const char *const mx[] = {
		"1 example.com. 3600 IN MX 10 mail.example.com.", NULL};
	static const uint8_t addrs[] = {
		11, 'e', 'x', 'a', 'm', 'p', 'l',  'e', '.',  'c',  'o', 'm',
		0,  93,	 184, 216, 34,	1,   0x20, 1,	0x0d, 0xb8, 0,	 0,
		0,  0,	 0,   0,   0,	0,   0,	   0,	0,    1};
	static uint8_t w[4096], f[4096];
	size_t m = 0, n;

	/* A over UDP, the same again (coalesced), getaddrinfo answers */
	m += p_query(buf + m, 0, query("www.Example.com.", LDNS_RR_TYPE_A, 1));
	m += p_query(buf + m, 1, query("www.example.com.", LDNS_RR_TYPE_A, 0));
	m += p_complete(buf + m, 0, addrs, sizeof(addrs));
	m += p_query(buf + m, 2, query("www.example.com.", LDNS_RR_TYPE_A, 0));
	put("dns_proxy", "a-coalesced-cached", buf, m);

	/* MX upstream, answered; AAAA that does not exist (confirmed) */
	m = p_query(buf, 0, query("example.com.", LDNS_RR_TYPE_MX, 1));
	n = wire(reply("example.com.", LDNS_RR_TYPE_MX, 0, mx), w);
	m += p_complete(buf + m, 0, w, n);
	m += p_query(buf + m, 3, query("nope.example.", LDNS_RR_TYPE_AAAA, 0));
	m += p_complete(buf + m, 1, NULL, 0);
	m += p_complete(buf + m, 1, NULL, 0);
	put("dns_proxy", "mx-nxdomain", buf, m);

	/* a timeout, a cancel, and the overload of four pending */
	m = 0;
	for (int i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "h%d.example.", i);
		m += p_query(buf + m, (uint8_t)i,
			     query(name, LDNS_RR_TYPE_TXT, 0));
	}
	buf[m++] = P_CANCEL, buf[m++] = 1;
	buf[m++] = P_TIME, buf[m++] = 30;
	put("dns_proxy", "timeout-cancel-overload", buf, m);

	/* DNS over TCP: two pipelined queries, then the end of stream */
	m = 0;
	buf[m++] = P_OPEN, buf[m++] = 0;
	n = wire(query("example.org.", LDNS_RR_TYPE_ANY, 0), w);
	put16(f, (unsigned)n);
	memcpy(f + 2, w, n);
	n += 2;
	m += p_slice(buf + m, P_WRITE, 0, f, n);
	n = wire(query("example.org.", LDNS_RR_TYPE_AXFR, 0), w);
	put16(f, (unsigned)n);
	memcpy(f + 2, w, n);
	m += p_slice(buf + m, P_WRITE, 0, f, n + 2);
	buf[m++] = P_EOF, buf[m++] = 0, buf[m++] = 0, buf[m++] = 0;
	put("dns_proxy", "tcp-stream", buf, m);
}

/* ------------------------------------------------------------- resolv */

static void resolv_seed(const char *name, uint8_t flags, const char *search,
			const char *conf)
{
	size_t sl = strlen(search), cl = strlen(conf);

	buf[0] = flags;
	put16(buf + 1, (unsigned)sl);
	memcpy(buf + 3, search, sl);
	memcpy(buf + 3 + sl, conf, cl);
	put("resolv", name, buf, 3 + sl + cl);
}

static void resolv_seeds(void)
{
	resolv_seed("debian", 0x3f, "corp.example.com",
		    "domain example.com\nsearch example.com\n"
		    "nameserver 192.168.1.1\nnameserver 8.8.8.8\n");
	resolv_seed("systemd-stub", 0x3b, "",
		    "# This is /run/systemd/resolve/stub-resolv.conf managed "
		    "by man:systemd-resolved(8).\n# Do not edit.\n#\n"
		    "nameserver 127.0.0.53\noptions edns0 trust-ad\n"
		    "search lan\n");
	resolv_seed("docker", 0x3d, "svc.cluster.local cluster.local",
		    "# Generated by Docker Engine.\n"
		    "nameserver 127.0.0.11\nsearch default.svc.cluster.local "
		    "svc.cluster.local cluster.local\noptions ndots:5\n");
	resolv_seed("crlf-tabs", 0x3f, "a.example\tb.example",
		    "nameserver\t10.0.0.2\r\nsearch\tx.example y.example\r\n"
		    ";comment\r\nnameserver fe80::1%eth0\r\noptions rotate");
	resolv_seed("empty", 0x3b, "example.com", "");
	resolv_seed("no-newline", 0x09, "", "nameserver 1.1.1.1");
}

/* ----------------------------------------------------------- resolved */

/* replies as systemd-resolved's varlink interface sends them */
static void resolved_seeds(void)
{
	static const char *const seeds[][2] = {
		{"addresses",
		 "{\"parameters\":{\"addresses\":[{\"ifindex\":3,\"family\":2,"
		 "\"address\":[10,20,1,5]},{\"ifindex\":3,\"family\":10,"
		 "\"address\":[253,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]}],"
		 "\"name\":\"wiki.corp.example\",\"flags\":1048577}}"},
		{"dnserror", "{\"error\":\"io.systemd.Resolve.DNSError\","
			     "\"parameters\":{\"rcode\":3}}"},
		{"nosuchrr",
		 "{\"error\":\"io.systemd.Resolve.NoSuchResourceRecord\"}"},
		{"varlink-error",
		 "{\"error\":\"org.varlink.service.MethodNotFound\","
		 "\"parameters\":{\"method\":\"x\\u0041\"}}"},
	};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		put("resolved", seeds[i][0], seeds[i][1], strlen(seeds[i][1]));
}

int main(int argc, char **argv)
{
	static uint8_t pk[16][2048];
	size_t len[16], n;

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	dir = argv[1];
	transport_seeds();
	resolved_seeds();
	n = packets(pk, len);
	nat_seeds(pk, len, n);
	nat_mem_seeds(pk, len);
	dns_seeds();
	dns_proxy_seeds();
	resolv_seeds();
	put("prefix", "v4", "198.18.0.0/15", 13);
	put("prefix", "v6", "fd7e:7475:6e::/48", 17);
	put("prefix", "host6", "::ffff:198.18.0.1", 17);
	put("prefix", "default", "0.0.0.0/0", 9);
	return 0;
}
