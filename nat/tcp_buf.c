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
 *
 * Memory budget: all rings of all flows together hold at most
 * --max-buffer bytes (nat_opts.max_buf_bytes, default 256 MiB; without it
 * 4096 flows could take 16 MiB each). The ring for the inside starts at
 * TCP_RING_MIN and doubles, up to its maximum, each time it fills (the
 * inside is slower than the destination), if the budget has room; when it
 * cannot grow, reading from the destination waits, as for a full ring
 * (growth leaves two minimal rings free, for a new connection). A
 * ring asks for its memory when first used; if its full capacity does not
 * fit what is left, it takes half of what is left (so that the next flow
 * finds some too), at least TCP_RING_MIN; if not even that fits, none:
 * - the ring for the inside: reading from the destination waits for room
 *   as it does when the ring is full; a smaller ring means a smaller burst
 *   in flight. With no ring at all the flow cannot carry the destination's
 *   bytes and is reset (tcp_sock.c).
 * - the ring for the socket: bytes the socket did not take at once are
 *   not acknowledged, and the inside sends them again (retransmission);
 *   the window it was offered may exceed the smaller ring, which costs
 *   retransmissions, never data.
 * New connections are refused with a RST while less than two minimal
 * rings are left (tcp.c), so flows already open rarely meet a refusal.
 * Each cut or refusal counts in tcp_buf_short; the bytes held are
 * tcp_buf_bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat/tcp_conn.h"

/** nat_tcp_buf_left() - bytes of the budget not given to a ring */
size_t nat_tcp_buf_left(const struct nat *n)
{
	size_t used = (size_t)n->st.tcp_buf_bytes;

	return used < n->opts.max_buf_bytes ? n->opts.max_buf_bytes - used : 0;
}

/**
 * nat_tcp_ring_alloc() - give @r its memory, if it has none yet, within the
 * budget: @r->cap may shrink to what is left
 * @n:		NAT, whose budget pays
 * @r:		ring, empty
 *
 * Return: 0 or -ENOMEM
 */
int nat_tcp_ring_alloc(struct nat *n, struct tcp_ring *r)
{
	size_t left = nat_tcp_buf_left(n);
	uint32_t min = r->cap < TCP_RING_MIN ? r->cap : TCP_RING_MIN;

	if (r->buf)
		return 0;
	if (left < r->cap) {
		n->st.tcp_buf_short++;
		if (left < min)
			return -ENOMEM;
		r->cap = (uint32_t)(left / 2 < min ? min : left / 2);
	}
	r->buf = malloc(r->cap);
	if (!r->buf)
		return -ENOMEM;
	n->st.tcp_buf_bytes += r->cap;
	return 0;
}

/**
 * nat_tcp_ring_grow() - double @r's capacity, up to @r->max, within the budget
 * @n:		NAT, whose budget pays
 * @r:		ring with memory; its data moves to the new memory, head at 0
 *
 * Return: 0, -ENOSPC (at its maximum), or -ENOMEM (budget or malloc)
 */
int nat_tcp_ring_grow(struct nat *n, struct tcp_ring *r)
{
	uint32_t cap = r->cap * 2 > r->max ? r->max : r->cap * 2;
	uint8_t *p;

	if (!r->buf || cap <= r->cap)
		return -ENOSPC;
	/* growing never takes the last two minimal rings: a new flow's */
	if (nat_tcp_buf_left(n) < cap - r->cap + 2 * TCP_RING_MIN) {
		n->st.tcp_buf_short++;
		return -ENOMEM;
	}
	p = malloc(cap);
	if (!p)
		return -ENOMEM;
	nat_tcp_ring_get(r, 0, p, r->len);
	free(r->buf);
	n->st.tcp_buf_bytes += cap - r->cap;
	r->buf = p;
	r->cap = cap;
	r->head = 0;
	return 0;
}

void nat_tcp_ring_free(struct nat *n, struct tcp_ring *r)
{
	if (r->buf)
		n->st.tcp_buf_bytes -= r->cap;
	free(r->buf);
	r->buf = NULL;
	r->head = r->len = 0;
}

/**
 * nat_tcp_ring_tail() - the free space after the data, up to the wrap
 * @r:		ring, with memory
 * @room:	set to its length (0 if the ring is full)
 *
 * Return: where the next byte goes
 */
uint8_t *nat_tcp_ring_tail(struct tcp_ring *r, uint32_t *room)
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

/** nat_tcp_ring_commit() - @n bytes were written at the tail */
void nat_tcp_ring_commit(struct tcp_ring *r, uint32_t n)
{
	r->len += n;
}

/** nat_tcp_ring_consume() - drop @n bytes from the head */
void nat_tcp_ring_consume(struct tcp_ring *r, uint32_t n)
{
	r->len -= n;
	r->head += n;
	if (r->head >= r->cap)
		r->head -= r->cap;
	if (!r->len)
		r->head = 0;
}

/**
 * nat_tcp_ring_put() - copy up to @n bytes in at the tail
 * Return: how many fitted
 */
uint32_t nat_tcp_ring_put(struct tcp_ring *r, const uint8_t *p, uint32_t n)
{
	uint32_t done = 0, room;
	uint8_t *t;

	if (n > tcp_ring_room(r))
		n = tcp_ring_room(r);
	while (done < n) {
		t = nat_tcp_ring_tail(r, &room);
		if (room > n - done)
			room = n - done;
		memcpy(t, p + done, room);
		nat_tcp_ring_commit(r, room);
		done += room;
	}
	return done;
}

/** nat_tcp_ring_get() - copy @n bytes out, starting @off bytes past the head */
void nat_tcp_ring_get(const struct tcp_ring *r, uint32_t off, uint8_t *dst,
		      uint32_t n)
{
	uv_buf_t b[2];
	unsigned k = nat_tcp_ring_bufs(r, off, n, b);

	for (unsigned i = 0; i < k; i++) {
		memcpy(dst, b[i].base, b[i].len);
		dst += b[i].len;
	}
}

/**
 * nat_tcp_ring_bufs() - describe @n bytes starting @off past the head
 * @r:		ring; @off + @n must not exceed its length
 * @off:	offset from the head
 * @n:		length
 * @b:		the pieces
 *
 * Return: the number of pieces, 0 to 2
 */
unsigned nat_tcp_ring_bufs(const struct tcp_ring *r, uint32_t off, uint32_t n,
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
