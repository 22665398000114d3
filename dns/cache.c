// SPDX-License-Identifier: MIT
/*
 * cache.c - answers kept for their TTL, bounded in entries and bytes.
 *
 * Theory of operation: a record (struct dns_rec) is one answer in wire
 * form, keyed by its own lowercase question, so the key costs nothing
 * extra. Records sit in a chained hash table of a power-of-two size fixed
 * at init, and on an LRU list: a hit moves a record to the tail, and a
 * new record evicts from the head until both bounds hold. A record
 * expires ttl_s seconds after it arrived (the smallest TTL of its answer,
 * or its negative TTL); expired records are dropped when met. Records are
 * reference counted: a request being answered keeps its record alive
 * even if the cache lets go of it meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_internal.h"

static size_t rec_size(const struct dns_rec *r)
{
	return sizeof(*r) + r->len;
}

/**
 * dns_rec_new() - a record holding a copy of @wire
 * @wire:	the answer: id 0, the lowercase question, no OPT record
 * @len:	its length
 * @qlen:	length of the question's name
 * @ttl_s:	how long the cache may keep it (0: not at all)
 *
 * Return: the record with one reference, or NULL
 */
struct dns_rec *dns_rec_new(const uint8_t *wire, size_t len, uint8_t qlen,
			    uint32_t ttl_s)
{
	struct dns_rec *r;

	if (len > DNS_MSG_MAX || len < DNS_HDR + (size_t)qlen + 4)
		return NULL;
	r = malloc(sizeof(*r) + len);
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	dns_list_init(&r->lru);
	r->refs = 1;
	r->ttl_s = ttl_s;
	r->qlen = qlen;
	r->len = (uint16_t)len;
	memcpy(r->wire, wire, len);
	return r;
}

void dns_rec_ref(struct dns_rec *r)
{
	r->refs++;
}

void dns_rec_unref(struct dns_rec *r)
{
	if (r && --r->refs == 0)
		free(r);
}

/**
 * dns_cache_init() - an empty cache
 * @c:		the cache
 * @entries:	most records kept
 * @bytes:	most bytes kept, records' headers included
 *
 * Return: 0 or -ENOMEM
 */
int dns_cache_init(struct dns_cache *c, size_t entries, size_t bytes)
{
	size_t n = 16;

	while (n < entries && n < ((size_t)1 << 24))
		n <<= 1;
	memset(c, 0, sizeof(*c));
	c->tab = calloc(n, sizeof(*c->tab));
	if (!c->tab)
		return -ENOMEM;
	c->mask = n - 1;
	c->max_entries = entries;
	c->max_bytes = bytes;
	dns_list_init(&c->lru);
	return 0;
}

static bool rec_is(const struct dns_rec *r, const struct dns_key *k)
{
	const uint8_t *q = r->wire + DNS_HDR;

	return r->hash == k->hash &&
	       dns_key_equal(k, q, r->qlen, tg_be16(q + r->qlen),
			     tg_be16(q + r->qlen + 2));
}

static void cache_remove(struct dns_cache *c, struct dns_rec *r)
{
	struct dns_rec **pp = &c->tab[r->hash & c->mask];

	while (*pp && *pp != r)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = r->hnext;
	r->hnext = NULL;
	dns_list_del(&r->lru);
	c->entries--;
	c->bytes -= rec_size(r);
	r->cached = false;
	dns_rec_unref(r);
}

static bool expired(const struct dns_rec *r, uint64_t now_ms)
{
	return now_ms >= r->born_ms + (uint64_t)r->ttl_s * 1000;
}

/**
 * dns_cache_get() - the live record for @k
 * @c:		the cache
 * @k:		the key
 * @now_ms:	loop time
 *
 * Return: the record with a reference for the caller, or NULL
 */
struct dns_rec *dns_cache_get(struct dns_cache *c, const struct dns_key *k,
			      uint64_t now_ms)
{
	struct dns_rec *r = c->tab[k->hash & c->mask];

	while (r && !rec_is(r, k))
		r = r->hnext;
	if (!r)
		return NULL;
	if (expired(r, now_ms)) {
		cache_remove(c, r);
		return NULL;
	}
	dns_list_del(&r->lru);
	dns_list_add_tail(&c->lru, &r->lru);
	dns_rec_ref(r);
	r->hits++;
	return r;
}

/**
 * dns_cache_put() - keep @r under @k, replacing what was there and
 * evicting the least recently used records to make room
 * @c:		the cache
 * @k:		its key
 * @r:		the record (the cache takes its own reference); ignored if
 *		its ttl_s is 0 or it alone exceeds the byte bound
 * @now_ms:	loop time
 */
void dns_cache_put(struct dns_cache *c, const struct dns_key *k,
		   struct dns_rec *r, uint64_t now_ms)
{
	struct dns_rec *old;

	if (r->cached || r->ttl_s == 0 || expired(r, now_ms) ||
	    rec_size(r) > c->max_bytes || c->max_entries == 0)
		return;
	r->hash = k->hash;
	old = c->tab[k->hash & c->mask];
	while (old && !rec_is(old, k))
		old = old->hnext;
	if (old)
		cache_remove(c, old);
	while (!dns_list_empty(&c->lru) &&
	       (c->entries >= c->max_entries ||
		c->bytes + rec_size(r) > c->max_bytes))
		cache_remove(c, dns_entry(c->lru.next, struct dns_rec, lru));
	r->hnext = c->tab[k->hash & c->mask];
	c->tab[k->hash & c->mask] = r;
	dns_list_add_tail(&c->lru, &r->lru);
	c->entries++;
	c->bytes += rec_size(r);
	r->cached = true;
	dns_rec_ref(r);
}

/** dns_cache_free() - drop every record and the table */
void dns_cache_free(struct dns_cache *c)
{
	while (!dns_list_empty(&c->lru))
		cache_remove(c, dns_entry(c->lru.next, struct dns_rec, lru));
	free(c->tab);
	c->tab = NULL;
}

void dns_foreach_cache(const struct dns_proxy *p,
		       void (*cb)(void *arg, const struct dns_cache_info *ci),
		       void *arg)
{
	uint64_t now = uv_now(p->loop);
	const struct dns_list *l;

	/* the LRU list ends with the most recently used */
	for (l = p->cache.lru.prev; l != &p->cache.lru; l = l->prev) {
		const struct dns_rec *r = dns_entry(l, struct dns_rec, lru);
		struct dns_cache_info ci;

		if (expired(r, now))
			continue;
		dns_rec_describe(r, &ci);
		ci.ttl_s = (uint32_t)((r->born_ms + (uint64_t)r->ttl_s * 1000 -
				       now + 999) /
				      1000);
		ci.hits = r->hits;
		cb(arg, &ci);
	}
}
