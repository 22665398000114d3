/* SPDX-License-Identifier: MIT */
/*
 * dns_fake.h - a fake authoritative server for the "test." zone on
 * 127.0.0.1 (UDP and TCP, one ephemeral port), run by the test's own
 * loop, and a resolv.conf that points at it. It counts the queries it
 * gets, truncates UDP answers over the asker's size as a real server
 * does, and never answers "slow.test." (nor anything if silent).
 */
#ifndef DNS_FAKE_H
#define DNS_FAKE_H

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

struct fake {
	uv_udp_t udp;
	uv_tcp_t tcp;
	int port, udp_count, tcp_count;
	bool silent;
	char resolv[64];
};

static struct fake fk;

#define SOA "test. 3600 IN SOA ns.test. admin.test. 1 7200 900 1209600 60"

struct zone_rr {
	const char *name;
	ldns_rr_type type;
	const char *rr;
};

static const struct zone_rr zone[] = {
	{"txt.test.", LDNS_RR_TYPE_TXT, "txt.test. 300 IN TXT \"hello world\""},
	{"mx.test.", LDNS_RR_TYPE_MX, "mx.test. 600 IN MX 10 mail.test."},
	{"srv.test.", LDNS_RR_TYPE_SRV,
	 "srv.test. 120 IN SRV 0 5 443 host.test."},
	{"caa.test.", LDNS_RR_TYPE_CAA,
	 "caa.test. 300 IN CAA 0 issue \"ca.example\""},
	{"https.test.", 65, "https.test. 300 IN TYPE65 \\# 3 000100"},
	{"svcb.test.", 64, "svcb.test. 300 IN TYPE64 \\# 3 000100"},
	{"cname.test.", LDNS_RR_TYPE_CNAME,
	 "cname.test. 60 IN CNAME txt.test."},
	{"7.2.0.192.in-addr.arpa.", LDNS_RR_TYPE_PTR,
	 "7.2.0.192.in-addr.arpa. 300 IN PTR host.test."},
	{"test.", LDNS_RR_TYPE_NS, "test. 3600 IN NS ns.test."},
	{"test.", LDNS_RR_TYPE_SOA, SOA},
	{"null.test.", LDNS_RR_TYPE_NULL, "null.test. 300 IN NULL \\# 2 abcd"},
};

static ldns_rr *rr_of(const char *s)
{
	ldns_rr *rr = NULL;

	assert_int_equal(ldns_rr_new_frm_str(&rr, s, 0, NULL, NULL),
			 LDNS_STATUS_OK);
	return rr;
}

/* a TXT record of @n strings of 200 bytes */
static ldns_rr *big_txt(const char *name, int n)
{
	static char s[8192];
	size_t o = (size_t)snprintf(s, sizeof(s), "%s 300 IN TXT", name);
	ldns_rr *rr;

	for (int i = 0; i < n; i++) {
		s[o++] = ' ';
		s[o++] = '"';
		memset(s + o, 'a' + i, 200);
		o += 200;
		s[o++] = '"';
	}
	s[o] = '\0';
	rr = rr_of(s);
	return rr;
}

static void fake_fill(ldns_pkt *a, const char *name, ldns_rr_type t)
{
	bool known = false;

	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		if (strcasecmp(zone[i].name, name))
			continue;
		known = true;
		if (zone[i].type == t)
			ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER,
					 rr_of(zone[i].rr));
	}
	if (!strcasecmp(name, "mid.test.") && t == LDNS_RR_TYPE_TXT)
		ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, big_txt(name, 4));
	else if (!strcasecmp(name, "big.test.") && t == LDNS_RR_TYPE_TXT)
		ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, big_txt(name, 15));
	else if (!strcasecmp(name, "nx.test."))
		ldns_pkt_set_rcode(a, LDNS_RCODE_NXDOMAIN);
	else if (!strcasecmp(name, "nosoa.test."))
		ldns_pkt_set_rcode(a, LDNS_RCODE_NXDOMAIN);
	else if (!strcasecmp(name, "fail.test."))
		ldns_pkt_set_rcode(a, LDNS_RCODE_SERVFAIL);
	else if (!known && strcasecmp(name, "nodata.test."))
		ldns_pkt_set_rcode(a, LDNS_RCODE_REFUSED);
	if (ldns_pkt_ancount(a) == 0 && strcasecmp(name, "nosoa.test.") &&
	    ldns_pkt_get_rcode(a) != LDNS_RCODE_SERVFAIL &&
	    ldns_pkt_get_rcode(a) != LDNS_RCODE_REFUSED)
		ldns_pkt_push_rr(a, LDNS_SECTION_AUTHORITY, rr_of(SOA));
}

/* the answer to @in in @out (malloc), or 0 to stay silent */
static size_t fake_answer(const uint8_t *in, size_t len, bool udp,
			  uint8_t **out)
{
	ldns_pkt *q = NULL, *a;
	const ldns_rr *qr;
	size_t n = 0, limit;
	char *name;

	if (ldns_wire2pkt(&q, in, len) != LDNS_STATUS_OK)
		return 0;
	udp ? fk.udp_count++ : fk.tcp_count++;
	qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	name = ldns_rdf2str(ldns_rr_owner(qr));
	limit = ldns_pkt_edns_udp_size(q) ? ldns_pkt_edns_udp_size(q) : 512;
	if (!fk.silent && strcasecmp(name, "slow.test.")) {
		a = ldns_pkt_new();
		ldns_pkt_set_id(a, ldns_pkt_id(q));
		ldns_pkt_set_qr(a, true);
		ldns_pkt_set_aa(a, true);
		ldns_pkt_set_rd(a, ldns_pkt_rd(q));
		ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(qr));
		fake_fill(a, name, ldns_rr_get_type(qr));
		if (ldns_pkt_edns(q))
			ldns_pkt_set_edns_udp_size(a, 4096);
		ldns_pkt2wire(out, a, &n);
		if (udp && n > limit) {
			free(*out);
			ldns_rr_list_deep_free(ldns_pkt_answer(a));
			ldns_pkt_set_answer(a, ldns_rr_list_new());
			ldns_pkt_set_ancount(a, 0);
			ldns_pkt_set_tc(a, true);
			ldns_pkt2wire(out, a, &n);
		}
		ldns_pkt_free(a);
	}
	free(name);
	ldns_pkt_free(q);
	return n;
}

static uint8_t fake_buf[65536];

static void fake_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	b->base = (char *)fake_buf;
	b->len = sizeof(fake_buf);
}

static void fake_udp_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
			const struct sockaddr *addr, unsigned flags)
{
	uint8_t *out = NULL;
	size_t n;

	if (nread <= 0 || !addr)
		return;
	n = fake_answer((const uint8_t *)buf->base, (size_t)nread, true, &out);
	if (n) {
		uv_buf_t b = uv_buf_init((char *)out, (unsigned)n);

		uv_udp_try_send(h, &b, 1, addr);
	}
	free(out);
}

struct fake_conn {
	uv_tcp_t t;
	size_t used;
	uint8_t buf[70000];
};

struct fake_write {
	uv_write_t w;
	uint8_t d[];
};

static void fake_free_cb(uv_handle_t *h)
{
	free(h);
}

static void fake_write_cb(uv_write_t *w, int status)
{
	free(w);
}

static void fake_tcp_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	struct fake_conn *c = (struct fake_conn *)h;

	b->base = (char *)c->buf + c->used;
	b->len = sizeof(c->buf) - c->used;
}

static void fake_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct fake_conn *c = (struct fake_conn *)s;

	if (nread < 0) {
		uv_close((uv_handle_t *)s, fake_free_cb);
		return;
	}
	c->used += (size_t)nread;
	while (c->used >= 2 && c->used >= 2u + (c->buf[0] << 8 | c->buf[1])) {
		size_t len = (size_t)(c->buf[0] << 8 | c->buf[1]), n;
		uint8_t *out = NULL;

		n = fake_answer(c->buf + 2, len, false, &out);
		if (n) {
			struct fake_write *w = malloc(sizeof(*w) + 2 + n);
			uv_buf_t ub =
				uv_buf_init((char *)w->d, (unsigned)(2 + n));

			w->d[0] = (uint8_t)(n >> 8);
			w->d[1] = (uint8_t)n;
			memcpy(w->d + 2, out, n);
			uv_write(&w->w, s, &ub, 1, fake_write_cb);
		}
		free(out);
		memmove(c->buf, c->buf + 2 + len, c->used - 2 - len);
		c->used -= 2 + len;
	}
}

static void fake_conn_cb(uv_stream_t *server, int status)
{
	struct fake_conn *c = calloc(1, sizeof(*c));

	uv_tcp_init(server->loop, &c->t);
	if (uv_accept(server, (uv_stream_t *)&c->t) ||
	    uv_read_start((uv_stream_t *)&c->t, fake_tcp_alloc, fake_tcp_read))
		uv_close((uv_handle_t *)&c->t, fake_free_cb);
}

/* UDP and TCP on one free port of 127.0.0.1 */
static void fake_start(uv_loop_t *loop)
{
	struct sockaddr_in sa;
	int len, fd, tries = 0;

	memset(&fk, 0, sizeof(fk));
	for (;;) {
		assert_true(tries++ < 20);
		uv_ip4_addr("127.0.0.1", 0, &sa);
		uv_udp_init(loop, &fk.udp);
		assert_int_equal(uv_udp_bind(&fk.udp, (void *)&sa, 0), 0);
		len = sizeof(sa);
		uv_udp_getsockname(&fk.udp, (void *)&sa, &len);
		uv_tcp_init(loop, &fk.tcp);
		if (!uv_tcp_bind(&fk.tcp, (void *)&sa, 0) &&
		    !uv_listen((uv_stream_t *)&fk.tcp, 8, fake_conn_cb))
			break;
		uv_close((uv_handle_t *)&fk.udp, NULL);
		uv_close((uv_handle_t *)&fk.tcp, NULL);
		uv_run(loop, UV_RUN_NOWAIT);
	}
	fk.port = ntohs(sa.sin_port);
	uv_udp_recv_start(&fk.udp, fake_alloc, fake_udp_cb);
	strcpy(fk.resolv, "/tmp/tg-dns-test-XXXXXX");
	fd = mkstemp(fk.resolv);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "# fake\nnameserver 127.0.0.1\n", 28), 28);
	close(fd);
}

static void fake_stop(void)
{
	uv_close((uv_handle_t *)&fk.udp, NULL);
	uv_close((uv_handle_t *)&fk.tcp, NULL);
	unlink(fk.resolv);
}

#endif
