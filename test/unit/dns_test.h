/* SPDX-License-Identifier: MIT */
/*
 * dns_test.h - helpers shared by the dns unit tests: building queries,
 * catching answers, running the loop until they come.
 */
#ifndef DNS_TEST_H
#define DNS_TEST_H

#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dns/dns.h"

/* one answer caught by got_cb() */
struct got {
	int calls;
	size_t len;
	uint8_t msg[65536];
};

static int in_query; /* set around dns_query(): answers must not come */

static inline void got_cb(void *arg, const uint8_t *msg, size_t len)
{
	struct got *g = arg;

	assert_false(in_query);
	g->calls++;
	g->len = len;
	memcpy(g->msg, msg, len);
}

static inline int query(struct dns_proxy *p, const uint8_t *q, size_t len,
			bool udp, struct got *g)
{
	int rc;

	in_query = 1;
	rc = dns_query(p, q, len, udp, got_cb, g);
	in_query = 0;
	return rc;
}

/*
 * A query for @name (dots between labels, no escapes), with an OPT
 * record if @edns is nonzero (its UDP size; @dobit sets DO).
 */
static inline size_t make_query(uint8_t *b, uint16_t id, uint16_t flags,
				const char *name, uint16_t type, uint16_t edns,
				bool dobit)
{
	size_t n = 12;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = (uint8_t)(flags >> 8);
	b[3] = (uint8_t)flags;
	b[5] = 1;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		b[n++] = (uint8_t)l;
		memcpy(b + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	b[n++] = (uint8_t)(type >> 8);
	b[n++] = (uint8_t)type;
	b[n++] = 0;
	b[n++] = 1;
	if (edns) {
		uint8_t opt[11] = {0,
				   0,
				   41,
				   (uint8_t)(edns >> 8),
				   (uint8_t)edns,
				   0,
				   0,
				   dobit ? 0x80 : 0,
				   0,
				   0,
				   0};

		memcpy(b + n, opt, sizeof(opt));
		n += sizeof(opt);
		b[11] = 1;
	}
	return n;
}

static inline ldns_pkt *parse(const struct got *g)
{
	ldns_pkt *pkt = NULL;

	assert_int_equal(ldns_wire2pkt(&pkt, g->msg, g->len), LDNS_STATUS_OK);
	return pkt;
}

static inline void tick_cb(uv_timer_t *t)
{
}

/* run @loop until *@count reaches @want or @ms pass; true if it did */
static inline bool run_until(uv_loop_t *loop, const int *count, int want,
			     unsigned ms)
{
	uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000;
	uv_timer_t t;

	uv_timer_init(loop, &t);
	uv_timer_start(&t, tick_cb, 5, 5);
	while (*count < want && uv_hrtime() < end)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return *count >= want;
}

/* close the proxy, let everything finish, and the loop must close */
static inline void finish(uv_loop_t *loop, struct dns_proxy *p)
{
	if (p)
		dns_proxy_close(p);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

#endif
