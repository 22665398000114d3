/* SPDX-License-Identifier: MIT */
/*
 * policy.c - unit tests for nat/policy.c, and what the NAT does with a
 * refused or unsupported packet: ICMP administratively prohibited, a RST
 * for TCP, silence for multicast, and the right counter; the IPv6
 * spellings of IPv4 addresses; own addresses that change while flows to
 * them are open.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>
#include <uv.h>

#include "cmd/host.h"
#include "lib/log.h"
#include "nat/nat.h"
#include "nat/pkt.h"
#include "nat/policy.h"
#include "test/unit/nat_test.h"

static enum policy_verdict check(const struct nat_policy *p, const char *ip)
{
	struct tg_prefix a;

	assert_true(tg_prefix_parse(ip, &a));
	return nat_policy_check(p, a.family, a.addr);
}

struct want {
	const char *ip;
	enum policy_verdict v;
};

/* the policy of @o, and of @own if not NULL, gives each address its verdict */
static void check_policy(const struct nat_opts *o, const uint8_t *own,
			 const struct want *w, size_t n)
{
	struct nat_policy p;

	assert_int_equal(nat_policy_init(&p, o), 0);
	if (own) {
		struct tg_prefix h;

		tg_prefix_host(&h, AF_INET, own);
		assert_int_equal(nat_policy_set_own(&p, &h, 1), 0);
	}
	for (size_t i = 0; i < n; i++) {
		enum policy_verdict v = check(&p, w[i].ip);

		if (v != w[i].v)
			fail_msg("%s: verdict %d, want %d", w[i].ip, v, w[i].v);
	}
	nat_policy_free(&p);
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void parse_list(struct tg_prefix *out, const char *const *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_true(tg_prefix_parse(s[i], &out[i]));
}

static void test_refusals(void **state)
{
	/* everything offered: only the special ranges are refused */
	const struct want want[] = {
		{"127.0.0.1", POLICY_LOOPBACK},
		{"127.255.1.2", POLICY_LOOPBACK},
		{"::1", POLICY_LOOPBACK},
		{"169.254.169.254", POLICY_LINK_LOCAL},
		{"fe80::1", POLICY_LINK_LOCAL},
		{"febf::1", POLICY_LINK_LOCAL},
		{"224.0.0.251", POLICY_MULTICAST},
		{"239.255.255.250", POLICY_MULTICAST},
		{"ff02::fb", POLICY_MULTICAST},
		{"255.255.255.255", POLICY_BROADCAST},
		{"0.0.0.0", POLICY_UNSPECIFIED},
		{"0.1.2.3", POLICY_UNSPECIFIED},
		{"::", POLICY_UNSPECIFIED},
		{"::ffff:198.18.7.7", POLICY_MAPPED},
		{"198.18.5.5", POLICY_OWN},
		/* neighbours of the ranges pass */
		{"128.0.0.1", POLICY_ALLOW},
		{"169.253.0.1", POLICY_ALLOW},
		{"fec0::1", POLICY_ALLOW},
		{"223.255.255.255", POLICY_ALLOW},
		{"240.0.0.1", POLICY_ALLOW},
		{"::2", POLICY_ALLOW},
		{"198.18.5.6", POLICY_ALLOW},
		{"fd7e::5", POLICY_ALLOW},
	};
	const char *routes_s[] = {"198.18.0.0/15", "fd7e::/16", "0.0.0.0/0",
				  "::/0"};
	struct tg_prefix routes[4];
	struct nat_opts o = {.routes = routes, .n_routes = 4};
	uint8_t own[4] = {198, 18, 5, 5};

	parse_list(routes, routes_s, 4);
	check_policy(&o, own, want, N_OF(want));
}

static void test_not_offered(void **state)
{
	const struct want want[] = {
		{"198.18.2.9", POLICY_ALLOW},
		{"198.18.3.9", POLICY_NOT_OFFERED},
		{"fd7e:1::9", POLICY_ALLOW},
		{"fd7e:2::9", POLICY_NOT_OFFERED},
		/* the special reason wins over "not offered" */
		{"127.0.0.1", POLICY_LOOPBACK},
	};
	const struct want want_none[] = {
		{"198.18.2.9", POLICY_NOT_OFFERED},
	};
	const struct want want_all[] = {
		{"198.18.3.9", POLICY_ALLOW},
		{"fd7e:2::9", POLICY_ALLOW},
		{"::1", POLICY_LOOPBACK},
		{"ff02::1", POLICY_MULTICAST},
	};
	const char *routes_s[] = {"198.18.2.0/24", "fd7e:1::/32"};
	struct tg_prefix routes[2];
	struct nat_opts o = {.routes = routes, .n_routes = 2};

	parse_list(routes, routes_s, 2);
	check_policy(&o, NULL, want, N_OF(want));

	/* no routes at all */
	memset(&o, 0, sizeof(o));
	check_policy(&o, NULL, want_none, N_OF(want_none));

	/* route_default offers everything, still not the special ranges */
	o.route_default = true;
	check_policy(&o, NULL, want_all, N_OF(want_all));
}

static void test_allow(void **state)
{
	const struct want want[] = {
		{"127.0.0.1", POLICY_ALLOW},
		{"127.0.0.2", POLICY_LOOPBACK},
		{"fe80::99", POLICY_ALLOW},
		{"198.18.9.1", POLICY_ALLOW},
		{"198.18.10.1", POLICY_NOT_OFFERED},
		{"198.18.5.5", POLICY_ALLOW},
		{"::1", POLICY_LOOPBACK},
	};
	const char *allow_s[] = {"127.0.0.1/32", "fe80::/10", "198.18.9.0/24",
				 "198.18.5.5"};
	struct tg_prefix allow[4];
	struct nat_opts o = {.allow = allow, .n_allow = 4};
	uint8_t own[4] = {198, 18, 5, 5};

	parse_list(allow, allow_s, 4);
	check_policy(&o, own, want, N_OF(want));
}

/* this machine's real addresses, as the outside gives them to the NAT */
static void test_own_addresses(void **state)
{
	struct nat_opts o = {.route_default = true};
	struct tg_prefix *own;
	uv_interface_address_t *ifs;
	struct nat_policy p;
	int n, seen = 0;

	assert_int_equal(tg_host_addrs(&own, &o.n_own), 0);
	o.own = own;
	assert_int_equal(nat_policy_init(&p, &o), 0);
	free(own);
	assert_int_equal(uv_interface_addresses(&ifs, &n), 0);
	for (int i = 0; i < n; i++) {
		const struct sockaddr_in *a4 = &ifs[i].address.address4;
		const struct sockaddr_in6 *a6 = &ifs[i].address.address6;
		enum policy_verdict v;

		if (ifs[i].is_internal)
			continue;
		if (a4->sin_family == AF_INET)
			v = nat_policy_check(&p, AF_INET,
					     (const uint8_t *)&a4->sin_addr);
		else
			v = nat_policy_check(&p, AF_INET6,
					     a6->sin6_addr.s6_addr);
		/* a link-local address says so first */
		assert_true(v == POLICY_OWN || v == POLICY_LINK_LOCAL);
		seen += v == POLICY_OWN;
	}
	uv_free_interface_addresses(ifs, n);
	nat_policy_free(&p);
	if (!seen)
		skip();
}

/* IPv6 spellings of an IPv4 address count as that address */
static void test_embedded(void **state)
{
	const struct want want[] = {
		/* mapped: refused in any case, by the telling reason */
		{"::ffff:127.0.0.1", POLICY_LOOPBACK},
		{"::ffff:198.18.5.5", POLICY_OWN},
		{"::ffff:169.254.169.254", POLICY_LINK_LOCAL},
		{"::ffff:198.18.7.7", POLICY_MAPPED},
		/* compatible (::/96), but :: and ::1 are IPv6's own */
		{"::127.0.0.1", POLICY_LOOPBACK},
		{"::7f00:2", POLICY_LOOPBACK},
		{"::198.18.5.5", POLICY_OWN},
		{"::198.18.7.7", POLICY_ALLOW},
		{"::", POLICY_UNSPECIFIED},
		{"::1", POLICY_LOOPBACK},
		{"::2", POLICY_ALLOW},
		/* NAT64, RFC 6052's well-known prefix, and only that /96 */
		{"64:ff9b::127.0.0.1", POLICY_LOOPBACK},
		{"64:ff9b::7f00:1", POLICY_LOOPBACK},
		{"64:ff9b::198.18.5.5", POLICY_OWN},
		{"64:ff9b::c612:505", POLICY_OWN},
		{"64:ff9b::a9fe:a9fe", POLICY_LINK_LOCAL},
		{"64:ff9b::198.18.7.7", POLICY_ALLOW},
		{"64:ff9b:1::198.18.5.5", POLICY_ALLOW},
		{"64:ff9b:0:0:1::c612:505", POLICY_ALLOW},
		/* 6to4: the whole /48 of the address */
		{"2002:7f00:1::", POLICY_LOOPBACK},
		{"2002:7f00:1:ffff::1", POLICY_LOOPBACK},
		{"2002:c612:505::1", POLICY_OWN},
		{"2002:c612:505:99:1:2:3:4", POLICY_OWN},
		{"2002:c612:505::c612:707", POLICY_OWN},
		{"2002:c612:707::1", POLICY_ALLOW},
		{"2003:c612:505::1", POLICY_ALLOW},
		{"2002::1", POLICY_ALLOW}, /* 6to4 of 0.0.0.0: not this host */
	};
	struct nat_opts o = {.route_default = true};
	uint8_t own[4] = {198, 18, 5, 5};

	check_policy(&o, own, want, N_OF(want));
}

/* --allow names the IPv4 address, or the IPv6 spelling itself */
static void test_embedded_allow(void **state)
{
	const struct want want[] = {
		{"64:ff9b::198.18.5.5", POLICY_ALLOW},
		{"2002:c612:505::1", POLICY_ALLOW},
		{"::198.18.5.5", POLICY_ALLOW},
		{"64:ff9b::127.0.0.1", POLICY_ALLOW},
		/* mapped stays refused: it is IPv4 in disguise */
		{"::ffff:198.18.5.5", POLICY_MAPPED},
		{"::ffff:127.0.0.1", POLICY_MAPPED},
		{"64:ff9b::127.0.0.2", POLICY_LOOPBACK},
		{"2002:7f00:1::1", POLICY_ALLOW},
		{"2002:7f00:2::1", POLICY_LOOPBACK},
		/* an allowed IPv6 prefix wins over what it embeds */
		{"2002:c0a8:1::1", POLICY_ALLOW},
		{"64:ff9b::a9fe:a9fe", POLICY_LINK_LOCAL},
	};
	const char *allow_s[] = {"198.18.5.5/32", "127.0.0.1/32",
				 "2002:c0a8:1::/48"};
	struct tg_prefix allow[3];
	struct nat_opts o = {.route_default = true,
			     .allow = allow,
			     .n_allow = 3};
	uint8_t own[4] = {198, 18, 5, 5};
	const struct want own_mine[] = {
		{"2002:c0a8:1::1", POLICY_ALLOW},
	};
	uint8_t own2[4] = {192, 168, 0, 1};

	parse_list(allow, allow_s, 3);
	check_policy(&o, own, want, N_OF(want));
	check_policy(&o, own2, own_mine, N_OF(own_mine));
}

/* the own set is replaced whole, as often as the caller likes */
static void test_set_own(void **state)
{
	const char *a_s[] = {"198.18.6.6/32", "fd7e::6/128"};
	struct tg_prefix a[2], five;
	struct nat_opts o = {.route_default = true};
	uint8_t v5[4] = {198, 18, 5, 5};
	struct nat_policy p;

	parse_list(a, a_s, 2);
	tg_prefix_host(&five, AF_INET, v5);
	o.own = &five;
	o.n_own = 1;
	assert_int_equal(nat_policy_init(&p, &o), 0);
	assert_int_equal(check(&p, "198.18.5.5"), POLICY_OWN);
	assert_int_equal(check(&p, "198.18.6.6"), POLICY_ALLOW);
	assert_int_equal(nat_policy_set_own(&p, a, 2), 0);
	assert_int_equal(check(&p, "198.18.5.5"), POLICY_ALLOW);
	assert_int_equal(check(&p, "198.18.6.6"), POLICY_OWN);
	assert_int_equal(check(&p, "fd7e::6"), POLICY_OWN);
	assert_int_equal(check(&p, "64:ff9b::198.18.6.6"), POLICY_OWN);
	assert_int_equal(nat_policy_set_own(&p, NULL, 0), 0);
	assert_int_equal(check(&p, "198.18.6.6"), POLICY_ALLOW);
	assert_int_equal(check(&p, "fd7e::6"), POLICY_ALLOW);
	nat_policy_free(&p);
}

static void test_reasons(void **state)
{
	assert_string_equal(nat_policy_reason(POLICY_LOOPBACK), "loopback");
	assert_string_equal(nat_policy_reason(POLICY_LINK_LOCAL), "link-local");
	assert_string_equal(nat_policy_reason(POLICY_MULTICAST), "multicast");
	assert_string_equal(nat_policy_reason(POLICY_BROADCAST), "broadcast");
	assert_string_equal(nat_policy_reason(POLICY_OWN),
			    "this machine's own address");
	assert_string_equal(nat_policy_reason(POLICY_NOT_OFFERED),
			    "not an offered route");
	assert_true(nat_policy_no_icmp(POLICY_MULTICAST));
	assert_true(nat_policy_no_icmp(POLICY_BROADCAST));
	assert_false(nat_policy_no_icmp(POLICY_LOOPBACK));
}

/* ---- what the NAT does with refused and odd packets ---- */

struct ctx {
	uv_loop_t loop;
	struct nat *nat;
	uint8_t pkt[2000];
	size_t len;
	unsigned n_emit;
};

static int emit_cb(void *arg, const uint8_t *pkt, size_t len)
{
	struct ctx *c = arg;

	c->n_emit++;
	assert_true(len <= sizeof(c->pkt));
	memcpy(c->pkt, pkt, len);
	c->len = len;
	return 0;
}

static int setup(void **state)
{
	static struct ctx c;
	struct tg_prefix routes[1];
	struct nat_opts o = {.routes = routes, .n_routes = 1};

	memset(&c, 0, sizeof(c));
	/* refusals log a warning; keep the test output quiet */
	tg_log_init(TG_LOG_ERR, "test");
	assert_true(tg_prefix_parse("fd7e:9::/32", &routes[0]));
	assert_int_equal(uv_loop_init(&c.loop), 0);
	c.nat = nat_new(&c.loop, &o, emit_cb, &c);
	assert_non_null(c.nat);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	nat_close(c->nat);
	assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&c->loop), 0);
	return 0;
}

/*
 * @p goes in and is answered at once, before the loop runs: the answer is
 * the @n_emit-th packet out, parsed into @pi
 */
static void answered(struct ctx *c, const uint8_t *p, size_t n, unsigned n_emit,
		     struct pkt_info *pi)
{
	nat_from_tun(c->nat, p, n);
	assert_int_equal(c->n_emit, n_emit);
	assert_int_equal(nat_pkt_parse(c->pkt, c->len, pi), 0);
}

static void test_nat_refuse_udp(void **state)
{
	struct ctx *c = *state;
	struct nat_stats st;
	struct pkt_info pi;
	uint8_t p[200];
	size_t n;

	n = t_udp(p, AF_INET, T_IN4, 5000, T_LO4, 53, "dns?", 4);
	answered(c, p, n, 1, &pi);
	assert_int_equal(pi.icmp_type, 3);
	assert_int_equal(pi.icmp_code, 13);
	assert_memory_equal(pi.src, T_LO4, 4);
	assert_memory_equal(pi.dst, T_IN4, 4);
	assert_int_equal(c->len, 20 + 8 + 28);
	assert_memory_equal(c->pkt + 28, p, 28);

	/* not offered, IPv6 */
	n = t_udp(p, AF_INET6, T_IN6, 5000, T_DST6, 53, "dns?", 4);
	answered(c, p, n, 2, &pi);
	assert_int_equal(pi.icmp_type, 1);
	assert_int_equal(pi.icmp_code, 1);
	assert_memory_equal(pi.src, T_DST6, 16);
	assert_int_equal(c->len, 48 + n);

	/* multicast: refused in silence */
	const uint8_t mdns[4] = {224, 0, 0, 251};
	n = t_udp(p, AF_INET, T_IN4, 5353, mdns, 5353, "q", 1);
	nat_from_tun(c->nat, p, n);
	assert_int_equal(c->n_emit, 2);

	nat_get_stats(c->nat, &st);
	assert_int_equal(st.refused, 3);
	assert_int_equal(st.icmp_errors_sent, 2);
	assert_int_equal(st.udp_flows, 0);
	assert_int_equal(st.pkts_in, 3);
	assert_int_equal(st.pkts_out, 2);
}

static void test_nat_refuse_echo(void **state)
{
	struct ctx *c = *state;
	struct nat_stats st;
	struct pkt_info pi;
	uint8_t p[200];
	size_t n;

	n = t_echo(p, AF_INET6, T_IN6, T_LO6, 7, 1, "x", 1);
	answered(c, p, n, 1, &pi);
	assert_int_equal(pi.icmp_type, 1);
	assert_int_equal(pi.icmp_code, 1);
	nat_get_stats(c->nat, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.icmp_flows, 0);
}

static void test_nat_tcp_rst(void **state)
{
	struct ctx *c = *state;
	struct nat_stats st;
	struct pkt_info pi;
	uint8_t p[200];
	size_t n;

	/* refused: RST, counted as refused */
	n = t_tcp(p, AF_INET, T_IN4, 40000, T_LO4, 22, 100, 0, PKT_TCP_SYN,
		  NULL, 0, "", 0);
	answered(c, p, n, 1, &pi);
	assert_int_equal(pi.proto, IPPROTO_TCP);
	assert_int_equal(pi.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK);
	assert_int_equal(pi.tcp_ack, 101);
	assert_int_equal(pi.sport, 22);
	assert_int_equal(pi.dport, 40000);

	/* allowed, but of no connection: RST (RFC 9293 3.10.7.1) */
	const uint8_t dst[16] = {0xfd, 0x7e, 0, 9, [15] = 1};
	n = t_tcp(p, AF_INET6, T_IN6, 40000, dst, 80, 5, 9, PKT_TCP_ACK, NULL,
		  0, "GET", 3);
	answered(c, p, n, 2, &pi);
	assert_int_equal(pi.tcp_flags, PKT_TCP_RST);
	assert_int_equal(pi.tcp_seq, 9);

	/* a RST is never answered */
	n = t_tcp(p, AF_INET6, T_IN6, 40000, dst, 80, 5, 9, PKT_TCP_RST, NULL,
		  0, "", 0);
	nat_from_tun(c->nat, p, n);
	assert_int_equal(c->n_emit, 2);

	nat_get_stats(c->nat, &st);
	assert_int_equal(st.refused, 1);
	/* the unanswered RST is still counted: every packet shows up */
	assert_int_equal(st.unsupported, 1);
	assert_int_equal(st.icmp_errors_sent, 0);
}

static void test_nat_junk(void **state)
{
	struct ctx *c = *state;
	struct nat_stats st;
	uint8_t p[200];
	size_t n;

	memset(p, 0x45, sizeof(p));
	nat_from_tun(c->nat, p, 0);
	nat_from_tun(c->nat, p, sizeof(p));
	n = t_udp(p, AF_INET, T_IN4, 1, T_DST4, 2, "x", 1);
	p[n - 1] ^= 1;
	nat_from_tun(c->nat, p, n); /* bad UDP checksum */
	n = t_udp(p, AF_INET, T_IN4, 1, T_DST4, 0, "x", 1);
	nat_from_tun(c->nat, p, n); /* port 0 */
	nat_get_stats(c->nat, &st);
	assert_int_equal(st.malformed, 4);

	/* a fragment, an unknown protocol, an echo reply, an ICMP error */
	n = t_udp(p, AF_INET, T_IN4, 1, T_DST4, 2, "x", 1);
	p[6] = 0x20;
	p[10] = p[11] = 0;
	put16(p + 10, ref_csum(p, 20));
	nat_from_tun(c->nat, p, n);
	n = t_udp(p, AF_INET6, T_IN6, 1, T_DST6, 2, "x", 1);
	p[6] = 47;
	nat_from_tun(c->nat, p, n);
	n = t_echo(p, AF_INET, T_IN4, T_DST4, 1, 1, "", 0);
	p[20] = 0;
	put16(p + 22, 0);
	put16(p + 22, ref_csum(p + 20, 8));
	nat_from_tun(c->nat, p, n);
	n = t_echo(p, AF_INET, T_IN4, T_DST4, 1, 1, "", 0);
	p[20] = 3;
	put16(p + 22, 0);
	put16(p + 22, ref_csum(p + 20, 8));
	nat_from_tun(c->nat, p, n);
	nat_get_stats(c->nat, &st);
	assert_int_equal(st.unsupported, 4);
	assert_int_equal(st.pkts_in, 8);
	assert_int_equal(st.bytes_in, 0 + 200 + 29 + 29 + 29 + 49 + 28 + 28);
	assert_int_equal(c->n_emit, 0);
}

/* ---- own addresses that change under open flows ---- */

/* an IPv4 address of this machine that is neither loopback nor link-local */
static bool host_addr4(uint8_t out[4])
{
	struct tg_prefix *own;
	size_t n;
	bool found = false;

	assert_int_equal(tg_host_addrs(&own, &n), 0);
	for (size_t i = 0; i < n && !found; i++) {
		if (own[i].family != AF_INET || own[i].addr[0] == 127 ||
		    (own[i].addr[0] == 169 && own[i].addr[1] == 254))
			continue;
		memcpy(out, own[i].addr, 4);
		found = true;
	}
	free(own);
	return found;
}

struct live {
	struct ctx *c;
	uv_udp_t udp;
	uv_tcp_t tcp;
	uint16_t uport, tport;
	unsigned got;
	bool accepted;
};

static void live_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	static char buf[256];

	*b = uv_buf_init(buf, sizeof(buf));
}

static void live_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
		      const struct sockaddr *a, unsigned flags)
{
	struct live *l = h->data;

	if (n > 0)
		l->got++;
}

static void live_conn(uv_stream_t *srv, int status)
{
	((struct live *)srv->data)->accepted = true;
}

/* run @c's loop until *@v changes from @old, for at most 2 s */
static void live_run(struct ctx *c, const unsigned *v, unsigned old)
{
	uint64_t end = uv_now(&c->loop) + 2000;

	while (*v == old && uv_now(&c->loop) < end) {
		uv_run(&c->loop, UV_RUN_NOWAIT);
		uv_sleep(1);
		uv_update_time(&c->loop);
	}
}

static void live_addr(struct sockaddr_storage *ss, const uint8_t *a4)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, a4, 4);
}

static void live_send(struct live *l, const uint8_t *a4)
{
	uint8_t p[200];
	size_t n = t_udp(p, AF_INET, T_IN4, 5000, a4, l->uport, "hi", 2);

	nat_from_tun(l->c->nat, p, n);
}

/*
 * A UDP flow and a TCP connection to one of this machine's addresses,
 * opened while it was not among the NAT's own: once it is, both end at
 * once (the inside gets a RST), and the next datagram is refused.
 */
static void test_nat_own_live(void **state)
{
	static struct ctx c;
	struct nat_opts o = {.route_default = true};
	struct live l = {.c = &c};
	struct sockaddr_storage ss;
	struct nat_stats st;
	struct tg_prefix h;
	struct pkt_info pi;
	uint8_t a4[4], p[200];
	int len = sizeof(ss);
	size_t n;

	if (!host_addr4(a4))
		skip();
	memset(&c, 0, sizeof(c));
	tg_log_init(TG_LOG_ERR, "test");
	assert_int_equal(uv_loop_init(&c.loop), 0);
	c.nat = nat_new(&c.loop, &o, emit_cb, &c);
	assert_non_null(c.nat);
	live_addr(&ss, a4);
	assert_int_equal(uv_udp_init(&c.loop, &l.udp), 0);
	assert_int_equal(uv_udp_bind(&l.udp, (struct sockaddr *)&ss, 0), 0);
	assert_int_equal(uv_udp_getsockname(&l.udp, (struct sockaddr *)&ss,
					    &len),
			 0);
	l.uport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	l.udp.data = &l;
	assert_int_equal(uv_udp_recv_start(&l.udp, live_alloc, live_recv), 0);
	live_addr(&ss, a4);
	assert_int_equal(uv_tcp_init(&c.loop, &l.tcp), 0);
	assert_int_equal(uv_tcp_bind(&l.tcp, (struct sockaddr *)&ss, 0), 0);
	len = sizeof(ss);
	assert_int_equal(uv_tcp_getsockname(&l.tcp, (struct sockaddr *)&ss,
					    &len),
			 0);
	l.tport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	l.tcp.data = &l;
	assert_int_equal(uv_listen((uv_stream_t *)&l.tcp, 8, live_conn), 0);

	/* not own yet: both get through */
	live_send(&l, a4);
	live_run(&c, &l.got, 0);
	assert_int_equal(l.got, 1);
	n = t_tcp(p, AF_INET, T_IN4, 40000, a4, l.tport, 100, 0, PKT_TCP_SYN,
		  NULL, 0, "", 0);
	nat_from_tun(c.nat, p, n);
	live_run(&c, &c.n_emit, 0);
	assert_int_equal(nat_pkt_parse(c.pkt, c.len, &pi), 0);
	assert_int_equal(pi.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	nat_get_stats(c.nat, &st);
	assert_int_equal(st.udp_flows, 1);
	assert_int_equal(st.tcp_flows, 1);

	/* own now: both flows end at once, the inside hears of the TCP one */
	tg_prefix_host(&h, AF_INET, a4);
	assert_int_equal(nat_set_own(c.nat, &h, 1), 2);
	assert_int_equal(c.n_emit, 2);
	assert_int_equal(nat_pkt_parse(c.pkt, c.len, &pi), 0);
	assert_int_equal(pi.tcp_flags & PKT_TCP_RST, PKT_TCP_RST);
	assert_int_equal(pi.sport, l.tport);
	nat_get_stats(c.nat, &st);
	assert_int_equal(st.udp_flows, 0);
	assert_int_equal(st.tcp_flows, 0);
	/* the set is the same again: nothing more to end */
	assert_int_equal(nat_set_own(c.nat, &h, 1), 0);

	/* the next datagram is refused, and never reaches the socket */
	live_send(&l, a4);
	assert_int_equal(c.n_emit, 3);
	assert_int_equal(nat_pkt_parse(c.pkt, c.len, &pi), 0);
	assert_int_equal(pi.icmp_type, 3);
	assert_int_equal(pi.icmp_code, 13);
	uv_run(&c.loop, UV_RUN_NOWAIT);
	assert_int_equal(l.got, 1);

	/* gone again: reached again */
	assert_int_equal(nat_set_own(c.nat, NULL, 0), 0);
	live_send(&l, a4);
	live_run(&c, &l.got, 1);
	assert_int_equal(l.got, 2);

	nat_close(c.nat);
	uv_close((uv_handle_t *)&l.udp, NULL);
	uv_close((uv_handle_t *)&l.tcp, NULL);
	assert_int_equal(uv_run(&c.loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&c.loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_not_offered),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_own_addresses),
		cmocka_unit_test(test_embedded),
		cmocka_unit_test(test_embedded_allow),
		cmocka_unit_test(test_set_own),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_nat_own_live),
		cmocka_unit_test_setup_teardown(test_nat_refuse_udp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nat_refuse_echo, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nat_tcp_rst, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nat_junk, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
