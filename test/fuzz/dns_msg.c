// SPDX-License-Identifier: MIT
/*
 * dns_msg.c - fuzz the DNS message path of dns/ without a network: a
 * query is parsed (msg.c), its record is made the ways the proxy makes
 * them (an upstream reply through ldns, getaddrinfo's addresses, the
 * RFC 8482 answer to ANY), kept in and taken from a small cache, and the
 * answer is built for the asker.
 *
 * Input: cases, each a flags byte, a 16-bit length and the query, a
 * 16-bit length and the source of the record (the upstream reply, or a
 * canonical name and addresses). The cache lives for the whole input, so
 * cases meet, replace and evict each other.
 *
 * Properties: every answer is within the asker's limit, parses with
 * ldns, has the asker's id, QR, and the question exactly as asked (letter
 * case too); a truncated one has TC and no records but OPT.
 */
#include <ldns/ldns.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/dns_internal.h"
#include "test/fuzz/fuzz.h"

#define MAX_ADDRS 16

static uint8_t *out;

static void check_answer(const uint8_t *a, size_t n, const struct dns_qinfo *qi,
			 size_t limit, bool truncated)
{
	ldns_pkt *pkt = NULL;
	size_t qend = DNS_HDR + qi->q.len + 4;

	FZ_CHECK(n >= DNS_HDR && n <= limit);
	FZ_CHECK(tg_be16(a) == qi->id);
	FZ_CHECK(tg_be16(a + 2) & DNS_QR);
	if (qi->has_q) {
		FZ_CHECK(tg_be16(a + 4) == 1 && n >= qend);
		FZ_CHECK(!memcmp(a + DNS_HDR, qi->q.name, qi->q.len));
		FZ_CHECK(tg_be16(a + DNS_HDR + qi->q.len) == qi->q.type);
		FZ_CHECK(tg_be16(a + DNS_HDR + qi->q.len + 2) == qi->q.cls);
	} else {
		FZ_CHECK(tg_be16(a + 4) == 0);
	}
	if (truncated) {
		FZ_CHECK(tg_be16(a + 2) & DNS_TC);
		FZ_CHECK(!tg_be16(a + 6) && !tg_be16(a + 8));
		FZ_CHECK(tg_be16(a + 10) == (qi->edns ? 1 : 0));
	}
	if (qi->edns)
		FZ_CHECK(tg_be16(a + 10) >= 1);
	FZ_CHECK(ldns_wire2pkt(&pkt, a, n) == LDNS_STATUS_OK);
	ldns_pkt_free(pkt);
}

static void answer(const struct dns_qinfo *qi, const struct dns_rec *rec,
		   int rcode, uint64_t now, bool udp)
{
	size_t limit = udp ? qi->udp_size : DNS_MSG_MAX;
	bool truncated = true;
	size_t n = dns_msg_answer(out, qi, rec, rcode, now, limit, &truncated);

	check_answer(out, n, qi, limit, truncated);
}

/* the record an upstream reply makes, as upstream.c makes it */
static struct dns_rec *from_upstream(const struct dns_key *k,
				     const uint8_t *src, size_t len)
{
	ldns_pkt *pkt = NULL;
	struct dns_rec *rec = NULL;
	ldns_pkt_rcode rc;

	if (ldns_wire2pkt(&pkt, src, len) != LDNS_STATUS_OK)
		return NULL;
	rc = ldns_pkt_get_rcode(pkt);
	if (rc == LDNS_RCODE_NOERROR || rc == LDNS_RCODE_NXDOMAIN)
		rec = dns_rec_from_pkt(pkt, k, dns_rec_pkt_ttl(pkt, 300));
	ldns_pkt_free(pkt);
	return rec;
}

/* getaddrinfo's answer: a canonical name, then addresses */
static struct dns_rec *from_addrs(const struct dns_key *k, struct fz *in)
{
	static const int rcodes[] = {DNS_R_NOERROR, DNS_R_NXDOMAIN,
				     DNS_R_SERVFAIL};
	struct addrinfo ai[MAX_ADDRS];
	struct sockaddr_in6 sa[MAX_ADDRS];
	char canon[DNS_NAME_MAX + 2];
	int rcode = rcodes[fz_u8(in) % 3];
	size_t n = 0, len;
	const uint8_t *p = fz_take(in, fz_u8(in), &len);

	memcpy(canon, p, len);
	canon[len] = '\0';
	memset(ai, 0, sizeof(ai));
	memset(sa, 0, sizeof(sa));
	while (in->left && n < MAX_ADDRS) {
		bool v6 = fz_u8(in) & 1;
		const uint8_t *a = fz_take(in, v6 ? 16 : 4, &len);

		ai[n].ai_family = v6 ? AF_INET6 : AF_INET;
		ai[n].ai_addr = (struct sockaddr *)&sa[n];
		ai[n].ai_addrlen = v6 ? sizeof(struct sockaddr_in6)
				      : sizeof(struct sockaddr_in);
		sa[n].sin6_family = (sa_family_t)ai[n].ai_family;
		if (v6)
			memcpy(&sa[n].sin6_addr, a, len);
		else
			memcpy(&((struct sockaddr_in *)&sa[n])->sin_addr, a,
			       len);
		if (n)
			ai[n - 1].ai_next = &ai[n];
		n++;
	}
	return dns_addr_rec(k, canon, n ? ai : NULL,
			    k->type == DNS_T_AAAA ? AF_INET6 : AF_INET, rcode,
			    30);
}

static void one_case(struct dns_cache *c, uint64_t *now, struct fz *in)
{
	uint8_t flags = fz_u8(in);
	size_t qlen, slen;
	const uint8_t *q = fz_slice(in, &qlen);
	const uint8_t *s = fz_slice(in, &slen);
	struct fz src = {s, slen};
	struct dns_rec *rec = NULL, *got;
	struct dns_qinfo qi;
	struct dns_key k;

	*now += (uint64_t)(flags >> 3) * 1000;
	if (dns_msg_parse_query(q, qlen, &qi) < 0) {
		FZ_CHECK(qlen < DNS_HDR);
		return;
	}
	FZ_CHECK(qi.udp_size >= DNS_UDP_MIN);
	FZ_CHECK(!qi.has_q || qi.q.len <= DNS_NAME_MAX);
	answer(&qi, NULL, qi.rcode ? qi.rcode : DNS_R_SERVFAIL, *now,
	       flags & 1);
	if (qi.rcode || !qi.has_q)
		return;
	dns_key_from_question(&qi.q, &k);
	got = dns_cache_get(c, &k, *now);
	if (got) {
		answer(&qi, got, DNS_R_SERVFAIL, *now, flags & 1);
		dns_rec_unref(got);
	}
	switch (flags >> 1 & 3) {
	case 0:
		rec = from_upstream(&k, s, slen);
		break;
	case 1:
		if (dns_addr_wants(&k))
			rec = from_addrs(&k, &src);
		break;
	case 2:
		if (k.type == DNS_T_ANY)
			rec = dns_rec_any(&k, 30);
		break;
	}
	if (!rec)
		return;
	FZ_CHECK(rec->qlen == k.len && rec->len >= DNS_HDR + k.len + 4);
	FZ_CHECK(!memcmp(rec->wire + DNS_HDR, k.name, k.len));
	rec->born_ms = *now;
	dns_cache_put(c, &k, rec, *now);
	answer(&qi, rec, DNS_R_SERVFAIL, *now + 1500, flags & 1);
	dns_rec_unref(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	struct dns_cache c;
	uint64_t now = 1000000;

	if (!out)
		out = malloc(DNS_MSG_MAX);
	FZ_CHECK(out && !dns_cache_init(&c, 4, 8192));
	while (in.left)
		one_case(&c, &now, &in);
	dns_cache_free(&c);
	return 0;
}
