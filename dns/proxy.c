// SPDX-License-Identifier: MIT
/*
 * proxy.c - the DNS proxy's core: query intake, requests, lookups in
 * flight, answers.
 *
 * Theory of operation: dns_query() takes a request from a pool fixed at
 * creation (max_pending; none free: -ENOBUFS) and parses the query
 * (msg.c). A query that must fail (FORMERR, NOTIMP, BADVERS) or whose
 * answer is in the cache goes to the ready queue, which an idle handle
 * drains on the next loop turn: an answer never comes from inside
 * dns_query(). Otherwise the request waits on the lookup of its key,
 * started if there is none in flight (so identical questions asked
 * together cause one lookup, "coalesced"): systemd-resolved or
 * getaddrinfo for IN A/AAAA (resolved.c, addr.c), ldns in the thread pool for the rest (upstream.c). ANY is
 * answered at once per RFC 8482 (rec.c).
 *
 * Lookups are started in time order with one timeout, so they sit on a
 * list ordered by deadline under one timer. At its deadline a lookup
 * answers SERVFAIL to its waiters and becomes an orphan: the backend is
 * cancelled if it has not started, and its completion, which always
 * comes, frees it. The proxy itself is freed when its two handles, its
 * streams and its orphans are all gone (holds).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_internal.h"
#include "lib/log.h"

static void opts_default(struct dns_opts *o, const struct dns_opts *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	o->addr_ttl_s = o->addr_ttl_s ? o->addr_ttl_s : 30;
	o->timeout_ms = o->timeout_ms ? o->timeout_ms : 4000;
	o->cache_entries = o->cache_entries ? o->cache_entries : 4096;
	o->cache_bytes = o->cache_bytes ? o->cache_bytes : 4 << 20;
	o->max_pending = o->max_pending ? o->max_pending : 1024;
	o->tcp_buffer_bytes =
		o->tcp_buffer_bytes ? o->tcp_buffer_bytes : 16 << 20;
	o->neg_ttl_max_s = o->neg_ttl_max_s ? o->neg_ttl_max_s : 300;
	o->resolv_conf = o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf";
	o->upstream_port = o->upstream_port ? o->upstream_port : 53;
}

static void proxy_free(struct dns_proxy *p)
{
	dns_cache_free(&p->cache);
	free(p->reqs);
	free(p->ltab);
	free(p->resolv_conf);
	free(p->resolved_path);
	free(p);
}

static int proxy_alloc(struct dns_proxy *p)
{
	size_t n = 16;

	p->resolv_conf = strdup(p->o.resolv_conf);
	if (p->o.resolved_path) {
		p->resolved_path = strdup(p->o.resolved_path);
		if (!p->resolved_path)
			return -ENOMEM;
		p->o.resolved_path = p->resolved_path;
	}
	p->reqs = calloc(p->o.max_pending, sizeof(*p->reqs));
	while (n < p->o.max_pending && n < ((size_t)1 << 20))
		n <<= 1;
	p->ltab = calloc(n, sizeof(*p->ltab));
	p->lmask = n - 1;
	if (!p->resolv_conf || !p->reqs || !p->ltab)
		return -ENOMEM;
	p->o.resolv_conf = p->resolv_conf;
	return dns_cache_init(&p->cache, p->o.cache_entries, p->o.cache_bytes);
}

/**
 * dns_proxy_new() - create the proxy
 * @loop:	its loop
 * @o:		options, NULL or zero fields for the defaults
 *
 * Return: the proxy, or NULL on allocation failure
 */
struct dns_proxy *dns_proxy_new(uv_loop_t *loop, const struct dns_opts *o)
{
	struct dns_proxy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->loop = loop;
	opts_default(&p->o, o);
	dns_list_init(&p->free_reqs);
	dns_list_init(&p->busy_reqs);
	dns_list_init(&p->ready);
	dns_list_init(&p->deadlines);
	dns_list_init(&p->conns);
	dns_list_init(&p->tcp_stalled);
	if (proxy_alloc(p)) {
		proxy_free(p);
		return NULL;
	}
	for (size_t i = 0; i < p->o.max_pending; i++) {
		dns_list_init(&p->reqs[i].wait);
		dns_list_add_tail(&p->free_reqs, &p->reqs[i].all);
	}
	uv_idle_init(loop, &p->idle);
	uv_timer_init(loop, &p->timer);
	p->idle.data = p->timer.data = p;
	p->holds = 2;
	return p;
}

/* something that kept the proxy alive is gone: the last one frees it */
void dns_proxy_unhold(struct dns_proxy *p)
{
	if (--p->holds == 0)
		proxy_free(p);
}

static void req_put(struct dns_proxy *p, struct dns_req *r)
{
	dns_rec_unref(r->rec);
	r->rec = NULL;
	dns_list_del(&r->wait);
	dns_list_del(&r->all);
	dns_list_add_tail(&p->free_reqs, &r->all);
	p->st.pending--;
}

static void count_answer(struct dns_proxy *p, const uint8_t *m, bool trunc)
{
	p->st.answered++;
	p->st.truncated += trunc;
	switch (m[3] & 0xf) {
	case DNS_R_SERVFAIL:
		p->st.servfail++;
		break;
	case DNS_R_NXDOMAIN:
		p->st.nxdomain++;
		break;
	case DNS_R_NOERROR:
		if (!trunc && tg_be16(m + 4) == 1 && tg_be16(m + 6) == 0)
			p->st.nodata++;
		break;
	}
}

/* answer @r now and free it; its callback may call back into the proxy */
static void deliver(struct dns_proxy *p, struct dns_req *r)
{
	size_t limit = r->udp ? r->qi.udp_size : DNS_MSG_MAX;
	dns_answer_fn cb = r->cb;
	void *arg = r->arg;
	bool trunc;
	size_t n;

	n = dns_msg_answer(p->out, &r->qi, r->rec, r->rcode, uv_now(p->loop),
			   limit, &trunc);
	count_answer(p, p->out, trunc);
	req_put(p, r);
	cb(arg, p->out, n);
}

static void idle_cb(uv_idle_t *h)
{
	struct dns_proxy *p = h->data;
	struct dns_list batch;

	/* only those ready now: an answer's callback may ask again */
	dns_list_init(&batch);
	if (!dns_list_empty(&p->ready)) {
		batch.next = p->ready.next;
		batch.prev = p->ready.prev;
		batch.next->prev = batch.prev->next = &batch;
		dns_list_init(&p->ready);
	}
	while (!dns_list_empty(&batch) && !p->closing)
		deliver(p, dns_entry(batch.next, struct dns_req, wait));
	if (dns_list_empty(&p->ready) && !p->closing)
		uv_idle_stop(&p->idle);
}

static void ready(struct dns_proxy *p, struct dns_req *r)
{
	if (dns_list_empty(&p->ready))
		uv_idle_start(&p->idle, idle_cb);
	dns_list_add_tail(&p->ready, &r->wait);
}

static void log_fate(const struct dns_key *k, const char *what, const char *why)
{
	char name[DNS_NAME_MAX * 4 + 1];

	if (tg_log_level < TG_LOG_DEBUG)
		return;
	if (dns_name_text(k->name, k->len, name, sizeof(name)) < 0)
		strcpy(name, "(binary name)");
	tg_debug("dns: %s type %u: %s%s%s", name, k->type, what,
		 why ? ": " : "", why ? why : "");
}

static struct dns_lookup **lookup_slot(struct dns_proxy *p,
				       const struct dns_key *k)
{
	struct dns_lookup **pp = &p->ltab[k->hash & p->lmask];

	while (*pp &&
	       !dns_key_equal(&(*pp)->key, k->name, k->len, k->type, k->cls))
		pp = &(*pp)->hnext;
	return pp;
}

/* out of the table and the deadline list: no new waiters, no timeout */
static void lookup_detach(struct dns_lookup *lk)
{
	struct dns_lookup **pp = lookup_slot(lk->p, &lk->key);

	if (*pp == lk)
		*pp = lk->hnext;
	dns_list_del(&lk->deadline);
	lk->p->lookups--;
}

static void lookup_orphan(struct dns_lookup *lk)
{
	lookup_detach(lk);
	lk->orphan = true;
	if (lk->kind == DNS_LK_ADDR)
		dns_addr_cancel(lk);
	else
		dns_upstream_cancel(lk);
}

static void timer_cb(uv_timer_t *t)
{
	struct dns_proxy *p = t->data;
	uint64_t now = uv_now(p->loop);

	while (!dns_list_empty(&p->deadlines)) {
		struct dns_lookup *lk = dns_entry(p->deadlines.next,
						  struct dns_lookup, deadline);

		if (lk->deadline_ms > now) {
			uv_timer_start(&p->timer, timer_cb,
				       lk->deadline_ms - now, 0);
			return;
		}
		log_fate(&lk->key, "SERVFAIL", "timed out");
		lookup_orphan(lk);
		while (!dns_list_empty(&lk->waiters) && !p->closing) {
			struct dns_req *r = dns_entry(lk->waiters.next,
						      struct dns_req, wait);

			r->rcode = DNS_R_SERVFAIL;
			deliver(p, r);
		}
	}
}

void dns_lookup_done(struct dns_lookup *lk, struct dns_rec *rec, int rcode,
		     const char *why)
{
	struct dns_proxy *p = lk->p;
	uint64_t now = uv_now(p->loop);

	if (!lk->orphan) {
		lookup_detach(lk);
		if (rec) {
			rec->born_ms = now;
			dns_cache_put(&p->cache, &lk->key, rec, now);
		} else {
			log_fate(&lk->key, "SERVFAIL", why);
		}
		while (!dns_list_empty(&lk->waiters)) {
			struct dns_req *r = dns_entry(lk->waiters.next,
						      struct dns_req, wait);

			if (rec)
				dns_rec_ref(rec);
			r->rec = rec;
			r->rcode = rcode;
			deliver(p, r);
		}
	}
	dns_rec_unref(rec);
	free(lk);
	p->lookups_alive--;
	dns_proxy_unhold(p);
}

static struct dns_lookup *lookup_start(struct dns_proxy *p,
				       const struct dns_key *k)
{
	struct dns_lookup *lk;
	int rc;

	/* orphans still hold threads: do not pile up more of them */
	if (p->lookups_alive >= 2 * p->o.max_pending)
		return NULL;
	lk = calloc(1, sizeof(*lk));
	if (!lk)
		return NULL;
	lk->p = p;
	lk->key = *k;
	dns_list_init(&lk->waiters);
	lk->deadline_ms = uv_now(p->loop) + p->o.timeout_ms;
	lk->deadline_ns = uv_hrtime() + (uint64_t)p->o.timeout_ms * 1000000;
	lk->kind = dns_addr_wants(k) ? DNS_LK_ADDR : DNS_LK_UPSTREAM;
	rc = lk->kind == DNS_LK_ADDR ? dns_addr_start(lk)
				     : dns_upstream_start(lk);
	if (rc) {
		free(lk);
		return NULL;
	}
	p->st.lookups++;
	p->lookups++;
	p->lookups_alive++;
	p->holds++;
	*lookup_slot(p, k) = lk;
	if (dns_list_empty(&p->deadlines))
		uv_timer_start(&p->timer, timer_cb, p->o.timeout_ms, 0);
	dns_list_add_tail(&p->deadlines, &lk->deadline);
	return lk;
}

static void resolve(struct dns_proxy *p, struct dns_req *r)
{
	uint64_t now = uv_now(p->loop);
	struct dns_lookup *lk;
	struct dns_key k;

	dns_key_from_question(&r->qi.q, &k);
	r->rec = dns_cache_get(&p->cache, &k, now);
	if (r->rec) {
		p->st.cache_hits++;
		ready(p, r);
		return;
	}
	if (k.type == DNS_T_ANY) {
		r->rec = dns_rec_any(&k, p->o.addr_ttl_s);
		if (r->rec) {
			r->rec->born_ms = now;
			dns_cache_put(&p->cache, &k, r->rec, now);
		} else {
			r->rcode = DNS_R_SERVFAIL;
		}
		ready(p, r);
		return;
	}
	lk = *lookup_slot(p, &k);
	if (lk) {
		p->st.coalesced++;
	} else if (!(lk = lookup_start(p, &k))) {
		log_fate(&k, "SERVFAIL", "cannot start a lookup");
		r->rcode = DNS_R_SERVFAIL;
		ready(p, r);
		return;
	}
	dns_list_add_tail(&lk->waiters, &r->wait);
}

int dns_query(struct dns_proxy *p, const uint8_t *q, size_t len, bool udp,
	      dns_answer_fn cb, void *arg)
{
	struct dns_req *r;

	if (p->closing)
		return -ESHUTDOWN;
	if (len < DNS_HDR) {
		p->st.dropped++;
		tg_debug("dns: dropped a %zu-byte message", len);
		return -EBADMSG;
	}
	if (dns_list_empty(&p->free_reqs)) {
		p->st.overload++;
		tg_debug("dns: %zu queries pending, refused one",
			 p->o.max_pending);
		return -ENOBUFS;
	}
	r = dns_entry(p->free_reqs.next, struct dns_req, all);
	dns_list_del(&r->all);
	dns_list_add_tail(&p->busy_reqs, &r->all);
	p->st.pending++;
	p->st.queries++;
	r->cb = cb;
	r->arg = arg;
	r->udp = udp;
	r->rec = NULL;
	r->rcode = 0;
	dns_msg_parse_query(q, len, &r->qi);
	if (r->qi.rcode) {
		p->st.formerr += r->qi.rcode == DNS_R_FORMERR;
		tg_debug("dns: query %u answered with rcode %d", r->qi.id,
			 r->qi.rcode);
		r->rcode = r->qi.rcode;
		ready(p, r);
		return 0;
	}
	resolve(p, r);
	return 0;
}

void dns_cancel(struct dns_proxy *p, void *arg)
{
	struct dns_list *n, *next;

	for (n = p->busy_reqs.next; n != &p->busy_reqs; n = next) {
		struct dns_req *r = dns_entry(n, struct dns_req, all);

		next = n->next;
		if (r->arg == arg)
			req_put(p, r);
	}
}

void dns_get_stats(const struct dns_proxy *p, struct dns_stats *s)
{
	*s = p->st;
	s->cache_entries = p->cache.entries;
	s->tcp_conns = p->tcp_conns;
	s->tcp_bytes = p->tcp_bytes;
	s->tcp_buffer_max = p->o.tcp_buffer_bytes;
}

static void handle_close_cb(uv_handle_t *h)
{
	dns_proxy_unhold(h->data);
}

void dns_proxy_close(struct dns_proxy *p)
{
	if (!p || p->closing)
		return;
	p->closing = true;
	dns_stream_close_all(p);
	while (!dns_list_empty(&p->busy_reqs))
		req_put(p, dns_entry(p->busy_reqs.next, struct dns_req, all));
	while (!dns_list_empty(&p->deadlines))
		lookup_orphan(dns_entry(p->deadlines.next, struct dns_lookup,
					deadline));
	uv_close((uv_handle_t *)&p->idle, handle_close_cb);
	uv_close((uv_handle_t *)&p->timer, handle_close_cb);
}
