/* SPDX-License-Identifier: MIT */
/*
 * tcp_buf.c - the byte rings that hold a TCP flow's data in each direction.
 *
 * Theory of operation: a ring has a fixed capacity, set when its flow is
 * made, and gets its memory only when first used: most flows move a few
 * kilobytes and never touch most of it (untouched pages cost nothing), and
 * the "to the socket" ring is needed only when the socket does not take
 * data at once. Data is appended at the tail and consumed at the head;
 * readers see it as at most two pieces (before and after the wrap), which
 * suits uv_write() and the copy into a segment alike. An empty ring starts
 * over at offset 0, so that reads into it get the longest piece.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_conn.h"

/**
 * tcp_ring_alloc() - give @r its memory, if it has none yet
 * Return: 0 or -ENOMEM
 */
int tcp_ring_alloc(struct tcp_ring *r)
{
	if (r->buf)
		return 0;
	r->buf = malloc(r->cap);
	return r->buf ? 0 : -ENOMEM;
}

void tcp_ring_free(struct tcp_ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->head = r->len = 0;
}

/**
 * tcp_ring_tail() - the free space after the data, up to the wrap
 * @r:		ring, with memory
 * @room:	set to its length (0 if the ring is full)
 *
 * Return: where the next byte goes
 */
uint8_t *tcp_ring_tail(struct tcp_ring *r, uint32_t *room)
{
	uint32_t tail = r->head + r->len;

	if (tail >= r->cap) {
		tail -= r->cap;
		*room = r->head - tail;
	} else {
		*room = r->cap - tail;
	}
	return r->buf + tail;
}

/** tcp_ring_commit() - @n bytes were written at the tail */
void tcp_ring_commit(struct tcp_ring *r, uint32_t n)
{
	r->len += n;
}

/** tcp_ring_consume() - drop @n bytes from the head */
void tcp_ring_consume(struct tcp_ring *r, uint32_t n)
{
	r->len -= n;
	r->head += n;
	if (r->head >= r->cap)
		r->head -= r->cap;
	if (!r->len)
		r->head = 0;
}

/**
 * tcp_ring_put() - copy up to @n bytes in at the tail
 * Return: how many fitted
 */
uint32_t tcp_ring_put(struct tcp_ring *r, const uint8_t *p, uint32_t n)
{
	uint32_t done = 0, room;
	uint8_t *t;

	if (n > tcp_ring_room(r))
		n = tcp_ring_room(r);
	while (done < n) {
		t = tcp_ring_tail(r, &room);
		if (room > n - done)
			room = n - done;
		memcpy(t, p + done, room);
		tcp_ring_commit(r, room);
		done += room;
	}
	return done;
}

/** tcp_ring_get() - copy @n bytes out, starting @off bytes past the head */
void tcp_ring_get(const struct tcp_ring *r, uint32_t off, uint8_t *dst,
		  uint32_t n)
{
	uv_buf_t b[2];
	unsigned k = tcp_ring_bufs(r, off, n, b);

	for (unsigned i = 0; i < k; i++) {
		memcpy(dst, b[i].base, b[i].len);
		dst += b[i].len;
	}
}

/**
 * tcp_ring_bufs() - describe @n bytes starting @off past the head
 * @r:		ring; @off + @n must not exceed its length
 * @off:	offset from the head
 * @n:		length
 * @b:		the pieces
 *
 * Return: the number of pieces, 0 to 2
 */
unsigned tcp_ring_bufs(const struct tcp_ring *r, uint32_t off, uint32_t n,
		       uv_buf_t b[2])
{
	uint32_t start = r->head + off, first;

	if (!n)
		return 0;
	if (start >= r->cap)
		start -= r->cap;
	first = r->cap - start;
	if (first >= n) {
		b[0] = uv_buf_init((char *)r->buf + start, n);
		return 1;
	}
	b[0] = uv_buf_init((char *)r->buf + start, first);
	b[1] = uv_buf_init((char *)r->buf, n - first);
	return 2;
}
