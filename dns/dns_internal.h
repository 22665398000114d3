/* SPDX-License-Identifier: MIT */
/*
 * dns_internal.h - what the files of dns/ share and nothing else needs.
 *
 * A query becomes a request (struct dns_req, from a fixed pool of
 * max_pending). Its question, lowercased, is the key (struct dns_key) of
 * both the cache and the table of lookups in flight. A lookup (struct
 * dns_lookup: getaddrinfo or an upstream query) produces a record (struct
 * dns_rec): the answer in wire form with a lowercase question and id 0,
 * shared by reference between the cache and every request it answers;
 * each answer is built from it for its asker (id, case, flags, TTLs
 * aged, EDNS, truncation).
 */
#ifndef DNS_INTERNAL_H
#define DNS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <netdb.h>
#include <stdint.h>
#include <uv.h>

#include "dns/dns.h"
#include "lib/wire.h"

#define DNS_HDR 12
#define DNS_NAME_MAX 255
#define DNS_MSG_MAX 65535
#define DNS_UDP_MIN 512
#define DNS_EDNS_SIZE 1232 /* what we advertise (DNS flag day 2020) */
#define DNS_TTL_MAX 86400 /* positive answers are kept a day at most */

/* header flags (RFC 1035 4.1.1) */
#define DNS_QR 0x8000
#define DNS_AA 0x0400
#define DNS_TC 0x0200
#define DNS_RD 0x0100
#define DNS_RA 0x0080
#define DNS_CD 0x0010
#define DNS_OPCODE(f) (((f) >> 11) & 0xf)

enum {
	DNS_R_NOERROR = 0,
	DNS_R_FORMERR = 1,
	DNS_R_SERVFAIL = 2,
	DNS_R_NXDOMAIN = 3,
	DNS_R_NOTIMP = 4,
	DNS_R_REFUSED = 5,
	DNS_R_BADVERS = 16, /* extended: needs the OPT record */
};

enum {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_HINFO = 13,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_OPT = 41,
	DNS_T_IXFR = 251,
	DNS_T_AXFR = 252,
	DNS_T_MAILB = 253,
	DNS_T_MAILA = 254,
	DNS_T_ANY = 255,
	DNS_C_IN = 1,
};

/* a tiny intrusive circular list, as the kernel's list_head */
struct dns_list {
	struct dns_list *prev, *next;
};

#define dns_entry(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

static inline void dns_list_init(struct dns_list *l)
{
	l->prev = l->next = l;
}

static inline bool dns_list_empty(const struct dns_list *l)
{
	return l->next == l;
}

static inline void dns_list_add_tail(struct dns_list *l, struct dns_list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static inline void dns_list_del(struct dns_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	dns_list_init(n);
}


/* The question as asked: name in wire form, uncompressed. */
struct dns_question {
	uint8_t name[DNS_NAME_MAX];
	uint8_t len;
	uint16_t type, cls;
};

/* What a query asks and how its answer must look. */
struct dns_qinfo {
	uint16_t id, flags;
	int rcode; /* 0: resolve it; else answer this at once */
	bool has_q; /* the question parsed: echo it */
	bool edns, edns_do; /* an OPT record came, its DO bit */
	uint16_t udp_size; /* the client's UDP limit, >= 512 */
	struct dns_question q;
};

/* The lowercased question: key of the cache and of lookups in flight. */
struct dns_key {
	uint8_t name[DNS_NAME_MAX];
	uint8_t len;
	uint16_t type, cls;
	uint32_t hash;
};

/*
 * An answer in wire form: id 0, the question of its key (lowercase), no
 * OPT record; the header's RCODE is the answer's. Immutable once built,
 * freed when the last reference goes.
 */
struct dns_rec {
	struct dns_rec *hnext; /* cache hash chain */
	struct dns_list lru; /* cache LRU, most recent last */
	unsigned refs;
	bool cached;
	uint32_t hash;
	uint32_t ttl_s; /* life in the cache; 0: not cached */
	uint64_t born_ms; /* loop time when it arrived */
	uint64_t hits; /* answers given from the cache */
	uint8_t qlen; /* length of the question's name */
	uint16_t len;
	uint8_t wire[];
};

struct dns_cache {
	struct dns_rec **tab;
	size_t mask;
	struct dns_list lru;
	size_t entries, bytes, max_entries, max_bytes;
};

/* A query waiting for its answer. */
struct dns_req {
	struct dns_list all; /* busy (or free) list of the proxy */
	struct dns_list wait; /* a lookup's waiters, or the ready queue */
	dns_answer_fn cb;
	void *arg;
	bool udp;
	struct dns_rec *rec; /* the answer, if ready */
	int rcode; /* if no record: answer this rcode */
	struct dns_qinfo qi;
};

enum dns_lookup_kind { DNS_LK_ADDR, DNS_LK_UPSTREAM };

/* systemd-resolved, as the proxy last found it: logged on each change */
enum dns_resolved_state {
	DNS_RESOLVED_UNKNOWN = 0, /* not asked yet, or it has no socket */
	DNS_RESOLVED_OK,
	DNS_RESOLVED_FAILED,
};

/* one address of a name, from getaddrinfo or systemd-resolved */
struct dns_addr {
	int family; /* AF_INET, AF_INET6 */
	uint8_t addr[16];
};
#define DNS_ADDR_MAX 64 /* addresses in one answer; more are left out */

struct rv_call;

/* One getaddrinfo or upstream query, shared by identical questions. */
struct dns_lookup {
	struct dns_lookup *hnext; /* table of lookups in flight */
	struct dns_list deadline; /* proxy's list, oldest first */
	struct dns_list waiters; /* struct dns_req.wait */
	struct dns_proxy *p;
	enum dns_lookup_kind kind;
	bool orphan; /* timed out or proxy closed: only free it */
	int family; /* getaddrinfo: AF_INET, AF_INET6; AF_UNSPEC when
		     * confirming that a name does not exist */
	struct rv_call *rv; /* systemd-resolved's call, while it has one */
	uint64_t deadline_ms; /* loop time */
	uint64_t deadline_ns; /* uv_hrtime(), for the worker thread */
	struct dns_key key;
	union {
		uv_getaddrinfo_t gai;
		uv_work_t work;
	} u;
	struct dns_rec *rec; /* the worker's result */
	int rcode;
	const char *why; /* the worker's reason for SERVFAIL */
};

struct dns_proxy {
	uv_loop_t *loop;
	struct dns_opts o;
	char *resolv_conf;
	char *resolved_path;
	struct dns_stats st;
	struct dns_cache cache;
	struct dns_req *reqs;
	struct dns_list free_reqs, busy_reqs, ready;
	struct dns_lookup **ltab;
	size_t lmask, lookups; /* in the table */
	size_t lookups_alive; /* and orphans */
	struct dns_list deadlines;
	struct dns_list conns; /* DNS over TCP, least recently active first */
	struct dns_list tcp_stalled; /* connections waiting for room */
	size_t tcp_bytes; /* their budget in use (stream.c) */
	size_t tcp_inflight, tcp_conns;
	bool tcp_waking;
	uv_idle_t idle;
	uv_timer_t timer;
	unsigned holds; /* handles and lookups that keep it alive */
	bool closing;
	enum dns_resolved_state resolved_state;
	uint8_t out[DNS_MSG_MAX];
};

/* msg.c: parsing queries, walking and building answers */
int dns_msg_parse_query(const uint8_t *m, size_t len, struct dns_qinfo *qi);
int dns_msg_skip_name(const uint8_t *m, size_t len, size_t *off);
int dns_msg_sections(const uint8_t *m, size_t len, size_t off[4]);
size_t dns_msg_answer(uint8_t *out, const struct dns_qinfo *qi,
		      const struct dns_rec *rec, int rcode, uint64_t now_ms,
		      size_t limit, bool *truncated);
void dns_key_from_question(const struct dns_question *q, struct dns_key *k);
bool dns_key_equal(const struct dns_key *a, const uint8_t *name, uint8_t len,
		   uint16_t type, uint16_t cls);
int dns_name_text(const uint8_t *name, size_t len, char *out, size_t cap);

/* cache.c */
int dns_cache_init(struct dns_cache *c, size_t entries, size_t bytes);
void dns_cache_free(struct dns_cache *c);
struct dns_rec *dns_cache_get(struct dns_cache *c, const struct dns_key *k,
			      uint64_t now_ms);
void dns_cache_put(struct dns_cache *c, const struct dns_key *k,
		   struct dns_rec *r, uint64_t now_ms);
struct dns_rec *dns_rec_new(const uint8_t *wire, size_t len, uint8_t qlen,
			    uint32_t ttl_s);
void dns_rec_ref(struct dns_rec *r);
void dns_rec_unref(struct dns_rec *r);

/* rec.c: records from ldns packets (loop or worker thread) */
struct ldns_struct_pkt;
struct ldns_struct_pkt *dns_rec_pkt_new(const struct dns_key *k, int rcode);
struct dns_rec *dns_rec_finish(struct ldns_struct_pkt *pkt,
			       const struct dns_key *k, uint32_t ttl_s);
struct dns_rec *dns_rec_from_pkt(const struct ldns_struct_pkt *src,
				 const struct dns_key *k, uint32_t ttl_s);
uint32_t dns_rec_pkt_ttl(const struct ldns_struct_pkt *pkt, unsigned neg_max);
struct dns_rec *dns_rec_any(const struct dns_key *k, uint32_t ttl_s);
void dns_rec_describe(const struct dns_rec *r, struct dns_cache_info *ci);

/* addr.c: A and AAAA through getaddrinfo */
bool dns_addr_wants(const struct dns_key *k);
int dns_addr_start(struct dns_lookup *lk);
void dns_addr_cancel(struct dns_lookup *lk);
#define DNS_ADDR_CONFIRM (-1) /* "no such name" for one family: ask both */
int dns_addr_rcode(int status, int family);
struct dns_rec *dns_addr_rec(const struct dns_key *k, const char *canon,
			     const struct addrinfo *res, int family, int rcode,
			     uint32_t ttl_s);

void dns_addr_cap_negative(const struct dns_proxy *p, struct dns_rec *rec);
struct dns_rec *dns_addr_build(const struct dns_key *k, const char *canon,
			       const struct dns_addr *a, size_t n, int family,
			       int rcode, uint32_t ttl_s);
int dns_addr_fallback(struct dns_lookup *lk);

/* resolved.c: A and AAAA through systemd-resolved's varlink socket */
struct dns_resolved_reply {
	char error[128]; /* the varlink error's name, "" if none */
	long rcode; /* io.systemd.Resolve.DNSError's, -1 if none */
	char name[DNS_NAME_MAX + 1]; /* canonical name, "" if none */
	bool has_addresses;
	size_t n;
	struct dns_addr addrs[DNS_ADDR_MAX];
};
#define DNS_RESOLVED_FAIL (-2) /* not resolved's answer: use getaddrinfo */
int dns_resolved_parse(const char *json, size_t len,
		       struct dns_resolved_reply *r);
int dns_resolved_rcode(const struct dns_resolved_reply *r, int family);
int dns_resolved_call(char *out, size_t cap, const char *name, int family);
int dns_resolved_start(struct dns_lookup *lk);
void dns_resolved_cancel(struct dns_lookup *lk);

/* upstream.c: other types through the resolv.conf nameservers */
int dns_upstream_start(struct dns_lookup *lk);
void dns_upstream_cancel(struct dns_lookup *lk);

/*
 * proxy.c: the end of a lookup, exactly once per lookup started: answers
 * its waiters with @rec (its reference is taken) or, if NULL, @rcode;
 * @why says why for the log. Frees @lk.
 */
void dns_lookup_done(struct dns_lookup *lk, struct dns_rec *rec, int rcode,
		     const char *why);

/* stream.c */
void dns_stream_close_all(struct dns_proxy *p);
void dns_tcp_wake(struct dns_proxy *p);
void dns_proxy_unhold(struct dns_proxy *p);

#endif
