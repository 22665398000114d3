/* SPDX-License-Identifier: MIT */
/*
 * tcp_conn.h - what the TCP files of nat/ share: the per-connection state,
 * the TCP table, and the functions each file offers the others.
 *
 * Sequence space is the inside's view: "snd" is what the NAT sends to the
 * inside (bytes from the destination), "rcv" is what it receives from the
 * inside (bytes for the destination). See tcp.c for the whole picture.
 */
#ifndef NAT_TCP_CONN_H
#define NAT_TCP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "nat/nat_internal.h"

/* bytes for the inside, kept until it acknowledges them */
#define TCP_OUT_CAP (8192 * 1024)
/* bytes from the inside that the socket did not take at once */
#define TCP_IN_CAP (8192 * 1024)
/* our window scale: the window is counted in units of 128 bytes */
#define TCP_RCV_SHIFT 7
#define TCP_RTO_MIN_MS 200
#define TCP_RTO_INIT_MS 1000
#define TCP_RTO_MAX_MS 60000
/* retransmissions (or unanswered window probes) before giving up */
#define TCP_MAX_RETRIES 10
#define TCP_SYNACK_RETRIES 6
#define TCP_KEEPALIVE_S 60
/* reading resumes once this part of the buffer for the inside is free */
#define TCP_READ_RESUME(cap) ((cap) / 4)
/* the smallest ring the buffer budget hands out (tcp_buf.c) */
#define TCP_RING_MIN (64 * 1024)
/* the largest MSS we announce (RFC 9293 3.7.1: 65535 - 40) */
#define TCP_MSS_MAX 65495
/* the inside's MSS when its SYN names none (RFC 9293 3.7.1) */
#define TCP_MSS_DEFAULT4 536
#define TCP_MSS_DEFAULT6 1220

#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)

/* a bounded byte ring (tcp_buf.c); memory comes on first use */
struct tcp_ring {
	uint8_t *buf;
	uint32_t cap, head, len;
	uint32_t max; /* nat_tcp_ring_grow() doubles @cap up to this */
};

enum tcp_state {
	TS_CONNECTING, /* the inside's SYN is in, connect() is pending */
	TS_SYN_RCVD, /* SYN-ACK owed or sent, the inside's ACK not yet in */
	TS_ESTABLISHED, /* and every half-closed state: see the flags */
	TS_CLOSED, /* the handle is closing; nothing more happens */
	TS_COUNT
};

/* what the inside's SYN offered (RFC 9293 3.2, RFC 7323) */
struct tcp_syn_opts {
	uint16_t mss;
	uint8_t wscale;
	bool has_mss, has_wscale, sack_ok;
};

struct tcp_flow {
	union {
		uv_handle_t h;
		uv_stream_t s;
		uv_tcp_t tcp;
		uv_pipe_t pipe; /* a service: one end of a socketpair */
	} u;
	/* a connect always ends before a shutdown can start */
	union {
		uv_connect_t conn;
		uv_shutdown_t shut;
	} req;
	uv_write_t wr;
	struct nat *n;
	uint32_t idx;

	uint8_t state;
	bool service;
	bool reading; /* uv_read_start() is on */
	bool eof_out; /* the destination sent EOF: FIN owed to the inside */
	bool fin_sent, fin_acked;
	bool fin_in; /* the inside's FIN is taken (counted in rcv_nxt) */
	bool shut_req, shut_done; /* uv_shutdown() of the socket */
	bool ack_now; /* an ACK is owed to the inside */
	bool recovery; /* retransmitting holes up to @recover */
	bool rtt_on; /* timing the segment that ends at @rtt_seq */
	bool rtt_valid; /* srtt and rttvar hold a measurement */
	uint8_t snd_shift, rcv_shift;
	uint8_t retries, dupacks;
	uint16_t mss; /* largest payload we send the inside */

	/* to the inside (RFC 9293 3.3.1 names) */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t max_wnd, recover, rtt_seq;
	/* from the inside */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge advertised */

	struct tcp_ring out; /* for the inside, sent or not, unacknowledged */
	uint32_t out_seq; /* the seq of out.buf[out.head] */
	struct tcp_ring in; /* for the socket */
	uint32_t wr_len; /* bytes of @in in the uv_write() in flight */

	/* timers (tcp_timer.c) */
	uint64_t due; /* 0: none */
	uint64_t hkey; /* when the heap will look at this flow */
	uint32_t hpos; /* index in the heap, or FLOW_NONE */
	uint64_t rtt_start;
	uint32_t srtt, rttvar, rto; /* ms */

	/* the list of flows with output owed (tcp_out.c) */
	uint32_t pnext, pprev;
	bool on_pend;

	uint16_t syn_len;
	uint8_t syn[NAT_QUOTE_MAX]; /* the inside's SYN, for ICMP errors */
};

struct nat_tcp {
	struct flow_table tab;
	struct tcp_flow *f; /* indexed like tab's slots */

	uint32_t *heap; /* flow indexes, a min-heap on hkey */
	uint32_t heap_len;
	uv_timer_t timer;
	uint64_t timer_at; /* the heap top's key the timer is set for */

	/* flows owing output; served at the end of a loop turn */
	uint32_t pend_head, pend_tail;
	uv_check_t check;
	uv_idle_t idle; /* keeps the loop from sleeping while owed */
	bool flush_on;
	bool blocked; /* emit said -ENOBUFS: wait for nat_out_ready() */

	uint64_t rng;
	uint8_t *seg; /* segments are built here (the NAT's txbig) unless
		       * emit_reserve offers the stream's own buffer */
	size_t seg_cap;
	struct nat_ratelimit full_rl;
};

static inline const struct flow_key *tcp_key(const struct tcp_flow *f)
{
	return &f->n->tcp->tab.nodes[f->idx].key;
}

/* the MSS we announce: what fits the MTU (RFC 9293 3.7.1) */
static inline uint16_t tcp_rcv_mss(const struct nat *n, int family)
{
	uint32_t m =
		n->opts.mtu - (uint32_t)nat_pkt_ip_hlen(family) - PKT_TCP_HLEN;

	return (uint16_t)(m > TCP_MSS_MAX ? TCP_MSS_MAX : m);
}

/* tcp_buf.c */
size_t nat_tcp_buf_left(const struct nat *n);
int nat_tcp_ring_alloc(struct nat *n, struct tcp_ring *r);
int nat_tcp_ring_grow(struct nat *n, struct tcp_ring *r);
void nat_tcp_ring_free(struct nat *n, struct tcp_ring *r);
static inline uint32_t tcp_ring_room(const struct tcp_ring *r)
{
	return r->cap - r->len;
}
uint8_t *nat_tcp_ring_tail(struct tcp_ring *r, uint32_t *room);
void nat_tcp_ring_commit(struct tcp_ring *r, uint32_t n);
void nat_tcp_ring_consume(struct tcp_ring *r, uint32_t n);
uint32_t nat_tcp_ring_put(struct tcp_ring *r, const uint8_t *p, uint32_t n);
void nat_tcp_ring_get(const struct tcp_ring *r, uint32_t off, uint8_t *dst,
		      uint32_t n);
unsigned nat_tcp_ring_bufs(const struct tcp_ring *r, uint32_t off, uint32_t n,
			   uv_buf_t b[2]);

/* tcp.c */
void nat_tcp_close_flow(struct tcp_flow *f, bool reset);
void nat_tcp_abort(struct tcp_flow *f, const char *why);
void nat_tcp_maybe_done(struct tcp_flow *f);
void nat_tcp_log(const struct tcp_flow *f, const char *what);

/* tcp_sock.c */
int nat_tcp_sock_read(struct tcp_flow *f);
int nat_tcp_sock_write(struct tcp_flow *f, const uint8_t *p, uint32_t len,
		       uint32_t *taken);
void nat_tcp_sock_fin(struct tcp_flow *f);
void nat_tcp_sock_resume(struct tcp_flow *f);

/* tcp_in.c */
void nat_tcp_input(struct tcp_flow *f, const struct pkt_info *pi);
void nat_tcp_parse_syn_opts(const struct pkt_info *pi, struct tcp_syn_opts *o);

/* tcp_out.c */
int nat_tcp_output(struct tcp_flow *f);
void nat_tcp_ack_later(struct tcp_flow *f);
void nat_tcp_send_ack(struct tcp_flow *f);
void nat_tcp_send_rst(struct tcp_flow *f);
void nat_tcp_send_ctl(struct nat *n, const struct flow_key *k, uint32_t seq,
		      uint32_t ack, uint8_t flags);
void nat_tcp_on_timer(struct tcp_flow *f);
void nat_tcp_fast_retransmit(struct tcp_flow *f);
void nat_tcp_resend_synack(struct tcp_flow *f);
void nat_tcp_partial_ack(struct tcp_flow *f);
void nat_tcp_rtt_sample(struct tcp_flow *f, uint32_t ack);
uint16_t nat_tcp_rcv_window(struct tcp_flow *f);
void nat_tcp_pend_add(struct tcp_flow *f);
void nat_tcp_pend_del(struct tcp_flow *f);
int nat_tcp_out_init(struct nat *n);
void nat_tcp_out_close(struct nat *n);

/* tcp_timer.c */
int nat_tcp_timer_init(struct nat *n);
void nat_tcp_timer_set(struct tcp_flow *f, uint64_t due);
void nat_tcp_timer_del(struct tcp_flow *f);
void nat_tcp_timer_close(struct nat *n);

#endif
