/* SPDX-License-Identifier: MIT */
/*
 * nat_send.c - what the NAT sends toward the inside, and its addressing.
 *
 * Theory of operation: every packet for the inside leaves through here.
 * nat_emit() is for senders that drop what is refused (UDP, ICMP, ICMP
 * errors): a refusal is counted in dropped_out. nat_send() is for TCP,
 * which keeps what it sent and tries again, so a refusal is not a drop.
 * nat_reserve() and nat_commit() let TCP build a segment in the room the
 * caller offers (nat_opts.emit_reserve), saving a copy. Once the NAT is
 * closing, nothing goes out.
 *
 * ICMP errors for the inside are built in the NAT's one tx buffer
 * (nat_send_unreach()), from a socket error mapped by nat_errno_unreach().
 * The rest is addressing: the built-in services by address and port,
 * the two ends of a flow for a service, and sockaddrs for the sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "nat/nat_internal.h"

int nat_send(struct nat *n, const uint8_t *pkt, size_t len)
{
	int r;

	if (n->closing)
		return -EPIPE;
	r = n->emit(n->arg, pkt, len);
	if (r)
		return r;
	n->st.pkts_out++;
	n->st.bytes_out += len;
	return 0;
}

int nat_reserve(struct nat *n, size_t max, uint8_t **room)
{
	*room = NULL;
	if (n->closing)
		return -EPIPE;
	if (!n->opts.emit_reserve || !n->opts.emit_commit)
		return 0;
	*room = n->opts.emit_reserve(n->arg, max);
	return *room ? 0 : -ENOBUFS;
}

void nat_commit(struct nat *n, const uint8_t *pkt, size_t len)
{
	n->opts.emit_commit(n->arg, pkt, len);
	n->st.pkts_out++;
	n->st.bytes_out += len;
}

bool nat_emit(struct nat *n, const uint8_t *pkt, size_t len)
{
	if (n->closing)
		return false;
	if (nat_send(n, pkt, len)) {
		n->st.dropped_out++;
		return false;
	}
	return true;
}

const struct nat_service *nat_service_find(const struct nat *n, int family,
					   const uint8_t *addr, uint16_t port)
{
	size_t alen = family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n->opts.n_services; i++) {
		const struct nat_service *s = &n->opts.services[i];

		if (s->family == family && s->port == port &&
		    !memcmp(s->addr, addr, alen))
			return s;
	}
	return NULL;
}

void nat_peer_of(const struct flow_key *k, struct nat_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->family = k->family;
	memcpy(p->src, k->src, sizeof(p->src));
	memcpy(p->dst, k->dst, sizeof(p->dst));
	p->sport = k->sport;
	p->dport = k->dport;
}

void nat_send_unreach(struct nat *n, const uint8_t *from, enum pkt_unreach why,
		      const uint8_t *orig, size_t orig_len)
{
	size_t len = nat_pkt_build_icmp_error(n->tx, sizeof(n->tx), from, why,
					      orig, orig_len);

	if (len && nat_emit(n, n->tx, len))
		n->st.icmp_errors_sent++;
}

bool nat_errno_unreach(int err, enum pkt_unreach *why)
{
	switch (err) {
	case UV_ECONNREFUSED:
		*why = PKT_UNREACH_PORT;
		return true;
	case UV_EHOSTUNREACH:
	case UV_EHOSTDOWN:
		*why = PKT_UNREACH_HOST;
		return true;
	case UV_ENETUNREACH:
	case UV_ENETDOWN:
		*why = PKT_UNREACH_NET;
		return true;
	case UV_EACCES:
	case UV_EPERM:
		*why = PKT_UNREACH_ADMIN;
		return true;
	}
	return false;
}

void nat_sockaddr(struct sockaddr_storage *ss, int family, const uint8_t *addr,
		  uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, addr, 16);
	}
}
