/* SPDX-License-Identifier: MIT */
/*
 * tcp.c - TCP from the inside.
 *
 * Theory of operation: TCP is not terminated yet, so every segment is
 * answered with a RST (RFC 793, "Reset Generation"): the inside's connect()
 * fails at once with "connection refused" instead of hanging. A RST is
 * never answered, and neither is a segment to a multicast or broadcast
 * address (RFC 1122 4.2.3.10). Segments to refused destinations are
 * counted and logged as refused, the others as unsupported.
 */
#include "log.h"
#include "nat_internal.h"

/* answer @pi with a RST, unless it is one */
static void tcp_reset(struct nat *n, const struct pkt_info *pi)
{
	size_t len = pkt_build_tcp_rst(n->tx, sizeof(n->tx), pi);

	if (len)
		nat_emit(n, n->tx, len);
}

/**
 * nat_tcp_from_tun() - one TCP segment from the inside
 * @n:		NAT
 * @pi:		the parsed segment
 */
void nat_tcp_from_tun(struct nat *n, const struct pkt_info *pi)
{
	enum policy_verdict v = nat_refuse(n, pi);

	if (v != POLICY_ALLOW) {
		if (!policy_no_icmp(v))
			tcp_reset(n, pi);
		return;
	}
	n->st.unsupported++;
	tcp_reset(n, pi);
}
