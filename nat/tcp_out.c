/* SPDX-License-Identifier: MIT */
/*
 * tcp_out.c - TCP segments to the inside: sending, acknowledging,
 * retransmitting, and waiting for the stream.
 *
 * Theory of operation: every segment is built in one buffer shared by all
 * flows (the payload copied out of the flow's ring, then the headers
 * around it) and handed to the emit callback at once, so nothing is
 * allocated per segment. If the caller offers in-place emit
 * (nat_opts.emit_reserve: room in the stream's write buffer), the segment
 * is built there instead, and its payload is copied once, from the ring
 * straight into the stream (copies were the largest cost of a download).
 * nat_tcp_output() sends what a flow owes: the SYN-ACK, data within the
 * inside's window (at most its MSS per segment: ~64 KiB over the TUN MTU)
 * and the FIN. Every segment carries the current ACK and window.
 *
 * ACKs for data from the inside are coalesced: receiving only marks the
 * flow and puts it on the pending list, which is served once per loop
 * turn (a uv_check, after all reads of that turn; a uv_idle keeps the
 * loop from sleeping meanwhile): a pure ACK goes then if no segment has
 * carried it meanwhile, so a burst of segments gets one ACK. Duplicate
 * and challenge ACKs go at once.
 *
 * When emit says -ENOBUFS (or emit_reserve has no room) the stream is
 * full: the table is marked blocked, nothing is sent (and no segment
 * built) until nat_out_ready(), and flows that owe output wait on the
 * same pending list, oldest first; a flow that blocks again goes to the
 * back, so that flows take turns.
 *
 * Outages: while the stream is down (the laptop sleeps, its network
 * changes) emit says -ENOBUFS for every packet, for minutes, exactly as
 * when it is full, and nothing comes from the inside. Nothing is lost on
 * our side and no flow is given up for it: a deadline that passes while
 * blocked neither retransmits nor counts a retry nor backs off the RTO;
 * the flow just joins the pending list and its timer stays off until
 * nat_out_ready() serves it (no wakeups meanwhile), and a timeout whose
 * segment emit refuses is undone the same way. The destination's bytes
 * keep filling the flow's ring up to its bound, then reading stops and
 * the destination's window closes (tcp_sock.c). If the same session comes
 * back, nat_resume() assumes the worst: whatever was emitted just before
 * the outage went into a dead stream. Every flow goes back to its first
 * unacknowledged byte (go-back-N: snd_nxt = snd_una, an unacknowledged
 * FIN is sent again too), its retry count is cleared and its RTO restarts
 * from TCP_RTO_INIT_MS with no RTT estimate (the new stream may take
 * another path); established flows get a pure ACK at once, carrying our
 * window, so that the inside resumes sending, then the data follows as
 * after nat_out_ready(). Recovery state and duplicate ACK counts are
 * dropped; there is no congestion window to collapse.
 *
 * Loss: the stream is reliable, so a segment is lost only if the inside
 * drops it. One deadline per flow (tcp_timer.c) with an RFC 6298 RTO (200 ms
 * at least, doubled per expiry, 60 s at most) retransmits the oldest
 * segment; three duplicate ACKs retransmit it at once; while recovering,
 * each partial ACK retransmits the next hole (RFC 6582, without the
 * congestion window: the stream paces us). A zero window is probed with
 * one byte of new data, backing off the same way. Without any answer
 * from the inside, the flow is reset after TCP_MAX_RETRIES.
 */
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "nat/tcp_conn.h"

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* the window in the SYN-ACK, never scaled (RFC 7323 2.2) */
static uint16_t syn_window(struct tcp_flow *f)
{
	uint32_t w = min32(tcp_ring_room(&f->in), 0xffff);

	f->rcv_adv = f->rcv_nxt + w;
	return (uint16_t)w;
}

/**
 * nat_tcp_rcv_window() - the window field for the next segment: the room
 * left in the flow's buffer for the socket, scaled down by our shift
 * @f:		flow
 *
 * Rounding down to the scale never promises more than the buffer holds.
 * The right edge does not move left (RFC 7323 2.4): data taken into the
 * buffer moves the left edge as much as it uses room. The one exception
 * is a buffer filled to an edge that is not a multiple of the scale:
 * rounding up there would promise bytes there is no room for, so the
 * edge retracts by less than one unit (RFC 7323 appendix F, as Linux
 * does with tcp_shrink_window). Data up to the furthest edge ever
 * advertised still fits, and is taken.
 *
 * Return: the 16-bit field; the right edge is remembered in rcv_adv
 */
uint16_t nat_tcp_rcv_window(struct tcp_flow *f)
{
	uint32_t field = tcp_ring_room(&f->in) >> f->rcv_shift;
	uint32_t w;

	if (field > 0xffff)
		field = 0xffff;
	w = field << f->rcv_shift;
	if (SEQ_GT(f->rcv_nxt + w, f->rcv_adv))
		f->rcv_adv = f->rcv_nxt + w;
	return (uint16_t)field;
}

/*
 * The seq of a segment without data: snd_nxt, unless that lies beyond the
 * inside's window (after a window probe), where the inside would refuse it
 */
static uint32_t ack_seq(const struct tcp_flow *f)
{
	uint32_t edge = f->snd_una + f->snd_wnd;

	return SEQ_LT(edge, f->snd_nxt) ? edge : f->snd_nxt;
}

/* @f's payload from @off of its ring into @buf, then the headers around
 * it (nat_pkt_build_tcp() leaves data that sits in place where it is) */
static size_t seg_build(struct tcp_flow *f, uint8_t *buf, size_t cap, size_t hl,
			struct pkt_tcp_seg *s, uint32_t off)
{
	s->data = buf + hl;
	if (s->data_len)
		nat_tcp_ring_get(&f->out, off, buf + hl, (uint32_t)s->data_len);
	return nat_pkt_build_tcp(buf, cap, s);
}

/*
 * Build one segment of @f with @dlen bytes of its ring from @off and hand
 * it over: in the stream's own buffer if the caller offers it (one copy
 * of the payload, from the ring), else in t->seg for emit to copy.
 * Return: 0, -ENOBUFS (the table is now blocked), or another error of
 * emit (the segment is lost)
 */
static int seg_emit(struct tcp_flow *f, uint32_t seq, uint8_t flags,
		    const uint8_t *opt, size_t olen, uint32_t off,
		    uint32_t dlen)
{
	struct nat *n = f->n;
	struct nat_tcp *t = n->tcp;
	const struct flow_key *k = tcp_key(f);
	size_t hl = nat_pkt_ip_hlen(k->family) + PKT_TCP_HLEN + olen, len;
	struct pkt_tcp_seg s = {
		.family = k->family,
		.src = k->dst,
		.dst = k->src,
		.sport = k->dport,
		.dport = k->sport,
		.seq = seq,
		.ack = f->rcv_nxt,
		.flags = flags,
		.opt = opt,
		.opt_len = olen,
		.data_len = dlen,
	};
	uint8_t *room;
	int r;

	if (hl + dlen > t->seg_cap)
		return -EMSGSIZE;
	s.win = flags & PKT_TCP_SYN ? syn_window(f) : nat_tcp_rcv_window(f);
	r = nat_reserve(n, hl + dlen, &room);
	if (!r && room) {
		len = seg_build(f, room, hl + dlen, hl, &s, off);
		if (!len)
			return -EMSGSIZE;
		nat_commit(n, room, len);
	} else if (!r) {
		len = seg_build(f, t->seg, t->seg_cap, hl, &s, off);
		if (!len)
			return -EMSGSIZE;
		r = nat_send(n, t->seg, len);
	}
	if (r == -ENOBUFS)
		t->blocked = true;
	else if (!r)
		f->ack_now = false;
	if (!r)
		t->tab.nodes[f->idx].pkts_out++;
	return r;
}

/**
 * nat_tcp_send_ctl() - a segment without data for @k's inside end, outside
 * any flow's state (RSTs); lost if the stream is full
 * @n:		NAT
 * @k:		the flow's key
 * @seq:	sequence number
 * @ack:	acknowledgment number
 * @flags:	PKT_TCP_*
 */
void nat_tcp_send_ctl(struct nat *n, const struct flow_key *k, uint32_t seq,
		      uint32_t ack, uint8_t flags)
{
	struct nat_tcp *t = n->tcp;
	struct pkt_tcp_seg s = {
		.family = k->family,
		.src = k->dst,
		.dst = k->src,
		.sport = k->dport,
		.dport = k->sport,
		.seq = seq,
		.ack = ack,
		.flags = flags,
	};
	size_t len = nat_pkt_build_tcp(t->seg, t->seg_cap, &s);

	if (len)
		nat_emit(n, t->seg, len);
}

/** nat_tcp_send_rst() - reset the inside's end of @f */
void nat_tcp_send_rst(struct tcp_flow *f)
{
	const struct flow_key *k = tcp_key(f);

	if (f->state == TS_CONNECTING)
		nat_tcp_send_ctl(f->n, k, 0, f->rcv_nxt,
				 PKT_TCP_RST | PKT_TCP_ACK);
	else if (f->state != TS_CLOSED)
		nat_tcp_send_ctl(f->n, k, ack_seq(f), f->rcv_nxt,
				 PKT_TCP_RST | PKT_TCP_ACK);
}

/* the SYN-ACK: our MSS and, if the inside offered scaling, our shift */
static int send_synack(struct tcp_flow *f)
{
	uint8_t opt[8] = {2, 4, 0, 0, 1, 3, 3, TCP_RCV_SHIFT};
	int r;

	tg_put_be16(opt + 2, tcp_rcv_mss(f->n, tcp_key(f)->family));
	r = seg_emit(f, f->iss, PKT_TCP_SYN | PKT_TCP_ACK, opt,
		     f->rcv_shift ? 8 : 4, 0, 0);
	if (!r && f->snd_max == f->iss) {
		f->snd_nxt = f->snd_max = f->iss + 1;
		f->rtt_on = true;
		f->rtt_seq = f->snd_nxt;
		f->rtt_start = uv_now(f->n->loop);
	}
	return r;
}

/** nat_tcp_resend_synack() - the inside sent its SYN again: answer it again */
void nat_tcp_resend_synack(struct tcp_flow *f)
{
	if (f->n->tcp->blocked)
		return;
	f->rtt_on = false;
	send_synack(f);
}

/* may @len bytes go now? RFC 9293 3.8.6.2.1, sender's SWS avoidance */
static bool sws_ok(const struct tcp_flow *f, uint32_t len, uint32_t avail)
{
	return len >= f->mss || len == avail || len >= f->max_wnd / 2 ||
	       f->snd_nxt == f->snd_una;
}

/* new data within the window, then the FIN once everything is sent */
static int send_data(struct tcp_flow *f)
{
	uint32_t end = f->out_seq + f->out.len, edge, avail, len;
	uint8_t flags;
	bool fin;
	int r;

	while (SEQ_LT(f->snd_nxt, end)) {
		edge = f->snd_una + f->snd_wnd;
		avail = end - f->snd_nxt;
		len = SEQ_LT(f->snd_nxt, edge) ? edge - f->snd_nxt : 0;
		len = min32(min32(len, avail), f->mss);
		if (!len || !sws_ok(f, len, avail))
			return 0;
		fin = f->eof_out && len == avail;
		flags = PKT_TCP_ACK | (len == avail ? PKT_TCP_PSH : 0) |
			(fin ? PKT_TCP_FIN : 0);
		r = seg_emit(f, f->snd_nxt, flags, NULL, 0,
			     f->snd_nxt - f->out_seq, len);
		if (r)
			return r;
		if (!f->rtt_on && f->snd_nxt == f->snd_max) {
			f->rtt_on = true;
			f->rtt_seq = f->snd_nxt + len;
			f->rtt_start = uv_now(f->n->loop);
		}
		f->snd_nxt += len + fin;
		f->fin_sent |= fin;
		if (SEQ_GT(f->snd_nxt, f->snd_max))
			f->snd_max = f->snd_nxt;
	}
	/* a FIN takes no room in the window; after going back (nat_resume(),
	 * a window that opened) an unacknowledged FIN is sent again */
	if (f->eof_out && !f->fin_acked && f->snd_nxt == end) {
		r = seg_emit(f, end, PKT_TCP_ACK | PKT_TCP_FIN, NULL, 0, 0, 0);
		if (r)
			return r;
		f->fin_sent = true;
		f->snd_nxt = f->snd_max = end + 1;
	}
	return 0;
}

/* does @f need its timer: something unacknowledged, or a window to probe */
static void timer_update(struct tcp_flow *f)
{
	bool need;

	if (f->due)
		return;
	if (f->state == TS_SYN_RCVD)
		need = f->snd_max != f->iss;
	else
		need = f->snd_una != f->snd_max ||
		       (!f->snd_wnd &&
			SEQ_LT(f->snd_nxt, f->out_seq + f->out.len));
	if (need)
		nat_tcp_timer_set(f, uv_now(f->n->loop) + f->rto);
}

/**
 * nat_tcp_output() - send what @f owes the inside, as far as the window and
 * the stream allow, but for a pure ACK: that waits for the end of the turn
 * @f:		flow
 *
 * Return: 0, or -ENOBUFS if the stream is full (@f waits on the pending
 * list), or another error of emit
 */
int nat_tcp_output(struct tcp_flow *f)
{
	struct nat_tcp *t = f->n->tcp;
	int r = 0;

	if (f->state != TS_SYN_RCVD && f->state != TS_ESTABLISHED)
		return 0;
	if (t->blocked) {
		nat_tcp_pend_add(f);
		return -ENOBUFS;
	}
	if (f->state == TS_SYN_RCVD) {
		if (f->snd_max == f->iss)
			r = send_synack(f);
	} else {
		r = send_data(f);
	}
	if (r == -ENOBUFS)
		nat_tcp_pend_add(f);
	timer_update(f);
	return r;
}

/** nat_tcp_ack_later() - owe the inside an ACK, sent at the end of this turn */
void nat_tcp_ack_later(struct tcp_flow *f)
{
	f->ack_now = true;
	nat_tcp_pend_add(f);
}

/** nat_tcp_send_ack() - an ACK now: duplicate, challenge, or refusal */
void nat_tcp_send_ack(struct tcp_flow *f)
{
	f->ack_now = true;
	if (f->state != TS_ESTABLISHED) {
		nat_tcp_pend_add(f);
		return;
	}
	if (f->n->tcp->blocked ||
	    seg_emit(f, ack_seq(f), PKT_TCP_ACK, NULL, 0, 0, 0) == -ENOBUFS)
		nat_tcp_pend_add(f);
}

/* the oldest unacknowledged segment again, at most @max bytes of it */
static int retransmit(struct tcp_flow *f, uint32_t max)
{
	uint32_t end = f->out_seq + f->out.len, seq = f->snd_una, len = 0;
	uint8_t flags = PKT_TCP_ACK;

	if (SEQ_LT(seq, end))
		len = min32(min32(end - seq, f->snd_max - seq),
			    min32(max, f->mss));
	if (f->fin_sent && seq + len == end)
		flags |= PKT_TCP_FIN;
	else if (!len)
		return 0;
	f->rtt_on = false; /* Karn: no sample from a retransmission */
	return seg_emit(f, seq, flags, NULL, 0, seq - f->out_seq, len);
}

/** nat_tcp_fast_retransmit() - three duplicate ACKs: resend the hole now */
void nat_tcp_fast_retransmit(struct tcp_flow *f)
{
	if (!f->recovery) {
		f->recovery = true;
		f->recover = f->snd_max;
	}
	if (!f->n->tcp->blocked)
		retransmit(f, f->mss);
}

/** nat_tcp_partial_ack() - recovering, an ACK short of the mark: next hole */
void nat_tcp_partial_ack(struct tcp_flow *f)
{
	if (SEQ_GEQ(f->snd_una, f->recover)) {
		f->recovery = false;
		return;
	}
	if (!f->n->tcp->blocked)
		retransmit(f, f->mss);
}

/* one byte of new data past a zero window (RFC 9293 3.8.6.1) */
static int probe(struct tcp_flow *f)
{
	int r = seg_emit(f, f->snd_nxt, PKT_TCP_ACK, NULL, 0,
			 f->snd_nxt - f->out_seq, 1);

	if (r)
		return r;
	f->snd_nxt++;
	if (SEQ_GT(f->snd_nxt, f->snd_max))
		f->snd_max = f->snd_nxt;
	return 0;
}

/* the segment a timeout sends: SYN-ACK, window probe or retransmission */
static int on_timeout(struct tcp_flow *f, bool syn, bool zero)
{
	int r;

	if (syn)
		return send_synack(f);
	if (f->snd_una == f->snd_max)
		return probe(f);
	r = retransmit(f, zero ? 1 : f->mss);
	if (r != -ENOBUFS && !zero && !f->recovery) {
		f->recovery = true;
		f->recover = f->snd_max;
	}
	return r;
}

/**
 * nat_tcp_on_timer() - @f's deadline passed: retransmit, probe, or give up
 * @f:		flow
 *
 * Only timeouts whose segment the stream took count toward the limit:
 * while the stream refuses (full, or down during an outage) the inside
 * cannot answer, and @f waits on the pending list without a timer, its
 * RTO not backed off; nat_tcp_output() sets the timer again once
 * nat_out_ready() or nat_resume() serves it.
 */
void nat_tcp_on_timer(struct tcp_flow *f)
{
	uint32_t end = f->out_seq + f->out.len, rto = f->rto;
	bool zero = !f->snd_wnd, syn = f->state == TS_SYN_RCVD;

	if (!syn && f->state != TS_ESTABLISHED)
		return;
	if (f->n->tcp->blocked) {
		nat_tcp_pend_add(f);
		return;
	}
	if (!syn && f->snd_una == f->snd_max &&
	    !(zero && SEQ_LT(f->snd_nxt, end))) {
		nat_tcp_output(f);
		return;
	}
	if (++f->retries > (syn ? TCP_SYNACK_RETRIES : TCP_MAX_RETRIES)) {
		nat_tcp_abort(f, "the inside stopped answering");
		return;
	}
	f->rto = min32(rto * 2, TCP_RTO_MAX_MS);
	f->rtt_on = false;
	if (on_timeout(f, syn, zero) == -ENOBUFS) {
		f->retries--;
		f->rto = rto;
		nat_tcp_pend_add(f);
		return;
	}
	nat_tcp_timer_set(f, uv_now(f->n->loop) + f->rto);
}

/**
 * nat_tcp_rtt_sample() - @ack acknowledged new data: measure (RFC 6298 2,
 * Karn's rule) and set the RTO from the estimate, dropping any backoff
 * @f:		flow
 * @ack:	the new snd_una
 */
void nat_tcp_rtt_sample(struct tcp_flow *f, uint32_t ack)
{
	uint32_t r, d;

	if (f->rtt_on && SEQ_GEQ(ack, f->rtt_seq)) {
		f->rtt_on = false;
		r = (uint32_t)(uv_now(f->n->loop) - f->rtt_start);
		if (!f->rtt_valid) {
			f->srtt = r;
			f->rttvar = r / 2;
			f->rtt_valid = true;
		} else {
			d = f->srtt > r ? f->srtt - r : r - f->srtt;
			f->rttvar = (3 * f->rttvar + d) / 4;
			f->srtt = (7 * f->srtt + r) / 8;
		}
	}
	if (!f->rtt_valid) {
		f->rto = TCP_RTO_INIT_MS;
		return;
	}
	f->rto = f->srtt + (4 * f->rttvar > 1 ? 4 * f->rttvar : 1);
	if (f->rto < TCP_RTO_MIN_MS)
		f->rto = TCP_RTO_MIN_MS;
	if (f->rto > TCP_RTO_MAX_MS)
		f->rto = TCP_RTO_MAX_MS;
}

/* ---- the pending list, and the stream's back-pressure ---- */

static void flush(struct nat *n);

static void check_cb(uv_check_t *h)
{
	flush(h->data);
}

static void idle_cb(uv_idle_t *h)
{
	flush(h->data);
}

static void flush_start(struct nat *n)
{
	struct nat_tcp *t = n->tcp;

	if (t->flush_on || t->blocked || n->closing)
		return;
	uv_check_start(&t->check, check_cb);
	uv_idle_start(&t->idle, idle_cb);
	t->flush_on = true;
}

static void flush_stop(struct nat_tcp *t)
{
	if (!t->flush_on)
		return;
	uv_check_stop(&t->check);
	uv_idle_stop(&t->idle);
	t->flush_on = false;
}

/** nat_tcp_pend_add() - @f owes output: serve it at the end of this turn */
void nat_tcp_pend_add(struct tcp_flow *f)
{
	struct nat_tcp *t = f->n->tcp;

	if (f->state == TS_CLOSED)
		return;
	if (!f->on_pend) {
		f->on_pend = true;
		f->pnext = FLOW_NONE;
		f->pprev = t->pend_tail;
		if (t->pend_tail != FLOW_NONE)
			t->f[t->pend_tail].pnext = f->idx;
		else
			t->pend_head = f->idx;
		t->pend_tail = f->idx;
	}
	flush_start(f->n);
}

/** nat_tcp_pend_del() - off the pending list */
void nat_tcp_pend_del(struct tcp_flow *f)
{
	struct nat_tcp *t = f->n->tcp;

	if (!f->on_pend)
		return;
	if (f->pprev != FLOW_NONE)
		t->f[f->pprev].pnext = f->pnext;
	else
		t->pend_head = f->pnext;
	if (f->pnext != FLOW_NONE)
		t->f[f->pnext].pprev = f->pprev;
	else
		t->pend_tail = f->pprev;
	f->on_pend = false;
}

/* everything @f owes, the ACK included */
static void flush_flow(struct tcp_flow *f)
{
	if (nat_tcp_output(f) || !f->ack_now || f->state != TS_ESTABLISHED)
		return;
	if (seg_emit(f, ack_seq(f), PKT_TCP_ACK, NULL, 0, 0, 0) == -ENOBUFS)
		nat_tcp_pend_add(f);
}

static void flush(struct nat *n)
{
	struct nat_tcp *t = n->tcp;
	struct tcp_flow *f;

	while (t->pend_head != FLOW_NONE && !t->blocked && !n->closing) {
		f = &t->f[t->pend_head];
		nat_tcp_pend_del(f);
		flush_flow(f);
	}
	if (t->pend_head == FLOW_NONE || t->blocked || n->closing)
		flush_stop(t);
}

/**
 * nat_tcp_out_ready() - the stream has room again: serve the flows that
 * waited, in turn, until it is full again
 * @n:		NAT
 */
void nat_tcp_out_ready(struct nat *n)
{
	if (!n->tcp->blocked)
		return;
	n->tcp->blocked = false;
	flush(n);
}

/*
 * After an outage, what @f sent may be lost: back to the first
 * unacknowledged byte (or the SYN-ACK), with a fresh RTO, and tell the
 * inside our window at once
 */
static void resume_flow(struct tcp_flow *f)
{
	bool blocked = f->n->tcp->blocked;

	f->retries = 0;
	f->dupacks = 0;
	f->recovery = false;
	/* the stream may take another path now: measure it afresh */
	f->rtt_on = false;
	f->rtt_valid = false;
	f->rto = TCP_RTO_INIT_MS;
	nat_tcp_timer_set(f, 0);
	if (f->state == TS_SYN_RCVD) {
		if (f->snd_max != f->iss && !blocked)
			send_synack(f);
	} else if (f->state == TS_ESTABLISHED) {
		f->snd_nxt = f->snd_una;
		f->ack_now = true;
		if (!blocked)
			seg_emit(f, ack_seq(f), PKT_TCP_ACK, NULL, 0, 0, 0);
	} else {
		return;
	}
	nat_tcp_pend_add(f);
}

/**
 * nat_tcp_resume() - the stream is back after an outage: every flow
 * goes back to its oldest unacknowledged byte, then output resumes
 * @n:		NAT
 *
 * Pure ACKs (and SYN-ACKs) for all flows go first, so that every inside
 * end learns its window before the data fills the stream; the data then
 * follows through the pending list, as after nat_tcp_out_ready().
 */
void nat_tcp_resume(struct nat *n)
{
	struct nat_tcp *t = n->tcp;

	t->blocked = false;
	for (uint32_t i = 0; i < t->tab.n_slots; i++)
		if (t->tab.nodes[i].state == FLOW_LIVE)
			resume_flow(&t->f[i]);
	flush(n);
}

int nat_tcp_out_init(struct nat *n)
{
	struct nat_tcp *t = n->tcp;

	t->pend_head = t->pend_tail = FLOW_NONE;
	uv_check_init(n->loop, &t->check);
	uv_idle_init(n->loop, &t->idle);
	t->check.data = n;
	t->idle.data = n;
	return 0;
}

static void out_close_cb(uv_handle_t *h)
{
	nat_close_done(h->data);
}

void nat_tcp_out_close(struct nat *n)
{
	flush_stop(n->tcp);
	nat_close_start(n, (uv_handle_t *)&n->tcp->check, out_close_cb);
	nat_close_start(n, (uv_handle_t *)&n->tcp->idle, out_close_cb);
}
