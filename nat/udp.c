/* SPDX-License-Identifier: MIT */
/*
 * udp.c - UDP flows: one connected socket per (inside address and port,
 * destination address and port).
 *
 * Theory of operation: the first datagram of a flow opens a uv_udp_t,
 * connects it to the destination (the kernel picks the source port) and
 * starts reading; every datagram goes out with uv_udp_try_send(), which
 * neither allocates nor queues, so a full socket buffer drops it, as a
 * router would. Replies are read into the NAT's shared buffer behind
 * PKT_HDR_ROOM bytes, and the IP and UDP headers are written in front of
 * them. A reply that the stream refuses (full, or down for an outage) is
 * dropped and counted in dropped_out; the flow lives on until idle.
 *
 * Lifetime, as the kernel's conntrack: a flow that was never answered, or
 * saw one exchange (a DNS query and its answer, however many datagrams
 * each way), is gone udp_unassured_ms (30 s) after its last datagram. A
 * flow that the inside uses again after an answer, and that is answered
 * again, is assured (phase ASKED -> ANSWERED -> ASKED_AGAIN -> assured,
 * nat_flow_assure()) and lives udp_idle_ms (--udp-idle, 180 s) after its
 * last datagram. A full table evicts flows not assured first, so a burst
 * of one-shot queries cannot push out a long-lived flow (a VPN, a game,
 * a media stream).
 *
 * Errors come back two ways: a send that fails at once (the destination
 * refused an earlier datagram, or has no route), and a pending socket
 * error that the next read returns (ECONNREFUSED after an ICMP port
 * unreachable). Either becomes an ICMP error for the inside, quoting the
 * datagram at hand or the head of the last one the flow sent.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "nat/nat_internal.h"

static void udp_close_cb(uv_handle_t *h)
{
	struct udp_flow *f = nat_container_of(h, struct udp_flow, h);
	struct nat *n = f->n;

	/* nat_udp_close_flow() unhashed it: the slot returns only here */
	assert(n->udp_tab.nodes[f->idx].state == FLOW_CLOSING);
	nat_flow_free(&n->udp_tab, f->idx);
	nat_close_done(n);
}

void nat_udp_close_flow(struct nat *n, uint32_t i)
{
	nat_flow_unhash(&n->udp_tab, i);
	nat_close_start(n, (uv_handle_t *)&n->udp[i].h, udp_close_cb);
}

static const struct flow_key *udp_key(const struct udp_flow *f)
{
	return &f->n->udp_tab.nodes[f->idx].key;
}

static void udp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct udp_flow *f = nat_container_of(h, struct udp_flow, h);

	buf->base = (char *)f->n->rx + PKT_HDR_ROOM;
	buf->len = NAT_RX_MAX;
}

static void udp_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
			const struct sockaddr *addr, unsigned flags)
{
	struct udp_flow *f = nat_container_of(h, struct udp_flow, h);
	struct nat *n = f->n;
	const struct flow_key *k = udp_key(f);
	size_t hlen = nat_pkt_ip_hlen(k->family) + PKT_UDP_HLEN, len;
	uint8_t *start;

	if (nread < 0) {
		/* a socket error after the fact: quote the last datagram */
		nat_flow_error(n, k, (int)nread, f->last, f->last_len);
		return;
	}
	if (!addr)
		return; /* nothing to read after all */
	if ((flags & UV_UDP_PARTIAL) || hlen + (size_t)nread > n->opts.mtu) {
		n->st.dropped_out++;
		return;
	}
	nat_flow_touch(&n->udp_tab, f->idx, uv_now(n->loop));
	if (f->phase == UDP_ASKED)
		f->phase = UDP_ANSWERED;
	else if (f->phase == UDP_ASKED_AGAIN)
		nat_flow_assure(&n->udp_tab, f->idx);
	start = (uint8_t *)buf->base - hlen;
	len = nat_pkt_build_udp(start, k->family, k->dst, k->dport, k->src,
				k->sport, (size_t)nread);
	if (!len) {
		n->st.dropped_out++;
		return;
	}
	if (nat_emit(n, start, len))
		flow_count(&n->udp_tab, f->idx, false, (size_t)nread);
}

/* make @k's flow: on error, nothing is left to close */
static int udp_open(struct nat *n, const struct flow_key *k, uint32_t *idx)
{
	struct sockaddr_storage ss;
	struct udp_flow *f;
	uint32_t i;
	int r;

	/* closing flows hold every spare slot: evicting would not help */
	if (n->udp_tab.free_head == FLOW_NONE)
		return -ENOBUFS;
	nat_flow_make_room(n, &n->udp_tab, &n->st.udp_evicted,
			   nat_udp_close_flow);
	i = nat_flow_alloc(&n->udp_tab, k, uv_now(n->loop));
	if (i == FLOW_NONE)
		return -ENOBUFS;
	f = &n->udp[i];
	f->n = n;
	f->idx = i;
	f->phase = UDP_ASKED;
	f->last_len = 0;
	r = uv_udp_init_ex(n->loop, &f->h, k->family);
	if (r) {
		nat_flow_free(&n->udp_tab, i);
		return r;
	}
	nat_sockaddr(&ss, k->family, k->dst, k->dport);
	r = uv_udp_connect(&f->h, (const struct sockaddr *)&ss);
	if (!r)
		r = uv_udp_recv_start(&f->h, udp_alloc_cb, udp_recv_cb);
	if (r) {
		nat_udp_close_flow(n, i);
		return r;
	}
	*idx = i;
	nat_flow_opened(n, k);
	return 0;
}

/* a datagram for an in-process service, which bypasses the policy */
static bool udp_service(struct nat *n, const struct pkt_info *pi)
{
	const struct nat_service *svc;
	struct nat_peer peer;
	struct flow_key k;

	svc = nat_service_find(n, pi->family, pi->dst, pi->dport);
	if (!svc)
		return false;
	if (!svc->udp) {
		n->st.unsupported++;
		return true;
	}
	nat_flow_key_init(&k, IPPROTO_UDP, pi->family, pi->src, pi->sport,
			  pi->dst, pi->dport);
	nat_peer_of(&k, &peer);
	svc->udp(svc->arg, &peer, pi->data, pi->data_len);
	return true;
}

int nat_udp_reply(struct nat *n, const struct nat_peer *to, const uint8_t *data,
		  size_t len)
{
	size_t hlen = nat_pkt_ip_hlen(to->family) + PKT_UDP_HLEN, out;
	uint8_t *buf = n->txbig;
	int r;

	if (n->closing)
		return -EPIPE;
	if (to->family != AF_INET && to->family != AF_INET6)
		return -EINVAL;
	if (hlen + len > n->opts.mtu || hlen + len > NAT_TXBIG_MAX)
		return -EMSGSIZE;
	memcpy(buf + hlen, data, len);
	out = nat_pkt_build_udp(buf, to->family, to->dst, to->dport, to->src,
				to->sport, len);
	if (!out)
		return -EMSGSIZE;
	r = nat_send(n, buf, out);
	if (r)
		n->st.dropped_out++;
	return r;
}

/**
 * nat_udp_from_tun() - one datagram from the inside
 * @n:		NAT
 * @pi:		the parsed datagram
 */
void nat_udp_from_tun(struct nat *n, const struct pkt_info *pi)
{
	uv_buf_t b = uv_buf_init((char *)pi->data, (unsigned)pi->data_len);
	struct flow_key k;
	struct udp_flow *f;
	uint32_t i;
	int r;

	if (!pi->dport) {
		n->st.malformed++;
		return;
	}
	if (udp_service(n, pi))
		return;
	if (nat_refuse(n, pi))
		return;
	nat_flow_key_init(&k, IPPROTO_UDP, pi->family, pi->src, pi->sport,
			  pi->dst, pi->dport);
	i = nat_flow_lookup(&n->udp_tab, &k);
	if (i == FLOW_NONE) {
		r = udp_open(n, &k, &i);
		if (r) {
			nat_dgram_fail(n, pi, &k, r);
			return;
		}
	} else {
		nat_flow_touch(&n->udp_tab, i, uv_now(n->loop));
	}
	f = &n->udp[i];
	r = uv_udp_try_send(&f->h, &b, 1, NULL);
	if (r < 0) {
		nat_dgram_fail(n, pi, &k, r);
		return;
	}
	flow_count(&n->udp_tab, i, true, pi->data_len);
	if (f->phase == UDP_ANSWERED)
		f->phase = UDP_ASKED_AGAIN;
	f->last_len = (uint16_t)(pi->ip_len < NAT_QUOTE_MAX ? pi->ip_len
							    : NAT_QUOTE_MAX);
	memcpy(f->last, pi->ip, f->last_len);
}
