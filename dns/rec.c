// SPDX-License-Identifier: MIT
/*
 * rec.c - records (cacheable answers) built with ldns.
 *
 * Theory of operation: every answer that is not an error is built as an
 * ldns packet whose question is the lowercase key, whatever the source:
 * an upstream reply (its sections copied; ldns already took its OPT and
 * TSIG records out), getaddrinfo's addresses (addr.c) or the RFC 8482
 * answer to ANY. ldns_pkt2wire() then gives the wire form, compressed,
 * with the question in full at offset 12: msg.c relies on that to put
 * the asker's letter case back. This runs in the loop and, for upstream
 * replies, in libuv's worker threads: it touches nothing shared.
 */
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_internal.h"

/**
 * dns_rec_pkt_new() - an empty answer packet to @k's question
 * @k:		the key
 * @rcode:	its RCODE
 *
 * Return: the packet, or NULL
 */
ldns_pkt *dns_rec_pkt_new(const struct dns_key *k, int rcode)
{
	ldns_pkt *pkt = ldns_pkt_new();
	ldns_rdf *owner;
	ldns_rr *q;

	if (!pkt)
		return NULL;
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	owner = ldns_dname_new_frm_data(k->len, k->name);
	q = ldns_rr_new();
	if (!owner || !q) {
		ldns_rdf_deep_free(owner);
		ldns_rr_free(q);
		ldns_pkt_free(pkt);
		return NULL;
	}
	ldns_rr_set_owner(q, owner);
	ldns_rr_set_type(q, k->type);
	ldns_rr_set_class(q, k->cls);
	ldns_rr_set_question(q, true);
	ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, q);
	return pkt;
}

/**
 * dns_rec_finish() - the record of a packet from dns_rec_pkt_new()
 * @pkt:	the packet, freed
 * @k:		its key
 * @ttl_s:	life in the cache
 *
 * Return: the record, or NULL
 */
struct dns_rec *dns_rec_finish(ldns_pkt *pkt, const struct dns_key *k,
			       uint32_t ttl_s)
{
	struct dns_rec *r = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	if (pkt && ldns_pkt2wire(&wire, pkt, &len) == LDNS_STATUS_OK &&
	    len >= DNS_HDR + (size_t)k->len &&
	    !memcmp(wire + DNS_HDR, k->name, k->len))
		r = dns_rec_new(wire, len, k->len, ttl_s);
	free(wire);
	ldns_pkt_free(pkt);
	return r;
}

static void copy_section(ldns_pkt *dst, ldns_pkt_section s,
			 const ldns_rr_list *src)
{
	ldns_rr_list *l = ldns_rr_list_clone(src);

	if (!l)
		return;
	/* the packet takes the records, the list itself goes */
	ldns_pkt_push_rr_list(dst, s, l);
	ldns_rr_list_free(l);
}

/**
 * dns_rec_from_pkt() - the record of an upstream reply to @k
 * @src:	the reply (NOERROR or NXDOMAIN)
 * @k:		the key
 * @ttl_s:	life in the cache, see dns_rec_pkt_ttl()
 *
 * Return: the record, or NULL
 */
struct dns_rec *dns_rec_from_pkt(const ldns_pkt *src, const struct dns_key *k,
				 uint32_t ttl_s)
{
	ldns_pkt *pkt = dns_rec_pkt_new(k, ldns_pkt_get_rcode(src));

	if (!pkt)
		return NULL;
	copy_section(pkt, LDNS_SECTION_ANSWER, ldns_pkt_answer(src));
	copy_section(pkt, LDNS_SECTION_AUTHORITY, ldns_pkt_authority(src));
	copy_section(pkt, LDNS_SECTION_ADDITIONAL, ldns_pkt_additional(src));
	return dns_rec_finish(pkt, k, ttl_s);
}

/* RFC 2308 5: a negative answer lives min(SOA TTL, SOA MINIMUM) */
static uint32_t negative_ttl(const ldns_pkt *pkt, unsigned neg_max)
{
	const ldns_rr_list *ns = ldns_pkt_authority(pkt);

	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		uint32_t ttl = ldns_rr_ttl(rr), min;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_rd_count(rr) < 7)
			continue;
		min = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
		ttl = ttl < min ? ttl : min;
		return ttl < neg_max ? ttl : neg_max;
	}
	return 0; /* RFC 2308 5: without a SOA it is not cached */
}

/**
 * dns_rec_pkt_ttl() - how long a reply may be cached
 * @pkt:	the reply
 * @neg_max:	cap for negative answers
 *
 * Return: the smallest TTL of the answer section (at most a day); for
 * NXDOMAIN and NODATA the SOA's negative TTL capped at @neg_max; else 0
 */
uint32_t dns_rec_pkt_ttl(const ldns_pkt *pkt, unsigned neg_max)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(pkt);
	uint32_t ttl = DNS_TTL_MAX;

	if (rc == LDNS_RCODE_NXDOMAIN ||
	    (rc == LDNS_RCODE_NOERROR && ldns_rr_list_rr_count(an) == 0))
		return negative_ttl(pkt, neg_max);
	if (rc != LDNS_RCODE_NOERROR)
		return 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		uint32_t t = ldns_rr_ttl(ldns_rr_list_rr(an, i));

		ttl = t < ttl ? t : ttl;
	}
	return ttl;
}

/**
 * dns_rec_any() - the answer to ANY: RFC 8482 4.2, one HINFO record
 * "RFC8482" "", rather than everything the name has
 * @k:		the key
 * @ttl_s:	its TTL
 *
 * Return: the record, or NULL
 */
struct dns_rec *dns_rec_any(const struct dns_key *k, uint32_t ttl_s)
{
	ldns_pkt *pkt = dns_rec_pkt_new(k, LDNS_RCODE_NOERROR);
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *owner = ldns_dname_new_frm_data(k->len, k->name);
	ldns_rdf *cpu =
		ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, 8, "\7RFC8482");
	ldns_rdf *os = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, 1, "\0");

	if (!pkt || !rr || !owner || !cpu || !os) {
		ldns_pkt_free(pkt);
		ldns_rr_free(rr);
		ldns_rdf_deep_free(owner);
		ldns_rdf_deep_free(cpu);
		ldns_rdf_deep_free(os);
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_HINFO);
	ldns_rr_set_class(rr, k->cls);
	ldns_rr_set_ttl(rr, ttl_s);
	ldns_rr_push_rdf(rr, cpu);
	ldns_rr_push_rdf(rr, os);
	ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
	return dns_rec_finish(pkt, k, ttl_s);
}

/* the rdata of @rr as text, fields separated by blanks, cut to @cap */
static void rdata_text(const ldns_rr *rr, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ldns_rr_rd_count(rr) && n + 1 < cap; i++) {
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));
		int w;

		if (!s)
			break;
		w = snprintf(out + n, cap - n, "%s%s", i ? " " : "", s);
		free(s);
		if (w < 0)
			break;
		n += (size_t)w < cap - n ? (size_t)w : cap - n - 1;
	}
}

/* the first answer of the asked type, else the first answer */
static void first_answer(const struct dns_rec *r, uint16_t qtype, char *out,
			 size_t cap)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *an;
	ldns_rr *pick = NULL;

	if (ldns_wire2pkt(&pkt, r->wire, r->len) != LDNS_STATUS_OK)
		return;
	an = ldns_pkt_answer(pkt);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (!pick)
			pick = rr;
		if (ldns_rr_get_type(rr) == qtype) {
			pick = rr;
			break;
		}
	}
	if (pick)
		rdata_text(pick, out, cap);
	ldns_pkt_free(pkt);
}

/**
 * dns_rec_describe() - @r for people: its question, status and first
 * answer (see struct dns_cache_info; ttl_s and hits are the cache's)
 */
void dns_rec_describe(const struct dns_rec *r, struct dns_cache_info *ci)
{
	static const char *const rcodes[] = {
		"NOERROR",  "FORMERR", "SERVFAIL",
		"NXDOMAIN", "NOTIMP",  "REFUSED",
	};
	const uint8_t *q = r->wire + DNS_HDR;
	uint16_t qtype = tg_be16(q + r->qlen);
	unsigned rcode = tg_be16(r->wire + 2) & 0xf;
	ldns_rdf *owner = ldns_dname_new_frm_data(r->qlen, q);
	char *s = owner ? ldns_rdf2str(owner) : NULL;
	size_t n;

	memset(ci, 0, sizeof(*ci));
	snprintf(ci->name, sizeof(ci->name), "%s", s ? s : "?");
	n = strlen(ci->name);
	if (n > 1 && ci->name[n - 1] == '.')
		ci->name[n - 1] = '\0';
	free(s);
	ldns_rdf_deep_free(owner);
	s = ldns_rr_type2str((ldns_rr_type)qtype);
	snprintf(ci->type, sizeof(ci->type), "%s", s ? s : "?");
	free(s);
	ci->status = rcode < sizeof(rcodes) / sizeof(rcodes[0]) ? rcodes[rcode]
								: "OTHER";
	ci->answers = tg_be16(r->wire + 6);
	if (rcode == 0 && ci->answers == 0)
		ci->status = "NODATA";
	if (ci->answers)
		first_answer(r, qtype, ci->answer, sizeof(ci->answer));
}
