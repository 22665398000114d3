// SPDX-License-Identifier: MIT
/*
 * msg.c - DNS messages on the wire: the query's parse, the answer's build.
 *
 * Theory of operation: queries arrive by the thousand and most are
 * answered from the cache, so this path allocates nothing. A query is
 * read with bounds-checked offsets into a struct dns_qinfo (id, flags,
 * the question as asked, EDNS0). An answer is the cached record copied
 * into the proxy's output buffer and patched for its asker: id, flags,
 * the question's letter case (the record holds it lowercase and has the
 * same length, so it is overwritten in place; RFC 1035 7.1 and the 0x20
 * trick), each TTL less the record's age, and an OPT record if the query
 * had one. A UDP answer over the client's size first loses its
 * additional section (RFC 2181 9: no TC needed), then everything but the
 * question, with TC set (RFC 1035 4.2.1, RFC 6891 7).
 */
#include <errno.h>
#include <string.h>

#include "dns/dns_internal.h"

#define DNS_OPT_LEN 11

/**
 * dns_msg_skip_name() - step over a (possibly compressed) name
 * @m:		message
 * @len:	its length
 * @off:	in: the name's offset; out: the offset after it
 *
 * Return: 0, or -EBADMSG if it runs past the end or uses a reserved
 * label type
 */
int dns_msg_skip_name(const uint8_t *m, size_t len, size_t *off)
{
	size_t o = *off;

	for (;;) {
		uint8_t l;

		if (o >= len)
			return -EBADMSG;
		l = m[o];
		if ((l & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return -EBADMSG;
			*off = o + 2;
			return 0;
		}
		if (l & 0xc0)
			return -EBADMSG;
		o += 1 + (size_t)l;
		if (l == 0) {
			*off = o;
			return 0;
		}
	}
}

/* one resource record's fixed part, after its owner name */
struct rr_hdr {
	size_t owner, fixed, end; /* offsets */
	uint16_t type, cls, rdlen;
	uint32_t ttl;
};

static int rr_next(const uint8_t *m, size_t len, size_t *off, struct rr_hdr *h)
{
	h->owner = *off;
	if (dns_msg_skip_name(m, len, off) || *off + 10 > len)
		return -EBADMSG;
	h->fixed = *off;
	h->type = tg_be16(m + *off);
	h->cls = tg_be16(m + *off + 2);
	h->ttl = tg_be32(m + *off + 4);
	h->rdlen = tg_be16(m + *off + 8);
	if (*off + 10 + h->rdlen > len)
		return -EBADMSG;
	*off += 10 + (size_t)h->rdlen;
	h->end = *off;
	return 0;
}

/**
 * dns_msg_sections() - where each section of a message starts
 * @m:		message
 * @len:	its length
 * @off:	out: offsets of the answer, authority and additional sections
 *		and of the end of the last record
 *
 * Return: 0, or -EBADMSG
 */
int dns_msg_sections(const uint8_t *m, size_t len, size_t off[4])
{
	size_t o = DNS_HDR;
	struct rr_hdr h;

	if (len < DNS_HDR)
		return -EBADMSG;
	for (unsigned i = tg_be16(m + 4); i > 0; i--) {
		if (dns_msg_skip_name(m, len, &o) || o + 4 > len)
			return -EBADMSG;
		o += 4;
	}
	for (int s = 0; s < 3; s++) {
		off[s] = o;
		for (unsigned i = tg_be16(m + 6 + 2 * s); i > 0; i--)
			if (rr_next(m, len, &o, &h))
				return -EBADMSG;
	}
	off[3] = o;
	return 0;
}

/* the question: an uncompressed name and its type and class */
static int parse_question(const uint8_t *m, size_t len, size_t *off,
			  struct dns_question *q)
{
	size_t o = *off, n = 0;

	for (;;) {
		uint8_t l;

		if (o >= len)
			return -EBADMSG;
		l = m[o];
		/* a pointer could only point into the header: refuse it */
		if (l & 0xc0 || o + 1 + l > len || n + 1 + l > DNS_NAME_MAX)
			return -EBADMSG;
		memcpy(q->name + n, m + o, 1 + (size_t)l);
		n += 1 + (size_t)l;
		o += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	if (o + 4 > len)
		return -EBADMSG;
	q->len = (uint8_t)n;
	q->type = tg_be16(m + o);
	q->cls = tg_be16(m + o + 2);
	*off = o + 4;
	return 0;
}

/* EDNS0 (RFC 6891 6.1): one OPT record, owner root, additional section */
static int parse_opt(const uint8_t *m, const struct rr_hdr *h, int section,
		     struct dns_qinfo *qi)
{
	if (section != 2 || qi->edns || m[h->owner] != 0)
		return DNS_R_FORMERR;
	qi->edns = true;
	qi->edns_do = h->ttl & 0x8000;
	qi->udp_size = h->cls < DNS_UDP_MIN ? DNS_UDP_MIN : h->cls;
	return (h->ttl >> 16 & 0xff) != 0 ? DNS_R_BADVERS : 0;
}

static int parse_records(const uint8_t *m, size_t len, size_t off,
			 struct dns_qinfo *qi)
{
	struct rr_hdr h;
	int rc = 0;

	for (int s = 0; s < 3; s++) {
		for (unsigned i = tg_be16(m + 6 + 2 * s); i > 0; i--) {
			if (rr_next(m, len, &off, &h))
				return DNS_R_FORMERR;
			if (h.type != DNS_T_OPT)
				continue;
			int r = parse_opt(m, &h, s, qi);

			if (r == DNS_R_FORMERR)
				return r;
			rc = rc ? rc : r;
		}
	}
	return rc;
}

/**
 * dns_msg_parse_query() - read a query
 * @m:		the message
 * @len:	its length
 * @qi:		out: what it asks; @qi->rcode is nonzero if it must be
 *		answered at once with that error (FORMERR, NOTIMP, BADVERS)
 *
 * Return: 0, or -EBADMSG if not even the header is there
 */
int dns_msg_parse_query(const uint8_t *m, size_t len, struct dns_qinfo *qi)
{
	size_t off = DNS_HDR;
	uint16_t t;

	memset(qi, 0, sizeof(*qi));
	qi->udp_size = DNS_UDP_MIN;
	if (len < DNS_HDR)
		return -EBADMSG;
	qi->id = tg_be16(m);
	qi->flags = tg_be16(m + 2);
	if (qi->flags & DNS_QR || tg_be16(m + 4) != 1) {
		qi->rcode = DNS_R_FORMERR;
		return 0;
	}
	if (DNS_OPCODE(qi->flags) != 0) {
		qi->rcode = DNS_R_NOTIMP;
		return 0;
	}
	if (parse_question(m, len, &off, &qi->q)) {
		qi->rcode = DNS_R_FORMERR;
		return 0;
	}
	qi->has_q = true;
	qi->rcode = parse_records(m, len, off, qi);
	t = qi->q.type;
	if (!qi->rcode && t == DNS_T_OPT)
		qi->rcode = DNS_R_FORMERR;
	/* zone transfers and the obsolete mail types are not ours to do */
	if (!qi->rcode && (t == DNS_T_AXFR || t == DNS_T_IXFR ||
			   t == DNS_T_MAILA || t == DNS_T_MAILB))
		qi->rcode = DNS_R_NOTIMP;
	return 0;
}

/* every TTL of the answer's records less @age seconds, floored at 0 */
static void age_records(uint8_t *m, size_t len, size_t off, uint64_t age)
{
	struct rr_hdr h;

	for (unsigned i =
		     tg_be16(m + 6) + tg_be16(m + 8) + tg_be16(m + 10);
	     i > 0; i--) {
		if (rr_next(m, len, &off, &h))
			return;
		tg_put_be32(m + h.fixed + 4,
			  h.ttl > age ? h.ttl - (uint32_t)age : 0);
	}
}

static size_t put_question(uint8_t *out, const struct dns_qinfo *qi)
{
	memcpy(out + DNS_HDR, qi->q.name, qi->q.len);
	tg_put_be16(out + DNS_HDR + qi->q.len, qi->q.type);
	tg_put_be16(out + DNS_HDR + qi->q.len + 2, qi->q.cls);
	tg_put_be16(out + 4, 1);
	return DNS_HDR + qi->q.len + 4;
}

static void put_opt(uint8_t *out, const struct dns_qinfo *qi, int rcode)
{
	out[0] = 0; /* root */
	tg_put_be16(out + 1, DNS_T_OPT);
	tg_put_be16(out + 3, DNS_EDNS_SIZE);
	/* extended RCODE, version 0, the DO bit copied (RFC 3225 3) */
	tg_put_be32(out + 5,
		  (uint32_t)(rcode >> 4) << 24 | (qi->edns_do ? 0x8000u : 0));
	tg_put_be16(out + 9, 0);
}

/* fit @n bytes (plus OPT) into @limit: drop additional, then all (TC) */
static size_t fit(uint8_t *out, size_t n, size_t qend, size_t limit,
		  size_t optlen, bool *truncated)
{
	size_t off[4];

	if (n + optlen <= limit)
		return n;
	if (!dns_msg_sections(out, n, off) && off[2] + optlen <= limit) {
		tg_put_be16(out + 10, 0);
		return off[2];
	}
	memset(out + 6, 0, 6);
	out[2] |= DNS_TC >> 8;
	*truncated = true;
	return qend;
}

/**
 * dns_msg_answer() - build the answer to one query
 * @out:	buffer of DNS_MSG_MAX bytes
 * @qi:		the query
 * @rec:	the answer's record, or NULL to answer @rcode with no records
 * @rcode:	used when @rec is NULL
 * @now_ms:	loop time, to age the record's TTLs
 * @limit:	largest answer: the client's UDP size, or DNS_MSG_MAX
 * @truncated:	out: set if records had to go and TC was set
 *
 * Return: the answer's length
 */
size_t dns_msg_answer(uint8_t *out, const struct dns_qinfo *qi,
		      const struct dns_rec *rec, int rcode, uint64_t now_ms,
		      size_t limit, bool *truncated)
{
	size_t n = DNS_HDR, qend = DNS_HDR;
	size_t optlen = qi->edns ? DNS_OPT_LEN : 0;
	uint16_t flags = DNS_QR | DNS_RA | (qi->flags & (DNS_RD | DNS_CD));

	*truncated = false;
	if (rec && (!qi->has_q || rec->qlen != qi->q.len)) {
		rec = NULL; /* not this question's record: cannot happen */
		rcode = DNS_R_SERVFAIL;
	}
	if (rec) {
		memcpy(out, rec->wire, rec->len);
		memcpy(out + DNS_HDR, qi->q.name, qi->q.len);
		n = rec->len;
		qend = DNS_HDR + rec->qlen + 4U;
		rcode = (rcode & ~0xf) | (out[3] & 0xf);
		if (now_ms > rec->born_ms)
			age_records(out, n, qend,
				    (now_ms - rec->born_ms) / 1000);
	} else {
		memset(out, 0, DNS_HDR);
		if (qi->has_q)
			n = qend = put_question(out, qi);
		else /* RFC 6895 2: an error keeps the opcode it could not do */
			flags |= qi->flags & 0x7800;
	}
	tg_put_be16(out, qi->id);
	tg_put_be16(out + 2, flags | (rcode & 0xf));
	n = fit(out, n, qend, limit, optlen, truncated);
	if (optlen) {
		put_opt(out + n, qi, rcode);
		tg_put_be16(out + 10, tg_be16(out + 10) + 1);
		n += optlen;
	}
	return n;
}

/**
 * dns_key_from_question() - the cache key: lowercase name, type, class
 * @q:	the question as asked
 * @k:	out: the key, with its hash (FNV-1a)
 */
void dns_key_from_question(const struct dns_question *q, struct dns_key *k)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < q->len; i++) {
		uint8_t c = q->name[i];

		/* label lengths are < 64, never in 'A'..'Z' */
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		k->name[i] = c;
		h = (h ^ c) * 16777619u;
	}
	k->len = q->len;
	k->type = q->type;
	k->cls = q->cls;
	h = (h ^ (q->type & 0xff) ^ (uint32_t)q->type >> 8) * 16777619u;
	k->hash = (h ^ q->cls) * 16777619u;
}

/* is the key (name, type, class) this one? */
bool dns_key_equal(const struct dns_key *a, const uint8_t *name, uint8_t len,
		   uint16_t type, uint16_t cls)
{
	return a->len == len && a->type == type && a->cls == cls &&
	       !memcmp(a->name, name, len);
}

/**
 * dns_name_text() - a wire name as "www.example.com" (the root: ".")
 * @name:	wire form, uncompressed
 * @len:	its length
 * @out:	buffer
 * @cap:	its size
 *
 * Return: the text's length, -EINVAL if a label holds a dot, a backslash,
 * blank or control bytes (no host name looks like that), or -ENOSPC
 */
int dns_name_text(const uint8_t *name, size_t len, char *out, size_t cap)
{
	size_t o = 0, n = 0;

	while (o < len && name[o] != 0) {
		uint8_t l = name[o++];

		if (o + l > len || n + l + 2 > cap)
			return -ENOSPC;
		if (n)
			out[n++] = '.';
		for (; l > 0; l--, o++) {
			uint8_t c = name[o];

			if (c <= ' ' || c >= 0x7f || c == '.' || c == '\\')
				return -EINVAL;
			out[n++] = (char)c;
		}
	}
	if (cap < 2)
		return -ENOSPC;
	if (n == 0)
		out[n++] = '.';
	out[n] = '\0';
	return (int)n;
}
