/* SPDX-License-Identifier: MIT */
/*
 * tcp_sock.c - the socket side of a TCP flow: the destination's bytes in,
 * the inside's bytes out, and the half-close.
 *
 * Theory of operation: reading uses the flow's ring for the inside as the
 * read buffer (the alloc callback hands out its free tail), so data from
 * the destination lands where it stays until the inside acknowledges it,
 * with no copy in between. A full ring stops reading: the kernel's receive
 * buffer fills and the destination's window closes (back-pressure); ACKs
 * from the inside that free a quarter of the ring start reading again.
 *
 * Writing first tries the socket directly (uv_try_write: no copy when the
 * kernel takes it all); what it leaves is copied into the flow's ring for
 * the socket and written with uv_write(), one write in flight, covering
 * the whole ring. Only bytes the kernel or the ring took are acknowledged
 * to the inside; the window it is offered is the ring's room. When a
 * write drains the ring far enough past what was last advertised, a
 * window update is sent. The inside's FIN becomes uv_shutdown() once the
 * ring is empty.
 */
#include "lib/log.h"
#include "nat/tcp_conn.h"

static void stop_reading(struct tcp_flow *f)
{
	if (!f->reading)
		return;
	uv_read_stop(&f->u.s);
	f->reading = false;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_flow *f = nat_container_of(h, struct tcp_flow, u.h);
	uint32_t room = 0;
	uint8_t *p = NULL;

	if (!nat_tcp_ring_alloc(f->n, &f->out))
		p = nat_tcp_ring_tail(&f->out, &room);
	*buf = uv_buf_init((char *)p, room);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_flow *f = nat_container_of(s, struct tcp_flow, u.s);

	if (nread > 0) {
		nat_tcp_ring_commit(&f->out, (uint32_t)nread);
		f->n->tcp->tab.nodes[f->idx].bytes_out += (uint64_t)nread;
		if (!tcp_ring_room(&f->out) && nat_tcp_ring_grow(f->n, &f->out))
			stop_reading(f);
		nat_tcp_output(f);
		return;
	}
	if (nread == 0)
		return;
	stop_reading(f);
	if (nread == UV_ENOBUFS && f->out.buf)
		return; /* full: back-pressure until the inside acknowledges */
	if (nread == UV_EOF) {
		f->eof_out = true;
		nat_tcp_log(f, "EOF from the destination");
		nat_tcp_output(f);
		return;
	}
	nat_tcp_abort(f, uv_strerror((int)nread));
}

/**
 * nat_tcp_sock_read() - start reading from the destination
 * Return: 0 or the error of uv_read_start()
 */
int nat_tcp_sock_read(struct tcp_flow *f)
{
	int r = uv_read_start(&f->u.s, alloc_cb, read_cb);

	f->reading = !r;
	return r;
}

/** nat_tcp_sock_resume() - the inside acknowledged data: read on if room */
void nat_tcp_sock_resume(struct tcp_flow *f)
{
	if (f->reading || f->eof_out || f->state == TS_CLOSED ||
	    f->state == TS_CONNECTING ||
	    tcp_ring_room(&f->out) < TCP_READ_RESUME(f->out.cap))
		return;
	if (nat_tcp_sock_read(f))
		nat_tcp_abort(f, "cannot read from the socket");
}

static void write_cb(uv_write_t *req, int status);

/* write the whole ring, unless a write is in flight */
static int start_write(struct tcp_flow *f)
{
	uv_buf_t b[2];
	unsigned nb;
	int r;

	if (f->wr_len || !f->in.len)
		return 0;
	nb = nat_tcp_ring_bufs(&f->in, 0, f->in.len, b);
	r = uv_write(&f->wr, &f->u.s, b, nb, write_cb);
	if (!r)
		f->wr_len = f->in.len;
	return r;
}

/* worth a window update: RFC 9293 3.8.6.2.2, receiver's SWS avoidance */
static uint32_t update_step(const struct tcp_flow *f)
{
	uint32_t half = f->in.cap / 2;
	uint32_t mss = tcp_rcv_mss(f->n, tcp_key(f)->family);

	return half < mss ? half : mss;
}

static void write_cb(uv_write_t *req, int status)
{
	struct tcp_flow *f = nat_container_of(req, struct tcp_flow, wr);
	uint32_t advertised;
	int r;

	if (f->state == TS_CLOSED)
		return;
	if (status) {
		nat_tcp_abort(f, uv_strerror(status));
		return;
	}
	advertised = f->rcv_adv - f->rcv_nxt;
	nat_tcp_ring_consume(&f->in, f->wr_len);
	f->wr_len = 0;
	r = start_write(f);
	if (r) {
		nat_tcp_abort(f, uv_strerror(r));
		return;
	}
	if (f->fin_in)
		nat_tcp_sock_fin(f);
	else if (tcp_ring_room(&f->in) - advertised >= update_step(f))
		nat_tcp_ack_later(f);
}

/**
 * nat_tcp_sock_write() - give in-order data from the inside to the socket
 * @f:		flow
 * @p:		data
 * @len:	its length, within the window advertised
 * @taken:	set to the bytes taken (written, or kept in the ring)
 *
 * Return: 0, or a socket error: the flow must be reset
 */
int nat_tcp_sock_write(struct tcp_flow *f, const uint8_t *p, uint32_t len,
		       uint32_t *taken)
{
	uv_buf_t b = uv_buf_init((char *)p, len);
	uint32_t done = 0;
	int r;

	*taken = 0;
	if (!f->in.len) {
		r = uv_try_write(&f->u.s, &b, 1);
		if (r >= 0)
			done = (uint32_t)r;
		else if (r != UV_EAGAIN)
			return r;
	}
	/* no memory for the ring: the inside will send it again */
	if (done < len && !nat_tcp_ring_alloc(f->n, &f->in)) {
		done += nat_tcp_ring_put(&f->in, p + done, len - done);
		r = start_write(f);
		if (r)
			return r;
	}
	*taken = done;
	return 0;
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	struct tcp_flow *f = nat_container_of(req, struct tcp_flow, req.shut);

	if (f->state == TS_CLOSED)
		return;
	if (status) {
		nat_tcp_abort(f, uv_strerror(status));
		return;
	}
	f->shut_done = true;
	nat_tcp_maybe_done(f);
}

/**
 * nat_tcp_sock_fin() - the inside sent FIN: shut the socket down for writing
 * once the ring is written (the reply still flows back)
 * @f:		flow
 */
void nat_tcp_sock_fin(struct tcp_flow *f)
{
	int r;

	if (f->shut_req || f->in.len || f->state == TS_CLOSED)
		return;
	r = uv_shutdown(&f->req.shut, &f->u.s, shutdown_cb);
	if (r) {
		nat_tcp_abort(f, uv_strerror(r));
		return;
	}
	f->shut_req = true;
}
