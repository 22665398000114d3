/* SPDX-License-Identifier: MIT */
/*
 * nat.c - the NAT's life cycle and dispatch: the API of nat.h.
 *
 * Theory of operation: nat_from_tun() parses each packet from the inside
 * (pkt.c), counts and drops what it cannot handle, and hands the rest to
 * udp.c, icmp.c or tcp.c, which check the destination (nat_refuse(), on
 * policy.c) and then find or open the flow that carries it. Everything a
 * flow needs is allocated here, once: the flow tables, the per-flow state
 * arrays, one receive buffer shared by all sockets (a callback runs to its
 * end before the next read) and one buffer for ICMP errors and RSTs.
 * What the protocols share lives beside this file: sending toward the
 * inside and addressing in nat_send.c, flow names, logging, refusal and
 * the datagram flows' bookkeeping in nat_log.c.
 *
 * One timer expires idle flows. It is set for the deadline of the least
 * recently used flow of each LRU list (UDP has two: flows not assured
 * expire after udp_unassured_ms, assured ones after udp_idle_ms), and on
 * expiry pops flows off the heads until one is still in use: O(expired),
 * not O(flows).
 *
 * Outages of the stream: emit says -ENOBUFS meanwhile. Replies of UDP
 * and ICMP flows, and ICMP errors, are dropped and counted (dropped_out),
 * and those flows expire when idle as always; TCP keeps what it sent and
 * waits (tcp_out.c). nat_resume() makes TCP send again what may have been
 * lost; nat_reset() closes every flow without a word to the inside, for
 * a session that is over, and leaves the NAT ready for the next one.
 *
 * Closing: every uv_close() goes through nat_close_start() and every close
 * callback ends in nat_close_done(), which counts them; once nat_close()
 * has closed the timer and all flows and the count drops to zero, the last
 * callback frees the NAT.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "nat/nat_internal.h"

static void nat_defaults(struct nat_opts *o)
{
	if (!o->max_udp_flows)
		o->max_udp_flows = 4096;
	if (!o->max_icmp_flows)
		o->max_icmp_flows = 1024;
	if (!o->max_tcp_flows)
		o->max_tcp_flows = 4096;
	if (!o->max_buf_bytes)
		o->max_buf_bytes = (size_t)256 << 20;
	if (!o->udp_idle_ms)
		o->udp_idle_ms = 180000;
	if (!o->udp_unassured_ms)
		o->udp_unassured_ms = 30000;
	if (o->udp_unassured_ms > o->udp_idle_ms)
		o->udp_unassured_ms = o->udp_idle_ms;
	if (!o->icmp_idle_ms)
		o->icmp_idle_ms = 30000;
	if (!o->mtu)
		o->mtu = 65520;
}

/* room for flows that are closing, beyond the live ones */
static uint32_t slots_for(size_t max_live)
{
	return (uint32_t)(max_live + max_live / 4 + 8);
}

static void nat_free(struct nat *n)
{
	nat_flow_table_free(&n->udp_tab);
	nat_flow_table_free(&n->icmp_tab);
	free(n->udp);
	free(n->icmp);
	free(n->rx);
	free(n->txbig);
	nat_tcp_free(n);
	nat_policy_free(&n->policy);
	free(n);
}

static int nat_alloc(struct nat *n)
{
	const struct nat_opts *o = &n->opts;
	uint32_t us = slots_for(o->max_udp_flows);
	uint32_t is = slots_for(o->max_icmp_flows);
	int r;

	if (o->max_udp_flows > UINT32_MAX / 4 ||
	    o->max_icmp_flows > UINT32_MAX / 4)
		return -EINVAL;
	r = nat_flow_table_init(&n->udp_tab, (uint32_t)o->max_udp_flows, us, 0);
	if (!r)
		r = nat_flow_table_init(&n->icmp_tab,
					(uint32_t)o->max_icmp_flows, is, 0);
	if (r)
		return r;
	n->udp = calloc(us, sizeof(*n->udp));
	n->icmp = calloc(is, sizeof(*n->icmp));
	n->rx = malloc(PKT_HDR_ROOM + NAT_RX_MAX);
	n->txbig = malloc(NAT_TXBIG_MAX);
	if (!n->udp || !n->icmp || !n->rx || !n->txbig)
		return -ENOMEM;
	/* last: it starts handles, which nat_free() would not close */
	return nat_tcp_init(n);
}

struct nat *nat_new(uv_loop_t *loop, const struct nat_opts *opts,
		    nat_emit_fn emit, void *arg)
{
	struct nat *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return NULL;
	n->loop = loop;
	n->emit = emit;
	n->arg = arg;
	if (opts)
		n->opts = *opts;
	nat_defaults(&n->opts);
	r = nat_policy_init(&n->policy, &n->opts);
	/* copied: the caller's array is not kept */
	n->opts.own = NULL;
	n->opts.n_own = 0;
	if (r) {
		free(n);
		tg_err("nat: cannot set up the destination policy: %s",
		       uv_strerror(r));
		return NULL;
	}
	/* the caller's arrays need not outlive this call */
	n->opts.routes = n->policy.routes;
	n->opts.allow = n->policy.allow;
	r = nat_alloc(n);
	if (r) {
		nat_free(n);
		return NULL;
	}
	uv_timer_init(loop, &n->timer);
	return n;
}

void nat_from_tun(struct nat *n, const uint8_t *pkt, size_t len)
{
	struct pkt_info pi;
	int r;

	if (n->closing)
		return;
	n->st.pkts_in++;
	n->st.bytes_in += len;
	r = nat_pkt_parse(pkt, len, &pi);
	if (r) {
		if (r == -EBADMSG)
			n->st.malformed++;
		else
			n->st.unsupported++;
		tg_trace("nat: dropped %zu bytes: %s", len,
			 r == -EBADMSG ? "malformed" : "unsupported");
		return;
	}
	switch (pi.proto) {
	case IPPROTO_UDP:
		nat_udp_from_tun(n, &pi);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		nat_icmp_from_tun(n, &pi);
		break;
	case IPPROTO_TCP:
		nat_tcp_from_tun(n, &pi);
		break;
	}
}

void nat_out_ready(struct nat *n)
{
	/* UDP and ICMP drop instead of queueing: only TCP resumes */
	if (!n->closing)
		nat_tcp_out_ready(n);
}

void nat_get_stats(const struct nat *n, struct nat_stats *s)
{
	*s = n->st;
	s->udp_flows = n->udp_tab.live;
	s->icmp_flows = n->icmp_tab.live;
	s->tcp_flows = nat_tcp_live(n);
}

/* the deadline of the least recently used flow of @t's list @lru, or
 * UINT64_MAX */
static uint64_t next_deadline(const struct flow_table *t, enum flow_lru lru,
			      unsigned idle_ms)
{
	uint32_t i = flow_oldest_in(t, lru);

	return i == FLOW_NONE ? UINT64_MAX : t->nodes[i].last + idle_ms;
}

static void expire(struct nat *n, struct flow_table *t, enum flow_lru lru,
		   unsigned idle_ms, void (*close_flow)(struct nat *, uint32_t))
{
	uint64_t now = uv_now(n->loop);
	uint32_t i;

	while ((i = flow_oldest_in(t, lru)) != FLOW_NONE &&
	       t->nodes[i].last + idle_ms <= now) {
		nat_flow_debug(&t->nodes[i].key, "idle, closed");
		close_flow(n, i);
	}
}

static void timer_cb(uv_timer_t *timer)
{
	struct nat *n = nat_container_of(timer, struct nat, timer);

	expire(n, &n->udp_tab, FLOW_LRU_NEW, n->opts.udp_unassured_ms,
	       nat_udp_close_flow);
	expire(n, &n->udp_tab, FLOW_LRU_ASSURED, n->opts.udp_idle_ms,
	       nat_udp_close_flow);
	/* ping flows are never assured */
	expire(n, &n->icmp_tab, FLOW_LRU_NEW, n->opts.icmp_idle_ms,
	       nat_icmp_close_flow);
	nat_timer_arm(n);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/**
 * nat_timer_arm() - make sure the expiry timer runs if any flow is live
 * @n:		NAT
 *
 * A timer already set stays: it is due no later than a new flow's
 * deadline, and timer_cb() sets the next one.
 */
void nat_timer_arm(struct nat *n)
{
	uint64_t d, now;

	if (n->closing || uv_is_active((uv_handle_t *)&n->timer))
		return;
	d = min_u64(next_deadline(&n->udp_tab, FLOW_LRU_NEW,
				  n->opts.udp_unassured_ms),
		    next_deadline(&n->udp_tab, FLOW_LRU_ASSURED,
				  n->opts.udp_idle_ms));
	d = min_u64(d, next_deadline(&n->icmp_tab, FLOW_LRU_NEW,
				     n->opts.icmp_idle_ms));
	if (d == UINT64_MAX)
		return;
	now = uv_now(n->loop);
	uv_timer_start(&n->timer, timer_cb, d > now ? d - now : 0, 0);
}

void nat_close_start(struct nat *n, uv_handle_t *h, uv_close_cb cb)
{
	n->pending_close++;
	uv_close(h, cb);
}

void nat_close_done(struct nat *n)
{
	assert(n->pending_close > 0);
	if (--n->pending_close == 0 && n->closing)
		nat_free(n);
}

static void timer_close_cb(uv_handle_t *h)
{
	nat_close_done(nat_container_of(h, struct nat, timer));
}

/* close every UDP and ICMP flow: their sockets go, nothing is sent */
static void close_dgram_flows(struct nat *n)
{
	for (uint32_t i = 0; i < n->udp_tab.n_slots; i++)
		if (n->udp_tab.nodes[i].state == FLOW_LIVE)
			nat_udp_close_flow(n, i);
	for (uint32_t i = 0; i < n->icmp_tab.n_slots; i++)
		if (n->icmp_tab.nodes[i].state == FLOW_LIVE)
			nat_icmp_close_flow(n, i);
}

void nat_close(struct nat *n)
{
	if (!n || n->closing)
		return;
	n->closing = true;
	close_dgram_flows(n);
	nat_tcp_close(n);
	nat_close_start(n, (uv_handle_t *)&n->timer, timer_close_cb);
}

void nat_resume(struct nat *n)
{
	/* UDP and ICMP kept nothing to send again */
	if (!n->closing)
		nat_tcp_resume(n);
}

size_t nat_reset(struct nat *n)
{
	if (n->closing)
		return 0;
	close_dgram_flows(n);
	/* the expiry timer finds the tables empty and stops by itself */
	return nat_tcp_reset(n);
}

int nat_set_routes(struct nat *n, bool route_default,
		   const struct tg_prefix *routes, size_t n_routes)
{
	int r = nat_policy_set_routes(&n->policy, route_default, routes,
				      n_routes);

	if (r)
		return r;
	/* opts.routes points into the policy, as nat_new() set it */
	n->opts.route_default = route_default;
	n->opts.routes = n->policy.routes;
	n->opts.n_routes = n_routes;
	return 0;
}

/* close the live flows of @t whose destination @n's policy now refuses */
static int close_refused(struct nat *n, struct flow_table *t,
			 void (*close_flow)(struct nat *, uint32_t))
{
	int k = 0;

	for (uint32_t i = 0; i < t->n_slots; i++) {
		const struct flow_key *key = &t->nodes[i].key;

		if (t->nodes[i].state != FLOW_LIVE ||
		    nat_policy_check(&n->policy, key->family, key->dst) ==
			    POLICY_ALLOW)
			continue;
		nat_flow_debug(key, "closed: the destination is refused now");
		close_flow(n, i);
		k++;
	}
	return k;
}

int nat_set_own(struct nat *n, const struct tg_prefix *own, size_t n_own)
{
	int r;

	if (n->closing)
		return 0;
	r = nat_policy_set_own(&n->policy, own, n_own);
	if (r)
		return r;
	/* a connected UDP socket would send the next datagram to a service
	 * of this machine; a ping socket would be answered by its kernel */
	r = close_refused(n, &n->udp_tab, nat_udp_close_flow);
	r += close_refused(n, &n->icmp_tab, nat_icmp_close_flow);
	return r + (int)nat_tcp_reset_refused(n);
}

/* the live slots of @t; @tcp: their state is the TCP table's */
static void foreach_in(const struct nat *n, const struct flow_table *t,
		       bool tcp,
		       void (*cb)(void *arg, const struct nat_flow_info *fi),
		       void *arg)
{
	for (uint32_t i = 0; i < t->n_slots; i++) {
		const struct flow_node *f = &t->nodes[i];
		struct nat_flow_info fi;

		if (f->state != FLOW_LIVE)
			continue;
		memset(&fi, 0, sizeof(fi));
		fi.proto = f->key.proto;
		fi.family = f->key.family;
		memcpy(fi.src, f->key.src, sizeof(fi.src));
		memcpy(fi.dst, f->key.dst, sizeof(fi.dst));
		fi.sport = f->key.sport;
		fi.dport = f->key.dport;
		fi.state = tcp ? nat_tcp_state(n, i) : "active";
		fi.bytes_in = f->bytes_in;
		fi.bytes_out = f->bytes_out;
		fi.pkts_in = f->pkts_in;
		fi.pkts_out = f->pkts_out;
		fi.created_ms = f->created;
		fi.last_ms = f->last;
		cb(arg, &fi);
	}
}

void nat_foreach_flow(const struct nat *n,
		      void (*cb)(void *arg, const struct nat_flow_info *fi),
		      void *arg)
{
	if (n->closing)
		return;
	foreach_in(n, &n->udp_tab, false, cb, arg);
	foreach_in(n, &n->icmp_tab, false, cb, arg);
	foreach_in(n, nat_tcp_table(n), true, cb, arg);
}
