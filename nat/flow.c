/* SPDX-License-Identifier: MIT */
/*
 * flow.c - a fixed-size flow table.
 *
 * Theory of operation: all memory is allocated by nat_flow_table_init(). Slots
 * are chained three ways by index: a hash chain per bucket (lookup by the
 * full key), two doubly linked LRU lists of live slots, oldest first (new
 * and assured flows: expiry and eviction look only at the heads,
 * O(expired)), and a free list that reuses the LRU "next" link. The hash is keyed with a random
 * seed, so that an inside that chooses its ports cannot aim at one bucket.
 *
 * A slot is unhashed as soon as its flow starts closing, so a new packet
 * with the same key makes a new flow, but it returns to the free list only
 * when the owner says its handles are closed; the spare slots beyond
 * max_live hold such closing flows.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "nat/flow.h"

static uint32_t flow_hash(const struct flow_table *t, const struct flow_key *k)
{
	uint64_t w[sizeof(*k) / 8], h = t->seed;

	memcpy(w, k, sizeof(w));
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		h ^= w[i];
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	h *= 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(h >> 32) & t->mask;
}

int nat_flow_table_init(struct flow_table *t, uint32_t max_live,
			uint32_t n_slots, uint32_t n_buckets)
{
	uint32_t nb = 1;

	_Static_assert(sizeof(struct flow_key) % 8 == 0, "flow_key padding");
	memset(t, 0, sizeof(*t));
	if (!max_live || n_slots < max_live || n_slots >= FLOW_NONE / 2)
		return -EINVAL;
	if (!n_buckets)
		n_buckets = 2 * n_slots;
	while (nb < n_buckets)
		nb <<= 1;

	t->nodes = calloc(n_slots, sizeof(*t->nodes));
	t->buckets = malloc(nb * sizeof(*t->buckets));
	if (!t->nodes || !t->buckets) {
		nat_flow_table_free(t);
		return -ENOMEM;
	}
	memset(t->buckets, 0xff, nb * sizeof(*t->buckets));
	t->n_slots = n_slots;
	t->mask = nb - 1;
	t->max_live = max_live;
	for (int l = 0; l < FLOW_LRUS; l++)
		t->lru_head[l] = t->lru_tail[l] = FLOW_NONE;
	for (uint32_t i = 0; i < n_slots; i++)
		t->nodes[i].next = i + 1 < n_slots ? i + 1 : FLOW_NONE;
	t->free_head = 0;
	if (uv_random(NULL, NULL, &t->seed, sizeof(t->seed), 0, NULL))
		t->seed = uv_hrtime() ^ (uintptr_t)t;
	return 0;
}

void nat_flow_table_free(struct flow_table *t)
{
	free(t->nodes);
	free(t->buckets);
	t->nodes = NULL;
	t->buckets = NULL;
}

void nat_flow_key_init(struct flow_key *k, uint8_t proto, int family,
		       const uint8_t *src, uint16_t sport, const uint8_t *dst,
		       uint16_t dport)
{
	size_t alen = family == AF_INET ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->proto = proto;
	k->family = (uint8_t)family;
	k->sport = sport;
	k->dport = dport;
	memcpy(k->src, src, alen);
	memcpy(k->dst, dst, alen);
}

uint32_t nat_flow_lookup(const struct flow_table *t, const struct flow_key *k)
{
	uint32_t i = t->buckets[flow_hash(t, k)];

	while (i != FLOW_NONE && memcmp(&t->nodes[i].key, k, sizeof(*k)))
		i = t->nodes[i].hnext;
	return i;
}

static void lru_unlink(struct flow_table *t, uint32_t i)
{
	struct flow_node *f = &t->nodes[i];

	if (f->prev != FLOW_NONE)
		t->nodes[f->prev].next = f->next;
	else
		t->lru_head[f->lru] = f->next;
	if (f->next != FLOW_NONE)
		t->nodes[f->next].prev = f->prev;
	else
		t->lru_tail[f->lru] = f->prev;
}

/* @i becomes the newest of its list, f->lru */
static void lru_append(struct flow_table *t, uint32_t i)
{
	struct flow_node *f = &t->nodes[i];
	uint32_t *tail = &t->lru_tail[f->lru];

	f->prev = *tail;
	f->next = FLOW_NONE;
	if (*tail != FLOW_NONE)
		t->nodes[*tail].next = i;
	else
		t->lru_head[f->lru] = i;
	*tail = i;
}

uint32_t nat_flow_alloc(struct flow_table *t, const struct flow_key *k,
			uint64_t now)
{
	uint32_t i = t->free_head, b;
	struct flow_node *f;

	if (flow_full(t))
		return FLOW_NONE;
	f = &t->nodes[i];
	assert(f->state == FLOW_FREE);
	t->free_head = f->next;
	f->key = *k;
	f->last = f->created = now;
	f->bytes_in = f->bytes_out = f->pkts_in = f->pkts_out = 0;
	f->state = FLOW_LIVE;
	f->lru = FLOW_LRU_NEW;
	b = flow_hash(t, k);
	f->hnext = t->buckets[b];
	t->buckets[b] = i;
	lru_append(t, i);
	t->live++;
	return i;
}

void nat_flow_touch(struct flow_table *t, uint32_t i, uint64_t now)
{
	assert(t->nodes[i].state == FLOW_LIVE);
	t->nodes[i].last = now;
	if (t->lru_tail[t->nodes[i].lru] == i)
		return;
	lru_unlink(t, i);
	lru_append(t, i);
}

void nat_flow_assure(struct flow_table *t, uint32_t i)
{
	struct flow_node *f = &t->nodes[i];

	assert(f->state == FLOW_LIVE);
	if (f->lru == FLOW_LRU_ASSURED)
		return;
	lru_unlink(t, i);
	f->lru = FLOW_LRU_ASSURED;
	lru_append(t, i);
}

void nat_flow_unhash(struct flow_table *t, uint32_t i)
{
	struct flow_node *f = &t->nodes[i];
	uint32_t *pp = &t->buckets[flow_hash(t, &f->key)];

	if (f->state != FLOW_LIVE)
		return;
	/* a LIVE slot is on its hash chain */
	while (*pp != i) {
		assert(*pp != FLOW_NONE);
		pp = &t->nodes[*pp].hnext;
	}
	*pp = f->hnext;
	lru_unlink(t, i);
	f->state = FLOW_CLOSING;
	assert(t->live > 0);
	t->live--;
}

void nat_flow_free(struct flow_table *t, uint32_t i)
{
	struct flow_node *f = &t->nodes[i];

	if (f->state == FLOW_FREE)
		return;
	nat_flow_unhash(t, i);
	/* LIVE or CLOSING -> FREE, always by way of CLOSING */
	assert(f->state == FLOW_CLOSING);
	f->state = FLOW_FREE;
	f->next = t->free_head;
	t->free_head = i;
}
