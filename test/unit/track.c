/* SPDX-License-Identifier: MIT */
/*
 * track.c - unit tests for tun/track.c: segments built by hand for IPv4 and
 * IPv6, the RSTs checked field by field and by checksum, rcv_nxt and
 * snd_nxt bookkeeping (with wrap-around), removal on RST and FIN, eviction
 * from a full table, and malformed input (every truncation of a valid
 * packet, bad header lengths, random bytes).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "lib/csum.h"
#include "tun/track.h"

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

static const uint8_t app4[4] = {198, 18, 0, 1};
static const uint8_t rem4[4] = {198, 19, 7, 9};
static const uint8_t app6[16] = {0xfd, 0x7e, 0x74, 0x75, 0x00, 0x6e, 0, 0,
				 0,    0,    0,	   0,	 0,    0,    0, 1};
static const uint8_t rem6[16] = {0xfd, 0x7e, 0x00, 0x42, 0, 0, 0, 0,
				 0,    0,    0,	   0,	 0, 0, 0, 0x80};

#define APP_PORT 40000
#define REM_PORT 443

/* one segment's description; @out: from the app */
struct seg {
	int family;
	bool out;
	uint16_t app_port, rem_port;
	uint32_t seq, ack;
	uint8_t flags;
	size_t payload;
	size_t ip_opt; /* IPv4 option bytes (multiple of 4) */
	size_t tcp_opt; /* TCP option bytes (multiple of 4) */
};

static void w16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void w32(uint8_t *p, uint32_t v)
{
	w16(p, v >> 16);
	w16(p + 2, v & 0xffff);
}

static uint16_t r16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t r32(const uint8_t *p)
{
	return (uint32_t)r16(p) << 16 | r16(p + 2);
}

static size_t build_tcp(uint8_t *tcp, const struct seg *s, const uint8_t *src,
			const uint8_t *dst)
{
	size_t hl = 20 + s->tcp_opt, len = hl + s->payload;

	memset(tcp, 0, len);
	w16(tcp, s->out ? s->app_port : s->rem_port);
	w16(tcp + 2, s->out ? s->rem_port : s->app_port);
	w32(tcp + 4, s->seq);
	w32(tcp + 8, s->ack);
	tcp[12] = (uint8_t)(hl / 4) << 4;
	tcp[13] = s->flags;
	w16(tcp + 14, 65535);
	memset(tcp + 20, 1, s->tcp_opt); /* NOPs */
	memset(tcp + hl, 'x', s->payload);
	w16(tcp + 16,
	    tg_csum_fold(tg_csum_add(tg_csum_pseudo(s->family, src, dst, IPPROTO_TCP,
					   (uint32_t)len),
			       tcp, len)));
	return len;
}

/* Return: the packet's length */
static size_t build(uint8_t *b, const struct seg *s)
{
	bool v4 = s->family == AF_INET;
	const uint8_t *app = v4 ? app4 : app6, *rem = v4 ? rem4 : rem6;
	const uint8_t *src = s->out ? app : rem, *dst = s->out ? rem : app;
	size_t alen = v4 ? 4 : 16, hl = v4 ? 20 + s->ip_opt : 40, tl;

	memset(b, 0, hl);
	tl = build_tcp(b + hl, s, src, dst);
	if (v4) {
		b[0] = (uint8_t)(0x40 | hl / 4);
		w16(b + 2, (uint32_t)(hl + tl));
		b[8] = 64;
		b[9] = IPPROTO_TCP;
		memcpy(b + 12, src, alen);
		memcpy(b + 16, dst, alen);
		memset(b + 20, 1, s->ip_opt); /* NOPs */
		w16(b + 10, tg_csum(b, hl));
	} else {
		b[0] = 0x60;
		w16(b + 4, (uint32_t)tl);
		b[6] = IPPROTO_TCP;
		b[7] = 64;
		memcpy(b + 8, src, alen);
		memcpy(b + 24, dst, alen);
	}
	return hl + tl;
}

static void feed(struct tun_track *t, const struct seg *s)
{
	uint8_t b[2048];
	size_t n = build(b, s);

	if (s->out)
		tun_track_out(t, b, n);
	else
		tun_track_in(t, b, n);
}

/* out/in shorthands on the default 4-tuple */
static void out4(struct tun_track *t, int fam, uint32_t seq, uint32_t ack,
		 uint8_t flags, size_t payload)
{
	struct seg s = {.family = fam,
			.out = true,
			.app_port = APP_PORT,
			.rem_port = REM_PORT,
			.seq = seq,
			.ack = ack,
			.flags = flags,
			.payload = payload};

	feed(t, &s);
}

static void in4(struct tun_track *t, int fam, uint32_t seq, uint32_t ack,
		uint8_t flags, size_t payload)
{
	struct seg s = {.family = fam,
			.out = false,
			.app_port = APP_PORT,
			.rem_port = REM_PORT,
			.seq = seq,
			.ack = ack,
			.flags = flags,
			.payload = payload};

	feed(t, &s);
}

/* what reset_all handed out */
struct rsts {
	size_t n;
	uint8_t pkt[64][60];
	size_t len[64];
	int ret; /* what write returns */
};

static int capture(void *arg, const uint8_t *pkt, size_t len)
{
	struct rsts *r = arg;

	assert_true(len <= sizeof(r->pkt[0]));
	if (r->n < 64) {
		memcpy(r->pkt[r->n], pkt, len);
		r->len[r->n] = len;
	}
	r->n++;
	return r->ret;
}

/* a valid RST|ACK from the remote end to the app; Return: the TCP header */
static const uint8_t *check_rst(const uint8_t *p, size_t len, int fam,
				uint16_t app_port, uint16_t rem_port,
				uint32_t seq, uint32_t ack)
{
	bool v4 = fam == AF_INET;
	const uint8_t *app = v4 ? app4 : app6, *rem = v4 ? rem4 : rem6;
	size_t hl = v4 ? 20 : 40, alen = v4 ? 4 : 16;
	const uint8_t *tcp = p + hl;

	assert_int_equal(len, hl + 20);
	if (v4) {
		assert_int_equal(p[0], 0x45);
		assert_int_equal(r16(p + 2), 40);
		assert_int_equal(p[8], 64);
		assert_int_equal(p[9], IPPROTO_TCP);
		assert_int_equal(r16(p + 6) & 0x1fff, 0);
		assert_memory_equal(p + 12, rem, alen);
		assert_memory_equal(p + 16, app, alen);
		assert_int_equal(tg_csum(p, 20), 0);
	} else {
		assert_int_equal(p[0] >> 4, 6);
		assert_int_equal(r16(p + 4), 20);
		assert_int_equal(p[6], IPPROTO_TCP);
		assert_int_equal(p[7], 64);
		assert_memory_equal(p + 8, rem, alen);
		assert_memory_equal(p + 24, app, alen);
	}
	assert_int_equal(r16(tcp), rem_port);
	assert_int_equal(r16(tcp + 2), app_port);
	assert_int_equal(r32(tcp + 4), seq);
	assert_int_equal(r32(tcp + 8), ack);
	assert_int_equal(tcp[12], 0x50);
	assert_int_equal(tcp[13], RST | ACK);
	assert_int_equal(r16(tcp + 14), 0);
	assert_int_equal(r16(tcp + 18), 0);
	assert_int_equal(
		tg_csum_fold(tg_csum_add(tg_csum_pseudo(fam, rem, app, IPPROTO_TCP, 20),
				   tcp, 20)),
		0);
	return tcp;
}

/* reset_all must produce exactly one RST, with these numbers */
static void expect_one(struct tun_track *t, int fam, uint32_t seq, uint32_t ack)
{
	struct rsts r = {0};

	assert_int_equal(tun_track_count(t), 1);
	assert_int_equal(tun_track_reset_all(t, capture, &r), 1);
	assert_int_equal(r.n, 1);
	check_rst(r.pkt[0], r.len[0], fam, APP_PORT, REM_PORT, seq, ack);
	assert_int_equal(tun_track_count(t), 0);
	r.n = 0;
	assert_int_equal(tun_track_reset_all(t, capture, &r), 0);
	assert_int_equal(r.n, 0);
}

static const int fams[] = {AF_INET, AF_INET6};

static void test_syn_sent(void **state)
{
	for (size_t f = 0; f < 2; f++) {
		struct tun_track *t = tun_track_new(0);

		assert_non_null(t);
		out4(t, fams[f], 1000, 0, SYN, 0);
		/* a retransmitted SYN changes nothing */
		out4(t, fams[f], 1000, 0, SYN, 0);
		/* SYN_SENT: only the ACK of the SYN matters */
		expect_one(t, fams[f], 0, 1001);
		tun_track_free(t);
	}
}

static void test_established(void **state)
{
	for (size_t f = 0; f < 2; f++) {
		struct tun_track *t = tun_track_new(0);
		int fam = fams[f];

		out4(t, fam, 1000, 0, SYN, 0);
		in4(t, fam, 5000, 1001, SYN | ACK, 0);
		out4(t, fam, 1001, 5001, ACK, 0);
		out4(t, fam, 1001, 5001, ACK | PSH, 100);
		in4(t, fam, 5001, 1101, ACK, 0);
		/* data toward the app moves rcv_nxt before the app ACKs */
		in4(t, fam, 5001, 1101, ACK | PSH, 200);
		assert_int_equal(tun_track_count(t), 1);
		expect_one(t, fam, 5201, 1101);
		tun_track_free(t);
	}
}

static void test_rcv_nxt(void **state)
{
	struct tun_track *t = tun_track_new(0);

	out4(t, AF_INET, 1000, 0, SYN, 0);
	in4(t, AF_INET, 5000, 1001, SYN | ACK, 0);
	out4(t, AF_INET, 1001, 5001, ACK, 0);
	in4(t, AF_INET, 5001, 1001, ACK, 300);
	/* a retransmission of older data does not move it back */
	in4(t, AF_INET, 5001, 1001, ACK, 100);
	/* the app's own ACK is the truth, even if lower (a dropped segment) */
	out4(t, AF_INET, 1001, 5101, ACK, 0);
	expect_one(t, AF_INET, 5101, 1001);

	/* the SYN-ACK alone sets rcv_nxt */
	out4(t, AF_INET, 7, 0, SYN, 0);
	in4(t, AF_INET, 0xfffffff0, 8, SYN | ACK, 0);
	expect_one(t, AF_INET, 0xfffffff1, 8);
	tun_track_free(t);
}

static void test_wrap(void **state)
{
	struct tun_track *t = tun_track_new(0);

	out4(t, AF_INET6, 0xfffffff0, 0, SYN, 0);
	in4(t, AF_INET6, 0xffffff00, 0xfffffff1, SYN | ACK, 0);
	out4(t, AF_INET6, 0xfffffff1, 0xffffff01, ACK, 0x20);
	/* the app's data crosses zero: snd_nxt = 0x11 */
	in4(t, AF_INET6, 0xffffff01, 0x11, ACK, 0x200);
	/* old data from before the wrap is not beyond rcv_nxt */
	in4(t, AF_INET6, 0xffffff01, 0x11, ACK, 0x10);
	/* the app retransmits old data: snd_nxt stays */
	out4(t, AF_INET6, 0xfffffff1, 0x101, ACK, 0x10);
	in4(t, AF_INET6, 0x101, 0x11, ACK, 0x50);
	expect_one(t, AF_INET6, 0x151, 0x11);
	tun_track_free(t);
}

static void test_rst_removes(void **state)
{
	for (size_t f = 0; f < 2; f++) {
		struct tun_track *t = tun_track_new(0);
		int fam = fams[f];

		out4(t, fam, 1000, 0, SYN, 0);
		in4(t, fam, 0, 1001, RST | ACK, 0);
		assert_int_equal(tun_track_count(t), 0);
		out4(t, fam, 1000, 0, SYN, 0);
		in4(t, fam, 5000, 1001, SYN | ACK, 0);
		out4(t, fam, 1001, 5001, ACK, 0);
		assert_int_equal(tun_track_count(t), 1);
		out4(t, fam, 1001, 0, RST, 0);
		assert_int_equal(tun_track_count(t), 0);
		/* a RST of an unknown connection adds nothing */
		out4(t, fam, 1001, 5001, RST | ACK, 0);
		in4(t, fam, 5001, 1001, RST | ACK, 0);
		assert_int_equal(tun_track_count(t), 0);
		tun_track_free(t);
	}
}

static struct tun_track *established(int fam)
{
	struct tun_track *t = tun_track_new(0);

	out4(t, fam, 1000, 0, SYN, 0);
	in4(t, fam, 5000, 1001, SYN | ACK, 0);
	out4(t, fam, 1001, 5001, ACK, 0);
	return t;
}

static void test_fin(void **state)
{
	struct tun_track *t;

	/* the app closes first; removed on its ACK of the remote's FIN */
	t = established(AF_INET);
	out4(t, AF_INET, 1001, 5001, FIN | ACK, 0);
	in4(t, AF_INET, 5001, 1002, FIN | ACK, 10);
	assert_int_equal(tun_track_count(t), 1);
	out4(t, AF_INET, 1002, 5001, ACK, 0); /* not the FIN yet */
	assert_int_equal(tun_track_count(t), 1);
	out4(t, AF_INET, 1002, 5012, ACK, 0);
	assert_int_equal(tun_track_count(t), 0);
	tun_track_free(t);

	/* the remote closes first; the app's FIN acknowledges it */
	t = established(AF_INET6);
	in4(t, AF_INET6, 5001, 1001, FIN | ACK, 0);
	out4(t, AF_INET6, 1001, 5002, ACK, 0);
	/* half closed: the app may still write, and block */
	assert_int_equal(tun_track_count(t), 1);
	out4(t, AF_INET6, 1001, 5002, ACK, 50);
	out4(t, AF_INET6, 1051, 5002, FIN | ACK, 0);
	assert_int_equal(tun_track_count(t), 0);
	tun_track_free(t);

	/* the app half-closes: the remote may still send, the app may wait */
	t = established(AF_INET);
	out4(t, AF_INET, 1001, 5001, FIN | ACK, 0);
	in4(t, AF_INET, 5001, 1002, ACK, 100);
	out4(t, AF_INET, 1002, 5101, ACK, 0);
	expect_one(t, AF_INET, 5101, 1002);
	tun_track_free(t);
}

static void test_unknown(void **state)
{
	struct tun_track *t = tun_track_new(0);

	/* no ACK: not a connection to pick up */
	in4(t, AF_INET, 5000, 0, SYN, 0);
	out4(t, AF_INET, 1000, 0, FIN, 0);
	out4(t, AF_INET, 1000, 0, 0, 10);
	assert_int_equal(tun_track_count(t), 0);

	/* older than the tracker, first seen toward the app */
	in4(t, AF_INET, 9000, 3000, ACK, 10);
	expect_one(t, AF_INET, 9010, 3000);

	/* first seen from the app */
	out4(t, AF_INET6, 3000, 9000, ACK | PSH, 10);
	expect_one(t, AF_INET6, 9000, 3010);
	tun_track_free(t);
}

static void test_ip_options(void **state)
{
	struct tun_track *t = tun_track_new(0);
	struct seg s = {.family = AF_INET,
			.out = true,
			.app_port = APP_PORT,
			.rem_port = REM_PORT,
			.seq = 1,
			.ack = 77,
			.flags = ACK,
			.payload = 5,
			.ip_opt = 12,
			.tcp_opt = 12};

	feed(t, &s);
	expect_one(t, AF_INET, 77, 6);
	tun_track_free(t);
}

/* connection @i: remote port 1000 + i */
static void conn(struct tun_track *t, uint16_t i, uint8_t flags)
{
	struct seg s = {.family = AF_INET,
			.out = true,
			.app_port = APP_PORT,
			.rem_port = (uint16_t)(1000 + i),
			.seq = 1,
			.ack = 1,
			.flags = flags};

	feed(t, &s);
}

static bool has_port(const struct rsts *r, uint16_t rem_port)
{
	size_t n = r->n < 64 ? r->n : 64;

	for (size_t i = 0; i < n; i++)
		if (r16(r->pkt[i] + 20) == rem_port)
			return true;
	return false;
}

static void test_evict_lru(void **state)
{
	struct tun_track *t = tun_track_new(4);
	struct rsts r = {0};

	for (uint16_t i = 1; i <= 4; i++)
		conn(t, i, ACK);
	conn(t, 1, ACK); /* 2 is now the least recently seen */
	conn(t, 5, ACK);
	assert_int_equal(tun_track_count(t), 4);
	assert_int_equal(tun_track_reset_all(t, capture, &r), 4);
	assert_false(has_port(&r, 1002));
	for (uint16_t p = 1001; p <= 1005; p++)
		if (p != 1002)
			assert_true(has_port(&r, p));

	/* a closing connection goes before an older open one */
	for (uint16_t i = 1; i <= 4; i++)
		conn(t, i, ACK);
	conn(t, 3, FIN | ACK);
	conn(t, 5, ACK);
	memset(&r, 0, sizeof(r));
	assert_int_equal(tun_track_reset_all(t, capture, &r), 4);
	assert_false(has_port(&r, 1003));
	assert_true(has_port(&r, 1001));
	tun_track_free(t);
}

static void test_evict_many(void **state)
{
	struct tun_track *t = tun_track_new(64);
	struct rsts r = {0};
	size_t n;

	for (uint16_t i = 0; i < 5000; i++) {
		conn(t, i, ACK);
		assert_true(tun_track_count(t) <= 64);
	}
	/* the newest is always there */
	n = tun_track_reset_all(t, capture, &r);
	assert_int_equal(n, r.n);
	assert_true(n >= 32);
	assert_true(has_port(&r, 1000 + 4999));
	tun_track_free(t);
}

static void test_lookup_many(void **state)
{
	struct tun_track *t = tun_track_new(0);

	for (uint16_t i = 0; i < 1000; i++)
		conn(t, i, ACK);
	assert_int_equal(tun_track_count(t), 1000);
	/* every one is found again (a RST removes it) */
	for (uint16_t i = 0; i < 1000; i++) {
		conn(t, i, RST);
		assert_int_equal(tun_track_count(t), 999u - i);
	}
	tun_track_free(t);
}

static void test_truncated(void **state)
{
	struct tun_track *t = tun_track_new(0);
	uint8_t b[2048];

	for (size_t f = 0; f < 2; f++) {
		struct seg s = {.family = fams[f],
				.out = true,
				.app_port = APP_PORT,
				.rem_port = REM_PORT,
				.seq = 1,
				.ack = 1,
				.flags = ACK,
				.payload = 33,
				.ip_opt = f ? 0 : 8,
				.tcp_opt = 8};
		size_t n = build(b, &s);

		for (size_t len = 0; len < n; len++) {
			/* a copy of exactly @len bytes, so ASan sees overreads
			 */
			uint8_t *p = malloc(len ? len : 1);

			memcpy(p, b, len);
			tun_track_out(t, p, len);
			tun_track_in(t, p, len);
			free(p);
			assert_int_equal(tun_track_count(t), 0);
		}
		tun_track_out(t, b, n);
		assert_int_equal(tun_track_count(t), 1);
		tun_track_reset_all(t, NULL, NULL);
	}
	tun_track_free(t);
}

/* one field of a valid IPv4 ACK spoilt */
static void spoil4(struct tun_track *t, size_t off, uint8_t v)
{
	struct seg s = {.family = AF_INET,
			.out = true,
			.app_port = APP_PORT,
			.rem_port = REM_PORT,
			.seq = 1,
			.ack = 1,
			.flags = ACK,
			.payload = 10};
	uint8_t b[128];
	size_t n = build(b, &s);

	b[off] = v;
	tun_track_out(t, b, n);
	tun_track_in(t, b, n);
	assert_int_equal(tun_track_count(t), 0);
}

static void test_malformed(void **state)
{
	struct tun_track *t = tun_track_new(0);
	struct seg s6 = {.family = AF_INET6,
			 .out = true,
			 .app_port = APP_PORT,
			 .rem_port = REM_PORT,
			 .seq = 1,
			 .ack = 1,
			 .flags = ACK,
			 .payload = 10};
	uint8_t b[2048];
	size_t n;
	uint32_t x = 12345;

	spoil4(t, 0, 0x44); /* IHL 4 */
	spoil4(t, 0, 0x4f); /* IHL beyond the packet */
	spoil4(t, 0, 0x55); /* version 5 */
	spoil4(t, 2, 0xff); /* total length beyond the buffer */
	spoil4(t, 3, 10); /* total length below the IHL */
	spoil4(t, 6, 0x01); /* not the first fragment */
	spoil4(t, 7, 0x01);
	spoil4(t, 9, IPPROTO_UDP);
	spoil4(t, 20 + 12, 0x40); /* data offset 4 */
	spoil4(t, 20 + 12, 0xf0); /* data offset beyond the segment */

	n = build(b, &s6);
	b[6] = 0; /* hop-by-hop options: not followed */
	tun_track_out(t, b, n);
	n = build(b, &s6);
	w16(b + 4, (uint32_t)(n - 40 + 1)); /* payload length too long */
	tun_track_out(t, b, n);
	w16(b + 4, 0); /* jumbogram */
	tun_track_out(t, b, n);
	tun_track_out(t, NULL, 100);
	assert_int_equal(tun_track_count(t), 0);

	/* random bytes, with a plausible first byte half the time */
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(x % 100);

		for (size_t j = 0; j < len; j++) {
			x = x * 1103515245 + 12345;
			b[j] = (uint8_t)(x >> 16);
		}
		if (len && (i & 1))
			b[0] = (i & 2) ? 0x45 : 0x60;
		tun_track_out(t, b, len);
		tun_track_in(t, b, len);
		x = x * 1103515245 + 12345;
	}
	assert_true(tun_track_count(t) <= 4096);
	tun_track_free(t);
}

static void test_write_fails(void **state)
{
	struct tun_track *t = tun_track_new(0);
	struct rsts r = {.ret = -EAGAIN};

	conn(t, 1, ACK);
	conn(t, 2, ACK);
	assert_int_equal(tun_track_reset_all(t, capture, &r), 0);
	assert_int_equal(r.n, 2);
	/* forgotten all the same */
	assert_int_equal(tun_track_count(t), 0);
	tun_track_free(t);
}

static void test_api_edges(void **state)
{
	struct tun_track *t;

	errno = 0;
	assert_null(tun_track_new((size_t)1 << 30));
	assert_int_equal(errno, EINVAL);
	tun_track_out(NULL, NULL, 0);
	tun_track_in(NULL, NULL, 0);
	assert_int_equal(tun_track_count(NULL), 0);
	assert_int_equal(tun_track_reset_all(NULL, capture, NULL), 0);
	tun_track_free(NULL);

	/* the smallest table still works */
	t = tun_track_new(1);

	conn(t, 1, ACK);
	conn(t, 2, ACK);
	assert_int_equal(tun_track_count(t), 1);
	tun_track_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_sent),
		cmocka_unit_test(test_established),
		cmocka_unit_test(test_rcv_nxt),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_rst_removes),
		cmocka_unit_test(test_fin),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_ip_options),
		cmocka_unit_test(test_evict_lru),
		cmocka_unit_test(test_evict_many),
		cmocka_unit_test(test_lookup_many),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_write_fails),
		cmocka_unit_test(test_api_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
