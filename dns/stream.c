// SPDX-License-Identifier: MIT
/*
 * stream.c - DNS over a byte stream (TCP), RFC 1035 4.2.2 and RFC 7766.
 *
 * Theory of operation: each message is preceded by its length in two
 * bytes. A connection reads into a buffer that starts small (1 KiB) and
 * grows to hold the frame being read (2 + 65535 bytes at most), so a
 * frame is always whole in it; complete frames become dns_query() calls, and
 * their answers are written back as they come, in any order (RFC 7766
 * 6.2.1.1: clients match them by id). An answer goes to the socket at
 * once if it takes it; only what it does not take is copied and waits
 * ("unwritten"). A zero length or a message too short for a header is
 * garbage: the connection is closed. At the peer's end of stream the
 * answers still owed are written, then it is closed.
 *
 * Back-pressure, never a queue. A connection takes no further query
 * while CONN_MAX_INFLIGHT of its queries await their answers or
 * CONN_MAX_UNWRITTEN bytes of its answers are unwritten, nor one whose
 * answer, as large as its largest so far (unknown: 64 KiB), might take it
 * past that (one query in flight is always allowed); meanwhile it stops
 * reading, so a client that pipelines without reading fills its own TCP
 * window, not our memory. An answer that comes is always taken, so a
 * connection holds at most 64 KiB and one answer, but for the answers of
 * queries accepted before their size was known.
 *
 * The budget (dns_opts.tcp_buffer_bytes, --dns-tcp-buffer): the read
 * buffers and unwritten answers of all connections together, plus, for
 * each query in flight, a whole answer (2 + 65535 bytes) reserved when it
 * is accepted and traded for the answer's real size when it comes, so the
 * budget is never exceeded. A query is also accepted only while TCP holds
 * less than half of the proxy's pending requests (max_pending), so UDP
 * always finds room. A connection that finds no room stalls: it stops
 * reading and waits on the proxy's stalled list, oldest first. If the
 * room is taken by what connections hold (not by reservations, which
 * answers soon return), the least recently active other connection (the
 * one whose client took no answer for the longest, counting its opening
 * as one) is closed to make room; a new connection too waits for its
 * read buffer rather than being refused. Stalled connections resume,
 * oldest first, whenever room is freed (dns_tcp_wake(), at the end of
 * every callback that frees some). dns_proxy_close() closes every
 * connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_internal.h"
#include "lib/log.h"

#define CONN_MAX_INFLIGHT 16
#define CONN_MAX_UNWRITTEN (64 * 1024)
#define CONN_RBUF_MIN 1024 /* holds most queries; grows for a larger one */
#define ANSWER_MAX (2 + DNS_MSG_MAX) /* reserved per query in flight */

struct dns_conn {
	struct dns_list link; /* the proxy's, least recently active first */
	struct dns_list stall; /* the proxy's stalled list, or empty */
	struct dns_proxy *p;
	uv_stream_t *s;
	uint8_t *buf;
	size_t cap, used; /* read buffer */
	size_t unwritten; /* bytes of answers uv_write() still holds */
	size_t largest; /* the largest answer so far, 0: none yet */
	unsigned inflight; /* queries accepted, answers not yet come */
	unsigned writes; /* uv_write() requests not yet done */
	bool eof, closing, reading;
};

struct conn_write {
	uv_write_t req;
	size_t len;
	uint8_t data[];
};

static bool room_for(const struct dns_proxy *p, size_t n)
{
	return p->tcp_bytes <= p->o.tcp_buffer_bytes &&
	       n <= p->o.tcp_buffer_bytes - p->tcp_bytes;
}

/* TCP may hold half the pending requests: the rest are UDP's */
static bool share_left(const struct dns_proxy *p)
{
	size_t share = p->o.max_pending / 2 ? p->o.max_pending / 2 : 1;

	return p->tcp_inflight < share;
}

static bool may_ask(const struct dns_proxy *p)
{
	return share_left(p) && room_for(p, ANSWER_MAX);
}

static void charge(struct dns_proxy *p, size_t n)
{
	p->tcp_bytes += n;
}

static void uncharge(struct dns_proxy *p, size_t n)
{
	p->tcp_bytes -= n;
}

static void close_cb(uv_handle_t *h)
{
	struct dns_conn *c = h->data;
	struct dns_proxy *p = c->p;

	free(h);
	free(c->buf);
	free(c);
	dns_proxy_unhold(p);
}

/* everything @c holds goes back to the budget now; the writes uv_close()
 * cancels are only freed */
static void conn_close(struct dns_conn *c)
{
	struct dns_proxy *p = c->p;

	if (c->closing)
		return;
	c->closing = true;
	dns_list_del(&c->link);
	dns_list_del(&c->stall);
	dns_cancel(p, c);
	uncharge(p, c->cap + c->unwritten + (size_t)c->inflight * ANSWER_MAX);
	p->tcp_inflight -= c->inflight;
	p->tcp_conns--;
	c->inflight = 0;
	c->unwritten = 0;
	uv_close((uv_handle_t *)c->s, close_cb);
}

/* the client took an answer: to the young end of the list (a new
 * connection starts there) */
static void touch(struct dns_conn *c)
{
	dns_list_del(&c->link);
	dns_list_add_tail(&c->p->conns, &c->link);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct dns_conn *c = h->data;

	(void)suggested;
	buf->base = (char *)c->buf + c->used;
	buf->len = c->cap - c->used;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static bool stalled(const struct dns_conn *c)
{
	return !dns_list_empty(&c->stall);
}

/* may @c take one more query: its own limits (the theory above) */
static bool conn_may_ask(const struct dns_conn *c)
{
	size_t each = c->largest ? c->largest : ANSWER_MAX;

	if (c->inflight >= CONN_MAX_INFLIGHT ||
	    c->unwritten >= CONN_MAX_UNWRITTEN)
		return false;
	return c->inflight == 0 ||
	       c->unwritten + (c->inflight + 1) * each <= CONN_MAX_UNWRITTEN;
}

static void update_reading(struct dns_conn *c)
{
	bool want = !c->eof && !c->closing && !stalled(c) && conn_may_ask(c) &&
		    c->used < c->cap;

	if (want && !c->reading)
		c->reading = uv_read_start(c->s, alloc_cb, read_cb) == 0;
	else if (!want && c->reading && !c->closing)
		c->reading = uv_read_stop(c->s) != 0;
}

/* after the peer's end, once every query it sent has been answered */
static void maybe_close(struct dns_conn *c)
{
	if (c->eof && c->inflight == 0 && c->writes == 0 && !stalled(c))
		conn_close(c);
}

/* the budget is short: the least recently active connection but @keep
 * is closed (its client took no answer for the longest: asking without
 * reading is not activity), unless answers on their way will make room
 * anyway */
static bool evict_oldest(struct dns_proxy *p, const struct dns_conn *keep,
			 size_t need)
{
	size_t held = p->tcp_bytes - p->tcp_inflight * ANSWER_MAX;
	size_t max = p->o.tcp_buffer_bytes;
	bool big = max >= 1 << 20;
	struct dns_conn *o;

	if (dns_list_empty(&p->conns) || (held <= max && need <= max - held))
		return false;
	o = dns_entry(p->conns.next, struct dns_conn, link);
	if (o == keep) {
		if (o->link.next == &p->conns)
			return false;
		o = dns_entry(o->link.next, struct dns_conn, link);
	}
	if (!p->st.tcp_evicted++)
		tg_warn("dns: DNS-over-TCP buffers reached %zu %s "
			"(--dns-tcp-buffer): closing the oldest idle "
			"connections (counted in status)",
			big ? max >> 20 : max >> 10, big ? "MiB" : "KiB");
	else
		tg_debug("dns: DNS-over-TCP buffers full: closed the oldest "
			 "idle connection");
	conn_close(o);
	return true;
}

/* no room for @c: it waits for dns_tcp_wake(), which the callback that
 * found it so calls at its end */
static void stall(struct dns_conn *c)
{
	if (!stalled(c))
		dns_list_add_tail(&c->p->tcp_stalled, &c->stall);
}

/* size the read buffer for a frame of @need bytes (0: none): it grows
 * within the budget (else @c stalls) and shrinks back when empty */
static void fit_frame(struct dns_conn *c, size_t need)
{
	size_t cap = need < CONN_RBUF_MIN ? CONN_RBUF_MIN : need;
	uint8_t *b;

	if (cap == c->cap)
		return;
	if (cap > c->cap && !room_for(c->p, cap - c->cap)) {
		stall(c);
		return;
	}
	b = realloc(c->buf, cap);
	if (!b) {
		if (cap > c->cap)
			conn_close(c);
		return;
	}
	c->buf = b;
	uncharge(c->p, c->cap);
	charge(c->p, cap);
	c->cap = cap;
}

static void answer_cb(void *arg, const uint8_t *msg, size_t len);

/* turn the whole frames in the buffer into queries, as far as allowed */
static void consume(struct dns_conn *c)
{
	struct dns_proxy *p = c->p;
	size_t off = 0, len = 0;

	while (!c->closing && c->used - off >= 2) {
		len = tg_be16(c->buf + off);
		if (len < DNS_HDR) {
			conn_close(c); /* garbage: not even a header */
			return;
		}
		if (c->used - off < 2 + len || !conn_may_ask(c))
			break;
		if (!may_ask(p)) {
			stall(c);
			break;
		}
		/* -ENOBUFS: UDP holds every request; the client retries */
		if (dns_query(p, c->buf + off + 2, len, false, answer_cb, c)) {
			conn_close(c);
			return;
		}
		charge(p, ANSWER_MAX);
		c->inflight++;
		p->tcp_inflight++;
		off += 2 + len;
	}
	if (c->closing)
		return;
	memmove(c->buf, c->buf + off, c->used - off);
	c->used -= off;
	/* a frame larger than the buffer needs a larger one; an empty
	 * buffer goes back to the small size */
	if (c->used >= 2)
		fit_frame(c, 2 + (size_t)tg_be16(c->buf));
	else if (c->cap != CONN_RBUF_MIN)
		fit_frame(c, 0);
	if (!c->closing)
		update_reading(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct dns_conn *c = s->data;
	struct dns_proxy *p = c->p;

	(void)buf;
	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		/* end of stream, or an error: no more queries either way */
		c->eof = true;
		update_reading(c);
		maybe_close(c);
	} else {
		c->used += (size_t)nread;
		consume(c);
	}
	dns_tcp_wake(p);
}

static void write_cb(uv_write_t *req, int status)
{
	struct conn_write *w = dns_entry(req, struct conn_write, req);
	struct dns_conn *c = req->handle->data;
	struct dns_proxy *p = c->p;

	c->writes--;
	if (!c->closing) {
		/* conn_close() gave back what was still unwritten */
		c->unwritten -= w->len;
		uncharge(p, w->len);
	}
	free(w);
	if (status < 0) {
		conn_close(c);
	} else if (!c->closing) {
		touch(c);
		consume(c);
		maybe_close(c);
	}
	dns_tcp_wake(p);
}

/* queue what the socket did not take of @b (@done bytes it did) */
static int queue_rest(struct dns_conn *c, const uv_buf_t b[2], size_t done)
{
	size_t len = b[0].len + b[1].len - done, o = 0;
	struct conn_write *w = malloc(sizeof(*w) + len);
	uv_buf_t one;

	if (!w)
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		size_t skip = done < b[i].len ? done : b[i].len;

		memcpy(w->data + o, b[i].base + skip, b[i].len - skip);
		o += b[i].len - skip;
		done -= skip;
	}
	w->len = len;
	one = uv_buf_init((char *)w->data, (unsigned)len);
	if (uv_write(&w->req, c->s, &one, 1, write_cb)) {
		free(w);
		return -EPIPE;
	}
	c->writes++;
	c->unwritten += len;
	charge(c->p, len);
	return 0;
}

static void answer_cb(void *arg, const uint8_t *msg, size_t len)
{
	struct dns_conn *c = arg;
	struct dns_proxy *p = c->p;
	uint8_t hdr[2];
	uv_buf_t b[2];
	int r = 0;

	/* the reservation goes; the real answer, if it waits, is charged */
	c->inflight--;
	p->tcp_inflight--;
	uncharge(p, ANSWER_MAX);
	if (2 + len > c->largest)
		c->largest = 2 + len;
	tg_put_be16(hdr, (uint16_t)len);
	b[0] = uv_buf_init((char *)hdr, 2);
	b[1] = uv_buf_init((char *)msg, (unsigned)len);
	if (c->writes == 0)
		r = uv_try_write(c->s, b, 2);
	if (r == UV_EAGAIN || r == UV_ENOSYS)
		r = 0;
	if (r >= 0 && (size_t)r < 2 + len)
		r = queue_rest(c, b, (size_t)r);
	else if (r > 0)
		touch(c);
	if (r < 0) {
		conn_close(c);
	} else {
		consume(c);
		if (!c->closing)
			maybe_close(c);
	}
	dns_tcp_wake(p);
}

/**
 * dns_tcp_wake() - resume the stalled connections, oldest first, while
 * there is room for a query, closing the oldest idle ones while what
 * connections hold leaves none; never recursive (a connection that
 * resumes may free room, or stall again)
 * @p:	the proxy
 */
void dns_tcp_wake(struct dns_proxy *p)
{
	if (p->tcp_waking || p->closing)
		return;
	p->tcp_waking = true;
	while (!dns_list_empty(&p->tcp_stalled)) {
		struct dns_conn *c =
			dns_entry(p->tcp_stalled.next, struct dns_conn, stall);

		if (!may_ask(p)) {
			/* the share of requests, or reservations that
			 * answers return, are only waited for */
			if (share_left(p) && evict_oldest(p, c, ANSWER_MAX))
				continue;
			break;
		}
		dns_list_del(&c->stall);
		consume(c);
	}
	p->tcp_waking = false;
}

/**
 * dns_serve_stream() - serve DNS over TCP framing on @s
 * @p:	the proxy
 * @s:	a connected stream from malloc(), the proxy's from now on
 *
 * Return: 0 (the proxy may close @s at once: no memory), or -errno and
 * @s is still the caller's
 */
int dns_serve_stream(struct dns_proxy *p, uv_stream_t *s)
{
	struct dns_conn *c;

	if (p->closing)
		return -ESHUTDOWN;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->p = p;
	c->s = s;
	s->data = c;
	dns_list_init(&c->stall);
	dns_list_add_tail(&p->conns, &c->link);
	p->tcp_conns++;
	p->holds++;
	/* its read buffer, within the budget; else it waits for room */
	fit_frame(c, 0);
	if (!c->closing)
		update_reading(c);
	if (c->cap && !c->reading && !c->closing)
		conn_close(c); /* uv_read_start() failed */
	dns_tcp_wake(p);
	return 0;
}

/* dns_proxy_close(): every connection goes */
void dns_stream_close_all(struct dns_proxy *p)
{
	while (!dns_list_empty(&p->conns))
		conn_close(dns_entry(p->conns.next, struct dns_conn, link));
}
