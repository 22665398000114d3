// SPDX-License-Identifier: MIT
/*
 * upstream.c - every type but A and AAAA, asked of this machine's
 * nameservers with ldns.
 *
 * Theory of operation: ldns's resolver blocks, so each lookup runs in
 * libuv's thread pool (uv_queue_work). The worker reads the nameservers
 * of resolv.conf afresh (a VPN may have changed them since), asks them
 * in their order over UDP with EDNS0, and ldns falls back to TCP when
 * the reply is truncated. ldns checks neither the reply's id nor its
 * question, so the worker does: a reply to something else is a failure,
 * never an answer. NOERROR and NXDOMAIN replies become records; anything
 * else, or no reply, is SERVFAIL.
 *
 * Time: the lookup's deadline is fixed when it is queued. A worker that
 * starts after it does nothing (the pool may be busy with other stuck
 * lookups), and ldns gets the remaining time split over its tries, with
 * no pause between servers (retrans 0: its default sleeps 2 s). The loop
 * does not trust this: proxy.c answers SERVFAIL at the deadline itself
 * and lets the worker finish into the void.
 */
#include <ldns/ldns.h>
#include <string.h>

#include "dns/dns_internal.h"
#include "lib/resolvconf.h"

#define UPSTREAM_NS_MAX 3 /* as glibc's MAXNS */
#define UPSTREAM_TRY_MIN_MS 300 /* below this, one try per server */

static ldns_resolver *resolver_new(const struct dns_proxy *p, uint64_t ms,
				   const char **why)
{
	char ns[UPSTREAM_NS_MAX][64];
	int n = tg_rc_nameservers(p->resolv_conf, ns, UPSTREAM_NS_MAX);
	ldns_resolver *res;
	unsigned tries = 2;
	uint64_t per;

	if (n <= 0) {
		*why = "no nameserver in resolv.conf";
		return NULL;
	}
	res = ldns_resolver_new();
	if (!res) {
		*why = "out of memory";
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		ldns_rdf *a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, ns[i]);

		if (!a)
			a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, ns[i]);
		if (a)
			ldns_resolver_push_nameserver(res, a);
		ldns_rdf_deep_free(a);
	}
	n = (int)ldns_resolver_nameserver_count(res);
	per = n ? ms / ((uint64_t)n * tries) : 0;
	if (per < UPSTREAM_TRY_MIN_MS) {
		tries = 1;
		per = n ? ms / (uint64_t)n : 0;
	}
	if (per < 10)
		per = 10;
	ldns_resolver_set_port(res, p->o.upstream_port);
	ldns_resolver_set_recursive(res, true);
	ldns_resolver_set_random(res, false);
	ldns_resolver_set_retry(res, (uint8_t)tries);
	ldns_resolver_set_retrans(res, 0);
	ldns_resolver_set_fallback(res, true);
	ldns_resolver_set_edns_udp_size(res, DNS_EDNS_SIZE);
	ldns_resolver_set_timeout(
		res, (struct timeval){
			     .tv_sec = (time_t)(per / 1000),
			     .tv_usec = (suseconds_t)(per % 1000 * 1000),
		     });
	return res;
}

/* ldns takes any datagram on its socket: is it the reply to ours? */
static bool reply_matches(const ldns_pkt *q, const ldns_pkt *a)
{
	const ldns_rr *qq, *aq;

	if (!ldns_pkt_qr(a) || ldns_pkt_id(a) != ldns_pkt_id(q) ||
	    ldns_rr_list_rr_count(ldns_pkt_question(a)) != 1)
		return false;
	qq = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	aq = ldns_rr_list_rr(ldns_pkt_question(a), 0);
	return ldns_rr_get_type(qq) == ldns_rr_get_type(aq) &&
	       ldns_rr_get_class(qq) == ldns_rr_get_class(aq) &&
	       ldns_dname_compare(ldns_rr_owner(qq), ldns_rr_owner(aq)) == 0;
}

static void take_reply(struct dns_lookup *lk, const ldns_pkt *a)
{
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(a);
	uint32_t ttl;

	if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
		lk->why = rc == LDNS_RCODE_REFUSED    ? "upstream REFUSED"
			  : rc == LDNS_RCODE_SERVFAIL ? "upstream SERVFAIL"
						      : "upstream error";
		return;
	}
	ttl = dns_rec_pkt_ttl(a, lk->p->o.neg_ttl_max_s);
	lk->rec = dns_rec_from_pkt(a, &lk->key, ttl);
	if (!lk->rec)
		lk->why = "reply not representable";
}

static void resolve(struct dns_lookup *lk, uint64_t ms)
{
	ldns_resolver *res = resolver_new(lk->p, ms, &lk->why);
	ldns_pkt *q = NULL, *a = NULL;
	ldns_rdf *name;
	ldns_status st;

	if (!res)
		return;
	name = ldns_dname_new_frm_data(lk->key.len, lk->key.name);
	st = name ? ldns_resolver_prepare_query_pkt(&q, res, name, lk->key.type,
						    lk->key.cls, LDNS_RD)
		  : LDNS_STATUS_MEM_ERR;
	if (st == LDNS_STATUS_OK)
		st = ldns_resolver_send_pkt(&a, res, q);
	if (st != LDNS_STATUS_OK)
		lk->why = ldns_get_errorstr_by_id(st);
	else if (!a || !reply_matches(q, a))
		lk->why = "reply does not match the query";
	else
		take_reply(lk, a);
	ldns_pkt_free(a);
	ldns_pkt_free(q);
	ldns_rdf_deep_free(name);
	ldns_resolver_deep_free(res);
}

/* in a worker thread: touches only @lk and the proxy's constant options */
static void work_cb(uv_work_t *w)
{
	struct dns_lookup *lk = dns_entry(w, struct dns_lookup, u.work);
	uint64_t now = uv_hrtime();

	lk->rec = NULL;
	lk->why = NULL;
	if (now >= lk->deadline_ns) {
		lk->why = "queued past its deadline";
		return;
	}
	resolve(lk, (lk->deadline_ns - now) / 1000000);
}

static void after_cb(uv_work_t *w, int status)
{
	struct dns_lookup *lk = dns_entry(w, struct dns_lookup, u.work);

	if (status == UV_ECANCELED) {
		dns_lookup_done(lk, NULL, DNS_R_SERVFAIL, "cancelled");
		return;
	}
	dns_lookup_done(lk, lk->rec, DNS_R_SERVFAIL, lk->why);
}

/**
 * dns_upstream_start() - ask the nameservers @lk's question in the thread
 * pool; dns_lookup_done() follows, from the loop, unless this fails
 * Return: 0 or a libuv error
 */
int dns_upstream_start(struct dns_lookup *lk)
{
	lk->rec = NULL;
	return uv_queue_work(lk->p->loop, &lk->u.work, work_cb, after_cb);
}

/** dns_upstream_cancel() - give up on @lk: done comes sooner if queued */
void dns_upstream_cancel(struct dns_lookup *lk)
{
	uv_cancel((uv_req_t *)&lk->u.work);
}
