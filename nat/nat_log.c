/* SPDX-License-Identifier: MIT */
/*
 * nat_log.c - flow names, rate-limited logging, refusal, and what udp.c
 * and icmp.c share of a flow's bookkeeping.
 *
 * Theory of operation: a flow is named in logs as nat_flow_str() writes
 * it ("udp 198.18.0.1:5000 -> 198.18.7.7:53"), the protocol by its one
 * name from nat_proto_name(), which `tungate status` shows too. Warnings
 * a container can provoke at will (refused destinations, sockets that
 * cannot be opened) go through nat_ratelimit(): at most one line a second
 * per kind of event, and the next line says how many were held back.
 * Debug lines are built only when the debug level is on.
 *
 * nat_refuse() is the policy check every protocol runs before it opens a
 * flow: a refused packet is counted, logged and, but for TCP (tcp.c
 * answers with a RST itself), answered with ICMP "administratively
 * prohibited".
 *
 * The datagram flows of udp.c and icmp.c open, fail and end alike:
 * nat_flow_make_room() evicts the least recently used flow of a full
 * table (one not assured first), nat_flow_opened() arms the idle timer, and nat_flow_error() and
 * nat_dgram_fail() turn a socket error into an ICMP error for the inside
 * or a counted, logged drop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "nat/nat_internal.h"

bool nat_ratelimit(struct nat *n, struct nat_ratelimit *rl, uint64_t *quiet)
{
	/* one line per second, the count of the rest in the next one */
	rl->rl.burst = 1;
	rl->rl.interval_ms = 1000;
	return tg_ratelimit_at(&rl->rl, TG_LOG_WARN, uv_now(n->loop), quiet);
}

/*
 * The one name of each protocol, in logs and in `tungate status` alike:
 * ICMPv6 echo flows are "icmp" as ICMP ones are (the address tells the
 * family), as status has always shown them.
 */
static const char *const proto_names[] = {
	[IPPROTO_ICMP] = "icmp",
	[IPPROTO_TCP] = "tcp",
	[IPPROTO_UDP] = "udp",
	[IPPROTO_ICMPV6] = "icmp",
};
_Static_assert(sizeof(proto_names) / sizeof(proto_names[0]) ==
		       IPPROTO_ICMPV6 + 1,
	       "proto_names ends at the highest protocol the NAT carries");

const char *nat_proto_name(uint8_t proto)
{
	if (proto < sizeof(proto_names) / sizeof(proto_names[0]) &&
	    proto_names[proto])
		return proto_names[proto];
	return "ip";
}

/* "198.18.0.1:53", "[fd7e::1]:53", or without a port if @port < 0 */
static void endpoint_str(char *buf, size_t len, int family, const uint8_t *addr,
			 int port)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (port < 0)
		snprintf(buf, len, "%s", a);
	else if (family == AF_INET6)
		snprintf(buf, len, "[%s]:%d", a, port);
	else
		snprintf(buf, len, "%s:%d", a, port);
}

void nat_flow_str(const struct flow_key *k, char *buf, size_t len)
{
	bool icmp = k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6;
	char s[INET6_ADDRSTRLEN + 8], d[INET6_ADDRSTRLEN + 8];

	endpoint_str(s, sizeof(s), k->family, k->src, icmp ? -1 : k->sport);
	endpoint_str(d, sizeof(d), k->family, k->dst, icmp ? -1 : k->dport);
	if (icmp)
		snprintf(buf, len, "%s %s -> %s id %u",
			 nat_proto_name(k->proto), s, d, k->sport);
	else
		snprintf(buf, len, "%s %s -> %s", nat_proto_name(k->proto), s,
			 d);
}

static void log_refused(struct nat *n, const struct pkt_info *pi,
			enum policy_verdict v)
{
	bool ports = pi->proto == IPPROTO_UDP || pi->proto == IPPROTO_TCP;
	char s[INET6_ADDRSTRLEN + 8], d[INET6_ADDRSTRLEN + 8];
	char a[INET6_ADDRSTRLEN], more[64] = "";
	uint64_t quiet;

	if (!nat_ratelimit(n, &n->refuse_rl, &quiet))
		return;
	endpoint_str(s, sizeof(s), pi->family, pi->src, ports ? pi->sport : -1);
	endpoint_str(d, sizeof(d), pi->family, pi->dst, ports ? pi->dport : -1);
	endpoint_str(a, sizeof(a), pi->family, pi->dst, -1);
	if (quiet)
		snprintf(more, sizeof(more),
			 " [%" PRIu64 " more refused, not shown]", quiet);
	tg_warn("refused %s %s -> %s: %s (use --allow %s/%d to permit)%s",
		nat_proto_name(pi->proto), s, d, nat_policy_reason(v), a,
		pi->family == AF_INET ? 32 : 128, more);
}

/**
 * nat_vwarn_flow() - "<flow>: <message>" as a warning, at most one a
 * second for @rl; the lines held back are counted in the next one
 * @n:		NAT
 * @rl:		the kind of event
 * @k:		the flow
 * @fmt:	printf format of the message
 * @ap:		its arguments
 */
void nat_vwarn_flow(struct nat *n, struct nat_ratelimit *rl,
		    const struct flow_key *k, const char *fmt, va_list ap)
{
	char buf[128], msg[160], more[64] = "";
	uint64_t quiet;

	if (!nat_ratelimit(n, rl, &quiet))
		return;
	nat_flow_str(k, buf, sizeof(buf));
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (quiet)
		snprintf(more, sizeof(more), " [%" PRIu64 " more, not shown]",
			 quiet);
	tg_warn("%s: %s%s", buf, msg, more);
}

/**
 * nat_warn_drop() - a flow could not be opened or used for lack of
 * resources (sockets, slots): the user should hear of it, not too often
 * @n:		NAT
 * @k:		the flow
 * @err:	negative errno
 */
void nat_warn_drop(struct nat *n, const struct flow_key *k, int err)
{
	nat_warn_flow(n, &n->sock_rl, k, "dropped: %s",
		      err == -ENOBUFS ? "too many flows closing at once"
				      : uv_strerror(err));
}

void nat_warn_flow(struct nat *n, struct nat_ratelimit *rl,
		   const struct flow_key *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nat_vwarn_flow(n, rl, k, fmt, ap);
	va_end(ap);
}

enum policy_verdict nat_refuse(struct nat *n, const struct pkt_info *pi)
{
	enum policy_verdict v =
		nat_policy_check(&n->policy, pi->family, pi->dst);

	if (v == POLICY_ALLOW)
		return v;
	n->st.refused++;
	log_refused(n, pi, v);
	if (pi->proto != IPPROTO_TCP && !nat_policy_no_icmp(v))
		nat_send_unreach(n, pi->dst, PKT_UNREACH_ADMIN, pi->ip,
				 pi->ip_len);
	return v;
}

void nat_flow_debug(const struct flow_key *k, const char *what)
{
	char buf[128];

	if (tg_log_level >= TG_LOG_DEBUG) {
		nat_flow_str(k, buf, sizeof(buf));
		tg_debug("%s: %s", buf, what);
	}
}

void nat_flow_make_room(struct nat *n, struct flow_table *t, uint64_t *evicted,
			void (*close_flow)(struct nat *, uint32_t))
{
	uint32_t i;

	if (t->live < t->max_live)
		return;
	/* as conntrack's early drop: a flow not assured goes first */
	i = flow_victim(t);
	nat_flow_debug(&t->nodes[i].key, "evicted, table full");
	(*evicted)++;
	close_flow(n, i);
}

void nat_flow_opened(struct nat *n, const struct flow_key *k)
{
	nat_timer_arm(n);
	nat_flow_debug(k, "open");
}

void nat_flow_error(struct nat *n, const struct flow_key *k, int err,
		    const uint8_t *last, size_t last_len)
{
	enum pkt_unreach why;

	nat_flow_debug(k, uv_strerror(err));
	if (nat_errno_unreach(err, &why) && last_len)
		nat_send_unreach(n, k->dst, why, last, last_len);
}

void nat_dgram_fail(struct nat *n, const struct pkt_info *pi,
		    const struct flow_key *k, int err)
{
	enum pkt_unreach why;

	if (nat_errno_unreach(err, &why)) {
		nat_send_unreach(n, pi->dst, why, pi->ip, pi->ip_len);
		return;
	}
	n->st.dropped_out++;
	if (err != UV_EAGAIN)
		nat_warn_drop(n, k, err);
}
