/* SPDX-License-Identifier: MIT */
/*
 * icmp.c - ICMP and ICMPv6 echo through unprivileged ping sockets.
 *
 * Theory of operation: a flow is (inside address, destination, echo id),
 * carried by one socket(AF_INET{,6}, SOCK_DGRAM, IPPROTO_ICMP{V6}) that is
 * connected to the destination and watched by a uv_poll_t. The echo
 * request goes out as the inside sent it: the kernel replaces the id with
 * the socket's own and computes the checksum. Replies arrive as bare ICMP
 * messages (Linux strips the IPv4 header; other systems may not, so a
 * leading IPv4 header is skipped), land in the NAT's shared buffer behind
 * PKT_HDR_ROOM, get the inside's id back, a new checksum and an IP header.
 * A reply that the stream refuses (full, or down for an outage) is
 * dropped and counted in dropped_out.
 *
 * Linux allows ping sockets only to groups in net.ipv4.ping_group_range
 * (for IPv6 too); when it does not, echo requests are dropped and the
 * user is told once how to change it.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "nat/nat_internal.h"

static void icmp_close_cb(uv_handle_t *h)
{
	struct icmp_flow *f = nat_container_of(h, struct icmp_flow, h);
	struct nat *n = f->n;

	/* the poll handle is gone: now the descriptor may go too */
	close(f->fd);
	f->fd = -1;
	/* nat_icmp_close_flow() unhashed it: the slot returns only here */
	assert(n->icmp_tab.nodes[f->idx].state == FLOW_CLOSING);
	nat_flow_free(&n->icmp_tab, f->idx);
	nat_close_done(n);
}

void nat_icmp_close_flow(struct nat *n, uint32_t i)
{
	nat_flow_unhash(&n->icmp_tab, i);
	nat_close_start(n, (uv_handle_t *)&n->icmp[i].h, icmp_close_cb);
}

static const struct flow_key *icmp_key(const struct icmp_flow *f)
{
	return &f->n->icmp_tab.nodes[f->idx].key;
}

/* one message read from the socket at @m: make it the inside's reply */
static void icmp_reply(struct icmp_flow *f, uint8_t *m, size_t len)
{
	const struct flow_key *k = icmp_key(f);
	struct nat *n = f->n;
	size_t hl, out;
	uint8_t *start;

	if (k->family == AF_INET && len >= PKT_IP4_HLEN && m[0] >> 4 == 4) {
		hl = (size_t)(m[0] & 0xf) * 4;
		if (hl < PKT_IP4_HLEN || hl > len)
			return;
		m += hl;
		len -= hl;
	}
	if (len < PKT_ICMP_HLEN ||
	    m[0] != (k->family == AF_INET ? PKT_ICMP4_ECHO_REPLY
					  : PKT_ICMP6_ECHO_REPLY))
		return;
	hl = nat_pkt_ip_hlen(k->family);
	if (hl + len > n->opts.mtu) {
		n->st.dropped_out++;
		return;
	}
	tg_put_be16(m + 4, k->sport);
	start = m - hl;
	out = nat_pkt_build_icmp(start, k->family, k->dst, k->src, len);
	if (!out) {
		n->st.dropped_out++;
		return;
	}
	nat_flow_touch(&n->icmp_tab, f->idx, uv_now(n->loop));
	if (nat_emit(n, start, out))
		flow_count(&n->icmp_tab, f->idx, false, len - PKT_ICMP_HLEN);
}

/* an error the socket reports for an earlier echo request */
static void icmp_error(struct icmp_flow *f, int err)
{
	nat_flow_error(f->n, icmp_key(f), err, f->last, f->last_len);
}

static void icmp_poll_cb(uv_poll_t *h, int status, int events)
{
	struct icmp_flow *f = nat_container_of(h, struct icmp_flow, h);
	struct nat *n = f->n;
	uint8_t *m = n->rx + PKT_HDR_ROOM;
	ssize_t r;

	if (status < 0) {
		icmp_error(f, status);
		nat_icmp_close_flow(n, f->idx);
		return;
	}
	for (int i = 0; i < NAT_ICMP_RX_BATCH && !n->closing; i++) {
		r = recv(f->fd, m, NAT_RX_MAX, 0);
		if (r >= 0)
			icmp_reply(f, m, (size_t)r);
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		else if (errno != EINTR)
			icmp_error(f, -errno);
	}
}

/* tell the user once why ping does not work */
static void ping_warn(struct nat *n)
{
	if (n->ping_warned)
		return;
	n->ping_warned = true;
	tg_warn("ICMP echo is disabled for this user: "
		"net.ipv4.ping_group_range does not include gid %u; allow it "
		"with: sudo sysctl -w net.ipv4.ping_group_range='0 2147483647'",
		(unsigned)getegid());
}

/*
 * A connected, non-blocking ping socket to @k's destination, or -errno;
 * -EPROTONOSUPPORT if this user may not have one.
 */
static int ping_socket(const struct flow_key *k)
{
	struct sockaddr_storage ss;
	int fd, r;

	fd = socket(k->family, SOCK_DGRAM,
		    k->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (fd < 0)
		return errno == EACCES || errno == EPERM ? -EPROTONOSUPPORT
							 : -errno;
	nat_sockaddr(&ss, k->family, k->dst, 0);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) ||
	    connect(fd, (const struct sockaddr *)&ss,
		    k->family == AF_INET ? sizeof(struct sockaddr_in)
					 : sizeof(struct sockaddr_in6))) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* make @k's flow: on error, nothing is left to close */
static int icmp_open(struct nat *n, const struct flow_key *k, uint32_t *idx)
{
	struct icmp_flow *f;
	uint32_t i;
	int fd, r;

	/* closing flows hold every spare slot: evicting would not help */
	if (n->icmp_tab.free_head == FLOW_NONE)
		return -ENOBUFS;
	fd = ping_socket(k);
	if (fd < 0)
		return fd;
	nat_flow_make_room(n, &n->icmp_tab, &n->st.icmp_evicted,
			   nat_icmp_close_flow);
	i = nat_flow_alloc(&n->icmp_tab, k, uv_now(n->loop));
	if (i == FLOW_NONE) {
		close(fd);
		return -ENOBUFS;
	}
	f = &n->icmp[i];
	f->n = n;
	f->idx = i;
	f->fd = fd;
	f->last_len = 0;
	r = uv_poll_init_socket(n->loop, &f->h, fd);
	if (r) {
		close(fd);
		nat_flow_free(&n->icmp_tab, i);
		return r;
	}
	r = uv_poll_start(&f->h, UV_READABLE, icmp_poll_cb);
	if (r) {
		nat_icmp_close_flow(n, i);
		return r;
	}
	*idx = i;
	nat_flow_opened(n, k);
	return 0;
}

/* an echo request could not be sent: tell the inside, or count it */
static void icmp_fail(struct nat *n, const struct pkt_info *pi,
		      const struct flow_key *k, int err)
{
	if (err == -EPROTONOSUPPORT) {
		ping_warn(n);
		n->st.unsupported++;
		return;
	}
	nat_dgram_fail(n, pi, k, err);
}

static bool is_echo_request(const struct pkt_info *pi)
{
	/* ping sockets take nothing else, and only code 0 */
	return pi->icmp_code == 0 &&
	       pi->icmp_type == (pi->family == AF_INET ? PKT_ICMP4_ECHO
						       : PKT_ICMP6_ECHO);
}

/**
 * nat_icmp_from_tun() - one ICMP or ICMPv6 message from the inside
 * @n:		NAT
 * @pi:		the parsed message; only echo requests are handled
 */
void nat_icmp_from_tun(struct nat *n, const struct pkt_info *pi)
{
	struct flow_key k;
	struct icmp_flow *f;
	uint32_t i;
	ssize_t s;
	int r;

	if (!is_echo_request(pi)) {
		n->st.unsupported++;
		return;
	}
	if (nat_refuse(n, pi))
		return;
	nat_flow_key_init(&k, pi->proto, pi->family, pi->src, pi->icmp_id,
			  pi->dst, 0);
	i = nat_flow_lookup(&n->icmp_tab, &k);
	if (i == FLOW_NONE) {
		r = icmp_open(n, &k, &i);
		if (r) {
			icmp_fail(n, pi, &k, r);
			return;
		}
	} else {
		nat_flow_touch(&n->icmp_tab, i, uv_now(n->loop));
	}
	f = &n->icmp[i];
	s = send(f->fd, pi->l4, pi->l4_len, 0);
	if (s < 0) {
		icmp_fail(n, pi, &k, errno == EWOULDBLOCK ? UV_EAGAIN : -errno);
		return;
	}
	/* the echo's data, as for UDP the datagram's */
	flow_count(&n->icmp_tab, i, true,
		   pi->l4_len > PKT_ICMP_HLEN ? pi->l4_len - PKT_ICMP_HLEN : 0);
	f->last_len = (uint16_t)(pi->ip_len < NAT_QUOTE_MAX ? pi->ip_len
							    : NAT_QUOTE_MAX);
	memcpy(f->last, pi->ip, f->last_len);
}
