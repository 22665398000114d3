/* SPDX-License-Identifier: MIT */
/*
 * tcp_in.c - TCP segments from the inside, for a flow that exists.
 *
 * Theory of operation: the checks of RFC 9293 3.10.7.4 in their order,
 * simplified by what a stream over a reliable link allows:
 *
 * - RST: only at exactly rcv_nxt does it reset the flow; elsewhere in the
 *   window it earns a challenge ACK (RFC 5961 3.2), outside it nothing.
 * - SYN: while our SYN-ACK is unanswered, a retransmitted SYN gets the
 *   SYN-ACK again; on an established flow, a challenge ACK (RFC 5961 4).
 * - Sequence: a segment entirely below rcv_nxt (a retransmission, a
 *   keepalive) or starting past the advertised window gets an ACK and is
 *   dropped.
 * - ACK: anything beyond what we sent, or too old (RFC 5961 5), gets an
 *   ACK; new acknowledgments free the ring for the inside, restart the
 *   retransmission timer and let the socket be read again. The window is
 *   taken under the RFC 9293 snd_wl1/snd_wl2 rule.
 * - Data: only in order. A segment past a hole is dropped with an
 *   immediate duplicate ACK, so the inside retransmits the hole quickly;
 *   reordering cannot happen on the stream, so the hole is a real loss.
 *   In-order data is cut to the advertised window and given to the
 *   socket (tcp_sock.c); what it takes advances rcv_nxt, and the ACK is
 *   sent at the end of the loop turn (tcp_out.c).
 * - FIN: taken only when all data before it was; the socket is shut down
 *   for writing once everything buffered for it is written.
 */
#include <assert.h>
#include <string.h>

#include "lib/log.h"
#include "nat/tcp_conn.h"

/**
 * nat_tcp_parse_syn_opts() - the options of the inside's SYN
 * @pi:		the parsed SYN (nat_pkt_parse() checked its header length)
 * @o:		result; options that are absent or malformed stay unset
 */
void nat_tcp_parse_syn_opts(const struct pkt_info *pi, struct tcp_syn_opts *o)
{
	struct tg_cur c = {
		.p = pi->l4 + PKT_TCP_HLEN,
		.left = pi->tcp_hlen - PKT_TCP_HLEN,
	};
	const uint8_t *v;
	uint8_t kind, len;

	memset(o, 0, sizeof(*o));
	while (tg_cur_u8(&c, &kind) && kind != 0) {
		if (kind == 1)
			continue; /* NOP */
		if (!tg_cur_u8(&c, &len) || len < 2 ||
		    !(v = tg_cur_pull(&c, len - 2)))
			return;
		if (kind == 2 && len == 4) {
			o->mss = tg_be16(v);
			o->has_mss = true;
		} else if (kind == 3 && len == 3) {
			o->wscale = v[0];
			o->has_wscale = true;
		} else if (kind == 4 && len == 2) {
			o->sack_ok = true;
		}
	}
}

/* before connect() is done only a RST at the right place matters */
static void connecting_input(struct tcp_flow *f, const struct pkt_info *pi)
{
	/* a SYN again: the inside retries, the SYN-ACK follows connect() */
	if ((pi->tcp_flags & PKT_TCP_RST) && pi->tcp_seq == f->rcv_nxt) {
		nat_tcp_log(f, "reset by the inside while connecting");
		nat_tcp_close_flow(f, true);
	}
}

static void rst_input(struct tcp_flow *f, const struct pkt_info *pi)
{
	uint32_t seq = pi->tcp_seq;

	if (seq == f->rcv_nxt) {
		nat_tcp_log(f, "reset by the inside");
		nat_tcp_close_flow(f, true);
	} else if (SEQ_GT(seq, f->rcv_nxt) && SEQ_LT(seq, f->rcv_adv)) {
		nat_tcp_send_ack(f);
	}
}

static void syn_input(struct tcp_flow *f, const struct pkt_info *pi)
{
	if (f->state != TS_SYN_RCVD) {
		nat_tcp_send_ack(f);
		return;
	}
	/* the SYN-ACK was lost or crossed it: once is enough if not sent */
	if (f->snd_max != f->iss && pi->tcp_seq == f->irs)
		nat_tcp_resend_synack(f);
}

/* RFC 9293 3.10.7.4, first check, with the window as advertised */
static bool seq_ok(const struct tcp_flow *f, const struct pkt_info *pi)
{
	uint32_t seq = pi->tcp_seq;
	uint32_t len = (uint32_t)pi->data_len + !!(pi->tcp_flags & PKT_TCP_FIN);

	if (SEQ_GT(seq, f->rcv_adv))
		return false;
	if (!len)
		return SEQ_GEQ(seq, f->rcv_nxt);
	return SEQ_GT(seq + len, f->rcv_nxt);
}

/* SYN-RECEIVED: the ACK of our SYN-ACK */
static bool establish(struct tcp_flow *f, const struct pkt_info *pi)
{
	if (f->snd_max == f->iss || pi->tcp_ack != f->iss + 1) {
		nat_tcp_send_ctl(f->n, tcp_key(f), pi->tcp_ack, 0, PKT_TCP_RST);
		return false;
	}
	assert(f->state == TS_SYN_RCVD);
	f->state = TS_ESTABLISHED;
	f->snd_una = f->iss + 1;
	f->snd_wnd = f->max_wnd = (uint32_t)pi->tcp_win << f->snd_shift;
	f->snd_wl1 = pi->tcp_seq;
	f->snd_wl2 = pi->tcp_ack;
	f->retries = 0;
	nat_tcp_rtt_sample(f, pi->tcp_ack);
	nat_tcp_timer_set(f, 0);
	nat_tcp_log(f, "established");
	return true;
}

/* @ack acknowledges new data, or our FIN */
static void acked(struct tcp_flow *f, uint32_t ack)
{
	uint32_t end = f->out_seq + f->out.len;
	uint32_t d = SEQ_GT(ack, end) ? f->out.len : ack - f->out_seq;

	nat_tcp_ring_consume(&f->out, d);
	f->out_seq += d;
	if (f->fin_sent && SEQ_GT(ack, end))
		f->fin_acked = true;
	f->snd_una = ack;
	if (SEQ_LT(f->snd_nxt, ack))
		f->snd_nxt = ack;
	f->retries = 0;
	f->dupacks = 0;
	nat_tcp_rtt_sample(f, ack);
	if (f->recovery)
		nat_tcp_partial_ack(f);
	nat_tcp_timer_set(
		f, f->snd_una == f->snd_max ? 0 : uv_now(f->n->loop) + f->rto);
	nat_tcp_sock_resume(f);
	if (f->fin_acked)
		nat_tcp_maybe_done(f);
}

/* Return: false if the segment goes no further (or the flow is gone) */
static bool ack_input(struct tcp_flow *f, const struct pkt_info *pi)
{
	uint32_t ack = pi->tcp_ack, seq = pi->tcp_seq;
	uint32_t win = (uint32_t)pi->tcp_win << f->snd_shift;
	uint32_t old_wnd = f->snd_wnd;
	bool dup;

	if (SEQ_GT(ack, f->snd_max) || SEQ_LT(ack, f->snd_una - f->max_wnd)) {
		nat_tcp_send_ack(f);
		return false;
	}
	/* RFC 5681 2: a duplicate ACK, with a window that did not move */
	dup = ack == f->snd_una && f->snd_una != f->snd_max && !pi->data_len &&
	      !(pi->tcp_flags & PKT_TCP_FIN) && win == f->snd_wnd && win;
	if (SEQ_GT(ack, f->snd_una))
		acked(f, ack);
	if (f->state == TS_CLOSED)
		return false;
	if (SEQ_LT(f->snd_wl1, seq) ||
	    (f->snd_wl1 == seq && SEQ_LEQ(f->snd_wl2, ack))) {
		f->snd_wnd = win;
		f->snd_wl1 = seq;
		f->snd_wl2 = ack;
		if (win > f->max_wnd)
			f->max_wnd = win;
	}
	/* the inside answers our window probes: it is alive */
	if (!f->snd_wnd)
		f->retries = 0;
	/* the window opened: what was sent past it (probes) was refused,
	 * so go on from the first unacknowledged byte, at the normal RTO */
	if (!old_wnd && f->snd_wnd && SEQ_GT(f->snd_nxt, f->snd_una)) {
		f->snd_nxt = f->snd_una;
		nat_tcp_rtt_sample(f, f->snd_una);
		nat_tcp_timer_set(f, 0);
	}
	if (dup && ++f->dupacks == 3)
		nat_tcp_fast_retransmit(f);
	return true;
}

static void data_input(struct tcp_flow *f, const struct pkt_info *pi)
{
	const uint8_t *d = pi->data;
	uint32_t seq = pi->tcp_seq, len = (uint32_t)pi->data_len, skip;
	uint32_t taken = 0;
	bool fin = pi->tcp_flags & PKT_TCP_FIN;
	int r;

	if (!len && !fin)
		return;
	if (f->fin_in) {
		nat_tcp_ack_later(f);
		return;
	}
	if (SEQ_GT(seq, f->rcv_nxt)) {
		nat_tcp_send_ack(f);
		return;
	}
	skip = f->rcv_nxt - seq; /* seq_ok(): at most len */
	d += skip;
	len -= skip;
	if (len > f->rcv_adv - f->rcv_nxt) {
		len = f->rcv_adv - f->rcv_nxt;
		fin = false;
	}
	if (len) {
		r = nat_tcp_sock_write(f, d, len, &taken);
		if (r) {
			nat_tcp_abort(f, uv_strerror(r));
			return;
		}
		f->rcv_nxt += taken;
		f->n->tcp->tab.nodes[f->idx].bytes_in += taken;
		if (taken < len)
			fin = false;
	}
	if (fin) {
		f->fin_in = true;
		f->rcv_nxt++;
		nat_tcp_log(f, "FIN from the inside");
		nat_tcp_sock_fin(f);
	}
	nat_tcp_ack_later(f);
}

/**
 * nat_tcp_input() - one segment from the inside for @f
 * @f:		flow
 * @pi:		the parsed segment
 */
void nat_tcp_input(struct tcp_flow *f, const struct pkt_info *pi)
{
	uint8_t fl = pi->tcp_flags;

	if (f->state == TS_CONNECTING) {
		connecting_input(f, pi);
		return;
	}
	if (fl & PKT_TCP_RST) {
		rst_input(f, pi);
		return;
	}
	if (fl & PKT_TCP_SYN) {
		syn_input(f, pi);
		return;
	}
	if (!(fl & PKT_TCP_ACK))
		return;
	if (!seq_ok(f, pi)) {
		nat_tcp_send_ack(f);
		return;
	}
	if (f->state == TS_SYN_RCVD && !establish(f, pi))
		return;
	if (!ack_input(f, pi))
		return;
	data_input(f, pi);
	nat_tcp_output(f);
}
