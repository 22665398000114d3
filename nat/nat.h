/* SPDX-License-Identifier: MIT */
/*
 * nat.h - the outside's userspace NAT: IP packets in, real sockets out.
 *
 * The caller feeds every IP packet that arrives from the inside to
 * nat_from_tun(); the NAT opens, uses and expires ordinary sockets on this
 * machine (connected UDP sockets, unprivileged ping sockets, TCP) and hands
 * the packets it builds for the inside to the emit callback. It knows
 * nothing of TUN devices or the stream.
 */
#ifndef NAT_H
#define NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lib/prefix.h"

struct nat;

/*
 * A packet for the inside. Return 0 if taken, -ENOBUFS if the stream is
 * full (the NAT drops it, or for TCP keeps it and retries after
 * nat_out_ready()).
 */
typedef int (*nat_emit_fn)(void *arg, const uint8_t *pkt, size_t len);

/* the two ends of a UDP datagram or TCP connection, as the inside sees it */
struct nat_peer {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t src[16];	/* the inside's address and port */
	uint8_t dst[16];	/* the service's address and port */
	uint16_t sport, dport;
};

/*
 * An address:port answered in-process instead of through a real socket
 * (the tunnel's DNS address). Services bypass the destination policy.
 */
struct nat_service {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	void *arg;
	/* a UDP datagram for the service; answer with nat_udp_reply() */
	void (*udp)(void *arg, const struct nat_peer *from, const uint8_t *data,
		    size_t len);
	/* a TCP connection, established with the inside: @fd is one end of
	 * a non-blocking socketpair carrying its bytes; the callee owns it
	 * in every case and closes it, on error too. Return 0, or -errno to
	 * reset the connection. */
	int (*tcp)(void *arg, const struct nat_peer *from, int fd);
};

#define NAT_MAX_SERVICES 4

struct nat_opts {
	size_t max_udp_flows;	 /* default 4096 */
	size_t max_icmp_flows;	 /* default 1024 */
	size_t max_tcp_flows;	 /* default 4096 */
	unsigned udp_idle_ms;	 /* assured UDP flows, default 180000 */
	/* UDP flows never answered, or of one exchange: default 30000, at
	 * most udp_idle_ms (udp.c) */
	unsigned udp_unassured_ms;
	unsigned icmp_idle_ms;	 /* default 30000 */
	/* bytes of TCP buffers across all flows, default 256 MiB (tcp_buf.c) */
	size_t max_buf_bytes;
	uint32_t mtu;		 /* largest packet to the inside, default 65520 */
	bool route_default;	 /* every destination is offered */
	const struct tg_prefix *routes; /* offered prefixes, if not default */
	size_t n_routes;
	const struct tg_prefix *allow;	/* permitted despite the default refusal */
	size_t n_allow;
	const struct tg_prefix *own;	/* this machine's addresses, until
					 * nat_set_own() */
	size_t n_own;
	struct nat_service services[NAT_MAX_SERVICES];
	size_t n_services;
	/* optional: room for one packet of up to @max bytes directly where
	 * emit would have copied it; NULL when emit would say -ENOBUFS.
	 * The NAT then builds the packet there and calls emit_commit. */
	uint8_t *(*emit_reserve)(void *arg, size_t max);
	void (*emit_commit)(void *arg, const uint8_t *pkt, size_t len);
};

struct nat_stats {
	uint64_t pkts_in, pkts_out;	/* from / to the inside */
	uint64_t bytes_in, bytes_out;
	uint64_t malformed;		/* bad header, length, checksum-less junk */
	uint64_t unsupported;		/* protocol or ICMP type not handled */
	uint64_t refused;		/* destination not permitted */
	uint64_t dropped_out;		/* emit said -ENOBUFS */
	uint64_t udp_flows, icmp_flows, tcp_flows; /* open now */
	uint64_t udp_evicted, icmp_evicted, tcp_refused_full;
	uint64_t icmp_errors_sent;
	uint64_t tcp_buf_bytes;	/* TCP buffer memory held now */
	uint64_t tcp_buf_short;	/* buffers cut or refused by the budget */
	uint64_t tcp_refused_mem; /* SYNs reset: the budget is spent */
};

/**
 * nat_new() - create a NAT on @loop
 * @loop:	event loop
 * @opts:	limits and destination policy (copied; zero fields take defaults)
 * @emit:	where packets for the inside go
 * @arg:	for @emit, and for @opts->emit_reserve and emit_commit
 *
 * With both emit_reserve and emit_commit set, TCP segments (the bulk of
 * the traffic) are built in place instead of being copied by @emit: the
 * NAT reserves the room, copies the payload there straight from the
 * flow's buffer, writes the headers around it and commits, with no other
 * emit in between. The NAT may reserve and not commit (a segment that
 * turns out not to fit the length fields): the room then stays unused.
 * Everything else still goes through @emit. With either unset, @emit
 * carries everything.
 *
 * Return: the NAT, or NULL on allocation failure
 */
struct nat *nat_new(uv_loop_t *loop, const struct nat_opts *opts,
		    nat_emit_fn emit, void *arg);

/**
 * nat_from_tun() - one IP packet from the inside
 * @n:		NAT
 * @pkt:	the packet, only valid during the call
 * @len:	its length
 *
 * Malformed or unsupported packets are counted and dropped.
 */
void nat_from_tun(struct nat *n, const uint8_t *pkt, size_t len);

/**
 * nat_udp_reply() - send a datagram to the inside from a service
 * @n:		NAT
 * @to:		the peer as given to the service's udp callback (the reply
 *		goes from @to->dst to @to->src)
 * @data:	payload
 * @len:	its length
 *
 * Return: 0, -EMSGSIZE (larger than the MTU), or -ENOBUFS (stream full)
 */
int nat_udp_reply(struct nat *n, const struct nat_peer *to,
		  const uint8_t *data, size_t len);

/** nat_out_ready() - the emit callback has room again */
void nat_out_ready(struct nat *n);

/**
 * nat_resume() - the stream is back after an outage, with the same
 * session: anything emitted during or just before the outage may be lost
 * @n:		NAT
 *
 * Every TCP flow goes back to its oldest unacknowledged byte (go-back-N;
 * an unacknowledged SYN-ACK or FIN is sent again too), its retry count
 * is cleared and its retransmission timer restarts from the initial RTO
 * (1 s) with a fresh RTT estimate. Each established flow first gets a
 * pure ACK carrying the current window, then output resumes as after
 * nat_out_ready(). UDP and ICMP flows are left as they are. During the
 * outage itself the NAT needs no call: while emit says -ENOBUFS no TCP
 * flow counts retransmissions or gives up, and no timer runs for it.
 */
void nat_resume(struct nat *n);

/**
 * nat_reset() - the session is over (its grace period passed, or the
 * inside started afresh): close every flow now
 * @n:		NAT
 *
 * Each TCP connection's socket is closed with a RST to its destination
 * (SO_LINGER 0), connections still connecting or to a service included;
 * UDP and ICMP flows are closed. Nothing is emitted toward the inside.
 * Services, routes, options and the stats counters stay; new flows can
 * be opened at once.
 *
 * Return: the number of TCP connections reset
 */
size_t nat_reset(struct nat *n);

void nat_get_stats(const struct nat *n, struct nat_stats *s);

/* One open flow, for people (`tungate status`). */
struct nat_flow_info {
	uint8_t proto;		/* IPPROTO_TCP, _UDP, _ICMP or _ICMPV6 */
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t src[16];	/* the inside's address */
	uint8_t dst[16];	/* the destination's */
	uint16_t sport;		/* the inside's port; ICMP: the echo id */
	uint16_t dport;		/* ICMP: 0 */
	const char *state;	/* TCP: "connecting", "syn-received",
				 * "established", "fin-wait", "close-wait",
				 * "closing"; else "active" */
	uint64_t bytes_in, bytes_out;	/* payload from / to the inside */
	uint64_t pkts_in, pkts_out;	/* packets from / to the inside */
	uint64_t created_ms, last_ms;	/* loop time (uv_now) */
};

/**
 * nat_proto_name() - a protocol's name in logs and status: "tcp", "udp",
 * "icmp" (ICMPv6 too), else "ip"
 * @proto:	IPPROTO_TCP, _UDP, _ICMP or _ICMPV6, as in nat_flow_info
 */
const char *nat_proto_name(uint8_t proto);

/**
 * nat_foreach_flow() - call @cb for every open flow (TCP, UDP, ICMP),
 * in no particular order; @cb must not call into the NAT
 */
void nat_foreach_flow(const struct nat *n,
		      void (*cb)(void *arg, const struct nat_flow_info *fi),
		      void *arg);

/**
 * nat_close() - close every flow's socket and the timers; @n is freed once
 * libuv has closed them. No emit after this call.
 */
void nat_close(struct nat *n);

/**
 * nat_set_routes() - the outside's offer changed: destinations are checked
 * against these prefixes from now on (flows already open stay)
 * @n:		NAT
 * @route_default: every destination is offered
 * @routes:	offered prefixes (copied)
 * @n_routes:	their number
 *
 * Return: 0, or -ENOMEM (the old offer stays)
 */
int nat_set_routes(struct nat *n, bool route_default,
		   const struct tg_prefix *routes, size_t n_routes);

/**
 * nat_set_own() - this machine's own addresses changed: they are refused
 * from now on, and every open flow whose destination is now refused ends
 * at once (a UDP or ping flow's socket is closed; a TCP connection is
 * reset both ways), since its socket would now reach this machine itself
 * @n:		NAT
 * @own:	host prefixes, every address of every interface (copied)
 * @n_own:	their number
 *
 * Return: the number of flows ended, or -ENOMEM (the old set stays)
 */
int nat_set_own(struct nat *n, const struct tg_prefix *own, size_t n_own);

#endif
