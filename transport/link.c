/* SPDX-License-Identifier: MIT */
/*
 * link.c - frames over a pair of libuv streams.
 *
 * Theory of operation
 *
 * Read side: one fixed buffer. libuv's alloc_cb hands out its free tail;
 * after each read the link decodes every whole frame in the buffer,
 * delivers it, and moves the partial remainder (less than one frame) to the
 * front: one memmove per read, none per frame. Before the peer's magic the
 * same buffer is scanned for it and everything in front of it is banner
 * text (motd, sudo lectures, "command not found"), skipped up to
 * TP_BANNER_MAX bytes and logged once as an excerpt. The first frame after
 * the magic must be the peer's HELLO, whose protocol and role are checked.
 *
 * Write side: one buffer used as two halves. Frames are appended to the
 * filling half (tp_link_send() copies, tp_link_reserve()/commit() lets the
 * caller build the payload in place). A check handle (after I/O) and a
 * prepare handle (before it, for frames queued by timers) hand the whole
 * filling half to a single uv_write and switch to the other half, so that
 * everything queued in one loop iteration goes out in one write; only one
 * write is in flight at a time. Each half keeps GOODBYE_ROOM bytes back
 * so that tp_link_goodbye() always fits.
 *
 * One timer ticks at a quarter of the timeout: it fails a handshake that
 * takes too long, declares a peer silent for the whole timeout gone, and
 * queues a KEEPALIVE when nothing was queued for a third of it. After
 * tp_link_goodbye() it becomes the grace timer instead.
 *
 * Stripes: one SSH channel carries at most its window per round trip, so
 * a link may carry its frames over several streams (tp_link_add_stripe()),
 * each a struct tp_link of its own (handshake, buffers, keepalives,
 * silence) whose grp points at the first. Frames other than HELLO,
 * KEEPALIVE and SEQ are counted, in the order they are queued, on both
 * sides alike. The sender queues a chunk (STRIPE_CHUNK) on one stream,
 * then moves to the stream with the fewest bytes not yet taken by the
 * kernel (the next in turn among equals) and first writes SEQ there: the
 * count of the frame that follows. Each stream is in order, so the receiver
 * knows the count of the frame at the head of every stream and delivers
 * the one that is next; a stream whose head is not next waits in its own
 * read buffer (no copy), and stops being read when that buffer is full.
 * The stream holding the next frame is never stopped (its head can be
 * delivered), so this cannot deadlock. A stripe that fails after it
 * carried frames loses some of them: the whole link goes down, and the
 * session resumes. With one stream no SEQ is ever sent.
 *
 * Callbacks may call tp_link_close(): the link marks itself closed, stops
 * delivering, and is freed in the last uv_close callback. Writing to a
 * peer that has gone raises SIGPIPE: the program must ignore that signal.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/link.h"
#include "lib/log.h"
#include "lib/wire.h"

#ifndef TG_VERSION
#define TG_VERSION "unknown"
#endif

#define MAX_FRAME_BYTES (TP_FRAME_HDR + TP_FRAME_MAX)
#define RBUF_DEFAULT (1u << 20)
#define RBUF_MIN (2 * MAX_FRAME_BYTES)
#define WBUF_DEFAULT (4u << 20)
#define WBUF_MIN (4 * MAX_FRAME_BYTES)
#define TIMEOUT_DEFAULT_MS 30000
#define GOODBYE_TEXT_MAX 512
#define SEQ_BYTES (TP_FRAME_HDR + 4)
#define GOODBYE_ROOM (SEQ_BYTES + TP_FRAME_HDR + GOODBYE_TEXT_MAX)
#define STRIPE_CHUNK (256u * 1024) /* queued on one stripe before the next */
#define GOODBYE_GRACE_MS 2000
#define EXCERPT_MAX 80
#define WHY_MAX 512

/*
 * LS_NEW -> LS_MAGIC -> LS_HELLO -> LS_UP, or for a resumed link (the
 * handshake happened in the process that passed us the stream)
 * LS_NEW -> LS_UP. A link never goes back: link_set_state() asserts it.
 */
enum link_state {
	LS_NEW, /* before tp_link_start() */
	LS_MAGIC, /* skipping banner text */
	LS_HELLO, /* magic seen, waiting for HELLO */
	LS_UP,
};

struct tp_link {
	uv_loop_t *loop;
	uv_stream_t *in, *out;
	struct tp_link_ops ops;
	void *data;
	uint8_t role;
	const char *peer;
	unsigned timeout_ms;
	uint8_t session[TP_SESSION_LEN]; /* sent in our HELLO */
	uint8_t hello_flags; /* likewise */
	const uint8_t *rest; /* resumed: bytes read by the process before */
	size_t rest_len;
	bool resumed;

	uv_timer_t timer;
	uv_check_t check;
	uv_prepare_t prepare;
	uv_write_t wreq;
	uv_shutdown_t sreq;
	unsigned handles; /* still to be closed */

	enum link_state state;
	uint8_t *rbuf;
	size_t rsize, rlen;
	size_t rpos; /* end of the frame being delivered */
	char excerpt[EXCERPT_MAX + 1]; /* start of the banner */
	size_t excerpt_len;
	uint64_t start_ms, last_rx, last_tx;

	uint8_t *wbuf;
	size_t half; /* bytes per half */
	uint8_t *fill; /* the half being filled */
	size_t fill_len;
	size_t flight_len; /* bytes in the write in flight */
	size_t reserved; /* tp_link_reserve() max, or SIZE_MAX */

	bool writing, wfailed, congested, goodbye, shut;
	bool paused, down, closed, held, peer_goodbye;

	/* stripes (see above); grp is the first stream's link, its own for
	 * that one, and the fields marked grp are used in it alone */
	struct tp_link *grp;
	struct tp_link *stripe[TP_STRIPES_MAX - 1]; /* grp */
	unsigned n_stripes; /* grp */
	struct tp_link *cur; /* grp: where the last counted frame went */
	size_t cur_sent; /* grp: counted bytes queued on cur since picked */
	struct tp_link *res_to; /* grp: where tp_link_reserve() pointed */
	uint32_t tx_seq, rx_next; /* grp: counted frames queued, delivered */
	uint32_t rx_seq; /* the count of this stream's next counted frame */
	unsigned stripe_no; /* 0 for the first stream */
	bool usable; /* may carry counted frames (a stripe of the outside's:
		      * once the inside sent a frame on it) */
	bool blocked; /* the head frame is not the next one */
	bool rstopped; /* not read while blocked with a full buffer */
	bool kicking; /* grp: stripe_kick() runs */

	struct tp_link_stats st;
};

/* the one place l->state changes: anything but the arrows above aborts */
static void link_set_state(struct tp_link *l, enum link_state to)
{
	assert((l->state == LS_NEW && to == LS_MAGIC && !l->resumed) ||
	       (l->state == LS_NEW && to == LS_UP && l->resumed) ||
	       (l->state == LS_MAGIC && to == LS_HELLO) ||
	       (l->state == LS_HELLO && to == LS_UP));
	l->state = to;
}

static const char *role_name(uint8_t role)
{
	return role == TP_ROLE_OUTSIDE ? "outside" : "inside";
}

/* one line of peer-provided text, safe to print */
static size_t text_clean(char *dst, size_t cap, const uint8_t *src, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = src[i];

		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c >= 0x7f)
			c = '.';
		dst[i] = (char)c;
	}
	dst[n] = '\0';
	return n;
}

/* "0.3 s" for tests' short timeouts, "30 s" for real ones */
static void fmt_secs(char *buf, size_t cap, uint64_t ms)
{
	if (ms < 10000)
		snprintf(buf, cap, "%u.%u s", (unsigned)(ms / 1000),
			 (unsigned)(ms % 1000 / 100));
	else
		snprintf(buf, cap, "%u s", (unsigned)(ms / 1000));
}

__attribute__((format(printf, 3, 4))) static void
link_down(struct tp_link *l, int err, const char *fmt, ...)
{
	char why[WHY_MAX];
	va_list ap;

	if (l->down || l->closed)
		return;
	l->down = true;
	if (l->state != LS_NEW) {
		uv_read_stop(l->in);
		uv_timer_stop(&l->timer);
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (l->grp != l) {
		struct tp_link *g = l->grp;

		/* after our goodbye the peer closes every stream: the
		 * first one's end is the one that counts */
		if (g->goodbye || g->down)
			return;
		if (l->usable)
			link_down(g, err, "stripe %u: %s", l->stripe_no, why);
		else
			tg_info("stripe %u is not used: %s", l->stripe_no, why);
		return;
	}
	for (unsigned i = 0; i < l->n_stripes; i++) {
		struct tp_link *m = l->stripe[i];

		if (m->down)
			continue;
		m->down = true;
		if (m->state != LS_NEW) {
			uv_read_stop(m->in);
			uv_timer_stop(&m->timer);
		}
	}
	if (l->ops.down_cb)
		l->ops.down_cb(l, err, why);
}

/* frames that take part in the count of frames (see "Stripes") */
static bool link_counted(uint8_t type)
{
	return type != TP_F_HELLO && type != TP_F_KEEPALIVE &&
	       type != TP_F_SEQ;
}

/* ------------------------------------------------------------ write side */

static size_t link_queued(const struct tp_link *l)
{
	return l->fill_len + l->flight_len;
}

static bool link_can_send(const struct tp_link *l)
{
	return l->state != LS_NEW && !l->down && !l->goodbye && !l->wfailed;
}

/* room for a frame of @len payload bytes in the filling half, keeping
 * @keep bytes back */
static bool link_room(const struct tp_link *l, size_t len, size_t keep)
{
	return l->fill_len + keep + TP_FRAME_HDR + len <= l->half;
}

static void link_account(struct tp_link *l, uint8_t type, size_t len)
{
	l->fill_len += TP_FRAME_HDR + len;
	l->st.frames_out++;
	l->st.bytes_out += TP_FRAME_HDR + len;
	l->last_tx = uv_now(l->loop);
	if (link_counted(type)) {
		l->grp->tx_seq++;
		l->grp->cur_sent += TP_FRAME_HDR + len;
	}
	if (link_queued(l) > l->half * 3 / 2)
		l->grp->congested = true;
}

static int link_append(struct tp_link *l, uint8_t type, const void *data,
		       size_t len, size_t keep)
{
	uint8_t *p = l->fill + l->fill_len;

	if (len > TP_FRAME_MAX)
		return -EMSGSIZE;
	if (!link_room(l, len, keep))
		return -ENOBUFS;
	tp_frame_put_hdr(p, type, len);
	if (len)
		memcpy(p + TP_FRAME_HDR, data, len);
	link_account(l, type, len);
	return 0;
}

static bool link_usable(const struct tp_link *l)
{
	return l->usable && link_can_send(l);
}

/* member @i of @g's group: the first stream is 0, stripe N is N */
static struct tp_link *stripe_member(struct tp_link *g, unsigned i)
{
	return i ? g->stripe[i - 1] : g;
}

/*
 * The stream for the next counted frame of @len payload bytes: the one
 * used last until a chunk has been queued on it, then the one with the
 * fewest bytes queued, the next in turn among equals, which gets a SEQ
 * first. Counting what was queued, not what waits, spreads a stream over
 * every stripe before any backs up: one that carries everything runs out
 * of its SSH window each round trip while the others idle.
 * Return: NULL when it has no room for the SEQ and the frame.
 */
static struct tp_link *stripe_pick(struct tp_link *g, size_t len)
{
	struct tp_link *t = g->cur, *best = NULL;
	unsigned n = g->n_stripes + 1, from = t ? t->stripe_no + 1 : 0;
	uint8_t seq[4];

	if (!g->n_stripes)
		return g;
	if (t && link_usable(t) && g->cur_sent < STRIPE_CHUNK &&
	    link_room(t, len, GOODBYE_ROOM))
		return t;
	for (unsigned k = 0; k < n; k++) {
		struct tp_link *m = stripe_member(g, (from + k) % n);

		if (link_usable(m) &&
		    (!best || link_queued(m) < link_queued(best)))
			best = m;
	}
	if (!best)
		return NULL;
	if (best == t) {
		g->cur_sent = 0;
		return t;
	}
	if (!link_room(best, SEQ_BYTES + len, GOODBYE_ROOM))
		return NULL;
	tg_put_be32(seq, g->tx_seq);
	link_append(best, TP_F_SEQ, seq, sizeof(seq), GOODBYE_ROOM);
	g->cur = best;
	g->cur_sent = 0;
	return best;
}

static void write_cb(uv_write_t *req, int status);

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	/* nothing to do: a pipe that cannot half-close ends on close */
}

/* hand the filling half to libuv, or shut down once a goodbye is out */
static void link_flush(struct tp_link *l)
{
	uv_buf_t b;
	int r;

	if (l->closed || l->wfailed || l->writing)
		return;
	if (!l->fill_len) {
		if (l->goodbye && !l->shut) {
			l->shut = true;
			if (uv_shutdown(&l->sreq, l->out, shutdown_cb) < 0)
				tg_debug("link: cannot shut the stream down");
		}
		return;
	}
	b = uv_buf_init((char *)l->fill, (unsigned)l->fill_len);
	l->flight_len = l->fill_len;
	l->fill = l->fill == l->wbuf ? l->wbuf + l->half : l->wbuf;
	l->fill_len = 0;
	l->st.writes++;
	l->writing = true;
	r = uv_write(&l->wreq, l->out, &b, 1, write_cb);
	if (r < 0) {
		l->writing = false;
		l->wfailed = true;
		link_down(l, r, "cannot write to the %s: %s", l->peer,
			  uv_strerror(r));
	}
}

static void write_cb(uv_write_t *req, int status)
{
	struct tp_link *l = req->data;

	l->writing = false;
	l->flight_len = 0;
	if (l->closed)
		return;
	if (status < 0) {
		l->wfailed = true;
		link_down(l, status, "writing to the %s failed: %s", l->peer,
			  uv_strerror(status));
		return;
	}
	if (l->grp->congested && link_queued(l) < l->half / 2) {
		struct tp_link *g = l->grp;

		g->congested = false;
		if (g->ops.drain_cb && !g->down)
			g->ops.drain_cb(g);
	}
}

static void check_cb(uv_check_t *h)
{
	link_flush(h->data);
}

static void prepare_cb(uv_prepare_t *h)
{
	link_flush(h->data);
}

/**
 * tp_link_send() - queue one frame
 * @l:		link
 * @type:	TP_F_*
 * @data:	payload, copied
 * @len:	its length
 *
 * Return: 0, -ENOBUFS (buffer full: drop, or wait for drain_cb),
 * -EMSGSIZE, -EPIPE once the link is down or said goodbye, -ENOTCONN
 * before tp_link_start()
 */
int tp_link_send(struct tp_link *l, uint8_t type, const void *data, size_t len)
{
	struct tp_link *t;
	int r;

	if (l->state == LS_NEW)
		return -ENOTCONN;
	if (!link_can_send(l))
		return -EPIPE;
	if (len > TP_FRAME_MAX)
		return -EMSGSIZE;
	t = stripe_pick(l, len);
	r = t ? link_append(t, type, data, len, GOODBYE_ROOM) : -ENOBUFS;
	if (r == -ENOBUFS) {
		l->st.dropped_out++;
		l->congested = true;
	}
	return r;
}

/**
 * tp_link_reserve() - room for one frame's payload of up to @max bytes
 * @l:		link
 * @max:	largest payload the caller may commit
 *
 * Nothing else may be queued on @l before the matching tp_link_commit().
 * A NULL return arms drain_cb like -ENOBUFS does, but is not counted in
 * dropped_out: the caller decides what it lost.
 *
 * Return: where the payload goes, or NULL
 */
uint8_t *tp_link_reserve(struct tp_link *l, size_t max)
{
	struct tp_link *t;

	if (!link_can_send(l) || max > TP_FRAME_MAX)
		return NULL;
	t = stripe_pick(l, max);
	if (!t || !link_room(t, max, GOODBYE_ROOM)) {
		l->congested = true;
		return NULL;
	}
	t->reserved = max;
	l->res_to = t;
	return t->fill + t->fill_len + TP_FRAME_HDR;
}

/**
 * tp_link_commit() - queue the frame built at tp_link_reserve()'s pointer
 * @l:		link
 * @type:	TP_F_*
 * @len:	payload length, at most the reserved size; else dropped
 */
void tp_link_commit(struct tp_link *l, uint8_t type, size_t len)
{
	struct tp_link *t = l->res_to ? l->res_to : l;
	size_t max = t->reserved;

	t->reserved = SIZE_MAX;
	l->res_to = NULL;
	if (max == SIZE_MAX || len > max || !link_can_send(l) ||
	    !link_can_send(t))
		return;
	tp_frame_put_hdr(t->fill + t->fill_len, type, len);
	link_account(t, type, len);
}

bool tp_link_congested(const struct tp_link *l)
{
	return l->congested;
}

/* ------------------------------------------------------------- read side */

static void link_excerpt(struct tp_link *l, const uint8_t *p, size_t len)
{
	size_t room = EXCERPT_MAX - l->excerpt_len;

	if (len > room)
		len = room;
	l->excerpt_len +=
		text_clean(l->excerpt + l->excerpt_len, len + 1, p, len);
}

static const char *link_hint(const struct tp_link *l)
{
	return l->role == TP_ROLE_OUTSIDE
		       ? "is it running 'tungate inside --stdio'?"
		       : "is 'tungate outside' at the other end of this "
			 "stream?";
}

/* skip banner text; Return: true with *@off past the magic once found */
static bool link_magic(struct tp_link *l, size_t *off)
{
	size_t skip;
	bool found = tp_magic_find(l->rbuf, l->rlen, &skip);

	link_excerpt(l, l->rbuf, skip);
	l->st.banner_bytes += skip;
	if (l->st.banner_bytes > TP_BANNER_MAX) {
		link_down(l, -EPROTO,
			  "no tungate handshake in the first %u KiB from the "
			  "%s: %s It sent \"%s\"",
			  TP_BANNER_MAX / 1024, l->peer, link_hint(l),
			  l->excerpt);
		return false;
	}
	if (!found) {
		memmove(l->rbuf, l->rbuf + skip, l->rlen - skip);
		l->rlen -= skip;
		return false;
	}
	if (l->st.banner_bytes)
		tg_info("skipped %llu bytes that the %s printed before its "
			"handshake: \"%s\"",
			(unsigned long long)l->st.banner_bytes, l->peer,
			l->excerpt);
	link_set_state(l, LS_HELLO);
	*off = skip + TP_MAGIC_LEN;
	return true;
}

static bool link_hello_ok(struct tp_link *l, const struct tp_hello *h)
{
	if (h->proto != TP_PROTO_VERSION) {
		char where[64] = "on this machine";

		if (h->proto < TP_PROTO_VERSION)
			snprintf(where, sizeof(where), "where the %s runs",
				 l->peer);
		link_down(l, -EPROTO,
			  "the %s speaks tungate protocol %u (tungate %s), "
			  "this %s speaks %u (tungate %s): upgrade tungate %s",
			  l->peer, h->proto, h->version, role_name(l->role),
			  TP_PROTO_VERSION, TG_VERSION, where);
		return false;
	}
	if (h->role == l->role) {
		link_down(l, -EPROTO,
			  "the %s is a tungate %s too: one end must run "
			  "'tungate outside', the other 'tungate inside'",
			  l->peer, role_name(h->role));
		return false;
	}
	if (h->role != TP_ROLE_OUTSIDE && h->role != TP_ROLE_INSIDE) {
		link_down(l, -EPROTO, "the %s claims an unknown role %u",
			  l->peer, h->role);
		return false;
	}
	return true;
}

static void link_hello(struct tp_link *l, const struct tp_frame *f)
{
	struct tp_hello h;

	if (f->type != TP_F_HELLO) {
		link_down(l, -EPROTO,
			  "the %s sent frame type %u before its HELLO", l->peer,
			  f->type);
		return;
	}
	if (tp_hello_decode(&h, f->data, f->len) < 0) {
		link_down(l, -EPROTO, "the %s sent a malformed HELLO", l->peer);
		return;
	}
	if (!link_hello_ok(l, &h))
		return;
	link_set_state(l, LS_UP);
	tg_debug("handshake with the %s (tungate %s) complete%s", l->peer,
		 h.version, l->grp != l ? " on a stripe" : "");
	if (l->grp == l && l->ops.hello_cb)
		l->ops.hello_cb(l, &h);
}

static void link_text_down(struct tp_link *l, const struct tp_frame *f)
{
	char text[GOODBYE_TEXT_MAX + 1];

	text_clean(text, sizeof(text), f->data, f->len);
	l->peer_goodbye = true;
	if (f->type == TP_F_ERROR)
		link_down(l, -ECONNABORTED, "%s: %s", l->peer,
			  f->len ? text : "failed, without saying why");
	else if (f->len)
		link_down(l, 0, "the %s said goodbye: %s", l->peer, text);
	else
		link_down(l, 0, "the %s said goodbye", l->peer);
}

static void link_frame(struct tp_link *l, const struct tp_frame *f)
{
	struct tp_link *g = l->grp;

	l->st.frames_in++;
	if (l->state == LS_HELLO) {
		link_hello(l, f);
		return;
	}
	/* the peer carries on here: it took the stripe */
	if (!l->usable)
		tg_info("stripe %u to the %s is up", l->stripe_no, l->peer);
	l->usable = true;
	if (link_counted(f->type)) {
		l->rx_seq++;
		g->rx_next++;
	}
	switch (f->type) {
	case TP_F_KEEPALIVE:
		break;
	case TP_F_SEQ:
		if (f->len == 4)
			l->rx_seq = tg_be32(f->data);
		else
			l->st.bad_frames++;
		break;
	case TP_F_GOODBYE:
	case TP_F_ERROR:
		link_text_down(g, f);
		break;
	case TP_F_CONFIG:
	case TP_F_PACKET:
	case TP_F_READY:
		if (g->ops.frame_cb)
			g->ops.frame_cb(g, f->type, f->data, f->len);
		break;
	default: /* a second HELLO, or a type from a newer peer */
		l->st.bad_frames++;
		break;
	}
}

/*
 * tp_frame_decode() refused the header at @p: non-zero flags mean the
 * stream is corrupt; type 0 is merely unknown and skipped like any other.
 * Return: bytes to skip, 0 to wait for more, -1 when the link went down
 */
static ssize_t link_bad_header(struct tp_link *l, const uint8_t *p, size_t len)
{
	size_t plen = (size_t)(p[2] << 8 | p[3]);

	if (p[1] != 0) {
		link_down(l, -EBADMSG,
			  "the stream from the %s is corrupted (frame header "
			  "%02x %02x %02x %02x)",
			  l->peer, p[0], p[1], p[2], p[3]);
		return -1;
	}
	if (len < TP_FRAME_HDR + plen)
		return 0;
	l->st.frames_in++;
	l->st.bad_frames++;
	return (ssize_t)(TP_FRAME_HDR + plen);
}

static void stripe_kick(struct tp_link *g);
static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void link_parse(struct tp_link *l)
{
	struct tp_link *g = l->grp;
	uint32_t next = g->rx_next;
	size_t off = 0;
	struct tp_frame f;
	ssize_t n;

	if (l->state == LS_MAGIC && !link_magic(l, &off))
		return;
	l->blocked = false;
	while (!l->down && !g->down) {
		n = tp_frame_decode(l->rbuf + off, l->rlen - off, &f);
		if (n > 0 && l->state == LS_UP && link_counted(f.type) &&
		    l->rx_seq != g->rx_next) {
			/* another stripe holds the next frame */
			l->blocked = true;
			break;
		}
		if (n > 0) {
			off += (size_t)n;
			l->rpos = off;
			link_frame(l, &f);
			continue;
		}
		if (n == 0)
			break;
		n = link_bad_header(l, l->rbuf + off, l->rlen - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (l->down || g->down) /* includes closed: the buffer is no
				 * longer needed */
		return;
	memmove(l->rbuf, l->rbuf + off, l->rlen - off);
	l->rlen -= off;
	if (l->blocked && l->rlen == l->rsize && !l->rstopped) {
		uv_read_stop(l->in);
		l->rstopped = true;
	} else if (!l->blocked && l->rstopped) {
		l->rstopped = false;
		l->last_rx = uv_now(l->loop);
		if (!l->paused)
			uv_read_start(l->in, alloc_cb, read_cb);
	}
	if (g->n_stripes && g->rx_next != next)
		stripe_kick(g);
}

/* frames were delivered: the stripes that waited may hold the next ones */
static void stripe_kick(struct tp_link *g)
{
	bool again = true;

	if (g->kicking)
		return; /* the outer call loops until nothing moves */
	g->kicking = true;
	while (again && !g->down) {
		again = false;
		for (unsigned i = 0; i <= g->n_stripes && !g->down; i++) {
			struct tp_link *m = stripe_member(g, i);
			uint32_t before = g->rx_next;

			if (!m->blocked || m->down)
				continue;
			link_parse(m);
			if (g->rx_next != before)
				again = true;
		}
	}
	g->kicking = false;
}

static void link_eof(struct tp_link *l)
{
	if (l->state == LS_UP) {
		link_down(l, 0, "the %s closed the stream%s", l->peer,
			  l->rlen ? " in the middle of a frame" : "");
	} else if (l->excerpt_len) {
		link_down(l, -ECONNRESET,
			  "the %s closed the stream before the handshake; "
			  "it said \"%s\"",
			  l->peer, l->excerpt);
	} else {
		link_down(l, -ECONNRESET,
			  "the %s closed the stream before the handshake",
			  l->peer);
	}
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct tp_link *l = h->data;

	*buf = uv_buf_init((char *)l->rbuf + l->rlen,
			   (unsigned)(l->rsize - l->rlen));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tp_link *l = s->data;

	if (l->closed || l->down || l->grp->down || nread == 0)
		return;
	if (nread == UV_EOF) {
		link_eof(l);
		return;
	}
	if (nread < 0) {
		link_down(l, (int)nread, "reading from the %s failed: %s",
			  l->peer, uv_strerror((int)nread));
		return;
	}
	l->st.reads++;
	l->st.bytes_in += (uint64_t)nread;
	l->rlen += (size_t)nread;
	l->last_rx = uv_now(l->loop);
	link_parse(l);
}

/* ----------------------------------------------------------------- timer */

static void timer_cb(uv_timer_t *t)
{
	struct tp_link *l = t->data;
	uint64_t now = uv_now(l->loop);
	char secs[32];

	if (l->goodbye) {
		link_down(l, 0,
			  "the %s did not close the stream within %u s "
			  "of our goodbye",
			  l->peer, GOODBYE_GRACE_MS / 1000);
		return;
	}
	if (l->held)
		l->start_ms = now;
	if (l->state != LS_UP && now - l->start_ms >= l->timeout_ms) {
		fmt_secs(secs, sizeof(secs), now - l->start_ms);
		link_down(l, -ETIMEDOUT,
			  "no tungate handshake from the %s within %s: %s",
			  l->peer, secs, link_hint(l));
		return;
	}
	if (l->state != LS_UP)
		return;
	if (!l->paused && !l->rstopped && now - l->last_rx >= l->timeout_ms) {
		fmt_secs(secs, sizeof(secs), now - l->last_rx);
		link_down(l, -ETIMEDOUT,
			  "the %s has been silent for %s: the stream is gone",
			  l->peer, secs);
		return;
	}
	if (now - l->last_tx >= l->timeout_ms / 3)
		link_append(l, TP_F_KEEPALIVE, NULL, 0, GOODBYE_ROOM);
}

/* ------------------------------------------------------------- lifecycle */

static void link_defaults(struct tp_link *l, const struct tp_link_opts *o)
{
	l->role = o->role;
	l->peer = o->peer_name ? o->peer_name
			       : role_name(o->role == TP_ROLE_OUTSIDE
						   ? TP_ROLE_INSIDE
						   : TP_ROLE_OUTSIDE);
	l->timeout_ms = o->timeout_ms ? o->timeout_ms : TIMEOUT_DEFAULT_MS;
	l->rsize = o->rbuf_size ? o->rbuf_size : RBUF_DEFAULT;
	if (l->rsize < RBUF_MIN)
		l->rsize = RBUF_MIN;
	l->half = (o->wbuf_size ? o->wbuf_size : WBUF_DEFAULT) / 2;
	if (l->half < WBUF_MIN / 2)
		l->half = WBUF_MIN / 2;
	l->reserved = SIZE_MAX;
	if (o->session)
		memcpy(l->session, o->session, TP_SESSION_LEN);
	l->hello_flags = o->hello_flags;
	l->resumed = o->resumed;
	l->rest = o->rest;
	l->rest_len = o->rest_len;
}

/**
 * tp_link_new() - create a link over @in (read) and @out (write)
 * @loop:	event loop
 * @in:		readable stream, heap-allocated, owned by the link
 * @out:	writable stream (may equal @in), likewise
 * @ops:	callbacks
 * @opts:	settings; zero fields take defaults
 * @data:	caller's pointer, see tp_link_data()
 *
 * Return: the link, or NULL on allocation failure or an unknown role (the
 * streams then stay the caller's)
 */
struct tp_link *tp_link_new(uv_loop_t *loop, uv_stream_t *in, uv_stream_t *out,
			    const struct tp_link_ops *ops,
			    const struct tp_link_opts *opts, void *data)
{
	struct tp_link *l;

	if (opts->role != TP_ROLE_OUTSIDE && opts->role != TP_ROLE_INSIDE)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	link_defaults(l, opts);
	l->rbuf = malloc(l->rsize);
	l->wbuf = malloc(2 * l->half);
	if (!l->rbuf || !l->wbuf) {
		free(l->rbuf);
		free(l->wbuf);
		free(l);
		return NULL;
	}
	l->loop = loop;
	l->in = in;
	l->out = out;
	l->ops = *ops;
	l->data = data;
	l->fill = l->wbuf;
	l->grp = l;
	l->usable = true;
	in->data = out->data = l;
	l->wreq.data = l->sreq.data = l;
	uv_timer_init(loop, &l->timer);
	uv_check_init(loop, &l->check);
	uv_prepare_init(loop, &l->prepare);
	l->timer.data = l->check.data = l->prepare.data = l;
	return l;
}

/**
 * tp_link_start() - write magic and HELLO, start reading
 * @l:		link
 *
 * Return: 0 or -errno (-EALREADY when started before)
 */
int tp_link_start(struct tp_link *l)
{
	struct tp_hello h = {.proto = TP_PROTO_VERSION, .role = l->role};
	uint8_t payload[sizeof(h.version) + 4 + TP_SESSION_LEN + 1];
	unsigned tick = l->timeout_ms / 4 ? l->timeout_ms / 4 : 1;
	int n, r;

	if (l->state != LS_NEW || l->closed)
		return -EALREADY;
	if (l->resumed && l->rest_len > l->rsize)
		return -EMSGSIZE;
	if (l->resumed) {
		/* the handshake happened in the process that passed us the
		 * stream: carry on with what it had read */
		if (l->rest_len)
			memcpy(l->rbuf, l->rest, l->rest_len);
		l->rlen = l->rest_len;
		link_set_state(l, LS_UP);
	} else {
		snprintf(h.version, sizeof(h.version), "%s", TG_VERSION);
		memcpy(h.session, l->session, TP_SESSION_LEN);
		h.flags = l->hello_flags;
		n = tp_hello_encode(&h, payload, sizeof(payload));
		if (n < 0)
			return n;
		memcpy(l->fill, TP_MAGIC, TP_MAGIC_LEN);
		l->fill_len = TP_MAGIC_LEN;
		l->st.bytes_out += TP_MAGIC_LEN;
		link_append(l, TP_F_HELLO, payload, (size_t)n, GOODBYE_ROOM);
		link_set_state(l, LS_MAGIC);
	}
	l->rest = NULL;

	uv_update_time(l->loop);
	l->start_ms = l->last_rx = l->last_tx = uv_now(l->loop);
	if (!l->paused) {
		r = uv_read_start(l->in, alloc_cb, read_cb);
		if (r < 0)
			return r;
	}
	uv_timer_start(&l->timer, timer_cb, tick, tick);
	uv_check_start(&l->check, check_cb);
	uv_prepare_start(&l->prepare, prepare_cb);
	/* they only act while the streams and timer keep the loop alive */
	uv_unref((uv_handle_t *)&l->check);
	uv_unref((uv_handle_t *)&l->prepare);
	if (l->rlen)
		link_parse(l);
	return 0;
}

void *tp_link_data(const struct tp_link *l)
{
	return l->data;
}

/**
 * tp_link_read_pause() - stop (true) or resume (false) reading
 * @l:		link
 * @pause:	what to do
 *
 * Frames already in the read buffer are still delivered. While paused
 * the peer's silence is not held against it.
 */
static void link_pause_one(struct tp_link *l, bool pause)
{
	if (l->closed || l->down || pause == l->paused)
		return;
	l->paused = pause;
	if (l->state == LS_NEW || l->rstopped)
		return;
	if (pause) {
		uv_read_stop(l->in);
		return;
	}
	l->last_rx = uv_now(l->loop);
	uv_read_start(l->in, alloc_cb, read_cb);
}

void tp_link_read_pause(struct tp_link *l, bool pause)
{
	link_pause_one(l, pause);
	for (unsigned i = 0; i < l->n_stripes; i++)
		link_pause_one(l->stripe[i], pause);
}

/**
 * tp_link_hold() - stop (true) or restart (false) the handshake clock
 * @l:		link
 * @hold:	true while the transport waits for the user (a passphrase,
 *		a host key question): that time is not the peer's
 */
void tp_link_hold(struct tp_link *l, bool hold)
{
	l->held = hold;
	l->start_ms = uv_now(l->loop);
}

/**
 * tp_link_detach() - the stream as another process would take it over,
 * from hello_cb
 * @l:		link, in its hello_cb
 * @fd_in:	set to the fd the link reads
 * @fd_out:	set to the fd it writes
 * @rest:	set to the bytes read after the peer's HELLO, not yet
 *		delivered; valid until hello_cb returns
 * @rest_len:	their number
 *
 * Nothing changes: once the other process has the fds and the bytes, the
 * caller closes the link (tp_link_close(), still in hello_cb); if it
 * refused them, the link carries on.
 *
 * Return: 0, -EAGAIN while our own handshake is not yet written out
 * completely, -EBADF for a stream that has no fd of its own
 */
int tp_link_detach(struct tp_link *l, int *fd_in, int *fd_out,
		   const uint8_t **rest, size_t *rest_len)
{
	uv_os_fd_t in, out;

	if (l->closed || l->down || l->state != LS_UP)
		return -EBADF;
	if (l->fill_len || uv_stream_get_write_queue_size(l->out))
		return -EAGAIN;
	if (uv_fileno((uv_handle_t *)l->in, &in) < 0 ||
	    uv_fileno((uv_handle_t *)l->out, &out) < 0)
		return -EBADF;
	*fd_in = in;
	*fd_out = out;
	*rest = l->rbuf + l->rpos;
	*rest_len = l->rlen - l->rpos;
	return 0;
}

/** tp_link_goodbye_received() - true once the peer said GOODBYE or ERROR */
bool tp_link_goodbye_received(const struct tp_link *l)
{
	return l->peer_goodbye;
}

/**
 * tp_link_goodbye() - send GOODBYE (or ERROR if @error) with @text, flush,
 * then shut the write side down
 * @l:		link
 * @error:	send ERROR rather than GOODBYE
 * @text:	one line for the peer (cut to 512 bytes), or NULL
 *
 * down_cb follows when the peer closes, or after two seconds. Nothing can
 * be sent afterwards. Does nothing once the link is down.
 */
void tp_link_goodbye(struct tp_link *l, bool error, const char *text)
{
	size_t len = text ? strnlen(text, GOODBYE_TEXT_MAX) : 0;

	if (l->closed || l->down || l->goodbye || l->state == LS_NEW)
		return;
	if (!l->wfailed && l->n_stripes && l->cur != l) {
		uint8_t seq[4];

		/* in its place in the count, on the first stream */
		tg_put_be32(seq, l->tx_seq);
		link_append(l, TP_F_SEQ, seq, sizeof(seq), 0);
		l->cur = l;
	}
	if (!l->wfailed)
		link_append(l, error ? TP_F_ERROR : TP_F_GOODBYE, text, len, 0);
	l->goodbye = true;
	uv_timer_start(&l->timer, timer_cb, GOODBYE_GRACE_MS, 0);
}

int tp_link_stripe_stats(const struct tp_link *l, unsigned n,
			 struct tp_link_stats *s)
{
	if (n > l->n_stripes)
		return -ENOENT;
	*s = n ? l->stripe[n - 1]->st : l->st;
	return 0;
}

void tp_link_stats(const struct tp_link *l, struct tp_link_stats *s)
{
	*s = l->st;
	for (unsigned i = 0; i < l->n_stripes; i++) {
		const struct tp_link_stats *m = &l->stripe[i]->st;

		s->frames_in += m->frames_in;
		s->frames_out += m->frames_out;
		s->bytes_in += m->bytes_in;
		s->bytes_out += m->bytes_out;
		s->bad_frames += m->bad_frames;
		s->reads += m->reads;
		s->writes += m->writes;
	}
}

static void close_cb(uv_handle_t *h)
{
	struct tp_link *l = h->data;

	if (h == (uv_handle_t *)l->in || h == (uv_handle_t *)l->out)
		free(h);
	if (--l->handles)
		return;
	free(l->rbuf);
	free(l->wbuf);
	free(l);
}

/**
 * tp_link_close() - close both streams and the timer; @l is freed once
 * libuv has closed them. No callback runs after this call; safe from
 * inside any of the link's callbacks.
 * @l:		link, may be NULL
 */
void tp_link_close(struct tp_link *l)
{
	uv_handle_t *hs[5];
	size_t n = 0;

	if (!l || l->closed)
		return;
	for (unsigned i = 0; i < l->n_stripes; i++)
		tp_link_close(l->stripe[i]);
	hs[n++] = (uv_handle_t *)l->in;
	if (l->out != l->in)
		hs[n++] = (uv_handle_t *)l->out;
	hs[n++] = (uv_handle_t *)&l->timer;
	hs[n++] = (uv_handle_t *)&l->check;
	hs[n++] = (uv_handle_t *)&l->prepare;
	l->closed = true;
	l->down = true;
	l->handles = (unsigned)n;
	for (size_t i = 0; i < n; i++)
		uv_close(hs[i], close_cb);
}

/**
 * tp_link_add_stripe() - carry @l's frames over one more stream as well
 * @l:		the link, up, not a stripe itself
 * @in:		readable stream, the link's from now on
 * @out:	writable stream (may equal @in), likewise
 * @resumed:	the process that passed us the stream did its handshake
 * @rest:	what it had read past the HELLO (copied)
 * @rest_len:	their number
 *
 * Return: 0 (the stripe may still fail: it is then dropped, or takes
 * the link down once it carried frames), -EPIPE, -ENOSPC, -ENOMEM (the
 * streams stay the caller's)
 */
int tp_link_add_stripe(struct tp_link *l, uv_stream_t *in, uv_stream_t *out,
		       bool resumed, const uint8_t *rest, size_t rest_len)
{
	struct tp_link_opts o = {
		.role = l->role,
		.timeout_ms = l->timeout_ms,
		.wbuf_size = 2 * l->half,
		.rbuf_size = l->rsize,
		.peer_name = l->peer,
		.session = l->session,
		.hello_flags = l->hello_flags | TP_HELLO_STRIPE,
		.resumed = resumed,
		.rest = rest,
		.rest_len = rest_len,
	};
	struct tp_link *m;
	int r;

	if (l->grp != l || l->closed || l->down || l->goodbye ||
	    l->state != LS_UP)
		return -EPIPE;
	if (l->n_stripes >= TP_STRIPES_MAX - 1)
		return -ENOSPC;
	m = tp_link_new(l->loop, in, out, &l->ops, &o, l->data);
	if (!m)
		return -ENOMEM;
	m->grp = l;
	m->usable = resumed;
	m->paused = l->paused;
	m->stripe_no = l->n_stripes + 1;
	l->stripe[l->n_stripes++] = m;
	r = tp_link_start(m);
	if (r < 0) {
		link_down(m, r, "cannot start: %s", uv_strerror(r));
		return 0;
	}
	/* the outside uses the stripe once it hears from us on it */
	if (resumed)
		link_append(m, TP_F_KEEPALIVE, NULL, 0, GOODBYE_ROOM);
	return 0;
}

unsigned tp_link_stripes(const struct tp_link *l)
{
	unsigned n = 1;

	for (unsigned i = 0; i < l->n_stripes; i++)
		n += l->stripe[i]->usable && !l->stripe[i]->down;
	return n;
}
