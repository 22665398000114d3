/* SPDX-License-Identifier: MIT */
/*
 * track.c - the inside's TCP connection tracker.
 *
 * Theory of operation
 *
 * When a session ends for good, the apps whose TCP connections went through
 * the tunnel must see ECONNRESET at once rather than hang until their own
 * timeouts. The inside therefore watches every TCP segment that crosses the
 * TUN device and keeps, per connection, what a RST "from the remote end"
 * needs for the app's kernel to accept it:
 *
 *  - rcv_nxt, the app's receive point: RFC 5961 3.2 (Linux follows it) takes
 *    a RST only if its sequence number is exactly rcv_nxt; anything else in
 *    the window just draws a challenge ACK. The best witness is the ACK
 *    number of the app's latest outgoing segment, taken as is (it may pull
 *    the estimate back if an "in" segment was dropped); segments toward the
 *    app move it forward when they end beyond it.
 *  - snd_nxt, the app's send point, sent as the RST's ACK: ignored in
 *    synchronised states, but in SYN_SENT a RST is taken only with an ACK
 *    for the SYN (RFC 793 p. 66-67).
 *
 * A connection is tracked from the app's SYN, or from any segment with ACK
 * of a connection not yet known (connections older than the tracker, or
 * forgotten after an eviction). It is forgotten on a RST either way, and
 * after an orderly close: once both sides have sent FIN and the app has
 * acknowledged the remote's FIN, the app can neither block on a read (it
 * had EOF) nor on a write (it shut down its side), so there is nothing
 * left to reset.
 *
 * The table is open addressing over a power-of-two array of twice @max
 * slots, keyed by a seeded hash of (family, app address and port, remote
 * address and port). An entry lives within TRACK_PROBE slots of its home
 * slot; lookups scan that window (stopping at a hit), so a slot can be
 * freed by clearing it, without tombstones or shifting. A new connection
 * takes a free slot in its window; if the window is full or @max entries
 * are in use, it replaces the window's least recently seen entry (one
 * already closing first). Nothing is allocated after tun_track_new().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "lib/csum.h"
#include "tun/track.h"
#include "lib/wire.h"

#define TRACK_DEFAULT_MAX 4096
#define TRACK_MAX_MAX (1u << 24)
#define TRACK_PROBE 16u

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

#define IP4_HDR 20
#define IP6_HDR 40
#define TCP_HDR 20

/* entry flags */
#define TR_USED 0x01
#define TR_RCV 0x02 /* rcv_nxt is known */
#define TR_SND 0x04 /* snd_nxt is known */
#define TR_FIN_OUT 0x08 /* the app sent FIN */
#define TR_FIN_IN 0x10 /* the remote sent FIN, ending at fin_in_end */

/* zero-filled before use, so that it hashes and compares as bytes */
struct track_key {
	uint8_t app[16];
	uint8_t rem[16];
	uint16_t app_port; /* host order */
	uint16_t rem_port;
	uint8_t family;
	uint8_t pad[3];
};

struct track_conn {
	struct track_key key;
	uint32_t hash;
	uint32_t rcv_nxt;
	uint32_t snd_nxt;
	uint32_t fin_in_end;
	uint32_t seen; /* tick of the latest segment */
	uint8_t flags;
};

struct tun_track {
	struct track_conn *slot;
	size_t mask; /* slots - 1 */
	size_t probe; /* window length, at most the slot count */
	size_t max;
	size_t count;
	size_t hand; /* where the next forced eviction starts looking */
	uint32_t seed;
	uint32_t tick;
};

/* one parsed TCP segment */
struct track_seg {
	struct track_key key; /* as seen from the app, whatever the way */
	uint32_t seq, ack;
	uint32_t end; /* seq + payload + SYN + FIN */
	uint8_t flags;
};

/* serial-number arithmetic (RFC 1982): is @a beyond @b? */
static bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static uint32_t rotl32(uint32_t x, int r)
{
	return x << r | x >> (32 - r);
}

/* murmur3-style mixing of the key's ten words, seeded per table */
static uint32_t track_hash(const struct tun_track *t, const struct track_key *k)
{
	uint32_t h = t->seed, w;
	const uint8_t *p = (const uint8_t *)k;

	for (size_t i = 0; i < sizeof(*k); i += 4) {
		memcpy(&w, p + i, 4);
		w *= 0xcc9e2d51;
		w = rotl32(w, 15) * 0x1b873593;
		h = rotl32(h ^ w, 13) * 5 + 0xe6546b64;
	}
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	return h ^ (h >> 16);
}

/*
 * The TCP part of a segment: @tcp_len bytes at @tcp, already bounded by the
 * IP layer. @out: the app is the source.
 */
static bool parse_tcp(const uint8_t *tcp, size_t tcp_len, bool out,
		      struct track_seg *s)
{
	size_t doff;

	if (tcp_len < TCP_HDR)
		return false;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < TCP_HDR || doff > tcp_len)
		return false;
	s->key.app_port = tg_be16(out ? tcp : tcp + 2);
	s->key.rem_port = tg_be16(out ? tcp + 2 : tcp);
	s->seq = tg_be32(tcp + 4);
	s->ack = tg_be32(tcp + 8);
	s->flags = tcp[13];
	s->end = s->seq + (uint32_t)(tcp_len - doff) + !!(s->flags & TCP_SYN) +
		 !!(s->flags & TCP_FIN);
	return true;
}

static bool parse_ip4(const uint8_t *pkt, size_t len, bool out,
		      struct track_seg *s)
{
	size_t ihl, tot;

	if (len < IP4_HDR)
		return false;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	tot = tg_be16(pkt + 2);
	if (ihl < IP4_HDR || tot < ihl || tot > len || pkt[9] != IPPROTO_TCP)
		return false;
	/* only the first fragment has the TCP header */
	if (tg_be16(pkt + 6) & 0x1fff)
		return false;
	s->key.family = AF_INET;
	memcpy(s->key.app, out ? pkt + 12 : pkt + 16, 4);
	memcpy(s->key.rem, out ? pkt + 16 : pkt + 12, 4);
	return parse_tcp(pkt + ihl, tot - ihl, out, s);
}

/* TCP directly after the fixed header only; jumbograms are not TCP here */
static bool parse_ip6(const uint8_t *pkt, size_t len, bool out,
		      struct track_seg *s)
{
	size_t plen;

	if (len < IP6_HDR)
		return false;
	plen = tg_be16(pkt + 4);
	if (pkt[6] != IPPROTO_TCP || IP6_HDR + plen > len)
		return false;
	s->key.family = AF_INET6;
	memcpy(s->key.app, out ? pkt + 8 : pkt + 24, 16);
	memcpy(s->key.rem, out ? pkt + 24 : pkt + 8, 16);
	return parse_tcp(pkt + IP6_HDR, plen, out, s);
}

static bool parse(const uint8_t *pkt, size_t len, bool out, struct track_seg *s)
{
	memset(&s->key, 0, sizeof(s->key));
	if (!pkt || len < 1)
		return false;
	switch (pkt[0] >> 4) {
	case 4:
		return parse_ip4(pkt, len, out, s);
	case 6:
		return parse_ip6(pkt, len, out, s);
	}
	return false;
}

static struct track_conn *track_find(struct tun_track *t,
				     const struct track_key *k, uint32_t h)
{
	for (size_t i = 0; i < t->probe; i++) {
		struct track_conn *c = &t->slot[(h + i) & t->mask];

		if ((c->flags & TR_USED) && c->hash == h &&
		    !memcmp(&c->key, k, sizeof(*k)))
			return c;
	}
	return NULL;
}

static void track_forget(struct tun_track *t, struct track_conn *c)
{
	c->flags = 0;
	t->count--;
}

/* closing entries go first, then the least recently seen */
static uint64_t victim_score(const struct tun_track *t,
			     const struct track_conn *c)
{
	uint64_t closing = !!(c->flags & (TR_FIN_IN | TR_FIN_OUT));

	return closing << 32 | (uint32_t)(t->tick - c->seen);
}

/* at @max with an empty window: free the next used slot anywhere */
static void track_evict_any(struct tun_track *t)
{
	for (;;) {
		struct track_conn *c = &t->slot[t->hand];

		t->hand = (t->hand + 1) & t->mask;
		if (c->flags & TR_USED) {
			track_forget(t, c);
			return;
		}
	}
}

/* a slot for a key known to be absent, evicting if need be */
static struct track_conn *track_slot(struct tun_track *t, uint32_t h)
{
	struct track_conn *empty = NULL, *victim = NULL;
	uint64_t best = 0;

	for (size_t i = 0; i < t->probe; i++) {
		struct track_conn *c = &t->slot[(h + i) & t->mask];

		if (!(c->flags & TR_USED)) {
			if (!empty)
				empty = c;
		} else if (!victim || victim_score(t, c) > best) {
			victim = c;
			best = victim_score(t, c);
		}
	}
	if (empty && t->count < t->max)
		return empty;
	if (victim) {
		track_forget(t, victim);
		return victim;
	}
	track_evict_any(t);
	return empty;
}

static struct track_conn *track_add(struct tun_track *t,
				    const struct track_key *k, uint32_t h)
{
	struct track_conn *c = track_slot(t, h);

	memset(c, 0, sizeof(*c));
	c->key = *k;
	c->hash = h;
	c->flags = TR_USED;
	t->count++;
	return c;
}

/*
 * Look the segment's connection up; a RST ends it, and an unknown one is
 * added when @may_add. Return: the entry to update, or NULL.
 */
static struct track_conn *track_get(struct tun_track *t,
				    const struct track_seg *s, bool may_add)
{
	uint32_t h = track_hash(t, &s->key);
	struct track_conn *c = track_find(t, &s->key, h);

	if (s->flags & TCP_RST) {
		if (c)
			track_forget(t, c);
		return NULL;
	}
	if (!c && may_add)
		c = track_add(t, &s->key, h);
	if (c)
		c->seen = ++t->tick;
	return c;
}

void tun_track_out(struct tun_track *t, const uint8_t *pkt, size_t len)
{
	struct track_seg s;
	struct track_conn *c;
	bool syn_only;

	if (!t || !parse(pkt, len, true, &s))
		return;
	syn_only = (s.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
	c = track_get(t, &s, syn_only || (s.flags & TCP_ACK));
	if (!c)
		return;
	if (syn_only) /* a new connection, perhaps on an old 4-tuple */
		c->flags = TR_USED;
	if (!(c->flags & TR_SND) || seq_after(s.end, c->snd_nxt))
		c->snd_nxt = s.end;
	c->flags |= TR_SND;
	if (s.flags & TCP_FIN)
		c->flags |= TR_FIN_OUT;
	if (!(s.flags & TCP_ACK))
		return;
	c->rcv_nxt = s.ack;
	c->flags |= TR_RCV;
	if ((c->flags & TR_FIN_OUT) && (c->flags & TR_FIN_IN) &&
	    !seq_after(c->fin_in_end, s.ack))
		track_forget(t, c);
}

void tun_track_in(struct tun_track *t, const uint8_t *pkt, size_t len)
{
	struct track_seg s;
	struct track_conn *c;

	if (!t || !parse(pkt, len, false, &s))
		return;
	c = track_get(t, &s, s.flags & TCP_ACK);
	if (!c)
		return;
	if (!(c->flags & TR_RCV) || seq_after(s.end, c->rcv_nxt))
		c->rcv_nxt = s.end;
	c->flags |= TR_RCV;
	/* the remote's ACK is the app's snd_una: a floor for snd_nxt */
	if ((s.flags & TCP_ACK) &&
	    (!(c->flags & TR_SND) || seq_after(s.ack, c->snd_nxt))) {
		c->snd_nxt = s.ack;
		c->flags |= TR_SND;
	}
	if (s.flags & TCP_FIN) {
		c->flags |= TR_FIN_IN;
		c->fin_in_end = s.end;
	}
}

size_t tun_track_count(const struct tun_track *t)
{
	return t ? t->count : 0;
}

/* the TCP header of a RST|ACK from the remote end to the app */
static void build_rst_tcp(uint8_t *tcp, const struct track_conn *c)
{
	memset(tcp, 0, TCP_HDR);
	tg_put_be16(tcp, c->key.rem_port);
	tg_put_be16(tcp + 2, c->key.app_port);
	tg_put_be32(tcp + 4, (c->flags & TR_RCV) ? c->rcv_nxt : 0);
	tg_put_be32(tcp + 8, c->snd_nxt);
	tcp[12] = (TCP_HDR / 4) << 4;
	tcp[13] = TCP_RST | TCP_ACK;
	/* window 0, urgent pointer 0, no options */
}

/* Return: the packet's length */
static size_t build_rst(uint8_t *buf, const struct track_conn *c)
{
	uint8_t *tcp;
	uint32_t sum;

	if (c->key.family == AF_INET) {
		memset(buf, 0, IP4_HDR);
		buf[0] = 0x45;
		tg_put_be16(buf + 2, IP4_HDR + TCP_HDR);
		tg_put_be16(buf + 6, 0x4000); /* DF */
		buf[8] = 64;
		buf[9] = IPPROTO_TCP;
		memcpy(buf + 12, c->key.rem, 4);
		memcpy(buf + 16, c->key.app, 4);
		tg_put_be16(buf + 10, tg_csum(buf, IP4_HDR));
		tcp = buf + IP4_HDR;
	} else {
		memset(buf, 0, IP6_HDR);
		buf[0] = 0x60;
		tg_put_be16(buf + 4, TCP_HDR);
		buf[6] = IPPROTO_TCP;
		buf[7] = 64;
		memcpy(buf + 8, c->key.rem, 16);
		memcpy(buf + 24, c->key.app, 16);
		tcp = buf + IP6_HDR;
	}
	build_rst_tcp(tcp, c);
	sum = tg_csum_pseudo(c->key.family, c->key.rem, c->key.app, IPPROTO_TCP,
			  TCP_HDR);
	tg_put_be16(tcp + 16, tg_csum_fold(tg_csum_add(sum, tcp, TCP_HDR)));
	return (size_t)(tcp - buf) + TCP_HDR;
}

size_t tun_track_reset_all(struct tun_track *t,
			   int (*write)(void *arg, const uint8_t *pkt,
					size_t len),
			   void *arg)
{
	uint8_t buf[IP6_HDR + TCP_HDR];
	size_t n = 0;

	if (!t)
		return 0;
	for (size_t i = 0; i <= t->mask; i++) {
		struct track_conn *c = &t->slot[i];

		if (!(c->flags & TR_USED))
			continue;
		if (write && write(arg, buf, build_rst(buf, c)) >= 0)
			n++;
		c->flags = 0;
	}
	t->count = 0;
	t->hand = 0;
	return n;
}

static uint32_t track_seed(const struct tun_track *t)
{
	uint32_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	/* early boot without entropy: collisions cost time, not safety */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uintptr_t)t ^ (uint64_t)ts.tv_nsec ^
			  (uint64_t)ts.tv_sec << 20);
}

struct tun_track *tun_track_new(size_t max)
{
	struct tun_track *t;
	size_t slots = 2;

	if (!max)
		max = TRACK_DEFAULT_MAX;
	if (max > TRACK_MAX_MAX) {
		errno = EINVAL;
		return NULL;
	}
	while (slots < 2 * max)
		slots <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->slot = calloc(slots, sizeof(*t->slot));
	if (!t->slot) {
		free(t);
		return NULL;
	}
	t->mask = slots - 1;
	t->probe = slots < TRACK_PROBE ? slots : TRACK_PROBE;
	t->max = max;
	t->seed = track_seed(t);
	return t;
}

void tun_track_free(struct tun_track *t)
{
	if (!t)
		return;
	free(t->slot);
	free(t);
}
