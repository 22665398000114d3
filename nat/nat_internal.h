/* SPDX-License-Identifier: MIT */
/*
 * nat_internal.h - what the files of nat/ share, and nothing outside sees.
 */
#ifndef NAT_INTERNAL_H
#define NAT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "flow.h"
#include "nat.h"
#include "pkt.h"
#include "policy.h"

/* bytes of the last packet sent on a flow, kept to quote in ICMP errors */
#define NAT_QUOTE_MAX 128
/* largest payload a datagram socket hands us */
#define NAT_RX_MAX 65536
/* ICMP errors and RSTs are built here */
#define NAT_TX_MAX (PKT_ICMP6_ERR_MAX + 64)
/* datagrams read from one ping socket per wakeup */
#define NAT_ICMP_RX_BATCH 32

struct nat;

struct udp_flow {
	uv_udp_t h;
	struct nat *n;
	uint32_t idx;
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
	struct udp_flow *udp;	/* indexed like udp_tab's slots */
	struct icmp_flow *icmp; /* indexed like icmp_tab's slots */
	uv_timer_t timer;

	/* received payloads land at rx + PKT_HDR_ROOM, headers go in front */
	uint8_t *rx;
	uint8_t tx[NAT_TX_MAX];

	unsigned pending_close; /* uv_close() calls not yet called back */
	bool closing;
	bool ping_warned;
	uint64_t refuse_log_ms;	 /* time of the last refusal logged */
	uint64_t refuse_quiet;	 /* refusals not logged since */
};

/* nat.c */
void nat_emit(struct nat *n, const uint8_t *pkt, size_t len);
void nat_send_unreach(struct nat *n, const uint8_t *from, enum pkt_unreach why,
		      const uint8_t *orig, size_t orig_len);
bool nat_errno_unreach(int err, enum pkt_unreach *why);
bool nat_refuse(struct nat *n, const struct pkt_info *pi);
void nat_sockaddr(struct sockaddr_storage *ss, int family, const uint8_t *addr,
		  uint16_t port);
void nat_timer_arm(struct nat *n);
void nat_close_start(struct nat *n, uv_handle_t *h, uv_close_cb cb);
void nat_close_done(struct nat *n);
void nat_flow_str(const struct flow_key *k, char *buf, size_t len);

/* udp.c */
void nat_udp_from_tun(struct nat *n, const struct pkt_info *pi);
void nat_udp_close_flow(struct nat *n, uint32_t i);

/* icmp.c */
void nat_icmp_from_tun(struct nat *n, const struct pkt_info *pi);
void nat_icmp_close_flow(struct nat *n, uint32_t i);

/* tcp.c */
void nat_tcp_from_tun(struct nat *n, const struct pkt_info *pi);

#endif
