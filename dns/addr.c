// SPDX-License-Identifier: MIT
/*
 * addr.c - A and AAAA through this machine's own getaddrinfo().
 *
 * Theory of operation: the point of the proxy is that names resolve in
 * the container as they do for the developer's own programs. Where the
 * machine runs systemd-resolved, IN A and IN AAAA questions go to it
 * (resolved.c), and come here when it cannot answer. Otherwise they go
 * to uv_getaddrinfo() (libuv's thread pool): in the static binary, whose
 * NSS is pinned to glibc's built-in sources at start, that is /etc/hosts
 * and the nameservers of /etc/resolv.conf; in a dynamic build, whatever
 * nsswitch.conf says. It is asked with the one family wanted,
 * AI_CANONNAME, and SOCK_STREAM so that each address comes once. The canonical name, if it differs
 * (case-insensitively) from the question, becomes a CNAME to it, and the
 * addresses are that name's records; every TTL is addr_ttl_s, since
 * getaddrinfo has none.
 *
 * getaddrinfo cannot tell "no such name" from "no address of this
 * family" reliably: glibc reports the second as EAI_NONAME whenever the
 * name came from /etc/hosts with the other family only, or the DNS said
 * NXDOMAIN for one type. A false NXDOMAIN is harmful (musl's resolver
 * drops the A answer when the AAAA one is NXDOMAIN), so the rule is:
 *
 *	EAI_NODATA, EAI_ADDRFAMILY, or success without an address of
 *	the family				-> NODATA
 *	EAI_NONAME				-> ask again with AF_UNSPEC:
 *	    any address, EAI_NODATA, EAI_ADDRFAMILY	-> NODATA
 *	    EAI_NONAME					-> NXDOMAIN
 *	anything else (EAI_AGAIN, EAI_FAIL, ...)	-> SERVFAIL
 *
 * Names that getaddrinfo would not treat as DNS names are not asked of
 * it: those with bytes a host name cannot hold, the root, and those that
 * parse as a numeric address ("1.2.3.4." must not answer itself). They
 * go upstream like any other type.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/dns_internal.h"

/**
 * dns_addr_wants() - is this a question for getaddrinfo?
 * @k:	the key
 *
 * Return: true for IN A and IN AAAA of a plain, non-numeric host name
 */
bool dns_addr_wants(const struct dns_key *k)
{
	char host[DNS_NAME_MAX + 1];
	struct in6_addr a6;
	struct in_addr a4;

	if (k->cls != DNS_C_IN || (k->type != DNS_T_A && k->type != DNS_T_AAAA))
		return false;
	if (k->len <= 1 ||
	    dns_name_text(k->name, k->len, host, sizeof(host)) < 0)
		return false;
	/* inet_aton: getaddrinfo takes "127.1" and "0x7f.1" as addresses */
	return !inet_aton(host, &a4) && inet_pton(AF_INET6, host, &a6) != 1;
}

/**
 * dns_addr_rcode() - what a getaddrinfo result means in DNS terms
 * @status:	uv_getaddrinfo()'s status (0 or UV_EAI_*)
 * @family:	the family asked: AF_INET, AF_INET6, or AF_UNSPEC when
 *		confirming that a name does not exist
 *
 * Return: DNS_R_NOERROR (with the addresses of the family, if any: none
 * is NODATA), DNS_R_NXDOMAIN, DNS_R_SERVFAIL, or DNS_ADDR_CONFIRM: ask
 * again with AF_UNSPEC
 */
int dns_addr_rcode(int status, int family)
{
	switch (status) {
	case 0:
	case UV_EAI_NODATA:
	case UV_EAI_ADDRFAMILY:
		return DNS_R_NOERROR;
	case UV_EAI_NONAME:
		return family == AF_UNSPEC ? DNS_R_NXDOMAIN : DNS_ADDR_CONFIRM;
	default:
		return DNS_R_SERVFAIL;
	}
}

static bool seen(const struct dns_addr *a, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (a[j].family == a[i].family &&
		    !memcmp(a[j].addr, a[i].addr,
			    a[i].family == AF_INET ? 4 : 16))
			return true;
	return false;
}

static bool push_rr(ldns_pkt *pkt, ldns_rdf *owner, ldns_rr_type t,
		    uint32_t ttl, ldns_rdf *data)
{
	ldns_rr *rr = ldns_rr_new();

	if (!rr || !owner || !data) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(owner);
		ldns_rdf_deep_free(data);
		return false;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, t);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, ttl);
	ldns_rr_push_rdf(rr, data);
	return ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
}

/* the CNAME to @canon if it is another name; the addresses' owner */
static ldns_rdf *push_cname(ldns_pkt *pkt, const struct dns_key *k,
			    const char *canon, uint32_t ttl)
{
	ldns_rdf *q = ldns_dname_new_frm_data(k->len, k->name);
	ldns_rdf *c = canon && *canon ? ldns_dname_new_frm_str(canon) : NULL;

	if (!q || !c || ldns_dname_compare(q, c) == 0) {
		ldns_rdf_deep_free(c);
		return q;
	}
	if (!push_rr(pkt, q, LDNS_RR_TYPE_CNAME, ttl, ldns_rdf_clone(c))) {
		ldns_rdf_deep_free(c);
		return NULL;
	}
	return c;
}

/**
 * dns_addr_build() - the record of an address answer
 * @k:		the key (IN A or IN AAAA)
 * @canon:	the canonical name, or NULL
 * @a:		the addresses; those not of @family, and repeats, are left out
 * @n:		how many
 * @family:	AF_INET for A, AF_INET6 for AAAA
 * @rcode:	DNS_R_NOERROR (no address of @family: NODATA), DNS_R_NXDOMAIN
 * @ttl_s:	TTL of every record, and the record's life in the cache
 *
 * Return: the record, or NULL
 */
struct dns_rec *dns_addr_build(const struct dns_key *k, const char *canon,
			       const struct dns_addr *a, size_t n, int family,
			       int rcode, uint32_t ttl_s)
{
	ldns_pkt *pkt = dns_rec_pkt_new(k, rcode);
	ldns_rdf *owner = NULL;

	if (!pkt)
		return NULL;
	for (size_t i = 0; rcode == DNS_R_NOERROR && i < n; i++) {
		bool v4 = family == AF_INET;
		ldns_rdf *d;

		if (a[i].family != family || seen(a, i))
			continue;
		if (!owner)
			owner = push_cname(pkt, k, canon, ttl_s);
		if (!owner)
			break;
		d = ldns_rdf_new_frm_data(v4 ? LDNS_RDF_TYPE_A
					     : LDNS_RDF_TYPE_AAAA,
					  v4 ? 4 : 16, a[i].addr);
		push_rr(pkt, ldns_rdf_clone(owner),
			v4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA, ttl_s, d);
	}
	ldns_rdf_deep_free(owner);
	return dns_rec_finish(pkt, k, ttl_s);
}

/**
 * dns_addr_rec() - the record of a getaddrinfo answer
 * @k:		the key (IN A or IN AAAA)
 * @canon:	the canonical name (ai_canonname), or NULL
 * @res:	the addresses (the first DNS_ADDR_MAX of @family count)
 * @family:	AF_INET for A, AF_INET6 for AAAA
 * @rcode:	from dns_addr_rcode()
 * @ttl_s:	TTL of every record, and the record's life in the cache
 *
 * Return: the record, or NULL
 */
struct dns_rec *dns_addr_rec(const struct dns_key *k, const char *canon,
			     const struct addrinfo *res, int family, int rcode,
			     uint32_t ttl_s)
{
	struct dns_addr a[DNS_ADDR_MAX];
	size_t n = 0;

	for (; res && n < DNS_ADDR_MAX; res = res->ai_next) {
		if (res->ai_family == AF_INET && family == AF_INET &&
		    res->ai_addrlen >= sizeof(struct sockaddr_in)) {
			a[n].family = AF_INET;
			memcpy(a[n++].addr,
			       &((const struct sockaddr_in *)res->ai_addr)
					->sin_addr,
			       4);
		} else if (res->ai_family == AF_INET6 && family == AF_INET6 &&
			   res->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			a[n].family = AF_INET6;
			memcpy(a[n++].addr,
			       &((const struct sockaddr_in6 *)res->ai_addr)
					->sin6_addr,
			       16);
		}
	}
	return dns_addr_build(k, canon, a, n, family, rcode, ttl_s);
}

/**
 * dns_addr_cap_negative() - a negative answer is kept no longer than
 * negative answers are
 */
void dns_addr_cap_negative(const struct dns_proxy *p, struct dns_rec *rec)
{
	if (rec && tg_be16(rec->wire + 6) == 0 &&
	    rec->ttl_s > p->o.neg_ttl_max_s)
		rec->ttl_s = p->o.neg_ttl_max_s;
}

static int start(struct dns_lookup *lk);

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct dns_lookup *lk = dns_entry(req, struct dns_lookup, u.gai);
	int family = lk->key.type == DNS_T_A ? AF_INET : AF_INET6;
	int rcode = dns_addr_rcode(status, lk->family);
	const char *canon = res ? res->ai_canonname : NULL;
	struct dns_rec *rec = NULL;

	if (lk->orphan || status == UV_ECANCELED) {
		uv_freeaddrinfo(res);
		dns_lookup_done(lk, NULL, DNS_R_SERVFAIL, "cancelled");
		return;
	}
	if (rcode == DNS_ADDR_CONFIRM) {
		uv_freeaddrinfo(res);
		lk->family = AF_UNSPEC;
		if (start(lk))
			dns_lookup_done(lk, NULL, DNS_R_SERVFAIL,
					"getaddrinfo");
		return;
	}
	if (rcode != DNS_R_SERVFAIL)
		rec = dns_addr_rec(&lk->key, canon,
				   lk->family == AF_UNSPEC ? NULL : res, family,
				   rcode, lk->p->o.addr_ttl_s);
	uv_freeaddrinfo(res);
	dns_addr_cap_negative(lk->p, rec);
	dns_lookup_done(lk, rec, DNS_R_SERVFAIL,
			rec ? NULL : uv_strerror(status));
}

static int start(struct dns_lookup *lk)
{
	struct addrinfo hints = {
		.ai_family = lk->family,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = lk->family == AF_UNSPEC ? 0 : AI_CANONNAME,
	};
	char host[DNS_NAME_MAX + 1];

	if (dns_name_text(lk->key.name, lk->key.len, host, sizeof(host)) < 0)
		return -EINVAL;
	return uv_getaddrinfo(lk->p->loop, &lk->u.gai, gai_cb, host, NULL,
			      &hints);
}

/**
 * dns_addr_start() - look @lk's key up: systemd-resolved where it runs,
 * else getaddrinfo; dns_lookup_done() follows, from the loop, unless this
 * fails
 * Return: 0 or a libuv error
 */
int dns_addr_start(struct dns_lookup *lk)
{
	if (lk->p->o.resolved_path && dns_resolved_start(lk) == 0)
		return 0;
	return dns_addr_fallback(lk);
}

/**
 * dns_addr_fallback() - look @lk's key up with getaddrinfo
 * Return: 0 or a libuv error
 */
int dns_addr_fallback(struct dns_lookup *lk)
{
	lk->family = lk->key.type == DNS_T_A ? AF_INET : AF_INET6;
	return start(lk);
}

/** dns_addr_cancel() - give up on @lk: done comes sooner if not started */
void dns_addr_cancel(struct dns_lookup *lk)
{
	if (lk->rv)
		dns_resolved_cancel(lk);
	else
		uv_cancel((uv_req_t *)&lk->u.gai);
}
