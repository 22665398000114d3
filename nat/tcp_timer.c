/* SPDX-License-Identifier: MIT */
/*
 * tcp_timer.c - one timer for every TCP flow: a min-heap of deadlines.
 *
 * Theory of operation: a flow needs at most one deadline at a time (the
 * SYN-ACK, retransmission or window probe timer: which one follows from
 * its state when it fires, in tcp_out.c). Flows with a deadline sit in a
 * binary heap keyed on when the heap will next look at them (hkey), and
 * one uv_timer is set for the top.
 *
 * Deadlines move later on almost every ACK (the retransmission timer
 * restarts), so moving one later only writes f->due: the flow keeps its
 * place, and when its old key comes up it is put back with the new one.
 * Clearing a deadline is the same (due = 0, dropped when it comes up).
 * Only a deadline earlier than the key sifts the flow up: O(log n), rare.
 * A closing flow leaves the heap at once, since its slot will be reused.
 */
#include <errno.h>
#include <stdlib.h>

#include "nat/tcp_conn.h"

static void timer_cb(uv_timer_t *h);

static void heap_put(struct nat_tcp *t, uint32_t pos, uint32_t idx)
{
	t->heap[pos] = idx;
	t->f[idx].hpos = pos;
}

static uint64_t heap_key(const struct nat_tcp *t, uint32_t pos)
{
	return t->f[t->heap[pos]].hkey;
}

static void sift_up(struct nat_tcp *t, uint32_t pos)
{
	uint32_t idx = t->heap[pos], parent;

	while (pos > 0) {
		parent = (pos - 1) / 2;
		if (heap_key(t, parent) <= t->f[idx].hkey)
			break;
		heap_put(t, pos, t->heap[parent]);
		pos = parent;
	}
	heap_put(t, pos, idx);
}

static void sift_down(struct nat_tcp *t, uint32_t pos)
{
	uint32_t idx = t->heap[pos], c;

	for (;;) {
		c = 2 * pos + 1;
		if (c >= t->heap_len)
			break;
		if (c + 1 < t->heap_len && heap_key(t, c + 1) < heap_key(t, c))
			c++;
		if (heap_key(t, c) >= t->f[idx].hkey)
			break;
		heap_put(t, pos, t->heap[c]);
		pos = c;
	}
	heap_put(t, pos, idx);
}

static void heap_remove(struct nat_tcp *t, uint32_t pos)
{
	uint32_t last = t->heap[--t->heap_len];

	t->f[t->heap[pos]].hpos = FLOW_NONE;
	if (pos == t->heap_len)
		return;
	heap_put(t, pos, last);
	sift_down(t, pos);
	sift_up(t, t->f[last].hpos);
}

/* set the uv_timer for the heap's top, unless it will fire earlier */
static void arm(struct nat *n)
{
	struct nat_tcp *t = n->tcp;
	uint64_t key, now;

	if (n->closing || !t->heap_len)
		return;
	key = heap_key(t, 0);
	if (uv_is_active((uv_handle_t *)&t->timer) && t->timer_at <= key)
		return;
	now = uv_now(n->loop);
	t->timer_at = key;
	uv_timer_start(&t->timer, timer_cb, key > now ? key - now : 0, 0);
}

static void timer_cb(uv_timer_t *h)
{
	struct nat_tcp *t = nat_container_of(h, struct nat_tcp, timer);
	struct nat *n = h->data;
	uint64_t now = uv_now(n->loop);
	struct tcp_flow *f;

	while (t->heap_len && heap_key(t, 0) <= now && !n->closing) {
		f = &t->f[t->heap[0]];
		if (f->due && f->due > now) {
			f->hkey = f->due;
			sift_down(t, 0);
			continue;
		}
		heap_remove(t, 0);
		if (!f->due)
			continue;
		f->due = 0;
		nat_tcp_on_timer(f);
	}
	arm(n);
}

/**
 * nat_tcp_timer_init() - the heap and the timer of @n's TCP table
 * Return: 0 or -ENOMEM
 */
int nat_tcp_timer_init(struct nat *n)
{
	struct nat_tcp *t = n->tcp;

	t->heap = calloc(t->tab.n_slots, sizeof(*t->heap));
	if (!t->heap)
		return -ENOMEM;
	uv_timer_init(n->loop, &t->timer);
	t->timer.data = n;
	return 0;
}

/**
 * nat_tcp_timer_set() - @f's deadline becomes @due (ms, loop time), 0 for none
 * @f:		flow
 * @due:	deadline
 */
void nat_tcp_timer_set(struct tcp_flow *f, uint64_t due)
{
	struct nat_tcp *t = f->n->tcp;

	if (f->state == TS_CLOSED)
		return;
	f->due = due;
	if (!due)
		return;
	if (f->hpos == FLOW_NONE) {
		f->hkey = due;
		heap_put(t, t->heap_len++, f->idx);
		sift_up(t, f->hpos);
	} else if (due < f->hkey) {
		f->hkey = due;
		sift_up(t, f->hpos);
	} else {
		return;
	}
	arm(f->n);
}

/** nat_tcp_timer_del() - take @f out of the heap: its slot is about to go */
void nat_tcp_timer_del(struct tcp_flow *f)
{
	f->due = 0;
	if (f->hpos != FLOW_NONE)
		heap_remove(f->n->tcp, f->hpos);
}

static void timer_close_cb(uv_handle_t *h)
{
	nat_close_done(h->data);
}

void nat_tcp_timer_close(struct nat *n)
{
	nat_close_start(n, (uv_handle_t *)&n->tcp->timer, timer_close_cb);
}
