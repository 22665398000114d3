// SPDX-License-Identifier: MIT
/*
 * stream.c - DNS over a byte stream (TCP), RFC 1035 4.2.2 and RFC 7766.
 *
 * Theory of operation: each message is preceded by its length in two
 * bytes. A connection reads into one buffer that holds the largest frame
 * (2 + 65535 bytes), so a frame is always whole in it; complete frames
 * become dns_query() calls, and their answers are written back as they
 * come, in any order (RFC 7766 6.2.1.1: clients match them by id). A
 * connection has at most CONN_MAX_INFLIGHT queries and CONN_MAX_WRITES
 * answers unwritten; beyond that it stops reading, which pushes back on
 * a client that pipelines without reading. A zero length or a message
 * too short for a header is garbage: the connection is closed. At the
 * peer's end of stream the answers still owed are written, then it is
 * closed. dns_proxy_close() closes every connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_internal.h"

#define CONN_MAX_INFLIGHT 64
#define CONN_MAX_WRITES 64

struct dns_conn {
	struct dns_list link; /* the proxy's connections */
	struct dns_proxy *p;
	uv_stream_t *s;
	size_t used;
	unsigned inflight, writes;
	bool eof, closing, reading;
	uint8_t buf[2 + DNS_MSG_MAX];
};

struct conn_write {
	uv_write_t req;
	uint8_t data[];
};

static void close_cb(uv_handle_t *h)
{
	struct dns_conn *c = h->data;
	struct dns_proxy *p = c->p;

	free(h);
	free(c);
	dns_proxy_unhold(p);
}

static void conn_close(struct dns_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	dns_list_del(&c->link);
	dns_cancel(c->p, c);
	c->inflight = 0;
	uv_close((uv_handle_t *)c->s, close_cb);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct dns_conn *c = h->data;

	buf->base = (char *)c->buf + c->used;
	buf->len = sizeof(c->buf) - c->used;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void update_reading(struct dns_conn *c)
{
	bool want = !c->eof && !c->closing && c->inflight < CONN_MAX_INFLIGHT &&
		    c->writes < CONN_MAX_WRITES && c->used < sizeof(c->buf);

	if (want && !c->reading)
		c->reading = uv_read_start(c->s, alloc_cb, read_cb) == 0;
	else if (!want && c->reading && !c->closing)
		c->reading = uv_read_stop(c->s) != 0;
}

static void maybe_close(struct dns_conn *c)
{
	if (c->eof && c->inflight == 0 && c->writes == 0)
		conn_close(c);
}

static void answer_cb(void *arg, const uint8_t *msg, size_t len);

/* turn the whole frames in the buffer into queries, as far as allowed */
static void consume(struct dns_conn *c)
{
	size_t off = 0;

	while (!c->closing && c->inflight < CONN_MAX_INFLIGHT &&
	       c->writes < CONN_MAX_WRITES && c->used - off >= 2) {
		size_t len = tg_be16(c->buf + off);

		if (c->used - off < 2 + len)
			break;
		if (len == 0 || dns_query(c->p, c->buf + off + 2, len, false,
					  answer_cb, c)) {
			conn_close(c);
			return;
		}
		c->inflight++;
		off += 2 + len;
	}
	if (c->closing)
		return;
	memmove(c->buf, c->buf + off, c->used - off);
	c->used -= off;
	update_reading(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct dns_conn *c = s->data;

	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		/* end of stream, or an error: no more queries either way */
		c->eof = true;
		update_reading(c);
		maybe_close(c);
		return;
	}
	c->used += (size_t)nread;
	consume(c);
}

static void write_cb(uv_write_t *req, int status)
{
	struct conn_write *w = dns_entry(req, struct conn_write, req);
	struct dns_conn *c = req->handle->data;

	free(w);
	c->writes--;
	if (status < 0) {
		conn_close(c);
		return;
	}
	consume(c);
	maybe_close(c);
}

static void answer_cb(void *arg, const uint8_t *msg, size_t len)
{
	struct dns_conn *c = arg;
	struct conn_write *w = malloc(sizeof(*w) + 2 + len);
	uv_buf_t b;

	c->inflight--;
	if (!w) {
		conn_close(c);
		return;
	}
	tg_put_be16(w->data, (uint16_t)len);
	memcpy(w->data + 2, msg, len);
	b = uv_buf_init((char *)w->data, (unsigned)(2 + len));
	if (uv_write(&w->req, c->s, &b, 1, write_cb)) {
		free(w);
		conn_close(c);
		return;
	}
	c->writes++;
	consume(c);
}

/**
 * dns_serve_stream() - serve DNS over TCP framing on @s
 * @p:	the proxy
 * @s:	a connected stream from malloc(), the proxy's from now on
 *
 * Return: 0, or -errno and @s is still the caller's
 */
int dns_serve_stream(struct dns_proxy *p, uv_stream_t *s)
{
	struct dns_conn *c;
	int rc;

	if (p->closing)
		return -ESHUTDOWN;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->p = p;
	c->s = s;
	s->data = c;
	rc = uv_read_start(s, alloc_cb, read_cb);
	if (rc) {
		free(c);
		return rc;
	}
	c->reading = true;
	dns_list_add_tail(&p->conns, &c->link);
	p->holds++;
	return 0;
}

/* dns_proxy_close(): every connection goes */
void dns_stream_close_all(struct dns_proxy *p)
{
	while (!dns_list_empty(&p->conns))
		conn_close(dns_entry(p->conns.next, struct dns_conn, link));
}
