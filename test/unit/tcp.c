/* SPDX-License-Identifier: MIT */
/*
 * tcp.c - unit tests for the NAT's TCP termination, end to end in one
 * process: a real libuv loop, nat_new() allowing 127.0.0.1 and ::1, real
 * TCP servers on them (libuv), and the test playing the inside: segments
 * built by hand go into nat_from_tun(), the segments the NAT emits are
 * collected, checked with the independent checksum of nat_test.h, and
 * answered. Every test runs twice: once with a plain emit callback that
 * copies, once with emit_reserve/emit_commit, where the NAT builds its
 * TCP segments in a buffer of exactly the reserved size (so that ASan
 * sees any write past it), filled with junk beforehand.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "lib/log.h"
#include "nat/nat.h"
#include "nat/pkt.h"
#include "nat/tcp_conn.h"
#include "test/unit/nat_test.h"

#define QCAP 8192
/* the NAT buffers at least this much for a socket that does not read */
#define TCP_IN_CAP_MIN (256 * 1024)
#define MAX_CONNS 64

static const uint8_t T_SVC4[4] = {198, 18, 0, 53};
static const uint8_t T_BCAST4[4] = {255, 255, 255, 255};

struct ctx;

/* one connection the test servers accepted */
struct conn {
	uv_tcp_t h;
	struct ctx *c;
	uint8_t *rx;
	size_t rx_len, rx_cap;
	bool eof, closed;
	int err;
};

struct pkt {
	uint8_t *p;
	size_t len;
};

struct svc_conn {
	uv_pipe_t h;
	uint8_t rx[256];
	size_t rx_len;
	bool eof;
};

struct ctx {
	uv_loop_t loop;
	struct nat *nat;
	uv_tcp_t srv4, srv6;
	uint16_t port4, port6;
	bool no_read; /* accepted connections do not read */
	struct conn *conns[MAX_CONNS];
	int n_conns;
	struct pkt q[QCAP];
	size_t qh, qt;
	int emit_ret; /* also makes emit_reserve say "no room" */
	unsigned n_emit; /* emit and emit_reserve calls */
	uint8_t *resv; /* reserved, not yet committed */
	size_t resv_max;
	uint64_t out_pkts, out_bytes; /* taken by emit or emit_commit */
	unsigned n_commit;
	/* the service */
	struct svc_conn *svc;
	struct nat_peer udp_from;
	uint8_t udp_data[64];
	size_t udp_len;
	int udp_calls, tcp_calls;
};

/* the inside's end of one connection, as the test plays it */
struct in {
	struct ctx *c;
	int family;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	uint32_t seq; /* next seq we send */
	uint32_t ack; /* next seq we expect */
	uint16_t win; /* our window field */
	uint16_t mss; /* what our SYN offers */
	bool ws; /* our SYN offers window scale 0 */
	uint32_t nat_wnd; /* the NAT's last window, scaled (shift 7) */
	struct conn *srv;
};

/* the last packet popped */
static uint8_t pbuf[70000];
static struct pkt_info P;

/* the second run: TCP segments built in place (emit_reserve) */
static bool Direct;

static void enqueue(struct ctx *c, uint8_t *p, size_t len)
{
	assert_true(c->qt - c->qh < QCAP);
	c->q[c->qt % QCAP].p = p;
	c->q[c->qt % QCAP].len = len;
	c->qt++;
	c->out_pkts++;
	c->out_bytes += len;
}

static int emit_cb(void *arg, const uint8_t *pkt, size_t len)
{
	struct ctx *c = arg;
	uint8_t *p;

	/* nothing may come between a reservation and its commit */
	assert_null(c->resv);
	c->n_emit++;
	if (c->emit_ret)
		return c->emit_ret;
	p = malloc(len);
	assert_non_null(p);
	memcpy(p, pkt, len);
	enqueue(c, p, len);
	return 0;
}

static uint8_t *reserve_cb(void *arg, size_t max)
{
	struct ctx *c = arg;

	/* a reservation left unused is allowed (nat.h), if unexpected */
	free(c->resv);
	c->resv = NULL;
	c->n_emit++;
	if (c->emit_ret)
		return NULL;
	c->resv = malloc(max ? max : 1);
	assert_non_null(c->resv);
	memset(c->resv, 0xa5, max);
	c->resv_max = max;
	return c->resv;
}

static void commit_cb(void *arg, const uint8_t *pkt, size_t len)
{
	struct ctx *c = arg;

	assert_non_null(c->resv);
	assert_ptr_equal(pkt, c->resv);
	assert_true(len <= c->resv_max);
	enqueue(c, c->resv, len);
	c->resv = NULL;
	c->n_commit++;
}

static size_t queued(const struct ctx *c)
{
	return c->qt - c->qh;
}

static void drop_all(struct ctx *c)
{
	while (c->qh != c->qt)
		free(c->q[c->qh++ % QCAP].p);
}

/* ---- the loop ---- */

static void timeout_cb(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

/* run the loop until @pred holds or @ms pass; returns @pred's value */
static bool run_until(struct ctx *c, bool (*pred)(struct ctx *, void *),
		      void *arg, unsigned ms)
{
	uv_timer_t t;
	bool expired = false, ok;

	uv_timer_init(&c->loop, &t);
	t.data = &expired;
	uv_timer_start(&t, timeout_cb, ms, 0);
	while (!(ok = pred && pred(c, arg)) && !expired)
		uv_run(&c->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&c->loop, UV_RUN_NOWAIT);
	return ok;
}

static void run_for(struct ctx *c, unsigned ms)
{
	run_until(c, NULL, NULL, ms);
}

static bool have_pkt(struct ctx *c, void *arg)
{
	return queued(c) > 0;
}

/* pop the next packet into P, checking every checksum independently */
static bool pop(struct ctx *c)
{
	size_t hl;
	struct pkt *q;

	if (!queued(c))
		return false;
	q = &c->q[c->qh++ % QCAP];
	memcpy(pbuf, q->p, q->len);
	free(q->p);
	assert_int_equal(nat_pkt_parse(pbuf, q->len, &P), 0);
	hl = P.ip_hlen;
	if (P.family == AF_INET)
		assert_int_equal(ref_csum(pbuf, 20), 0);
	if (P.proto == IPPROTO_TCP || P.proto == IPPROTO_UDP)
		assert_int_equal(ref_l4_csum(P.family, P.src, P.dst, P.proto,
					     pbuf + hl, q->len - hl),
				 0);
	return true;
}

/* wait for and pop the next packet */
static void next(struct ctx *c, unsigned ms)
{
	run_until(c, have_pkt, NULL, ms);
	assert_true(pop(c));
}

/* ---- the servers ---- */

static void conn_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	struct conn *k = h->data;

	if (k->rx_cap - k->rx_len < 65536) {
		k->rx_cap = k->rx_cap * 2 + 65536;
		k->rx = realloc(k->rx, k->rx_cap);
		assert_non_null(k->rx);
	}
	*b = uv_buf_init((char *)k->rx + k->rx_len,
			 (unsigned)(k->rx_cap - k->rx_len));
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *k = s->data;

	if (n > 0)
		k->rx_len += (size_t)n;
	else if (n == UV_EOF)
		k->eof = true;
	else if (n < 0)
		k->err = (int)n;
}

static void on_connection(uv_stream_t *srv, int status)
{
	struct ctx *c = srv->data;
	struct conn *k = calloc(1, sizeof(*k));

	assert_int_equal(status, 0);
	assert_non_null(k);
	assert_true(c->n_conns < MAX_CONNS);
	k->c = c;
	uv_tcp_init(&c->loop, &k->h);
	k->h.data = k;
	assert_int_equal(uv_accept(srv, (uv_stream_t *)&k->h), 0);
	if (!c->no_read)
		uv_read_start((uv_stream_t *)&k->h, conn_alloc, conn_read);
	c->conns[c->n_conns++] = k;
}

static uint16_t listen_on(struct ctx *c, uv_tcp_t *h, const char *ip)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (strchr(ip, ':'))
		uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss);
	else
		uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss);
	assert_int_equal(uv_tcp_init(&c->loop, h), 0);
	h->data = c;
	assert_int_equal(uv_tcp_bind(h, (struct sockaddr *)&ss, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)h, 128, on_connection), 0);
	assert_int_equal(uv_tcp_getsockname(h, (struct sockaddr *)&ss, &len),
			 0);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void write_done(uv_write_t *w, int status)
{
	free(w);
}

/* the server writes @len bytes of @p (copied) */
static void srv_write(struct conn *k, const void *p, size_t len)
{
	uv_write_t *w = malloc(sizeof(*w) + len);
	uv_buf_t b = uv_buf_init((char *)(w + 1), (unsigned)len);

	assert_non_null(w);
	memcpy(w + 1, p, len);
	assert_int_equal(uv_write(w, (uv_stream_t *)&k->h, &b, 1, write_done),
			 0);
}

static void shut_done(uv_shutdown_t *r, int status)
{
	free(r);
}

static void srv_shutdown(struct conn *k)
{
	uv_shutdown_t *r = malloc(sizeof(*r));

	assert_int_equal(uv_shutdown(r, (uv_stream_t *)&k->h, shut_done), 0);
}

static void srv_close(struct conn *k)
{
	if (k->closed)
		return;
	k->closed = true;
	uv_close((uv_handle_t *)&k->h, NULL);
}

static bool have_conns(struct ctx *c, void *arg)
{
	return c->n_conns >= *(int *)arg;
}

/* ---- setup ---- */

static struct ctx G;

/* a fresh context in G (services may point their arg at it beforehand) */
static struct ctx *new_ctx(struct nat_opts *o)
{
	struct ctx *c = &G;
	struct tg_prefix allow[3];
	struct nat_opts def = {0};

	memset(c, 0, sizeof(*c));
	tg_log_init(getenv("TG_TEST_DEBUG") ? TG_LOG_TRACE : TG_LOG_ERR,
		    "test");
	assert_int_equal(uv_loop_init(&c->loop), 0);
	c->port4 = listen_on(c, &c->srv4, "127.0.0.1");
	c->port6 = listen_on(c, &c->srv6, "::1");
	if (!o)
		o = &def;
	assert_true(tg_prefix_parse("127.0.0.1/32", &allow[0]));
	assert_true(tg_prefix_parse("::1/128", &allow[1]));
	assert_true(tg_prefix_parse("255.255.255.255/32", &allow[2]));
	o->allow = allow;
	o->n_allow = 3;
	if (Direct) {
		o->emit_reserve = reserve_cb;
		o->emit_commit = commit_cb;
	}
	c->nat = nat_new(&c->loop, o, emit_cb, c);
	assert_non_null(c->nat);
	return c;
}

static int setup(void **state)
{
	*state = new_ctx(NULL);
	return 0;
}

static void svc_close_cb(uv_handle_t *h)
{
	free(h);
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	nat_close(c->nat);
	for (int i = 0; i < c->n_conns; i++)
		srv_close(c->conns[i]);
	if (c->svc && !uv_is_closing((uv_handle_t *)&c->svc->h))
		uv_close((uv_handle_t *)&c->svc->h, svc_close_cb);
	uv_close((uv_handle_t *)&c->srv4, NULL);
	uv_close((uv_handle_t *)&c->srv6, NULL);
	assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&c->loop), 0);
	for (int i = 0; i < c->n_conns; i++) {
		free(c->conns[i]->rx);
		free(c->conns[i]);
	}
	drop_all(c);
	free(c->resv);
	return 0;
}

/* ---- the inside ---- */

static struct in inside(struct ctx *c, int family, uint16_t sport)
{
	struct in s = {
		.c = c,
		.family = family,
		.src = family == AF_INET ? T_IN4 : T_IN6,
		.dst = family == AF_INET ? T_LO4 : T_LO6,
		.sport = sport,
		.dport = family == AF_INET ? c->port4 : c->port6,
		.seq = 1000000 + sport * 7u,
		.win = 65535,
		.mss = 65480,
		.ws = true,
	};
	return s;
}

/* a segment from the inside, with our window */
static void in_seg(struct in *s, uint32_t seq, uint32_t ack, uint8_t flags,
		   const uint8_t *opt, size_t olen, const void *data,
		   size_t len)
{
	static uint8_t b[70000];
	size_t n = t_tcp(b, s->family, s->src, s->sport, s->dst, s->dport, seq,
			 ack, flags, opt, olen, data ? data : "", len);
	size_t hl = t_iphlen(s->family);

	put16(b + hl + 14, s->win);
	put16(b + hl + 16, 0);
	put16(b + hl + 16, ref_l4_csum(s->family, s->src, s->dst, IPPROTO_TCP,
				       b + hl, n - hl));
	nat_from_tun(s->c->nat, b, n);
}

static void in_ack(struct in *s)
{
	in_seg(s, s->seq, s->ack, PKT_TCP_ACK, NULL, 0, NULL, 0);
}

static void in_data(struct in *s, const void *p, size_t len)
{
	in_seg(s, s->seq, s->ack, PKT_TCP_ACK | PKT_TCP_PSH, NULL, 0, p, len);
	s->seq += (uint32_t)len;
}

static void in_syn(struct in *s)
{
	uint8_t opt[20] = {2, 4, 0, 0, 1, 3, 3, 0, 4, 2, 8, 10, 0, 0, 0, 1};

	put16(opt + 2, s->mss);
	in_seg(s, s->seq, 0, PKT_TCP_SYN, opt, s->ws ? 20 : 4, NULL, 0);
}

/* P is from the NAT, of @s's flow */
static void is_ours(const struct in *s)
{
	size_t alen = s->family == AF_INET ? 4 : 16;

	assert_int_equal(P.proto, IPPROTO_TCP);
	assert_int_equal(P.family, s->family);
	assert_memory_equal(P.src, s->dst, alen);
	assert_memory_equal(P.dst, s->src, alen);
	assert_int_equal(P.sport, s->dport);
	assert_int_equal(P.dport, s->sport);
}

/* the option @kind of the segment in P, or NULL */
static const uint8_t *tcp_opt(uint8_t kind)
{
	const uint8_t *o = P.l4 + 20, *end = P.l4 + P.tcp_hlen;

	while (o < end && *o != 0) {
		if (*o == 1) {
			o++;
			continue;
		}
		if (o + 1 >= end || o[1] < 2)
			return NULL;
		if (*o == kind)
			return o;
		o += o[1];
	}
	return NULL;
}

static void take_ack(struct in *s)
{
	s->nat_wnd = (uint32_t)P.tcp_win << 7;
}

/* SYN, SYN-ACK (checked), ACK; the server has accepted */
static void handshake(struct in *s)
{
	struct ctx *c = s->c;
	int want = c->n_conns + 1;
	const uint8_t *o;

	in_syn(s);
	/* nothing before connect() succeeded */
	assert_int_equal(queued(c), 0);
	next(c, 2000);
	is_ours(s);
	assert_int_equal(P.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(P.tcp_ack, s->seq + 1);
	assert_int_equal(P.data_len, 0);
	o = tcp_opt(2);
	assert_non_null(o);
	assert_int_equal(get16(o + 2),
			 s->family == AF_INET ? 65520 - 40 : 65520 - 60);
	o = tcp_opt(3);
	if (s->ws) {
		assert_non_null(o);
		assert_int_equal(o[2], 7);
	} else {
		assert_null(o);
	}
	assert_null(tcp_opt(4)); /* no SACK */
	assert_null(tcp_opt(8));
	s->seq++;
	s->ack = P.tcp_seq + 1;
	s->nat_wnd = P.tcp_win;
	in_ack(s);
	assert_true(run_until(c, have_conns, &want, 2000));
	s->srv = c->conns[c->n_conns - 1];
}

struct want {
	struct conn *k;
	size_t len;
};

static bool srv_len(struct ctx *c, void *arg)
{
	struct want *w = arg;

	return w->k->rx_len >= w->len;
}

static bool srv_eof(struct ctx *c, void *arg)
{
	return ((struct conn *)arg)->eof;
}

static bool srv_err(struct ctx *c, void *arg)
{
	return ((struct conn *)arg)->err != 0;
}

static bool no_flows(struct ctx *c, void *arg)
{
	struct nat_stats st;

	nat_get_stats(c->nat, &st);
	return st.tcp_flows == 0;
}

static void sum_tcp_out(void *arg, const struct nat_flow_info *fi)
{
	if (fi->proto == IPPROTO_TCP)
		*(uint64_t *)arg += fi->pkts_out;
}

/* the NAT counted exactly what emit or emit_commit took, all of it TCP */
static void check_counters(struct ctx *c)
{
	struct nat_stats st;
	uint64_t flow_pkts = 0;

	nat_get_stats(c->nat, &st);
	assert_int_equal(st.pkts_out, c->out_pkts);
	assert_int_equal(st.bytes_out, c->out_bytes);
	assert_int_equal(st.dropped_out, 0);
	nat_foreach_flow(c->nat, sum_tcp_out, &flow_pkts);
	assert_int_equal(flow_pkts, c->out_pkts);
	/* in place, every TCP segment was */
	if (Direct)
		assert_int_equal(c->n_commit, c->out_pkts);
}

/* pop packets until a data segment of @s; returns its length */
static size_t next_data(struct in *s, unsigned ms)
{
	do {
		next(s->c, ms);
		is_ours(s);
	} while (!P.data_len && !(P.tcp_flags & PKT_TCP_FIN));
	return P.data_len;
}

/* ---- tests ---- */

static void test_handshake(void **state)
{
	struct ctx *c = *state;
	struct in s4 = inside(c, AF_INET, 40000);
	struct in s6 = inside(c, AF_INET6, 40001);
	struct nat_stats st;

	handshake(&s4);
	s6.ws = false;
	handshake(&s6);
	nat_get_stats(c->nat, &st);
	assert_int_equal(st.tcp_flows, 2);
	/* nothing else was sent: the final ACKs need no answer */
	run_for(c, 50);
	assert_int_equal(queued(c), 0);
}

/* data both ways, IPv4 or IPv6 */
static void data_both_ways(struct ctx *c, int family)
{
	struct in s = inside(c, family, 40010);
	struct want w;
	uint32_t isn;

	handshake(&s);
	isn = s.ack;
	in_data(&s, "hello", 5);
	w = (struct want){s.srv, 5};
	assert_true(run_until(c, srv_len, &w, 2000));
	assert_memory_equal(s.srv->rx, "hello", 5);
	/* one ACK for it, at the end of the turn */
	next(c, 1000);
	is_ours(&s);
	assert_int_equal(P.tcp_flags, PKT_TCP_ACK);
	assert_int_equal(P.tcp_ack, s.seq);
	assert_int_equal(P.tcp_seq, isn);
	assert_int_equal(P.data_len, 0);

	srv_write(s.srv, "world!", 6);
	assert_int_equal(next_data(&s, 2000), 6);
	assert_int_equal(P.tcp_seq, isn);
	assert_int_equal(P.tcp_ack, s.seq);
	assert_true(P.tcp_flags & PKT_TCP_ACK);
	assert_memory_equal(P.data, "world!", 6);
	s.ack += 6;
	in_ack(&s);
	run_for(c, 50);
	assert_int_equal(queued(c), 0);
	check_counters(c);
}

static void test_data4(void **state)
{
	data_both_ways(*state, AF_INET);
}

static void test_data6(void **state)
{
	data_both_ways(*state, AF_INET6);
}

static void fill(uint8_t *p, size_t len, size_t off)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((off + i) * 131 + (off + i) / 251);
}

/* 4 MB from the server, through a 64 KiB window and a small MSS */
static void test_download(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40020);
	enum { N = 4 << 20 };
	uint8_t *src = malloc(N), *got = malloc(N);
	size_t have = 0;
	uint32_t isn;

	fill(src, N, 0);
	s.mss = 16000;
	s.ws = false; /* windows of 64 KiB at most */
	handshake(&s);
	isn = s.ack;
	srv_write(s.srv, src, N);
	while (have < N) {
		next(c, 2000);
		is_ours(&s);
		if (!P.data_len)
			continue;
		assert_true(P.data_len <= 16000);
		/* never beyond the window the inside gave */
		assert_true((int32_t)(P.tcp_seq + P.data_len - s.ack) <= 65535);
		/* a loaded machine delays our ACKs past the RTO: the NAT
		 * rightly sends again from what it had not seen acknowledged
		 * (segments queued before our ACK may even be below it) */
		if (P.tcp_seq == isn + have) {
			memcpy(got + have, P.data, P.data_len);
			have += P.data_len;
		} else {
			assert_true(SEQ_GEQ(P.tcp_seq, isn));
			assert_true(SEQ_LEQ(P.tcp_seq + P.data_len, isn + have));
			assert_memory_equal(P.data, src + (P.tcp_seq - isn),
					    P.data_len);
		}
		/* acknowledge every other segment, as a kernel would */
		if (have - (s.ack - isn) >= 32000 || !queued(c)) {
			s.ack = isn + (uint32_t)have;
			in_ack(&s);
		}
	}
	assert_memory_equal(got, src, N);
	run_for(c, 50);
	/* nothing new; what was sent again before the last ACK may trail */
	while (pop(c))
		assert_true(!P.data_len ||
			    SEQ_LEQ(P.tcp_seq + P.data_len, isn + N));
	check_counters(c);
	free(src);
	free(got);
}

enum { CHUNK = 65000, NEAR = 64 * 1024, LIMIT = 64 << 20 };

/*
 * The inside sends all the window allows until it stays shut; returns the
 * bytes acknowledged (s->seq is just past them).
 *
 * "All the window allows" is up to the furthest right edge the NAT ever
 * advertised, not the edge of its last ACK: an odd piece that fills the
 * buffer off the scale's grid makes the edge retract by less than a unit
 * (RFC 7323 appendix F, test_window_rounding), and the NAT still takes
 * data up to the edge it had promised. Stopping at the last ACK's edge
 * would leave up to 127 bytes of window open. The last 64 KiB before the
 * edge go in small odd pieces, one per loop turn, so that every run
 * crosses such retractions, not only one where the kernel's buffers
 * drain at odd moments (a loaded machine).
 */
static size_t fill_window(struct in *s, uint32_t start)
{
	static uint8_t buf[CHUNK];
	uint32_t edge, right = start + s->nat_wnd, last_edge = 0;
	size_t acked = 0, len, step;
	int zero_rounds = 0;

	while (zero_rounds < 3) {
		while ((int32_t)(right - s->seq) > 0) {
			/* small odd pieces near the edge: edges off the
			 * scale's grid must not make the NAT promise room
			 * it lacks */
			step = right - s->seq <= NEAR ? 1001 : CHUNK;
			len = right - s->seq < step ? right - s->seq : step;
			fill(buf, len, s->seq - start);
			in_data(s, buf, len);
			if (step != CHUNK)
				break;
		}
		run_for(s->c, zero_rounds ? 50 : 1);
		while (pop(s->c)) {
			is_ours(s);
			assert_int_equal(P.tcp_flags, PKT_TCP_ACK);
			acked = P.tcp_ack - start;
			take_ack(s);
			edge = P.tcp_ack + s->nat_wnd;
			/* RFC 7323 2.4: the right edge does not move left,
			 * but by less than a unit of the scale (appendix F) */
			if (last_edge)
				assert_true((int32_t)(edge - last_edge) > -128);
			last_edge = edge;
			if ((int32_t)(edge - right) > 0)
				right = edge;
		}
		/* all within the window was taken */
		assert_int_equal(s->seq - start, acked);
		assert_true(acked < LIMIT);
		zero_rounds = s->nat_wnd || s->seq != right ? 0 : zero_rounds + 1;
	}
	return acked;
}

/* the server stops reading: the window closes, nothing grows unbounded */
static void test_window_shrinks(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40030);
	static uint8_t buf[CHUNK];
	uint32_t start;
	size_t acked;
	struct want w;

	c->no_read = true;
	handshake(&s);
	start = s.seq;
	acked = fill_window(&s, start);
	/* bounded by the kernel's buffers and ours, far below the limit */
	assert_true(acked > TCP_IN_CAP_MIN);
	/* beyond a zero window nothing is taken */
	fill(buf, 1000, acked);
	in_data(&s, buf, 1000);
	next(c, 1000);
	assert_int_equal(P.tcp_ack, start + acked);
	assert_int_equal(P.tcp_win, 0);
	s.seq -= 1000;

	/* the server reads again: a window update, and the rest follows */
	uv_read_start((uv_stream_t *)&s.srv->h, conn_alloc, conn_read);
	next(c, 5000);
	take_ack(&s);
	assert_true(s.nat_wnd > 0);
	assert_int_equal(P.tcp_ack, start + acked);
	fill(buf, 1000, acked);
	in_data(&s, buf, 1000);
	acked += 1000;
	w = (struct want){s.srv, acked};
	assert_true(run_until(c, srv_len, &w, 5000));
	assert_int_equal(s.srv->rx_len, acked);
	for (size_t off = 0; off < acked; off += CHUNK) {
		size_t n = acked - off < CHUNK ? acked - off : CHUNK;

		fill(buf, n, off);
		assert_memory_equal(s.srv->rx + off, buf, n);
	}
}

/* the inside closes first, then the server answers and closes */
static void test_half_close_inside(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET6, 40040);

	handshake(&s);
	in_data(&s, "request", 7);
	in_seg(&s, s.seq, s.ack, PKT_TCP_ACK | PKT_TCP_FIN, NULL, 0, NULL, 0);
	s.seq++;
	assert_true(run_until(c, srv_eof, s.srv, 2000));
	assert_int_equal(s.srv->rx_len, 7);
	next(c, 1000);
	assert_int_equal(P.tcp_ack, s.seq); /* the FIN is acknowledged */
	/* the reply still flows back */
	srv_write(s.srv, "reply", 5);
	srv_shutdown(s.srv);
	assert_int_equal(next_data(&s, 2000), 5);
	if (!(P.tcp_flags & PKT_TCP_FIN)) {
		s.ack += 5;
		in_ack(&s);
		next_data(&s, 2000);
		assert_int_equal(P.data_len, 0);
	} else {
		s.ack += 5;
	}
	assert_true(P.tcp_flags & PKT_TCP_FIN);
	s.ack++;
	in_ack(&s);
	assert_true(run_until(c, no_flows, NULL, 2000));
}

/* the server closes first, the inside still sends, then closes */
static void test_half_close_server(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40050);
	struct want w;

	handshake(&s);
	srv_write(s.srv, "bye", 3);
	srv_shutdown(s.srv);
	next_data(&s, 2000);
	s.ack += (uint32_t)P.data_len;
	if (!(P.tcp_flags & PKT_TCP_FIN))
		next_data(&s, 2000);
	assert_true(P.tcp_flags & PKT_TCP_FIN);
	s.ack++;
	in_ack(&s);
	/* the server still gets the inside's data */
	in_data(&s, "more data", 9);
	w = (struct want){s.srv, 9};
	assert_true(run_until(c, srv_len, &w, 2000));
	assert_memory_equal(s.srv->rx, "more data", 9);
	in_seg(&s, s.seq, s.ack, PKT_TCP_ACK | PKT_TCP_FIN, NULL, 0, NULL, 0);
	s.seq++;
	assert_true(run_until(c, srv_eof, s.srv, 2000));
	assert_true(run_until(c, no_flows, NULL, 2000));
	/* the last word: the ACK of the inside's FIN */
	assert_true(pop(c));
	while (pop(c))
		;
	assert_int_equal(P.tcp_flags, PKT_TCP_ACK);
	assert_int_equal(P.tcp_ack, s.seq);
}

static void test_rst_from_inside(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40060);

	handshake(&s);
	/* RFC 5961: a RST in the window but not at rcv_nxt is challenged */
	in_seg(&s, s.seq + 100, s.ack, PKT_TCP_RST, NULL, 0, NULL, 0);
	next(c, 1000);
	assert_int_equal(P.tcp_flags, PKT_TCP_ACK);
	assert_int_equal(P.tcp_ack, s.seq);
	assert_false(no_flows(c, NULL));
	in_seg(&s, s.seq, 0, PKT_TCP_RST, NULL, 0, NULL, 0);
	assert_true(run_until(c, srv_err, s.srv, 2000));
	assert_int_equal(s.srv->err, UV_ECONNRESET);
	assert_true(no_flows(c, NULL));
	run_for(c, 20);
	assert_int_equal(queued(c), 0); /* a RST is never answered */
}

static void test_rst_from_server(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET6, 40070);

	handshake(&s);
	s.srv->closed = true;
	assert_int_equal(uv_tcp_close_reset(&s.srv->h, NULL), 0);
	next(c, 2000);
	is_ours(&s);
	assert_true(P.tcp_flags & PKT_TCP_RST);
	assert_int_equal(P.tcp_seq, s.ack);
	assert_true(run_until(c, no_flows, NULL, 1000));
}

/* a port with nothing listening (just closed) */
static uint16_t closed_port(int family)
{
	uv_loop_t loop;
	uv_tcp_t h;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	uint16_t port;

	uv_loop_init(&loop);
	if (family == AF_INET)
		uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&ss);
	else
		uv_ip6_addr("::1", 0, (struct sockaddr_in6 *)&ss);
	uv_tcp_init(&loop, &h);
	assert_int_equal(uv_tcp_bind(&h, (struct sockaddr *)&ss, 0), 0);
	uv_tcp_getsockname(&h, (struct sockaddr *)&ss, &len);
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	uv_close((uv_handle_t *)&h, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	return port;
}

static void test_refused(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40080);
	uint64_t t0 = uv_now(&c->loop);

	s.dport = closed_port(AF_INET);
	in_syn(&s);
	next(c, 1000);
	assert_true(uv_now(&c->loop) - t0 < 1000);
	is_ours(&s);
	assert_int_equal(P.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK);
	assert_int_equal(P.tcp_ack, s.seq + 1);
	assert_true(run_until(c, no_flows, NULL, 1000));

	s = inside(c, AF_INET6, 40081);
	s.dport = closed_port(AF_INET6);
	in_syn(&s);
	next(c, 1000);
	assert_int_equal(P.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK);
}

/* connect() says "no route": an ICMP error quoting the SYN */
static void test_unreachable(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40085);

	s.dst = T_BCAST4; /* Linux refuses TCP to broadcast: ENETUNREACH */
	s.dport = 80;
	in_syn(&s);
	if (!queued(c))
		run_until(c, have_pkt, NULL, 1000);
	assert_true(pop(c));
	assert_int_equal(P.proto, IPPROTO_ICMP);
	assert_int_equal(P.icmp_type, 3);
	assert_true(P.icmp_code == 0 || P.icmp_code == 1);
	assert_memory_equal(P.dst, T_IN4, 4);
	assert_true(no_flows(c, NULL));
}

/* segments of no flow are answered by RST (RFC 9293 3.10.7.1) */
static void test_unknown_flow(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40090);

	in_seg(&s, 5000, 777777, PKT_TCP_ACK, NULL, 0, "x", 1);
	assert_true(pop(c));
	is_ours(&s);
	assert_int_equal(P.tcp_flags, PKT_TCP_RST);
	assert_int_equal(P.tcp_seq, 777777);
	/* without ACK: seq 0, acknowledging the segment */
	in_seg(&s, 5000, 0, PKT_TCP_FIN, NULL, 0, "ab", 2);
	assert_true(pop(c));
	assert_int_equal(P.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK);
	assert_int_equal(P.tcp_seq, 0);
	assert_int_equal(P.tcp_ack, 5003);
	/* a RST of no flow: silence */
	in_seg(&s, 5000, 0, PKT_TCP_RST, NULL, 0, NULL, 0);
	assert_false(pop(c));
	assert_true(no_flows(c, NULL));
}

/* the inside does not acknowledge: the same data again after the RTO */
static void test_retransmit(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40100);
	uint32_t seq;
	uint64_t t0;

	handshake(&s);
	srv_write(s.srv, "lost data", 9);
	next_data(&s, 2000);
	seq = P.tcp_seq;
	t0 = uv_now(&c->loop);
	next_data(&s, 3000);
	assert_true(uv_now(&c->loop) - t0 >= 150);
	assert_int_equal(P.tcp_seq, seq);
	assert_int_equal(P.data_len, 9);
	assert_memory_equal(P.data, "lost data", 9);
	/* backed off: the next one takes longer */
	t0 = uv_now(&c->loop);
	next_data(&s, 3000);
	assert_true(uv_now(&c->loop) - t0 >= 350);
	s.ack += 9;
	in_ack(&s);
	run_for(c, 1000);
	assert_int_equal(queued(c), 0);
}

/* three duplicate ACKs: the hole is sent again at once */
static void test_fast_retransmit(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40105);
	static uint8_t data[5000];
	uint32_t isn;

	s.mss = 1000;
	handshake(&s);
	isn = s.ack;
	fill(data, sizeof(data), 0);
	srv_write(s.srv, data, sizeof(data));
	for (int i = 0; i < 5; i++)
		next_data(&s, 2000);
	/* the second segment was "lost": acknowledge the first, thrice more */
	s.ack = isn + 1000;
	for (int i = 0; i < 4; i++)
		in_ack(&s);
	next_data(&s, 100);
	assert_int_equal(P.tcp_seq, isn + 1000);
	assert_int_equal(P.data_len, 1000);
	assert_memory_equal(P.data, data + 1000, 1000);
	/* a partial ACK: the next hole at once too (RFC 6582) */
	s.ack = isn + 3000;
	in_ack(&s);
	next_data(&s, 100);
	assert_int_equal(P.tcp_seq, isn + 3000);
	s.ack = isn + 5000;
	in_ack(&s);
	run_for(c, 600);
	assert_int_equal(queued(c), 0);
}

/* a zero window: probes of one byte until it opens */
static void test_zero_window(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40110);
	uint64_t t0;
	uint32_t isn;

	handshake(&s);
	isn = s.ack;
	s.win = 0;
	in_ack(&s);
	t0 = uv_now(&c->loop);
	srv_write(s.srv, "abcdef", 6);
	/* nothing into a zero window: the first data is a probe, an RTO
	 * later (waited for, not a fixed silence: a stall of the loop fires
	 * every timer due at once) */
	next_data(&s, 2000);
	assert_true(uv_now(&c->loop) - t0 >= TCP_RTO_MIN_MS - 50);
	assert_int_equal(P.data_len, 1);
	assert_int_equal(P.tcp_seq, isn);
	assert_int_equal(P.data[0], 'a');
	/* refused, the window still zero: probed again, later */
	in_ack(&s);
	next_data(&s, 3000);
	assert_int_equal(P.data_len, 1);
	assert_int_equal(P.tcp_seq, isn);
	/* the window opens: everything follows, from the first byte */
	s.win = 65535;
	in_ack(&s);
	next_data(&s, 1000);
	assert_int_equal(P.tcp_seq, isn);
	assert_int_equal(P.data_len, 6);
	assert_memory_equal(P.data, "abcdef", 6);
	s.ack += 6;
	in_ack(&s);
	run_for(c, 600);
	assert_int_equal(queued(c), 0);
}

/* a SYN again while connect() is pending, and once the SYN-ACK is out */
static void test_syn_retransmit(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40120);
	uint32_t isn;
	int one = 1;

	in_syn(&s);
	in_syn(&s); /* connect() cannot have finished: ignored */
	assert_int_equal(queued(c), 0);
	assert_true(run_until(c, have_conns, &one, 2000));
	next(c, 1000);
	assert_int_equal(P.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	isn = P.tcp_seq;
	run_for(c, 50);
	assert_int_equal(queued(c), 0);
	/* our SYN-ACK "was lost": the same one again */
	in_syn(&s);
	assert_true(pop(c));
	assert_int_equal(P.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(P.tcp_seq, isn);
	assert_int_equal(P.tcp_ack, s.seq + 1);
	/* unanswered, it is retransmitted after the initial RTO (1 s) */
	next(c, 2500);
	assert_int_equal(P.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(P.tcp_seq, isn);
	s.seq++;
	s.ack = isn + 1;
	in_ack(&s);
	/* established: a SYN now earns a challenge ACK (RFC 5961 4) */
	in_syn(&s);
	assert_true(pop(c));
	assert_int_equal(P.tcp_flags, PKT_TCP_ACK);
	assert_int_equal(P.tcp_ack, s.seq);
}

/* out of order: dropped with a duplicate ACK; old data: an ACK */
static void test_out_of_order(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET6, 40130);
	struct want w;

	handshake(&s);
	in_seg(&s, s.seq + 10, s.ack, PKT_TCP_ACK, NULL, 0, "later", 5);
	assert_true(pop(c));
	assert_int_equal(P.tcp_flags, PKT_TCP_ACK);
	assert_int_equal(P.tcp_ack, s.seq);
	in_data(&s, "0123456789", 10);
	in_data(&s, "later", 5);
	w = (struct want){s.srv, 15};
	assert_true(run_until(c, srv_len, &w, 2000));
	assert_memory_equal(s.srv->rx, "0123456789later", 15);
	next(c, 1000);
	assert_int_equal(P.tcp_ack, s.seq);
	run_for(c, 20);
	drop_all(c);
	/* a retransmission of old data: acknowledged, not written twice */
	in_seg(&s, s.seq - 5, s.ack, PKT_TCP_ACK, NULL, 0, "later", 5);
	next(c, 1000);
	assert_int_equal(P.tcp_ack, s.seq);
	/* overlapping old and new: only the new part is written */
	in_seg(&s, s.seq - 2, s.ack, PKT_TCP_ACK, NULL, 0, "er!!", 4);
	s.seq += 2;
	w = (struct want){s.srv, 17};
	assert_true(run_until(c, srv_len, &w, 2000));
	run_for(c, 20);
	assert_int_equal(s.srv->rx_len, 17);
	assert_memory_equal(s.srv->rx + 15, "!!", 2);
}

/* the stream is full: TCP keeps its segments and resumes on ready */
static void test_stream_full(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40140);
	struct nat_stats st;

	handshake(&s);
	c->emit_ret = -ENOBUFS;
	srv_write(s.srv, "waiting", 7);
	run_for(c, 100);
	assert_int_equal(queued(c), 0);
	c->emit_ret = 0;
	nat_out_ready(c->nat);
	assert_true(pop(c));
	assert_int_equal(P.data_len, 7);
	assert_memory_equal(P.data, "waiting", 7);
	nat_get_stats(c->nat, &st);
	assert_int_equal(st.dropped_out, 0);
	check_counters(c);
}

static void test_table_full(void **state)
{
	struct nat_opts o = {.max_tcp_flows = 2};
	struct ctx *c = new_ctx(&o);
	struct in a = inside(c, AF_INET, 40150);
	struct in b = inside(c, AF_INET, 40151);
	struct in d = inside(c, AF_INET, 40152);
	struct nat_stats st;

	*state = c;
	handshake(&a);
	handshake(&b);
	in_syn(&d);
	assert_true(pop(c));
	is_ours(&d);
	assert_int_equal(P.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK);
	assert_int_equal(P.tcp_ack, d.seq + 1);
	nat_get_stats(c->nat, &st);
	assert_int_equal(st.tcp_refused_full, 1);
	assert_int_equal(st.tcp_flows, 2);
	/* one closes: there is room again */
	in_seg(&a, a.seq, 0, PKT_TCP_RST, NULL, 0, NULL, 0);
	handshake(&d);
}

/*
 * The window field alone: rounding to the scale must never promise room
 * the buffer lacks, even when the buffer fills to an edge off the grid.
 */
static void test_window_rounding(void **state)
{
	struct tcp_flow f = {.rcv_shift = 7};
	uint32_t room;
	uint16_t w;

	f.in.cap = 1 << 20;
	f.rcv_nxt = 0xfffff000; /* wraps while we go */
	/* 1000 units of room, all advertised */
	f.in.len = f.in.cap - 1000 * 128;
	f.rcv_adv = f.rcv_nxt;
	assert_int_equal(nat_tcp_rcv_window(&f), 1000);
	assert_int_equal(f.rcv_adv - f.rcv_nxt, 1000 * 128);
	for (int i = 0; i < 200; i++) {
		/* an odd piece goes into the buffer (the socket is full) */
		f.in.len += 1001;
		f.rcv_nxt += 1001;
		room = f.in.cap - f.in.len;
		w = nat_tcp_rcv_window(&f);
		assert_true(((uint32_t)w << 7) <= room);
		assert_true(f.rcv_adv - f.rcv_nxt <= room);
		/* it shrinks by less than a unit, if at all */
		assert_true(((uint32_t)w << 7) + 128 > f.rcv_adv - f.rcv_nxt);
	}
	/* the buffer drains: the whole room again */
	f.in.len = 0;
	assert_int_equal(nat_tcp_rcv_window(&f), (1 << 20) >> 7);
	/* without scaling, 64 KiB at most */
	f.rcv_shift = 0;
	assert_int_equal(nat_tcp_rcv_window(&f), 0xffff);
}

/* ---- outages of the stream: nat_resume(), nat_reset() ---- */

/* the NAT's state for @s's flow (white box) */
static struct tcp_flow *flow_of(const struct in *s)
{
	struct nat_tcp *t = s->c->nat->tcp;

	for (uint32_t i = 0; i < t->tab.n_slots; i++)
		if (t->tab.nodes[i].state == FLOW_LIVE &&
		    t->tab.nodes[i].key.sport == s->sport)
			return &t->f[i];
	return NULL;
}

static bool not_reading(struct ctx *c, void *arg)
{
	return !((struct tcp_flow *)arg)->reading;
}

/*
 * The inside takes everything from @isn + *@have on until @total bytes
 * arrived in order, acknowledging as a kernel would; a segment sent twice
 * (a retransmission racing our ACK) is skipped
 */
static void take_all(struct in *s, uint32_t isn, size_t *have, size_t total,
		     const uint8_t *src)
{
	while (*have < total) {
		next(s->c, 2000);
		is_ours(s);
		if (!P.data_len)
			continue;
		if ((int32_t)(P.tcp_seq - (isn + (uint32_t)*have)) < 0)
			continue;
		assert_int_equal(P.tcp_seq, isn + (uint32_t)*have);
		assert_memory_equal(P.data, src + *have, P.data_len);
		*have += P.data_len;
		if (*have - (s->ack - isn) >= 32000 || !queued(s->c) ||
		    *have == total) {
			s->ack = isn + (uint32_t)*have;
			in_ack(s);
		}
	}
}

/*
 * The stream goes down with data in flight; the destination keeps
 * sending. The flow survives any number of refused timeouts without
 * counting them, sleeps meanwhile, stops reading once its ring is full;
 * nat_resume() sends a window update, then everything again from the
 * oldest unacknowledged byte
 */
static void test_outage_resume(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET, 40170);
	enum { FIRST = 3000, MORE = TCP_OUT_CAP + (1 << 20), N = FIRST + MORE };
	uint8_t *src = malloc(N);
	struct tcp_flow *f;
	size_t have = 1000;
	uint32_t isn, rto, retries;
	unsigned n0;

	assert_non_null(src);
	fill(src, N, 0);
	s.mss = 1000;
	handshake(&s);
	isn = s.ack;
	srv_write(s.srv, src, FIRST);
	for (int i = 0; i < 3; i++)
		assert_int_equal(next_data(&s, 2000), 1000);
	/* the inside got the first segment only: the rest went down with
	 * the stream */
	s.ack = isn + 1000;
	in_ack(&s);
	run_for(c, 20);
	drop_all(c);
	f = flow_of(&s);
	assert_non_null(f);
	/* a loaded machine may have let a real timeout pass already */
	rto = f->rto;
	retries = f->retries;

	c->emit_ret = -ENOBUFS;
	/* timeouts, with the stream refusing each segment (as if it had
	 * said "ready" in between): none counts, none backs off */
	for (int i = 0; i < 3 * TCP_MAX_RETRIES; i++) {
		c->nat->tcp->blocked = false;
		nat_tcp_on_timer(f);
		assert_int_equal(f->state, TS_ESTABLISHED);
	}
	assert_int_equal(f->retries, retries);
	assert_int_equal(f->rto, rto);
	/* the destination sends on: read until the ring is full, then stop
	 * (the destination's window closes); no busy loop meanwhile */
	srv_write(s.srv, src + FIRST, MORE);
	assert_true(run_until(c, not_reading, f, 5000));
	assert_true(f->out.len == f->out.cap && f->out.cap <= TCP_OUT_CAP);
	n0 = c->n_emit;
	run_for(c, 12 * rto);
	assert_true(c->n_emit - n0 <= 1);
	assert_int_equal(f->retries, retries);
	/* asleep: no timer, waiting for the stream on the pending list */
	assert_int_equal(f->due, 0);
	assert_true(f->on_pend);
	assert_false(no_flows(c, NULL));

	c->emit_ret = 0;
	nat_resume(c->nat);
	assert_int_equal(f->retries, 0);
	assert_int_equal(f->rto, TCP_RTO_INIT_MS);
	/* a window update first */
	assert_true(pop(c));
	is_ours(&s);
	assert_int_equal(P.tcp_flags, PKT_TCP_ACK);
	assert_int_equal(P.data_len, 0);
	assert_int_equal(P.tcp_seq, isn + 1000);
	assert_int_equal(P.tcp_ack, s.seq);
	assert_true(P.tcp_win > 0);
	/* then the data again from the oldest unacknowledged byte, and the
	 * rest as the inside acknowledges: nothing lost, nothing twice */
	assert_true(queued(c) > 0);
	take_all(&s, isn, &have, N, src);
	assert_false(no_flows(c, NULL));
	run_for(c, 50);
	while (pop(c))
		assert_int_equal(P.data_len, 0);
	free(src);
}

/* an unacknowledged FIN is sent again on resume */
static void test_outage_resume_fin(void **state)
{
	struct ctx *c = *state;
	struct in s = inside(c, AF_INET6, 40175);
	uint32_t isn;
	uint64_t t0;

	handshake(&s);
	isn = s.ack;
	srv_write(s.srv, "bye", 3);
	srv_shutdown(s.srv);
	do
		next_data(&s, 2000);
	while (!(P.tcp_flags & PKT_TCP_FIN));
	/* the data arrived, the FIN was lost */
	s.ack = isn + 3;
	in_ack(&s);
	run_for(c, 20);
	drop_all(c);
	c->emit_ret = -ENOBUFS;
	run_for(c, 600);
	c->emit_ret = 0;
	nat_resume(c->nat);
	assert_true(pop(c));
	assert_int_equal(P.tcp_flags, PKT_TCP_ACK);
	assert_int_equal(P.tcp_seq, isn + 3);
	assert_true(pop(c));
	assert_int_equal(P.tcp_flags, PKT_TCP_ACK | PKT_TCP_FIN);
	assert_int_equal(P.tcp_seq, isn + 3);
	assert_int_equal(P.data_len, 0);
	/* unanswered, again after the initial RTO, not a backed-off one */
	t0 = uv_now(&c->loop);
	next_data(&s, 3000);
	assert_true(P.tcp_flags & PKT_TCP_FIN);
	assert_int_equal(P.tcp_seq, isn + 3);
	assert_true(uv_now(&c->loop) - t0 >= TCP_RTO_INIT_MS - 50);
	s.ack = isn + 4;
	in_seg(&s, s.seq, s.ack, PKT_TCP_ACK | PKT_TCP_FIN, NULL, 0, NULL, 0);
	s.seq++;
	assert_true(run_until(c, no_flows, NULL, 2000));
}

/*
 * In place, with no room: the table blocks after one try (no busy loop),
 * nothing counts as sent or dropped, and nat_out_ready() builds the
 * segment that waited in place, as the copying emit would have had it
 */
static void test_reserve_full(void **state)
{
	struct nat_opts o = {.emit_reserve = reserve_cb,
			     .emit_commit = commit_cb};
	struct ctx *c = new_ctx(&o);
	struct in s = inside(c, AF_INET6, 40145);
	struct tcp_flow *f;
	uint32_t isn;
	unsigned n0;

	*state = c;
	handshake(&s);
	isn = s.ack;
	f = flow_of(&s);
	assert_non_null(f);
	c->emit_ret = -ENOBUFS;
	n0 = c->n_emit;
	srv_write(s.srv, "in place", 8);
	run_for(c, 100);
	assert_int_equal(queued(c), 0);
	assert_int_equal(c->n_emit - n0, 1);
	assert_true(c->nat->tcp->blocked);
	assert_true(f->on_pend);
	assert_int_equal(f->snd_nxt, isn);
	check_counters(c);

	c->emit_ret = 0;
	nat_out_ready(c->nat);
	assert_false(c->nat->tcp->blocked);
	assert_true(pop(c));
	is_ours(&s);
	assert_int_equal(P.tcp_seq, isn);
	assert_int_equal(P.tcp_ack, s.seq);
	assert_int_equal(P.data_len, 8);
	assert_memory_equal(P.data, "in place", 8);
	check_counters(c);
	s.ack += 8;
	in_ack(&s);
	run_for(c, 50);
	assert_int_equal(queued(c), 0);
	assert_int_equal(f->snd_una, isn + 8);
}

static void count_flow(void *arg, const struct nat_flow_info *fi)
{
	(*(int *)arg)++;
}

static int n_flows(struct ctx *c)
{
	int k = 0;

	nat_foreach_flow(c->nat, count_flow, &k);
	return k;
}

static bool both_reset(struct ctx *c, void *arg)
{
	struct conn **k = arg;

	return k[0]->err && k[1]->err;
}

/* the session is over: every flow goes, silently toward the inside */
static void test_reset(void **state)
{
	struct ctx *c = *state;
	struct in a = inside(c, AF_INET, 40180);
	struct in b = inside(c, AF_INET6, 40181);
	static uv_udp_t u;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	struct conn *k[2];
	struct nat_stats st;
	struct want w;
	uint8_t p[100];
	unsigned n0;

	handshake(&a);
	handshake(&b);
	srv_write(a.srv, "unacked", 7);
	next_data(&a, 2000);
	in_data(&b, "to server", 9);
	w = (struct want){b.srv, 9};
	assert_true(run_until(c, srv_len, &w, 2000));
	/* a UDP flow to a socket that does not read */
	uv_udp_init(&c->loop, &u);
	uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&ss);
	assert_int_equal(uv_udp_bind(&u, (struct sockaddr *)&ss, 0), 0);
	uv_udp_getsockname(&u, (struct sockaddr *)&ss, &len);
	nat_from_tun(c->nat, p,
		     t_udp(p, AF_INET, T_IN4, 5000, T_LO4,
			   ntohs(((struct sockaddr_in *)&ss)->sin_port), "hi",
			   2));
	run_for(c, 50);
	drop_all(c);
	assert_int_equal(n_flows(c), 3);

	n0 = c->n_emit;
	assert_int_equal(nat_reset(c->nat), 2);
	assert_int_equal(n_flows(c), 0);
	k[0] = a.srv;
	k[1] = b.srv;
	assert_true(run_until(c, both_reset, k, 2000));
	assert_int_equal(a.srv->err, UV_ECONNRESET);
	assert_int_equal(b.srv->err, UV_ECONNRESET);
	assert_int_equal(c->n_emit, n0);
	nat_get_stats(c->nat, &st);
	assert_int_equal(st.tcp_flows + st.udp_flows + st.icmp_flows, 0);
	assert_true(st.pkts_in >= 6 && st.pkts_out >= 4);
	assert_int_equal(nat_reset(c->nat), 0);

	/* the NAT carries on: the same ports make a new flow */
	a = inside(c, AF_INET, 40180);
	a.seq += 100000;
	handshake(&a);
	in_data(&a, "again", 5);
	w = (struct want){a.srv, 5};
	assert_true(run_until(c, srv_len, &w, 2000));
	assert_memory_equal(a.srv->rx, "again", 5);
	assert_int_equal(n_flows(c), 1);
	uv_close((uv_handle_t *)&u, NULL);
}

/* ---- the service ---- */

static void svc_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	struct svc_conn *k = (struct svc_conn *)h;

	*b = uv_buf_init((char *)k->rx + k->rx_len,
			 (unsigned)(sizeof(k->rx) - k->rx_len));
}

static void svc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct svc_conn *k = (struct svc_conn *)s;
	uv_write_t *w;
	uv_buf_t out;

	if (n == UV_EOF) {
		k->eof = true;
		uv_close((uv_handle_t *)s, svc_close_cb);
		((struct ctx *)s->data)->svc = NULL;
		return;
	}
	if (n <= 0)
		return;
	/* echo, upper-cased */
	w = malloc(sizeof(*w) + (size_t)n);
	for (ssize_t i = 0; i < n; i++)
		((char *)(w + 1))[i] = (char)(b->base[i] & ~0x20);
	out = uv_buf_init((char *)(w + 1), (unsigned)n);
	k->rx_len += (size_t)n;
	uv_write(w, s, &out, 1, write_done);
}

static int svc_tcp(void *arg, const struct nat_peer *from, int fd)
{
	struct ctx *c = arg;
	struct svc_conn *k = calloc(1, sizeof(*k));

	c->tcp_calls++;
	assert_int_equal(from->family, AF_INET);
	assert_memory_equal(from->src, T_IN4, 4);
	assert_memory_equal(from->dst, T_SVC4, 4);
	assert_int_equal(from->dport, 53);
	uv_pipe_init(&c->loop, &k->h, 0);
	assert_int_equal(uv_pipe_open(&k->h, fd), 0);
	k->h.data = c;
	uv_read_start((uv_stream_t *)&k->h, svc_alloc, svc_read);
	c->svc = k;
	return 0;
}

static void svc_udp(void *arg, const struct nat_peer *from, const uint8_t *data,
		    size_t len)
{
	struct ctx *c = arg;

	c->udp_calls++;
	c->udp_from = *from;
	assert_true(len <= sizeof(c->udp_data));
	memcpy(c->udp_data, data, len);
	c->udp_len = len;
}

/* TCP to the service: SYN-ACK at once (no connect), bytes through the
 * socketpair, closed from both ends */
static void service_tcp(struct ctx *c)
{
	struct in s = inside(c, AF_INET, 40160);

	s.dst = T_SVC4; /* not allowed by the policy: services bypass it */
	s.dport = 53;
	in_syn(&s);
	assert_true(pop(c));
	is_ours(&s);
	assert_int_equal(P.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(c->tcp_calls, 1);
	s.seq++;
	s.ack = P.tcp_seq + 1;
	in_ack(&s);
	in_data(&s, "query", 5);
	next_data(&s, 2000);
	assert_int_equal(P.data_len, 5);
	assert_memory_equal(P.data, "QUERY", 5);
	s.ack += 5;
	in_ack(&s);
	in_seg(&s, s.seq, s.ack, PKT_TCP_ACK | PKT_TCP_FIN, NULL, 0, NULL, 0);
	s.seq++;
	/* the service sees EOF and closes: our FIN follows */
	next_data(&s, 2000);
	assert_true(P.tcp_flags & PKT_TCP_FIN);
	s.ack++;
	in_ack(&s);
	assert_true(run_until(c, no_flows, NULL, 2000));
}

/* UDP to the service: to the callback, and nat_udp_reply() back */
static void service_udp(struct ctx *c)
{
	uint8_t p[200];
	size_t n;

	n = t_udp(p, AF_INET, T_IN4, 5353, T_SVC4, 53, "ask", 3);
	nat_from_tun(c->nat, p, n);
	assert_int_equal(c->udp_calls, 1);
	assert_int_equal(c->udp_len, 3);
	assert_memory_equal(c->udp_data, "ask", 3);
	assert_int_equal(c->udp_from.sport, 5353);
	assert_int_equal(
		nat_udp_reply(c->nat, &c->udp_from, (uint8_t *)"answer", 6), 0);
	assert_true(pop(c));
	assert_int_equal(P.proto, IPPROTO_UDP);
	assert_memory_equal(P.src, T_SVC4, 4);
	assert_memory_equal(P.dst, T_IN4, 4);
	assert_int_equal(P.sport, 53);
	assert_int_equal(P.dport, 5353);
	assert_int_equal(P.data_len, 6);
	assert_memory_equal(P.data, "answer", 6);
	assert_int_equal(nat_udp_reply(c->nat, &c->udp_from, p, 70000),
			 -EMSGSIZE);
}

static void test_service(void **state)
{
	struct nat_opts o = {.n_services = 1};
	struct ctx *c;

	o.services[0] = (struct nat_service){
		.family = AF_INET,
		.port = 53,
		.arg = &G,
		.udp = svc_udp,
		.tcp = svc_tcp,
	};
	memcpy(o.services[0].addr, T_SVC4, 4);
	c = new_ctx(&o);
	*state = c;
	service_tcp(c);
	service_udp(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_data4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download, setup, teardown),
		cmocka_unit_test(test_window_rounding),
		cmocka_unit_test_setup_teardown(test_window_shrinks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_half_close_inside, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_half_close_server, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rst_from_inside, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rst_from_server, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_flow, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retransmit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fast_retransmit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_zero_window, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_syn_retransmit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stream_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outage_resume, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outage_resume_fin, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_teardown(test_table_full, teardown),
		cmocka_unit_test_teardown(test_service, teardown),
		cmocka_unit_test_teardown(test_reserve_full, teardown),
	};

	int failed;

	failed = cmocka_run_group_tests_name("tcp, emit copies", tests, NULL,
					     NULL);
	Direct = true;
	failed += cmocka_run_group_tests_name("tcp, built in place", tests,
					      NULL, NULL);
	return failed;
}
