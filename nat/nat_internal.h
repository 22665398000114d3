/* SPDX-License-Identifier: MIT */
/*
 * nat_internal.h - what the files of nat/ share, and nothing outside sees.
 */
#ifndef NAT_INTERNAL_H
#define NAT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lib/log.h"
#include "nat/flow.h"
#include "nat/nat.h"
#include "nat/pkt.h"
#include "nat/policy.h"

/* bytes of the last packet sent on a flow, kept to quote in ICMP errors */
#define NAT_QUOTE_MAX 128
/* largest payload a datagram socket hands us */
#define NAT_RX_MAX 65536
/* ICMP errors and RSTs are built here */
#define NAT_TX_MAX (PKT_ICMP6_ERR_MAX + 64)
/* TCP segments and service replies: the largest IP packet, and more */
#define NAT_TXBIG_MAX (PKT_IP6_HLEN + 0xffff)
/* datagrams read from one ping socket per wakeup */
#define NAT_ICMP_RX_BATCH 32

#define nat_container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

struct nat;

/* at most one log line a second for a kind of event; the rest are counted
 * (lib/log.h's limiter, with a burst of one per second) */
struct nat_ratelimit {
	struct tg_ratelimit rl;
};

/* how far a UDP flow has got toward assured (udp.c) */
enum udp_phase { UDP_ASKED = 0, UDP_ANSWERED, UDP_ASKED_AGAIN };

struct udp_flow {
	uv_udp_t h;
	struct nat *n;
	uint32_t idx;
	uint8_t phase; /* enum udp_phase */
	uint16_t last_len;
	uint8_t last[NAT_QUOTE_MAX];
};

struct icmp_flow {
	uv_poll_t h;
	struct nat *n;
	int fd;
	uint32_t idx;
	uint16_t last_len;
	uint8_t last[NAT_QUOTE_MAX];
};

struct nat {
	uv_loop_t *loop;
	struct nat_opts opts; /* routes and allow point into policy */
	nat_emit_fn emit;
	void *arg;
	struct nat_policy policy;
	struct nat_stats st;

	struct flow_table udp_tab, icmp_tab;
	struct nat_tcp *tcp; /* tcp_conn.h */
	struct udp_flow *udp; /* indexed like udp_tab's slots */
	struct icmp_flow *icmp; /* indexed like icmp_tab's slots */
	uv_timer_t timer;

	/* received payloads land at rx + PKT_HDR_ROOM, headers go in front */
	uint8_t *rx;
	uint8_t tx[NAT_TX_MAX];
	/* built and handed to emit at once, never kept across calls */
	uint8_t *txbig;

	unsigned pending_close; /* uv_close() calls not yet called back */
	bool closing;
	bool ping_warned;
	struct nat_ratelimit refuse_rl, sock_rl;
};

/* nat.c */

void nat_timer_arm(struct nat *n);

/**
 * nat_close_start() - uv_close() @h, counting it: @cb must end by calling
 * nat_close_done(), after which the NAT may be gone
 */
void nat_close_start(struct nat *n, uv_handle_t *h, uv_close_cb cb);
void nat_close_done(struct nat *n);

/* nat_send.c */

/**
 * nat_emit() - hand a packet to the inside, counting it
 * Return: true if taken; false if dropped (counted in dropped_out) or
 * the NAT is closing
 */
bool nat_emit(struct nat *n, const uint8_t *pkt, size_t len);

/**
 * nat_send() - as nat_emit(), for a sender that keeps what was refused
 * and tries again (TCP): a refusal is not counted as a drop
 * Return: 0, the emit callback's error (-ENOBUFS: the stream is full), or
 * -EPIPE if the NAT is closing
 */
int nat_send(struct nat *n, const uint8_t *pkt, size_t len);

/**
 * nat_reserve() - room to build a packet for the inside in place, where
 * the caller offers it (nat_opts.emit_reserve): no copy by emit
 * @n:		NAT
 * @max:	the packet's largest length
 * @room:	set to the room, or to NULL if the caller offers none (build
 *		the packet elsewhere and nat_send() it)
 *
 * Return: 0, -ENOBUFS (the stream is full, as nat_send() would say), or
 * -EPIPE if the NAT is closing
 */
int nat_reserve(struct nat *n, size_t max, uint8_t **room);

/**
 * nat_commit() - hand over the packet built in nat_reserve()'s room,
 * counted as nat_send() counts what it sends
 */
void nat_commit(struct nat *n, const uint8_t *pkt, size_t len);

/** nat_service_find() - the service at @addr:@port, or NULL */
const struct nat_service *nat_service_find(const struct nat *n, int family,
					   const uint8_t *addr, uint16_t port);

/** nat_peer_of() - the two ends of @k, for a service */
void nat_peer_of(const struct flow_key *k, struct nat_peer *p);

/**
 * nat_send_unreach() - a destination unreachable for @orig, from @from
 * @n:		NAT
 * @from:	the destination @orig was sent to
 * @why:	reason, mapped to the family's type and code
 * @orig:	the inside's packet (or the head of it we kept)
 * @orig_len:	its length
 */
void nat_send_unreach(struct nat *n, const uint8_t *from, enum pkt_unreach why,
		      const uint8_t *orig, size_t orig_len);

/**
 * nat_errno_unreach() - the ICMP error that tells the inside about @err
 * @err:	negative errno from a socket call
 * @why:	result
 *
 * Return: true if @err means "unreachable" or "refused", false otherwise
 */
bool nat_errno_unreach(int err, enum pkt_unreach *why);

/** nat_sockaddr() - a sockaddr_in or sockaddr_in6 for @addr and @port */
void nat_sockaddr(struct sockaddr_storage *ss, int family, const uint8_t *addr,
		  uint16_t port);

/* nat_log.c */

/**
 * nat_refuse() - check @pi's destination; if refused, count, log (rate
 * limited) and, but for TCP, answer with ICMP administratively prohibited
 * Return: POLICY_ALLOW (0) or the reason the packet was refused
 */
enum policy_verdict nat_refuse(struct nat *n, const struct pkt_info *pi);

/**
 * nat_ratelimit() - may a line of kind @rl be logged now?
 * @quiet:	set to the number of lines suppressed since the last one
 */
bool nat_ratelimit(struct nat *n, struct nat_ratelimit *rl, uint64_t *quiet);

void nat_warn_drop(struct nat *n, const struct flow_key *k, int err);

/**
 * nat_warn_flow() - "<flow>: <message>", rate limited by @rl (nat_log.c has
 * the details, at nat_vwarn_flow())
 */
void nat_warn_flow(struct nat *n, struct nat_ratelimit *rl,
		   const struct flow_key *k, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void nat_vwarn_flow(struct nat *n, struct nat_ratelimit *rl,
		    const struct flow_key *k, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/** nat_flow_debug() - "<flow>: @what", at debug level */
void nat_flow_debug(const struct flow_key *k, const char *what);

/*
 * What udp.c and icmp.c share: their flows open, fail and end alike.
 */

/**
 * nat_flow_make_room() - if @t has its most live flows, close the least
 * recently used one not assured (or, if all are, the least recently used)
 * with @close_flow and count it in @evicted
 */
void nat_flow_make_room(struct nat *n, struct flow_table *t, uint64_t *evicted,
			void (*close_flow)(struct nat *, uint32_t));

/** nat_flow_opened() - @k's flow is ready: arm the idle timer, log it */
void nat_flow_opened(struct nat *n, const struct flow_key *k);

/**
 * nat_flow_error() - a socket error after the fact: log it and, if it
 * means "unreachable", tell the inside, quoting the head of the last
 * packet the flow sent (@last, @last_len; nothing if 0)
 */
void nat_flow_error(struct nat *n, const struct flow_key *k, int err,
		    const uint8_t *last, size_t last_len);

/**
 * nat_dgram_fail() - a flow could not be opened, or a packet not sent:
 * answer @pi with an ICMP error if @err means "unreachable", else count
 * the drop and warn (but for EAGAIN, a full socket buffer)
 * @k:		@pi's flow, for the warning
 */
void nat_dgram_fail(struct nat *n, const struct pkt_info *pi,
		    const struct flow_key *k, int err);

/** nat_flow_str() - "udp 198.18.0.1:5000 -> 198.18.7.7:53", for logs */
void nat_flow_str(const struct flow_key *k, char *buf, size_t len);

/* udp.c */
void nat_udp_from_tun(struct nat *n, const struct pkt_info *pi);

/**
 * nat_udp_close_flow() - unhash a live flow and close its socket; the slot
 * returns to the pool from the close callback
 */
void nat_udp_close_flow(struct nat *n, uint32_t i);

/* icmp.c */
void nat_icmp_from_tun(struct nat *n, const struct pkt_info *pi);

/** nat_icmp_close_flow() - as nat_udp_close_flow(), for a ping socket */
void nat_icmp_close_flow(struct nat *n, uint32_t i);

/* tcp.c, tcp_out.c */
void nat_tcp_from_tun(struct nat *n, const struct pkt_info *pi);
int nat_tcp_init(struct nat *n);
void nat_tcp_free(struct nat *n);
void nat_tcp_close(struct nat *n);
uint32_t nat_tcp_live(const struct nat *n);
/** nat_tcp_state() - the state of live TCP slot @i, in words */
const char *nat_tcp_state(const struct nat *n, uint32_t i);
const struct flow_table *nat_tcp_table(const struct nat *n);
void nat_tcp_out_ready(struct nat *n);
/** nat_tcp_resume() - after an outage: go back and resend (tcp_out.c) */
void nat_tcp_resume(struct nat *n);
/** nat_tcp_reset() - reset every flow, silently; Return: their number */
size_t nat_tcp_reset(struct nat *n);
/**
 * nat_tcp_reset_refused() - reset both ends of every connection whose
 * destination the policy now refuses (services are not checked)
 * Return: their number
 */
size_t nat_tcp_reset_refused(struct nat *n);

#endif
