/* SPDX-License-Identifier: MIT */
/*
 * flow.h - a fixed-size flow table: hash lookup, LRU order, free list.
 *
 * A table hands out slot numbers; each protocol keeps its own per-flow
 * state in an array indexed by the same numbers. A slot is LIVE (hashed,
 * on an LRU list), CLOSING (unhashed, its sockets still closing) or FREE.
 * A LIVE slot is on one of two LRU lists: FLOW_LRU_NEW, where every flow
 * starts, or FLOW_LRU_ASSURED, where nat_flow_assure() moves a flow that
 * has shown it is more than one exchange (UDP, as conntrack's ASSURED):
 * each list is in order of last use, so each can expire with its own
 * timeout by looking at its head alone.
 */
#ifndef NAT_FLOW_H
#define NAT_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLOW_NONE UINT32_MAX

/* no implicit padding: keys are hashed and compared as bytes */
struct flow_key {
	uint8_t proto;
	uint8_t family;
	uint16_t sport; /* inside's source port, or ICMP echo id */
	uint16_t dport;
	uint16_t zero;
	uint8_t src[16]; /* inside's address */
	uint8_t dst[16]; /* the destination */
};

enum flow_state { FLOW_FREE = 0, FLOW_LIVE, FLOW_CLOSING };

enum flow_lru { FLOW_LRU_NEW = 0, FLOW_LRU_ASSURED, FLOW_LRUS };

struct flow_node {
	struct flow_key key;
	uint64_t last; /* time of the last packet either way, ms */
	uint64_t created; /* when nat_flow_alloc() made it, ms */
	/* payload bytes and packets from / to the inside, for status */
	uint64_t bytes_in, bytes_out, pkts_in, pkts_out;
	uint32_t hnext; /* hash chain */
	uint32_t prev, next; /* LRU list (oldest first), or the free list */
	uint8_t state;
	uint8_t lru; /* enum flow_lru: the list a LIVE slot is on */
};

struct flow_table {
	struct flow_node *nodes;
	uint32_t *buckets;
	uint32_t n_slots, mask;
	uint32_t max_live, live;
	uint32_t free_head;
	uint32_t lru_head[FLOW_LRUS], lru_tail[FLOW_LRUS];
	uint64_t seed;
};

/**
 * nat_flow_table_init() - allocate a table
 * @t:		table
 * @max_live:	most flows live at once
 * @n_slots:	slots, at least @max_live: the rest hold closing flows
 * @n_buckets:	hash buckets, rounded up to a power of two; 0 for 2*@n_slots
 *
 * Return: 0, -EINVAL or -ENOMEM
 */
int nat_flow_table_init(struct flow_table *t, uint32_t max_live,
			uint32_t n_slots, uint32_t n_buckets);
void nat_flow_table_free(struct flow_table *t);

/**
 * nat_flow_key_init() - a zeroed key, so padding and unused bytes compare equal
 * @k:		key
 * @proto:	IP protocol
 * @family:	AF_INET or AF_INET6 (4 or 16 address bytes are copied)
 * @src:	inside's address
 * @sport:	inside's port or echo id
 * @dst:	destination address
 * @dport:	destination port, 0 for ICMP
 */
void nat_flow_key_init(struct flow_key *k, uint8_t proto, int family,
		       const uint8_t *src, uint16_t sport, const uint8_t *dst,
		       uint16_t dport);

/** nat_flow_lookup() - the LIVE slot for @k, or FLOW_NONE */
uint32_t nat_flow_lookup(const struct flow_table *t, const struct flow_key *k);

/**
 * nat_flow_alloc() - take a free slot for @k, make it LIVE and newest
 * @t:		table
 * @k:		key, not in the table yet
 * @now:	current time, ms
 *
 * Return: the slot, or FLOW_NONE if @max_live flows are live or no slot
 * is free (closing flows hold them)
 */
uint32_t nat_flow_alloc(struct flow_table *t, const struct flow_key *k,
			uint64_t now);

/** flow_count() - @bytes of payload crossed slot @i, @in from the inside */
static inline void flow_count(struct flow_table *t, uint32_t i, bool in,
			      size_t bytes)
{
	struct flow_node *f = &t->nodes[i];

	if (in) {
		f->bytes_in += bytes;
		f->pkts_in++;
	} else {
		f->bytes_out += bytes;
		f->pkts_out++;
	}
}

/** nat_flow_touch() - mark a LIVE slot used at @now: it becomes newest */
void nat_flow_touch(struct flow_table *t, uint32_t i, uint64_t now);

/**
 * nat_flow_assure() - move a LIVE slot to the FLOW_LRU_ASSURED list, as its
 * newest; nothing if it is there already
 */
void nat_flow_assure(struct flow_table *t, uint32_t i);

static inline bool flow_assured(const struct flow_table *t, uint32_t i)
{
	return t->nodes[i].lru == FLOW_LRU_ASSURED;
}

/** nat_flow_unhash() - LIVE to CLOSING: no longer found, no longer counted */
void nat_flow_unhash(struct flow_table *t, uint32_t i);

/** nat_flow_free() - back to the free list (from LIVE or CLOSING) */
void nat_flow_free(struct flow_table *t, uint32_t i);

/** flow_oldest_in() - the least recently used LIVE slot of list @lru, or
 * FLOW_NONE */
static inline uint32_t flow_oldest_in(const struct flow_table *t,
				      enum flow_lru lru)
{
	return t->lru_head[lru];
}

/**
 * flow_victim() - the slot to evict from a full table: the least recently
 * used of those not assured, else of the assured ones; FLOW_NONE if empty
 */
static inline uint32_t flow_victim(const struct flow_table *t)
{
	uint32_t i = t->lru_head[FLOW_LRU_NEW];

	return i != FLOW_NONE ? i : t->lru_head[FLOW_LRU_ASSURED];
}

static inline bool flow_full(const struct flow_table *t)
{
	return t->live >= t->max_live || t->free_head == FLOW_NONE;
}

#endif
