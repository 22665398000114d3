// SPDX-License-Identifier: MIT
/*
 * resolved.c - A and AAAA through systemd-resolved's varlink interface.
 *
 * Theory of operation: on a laptop that runs systemd-resolved, its own
 * programs resolve names through the NSS module "resolve", which a static
 * binary must never load (the laptop's glibc is not ours). The module is
 * a thin client of resolved's documented varlink socket, so the proxy
 * speaks that protocol itself: per-link (VPN) DNS servers, mDNS ".local"
 * names, LLMNR and resolved's synthesized names then answer in the
 * container exactly as on the laptop.
 *
 * Varlink is JSON over a stream socket, each message ended by a NUL. A
 * lookup connects (uv_pipe_t, no thread), sends
 *
 *	{"method":"io.systemd.Resolve.ResolveHostname",
 *	 "parameters":{"name":NAME,"family":2|10}}
 *
 * and reads one reply, at most RV_REPLY_MAX bytes:
 *
 *	{"parameters":{"addresses":[{"ifindex":3,"family":2,
 *	 "address":[10,20,1,5]}],"name":"canonical.name","flags":1}}
 *	{"error":"io.systemd.Resolve.DNSError","parameters":{"rcode":3}}
 *	{"error":"io.systemd.Resolve.NoSuchResourceRecord"}
 *
 * The mapping follows addr.c's rule for getaddrinfo: addresses (of the
 * family, or none) are NOERROR; DNSError 3 is NXDOMAIN; NoSuchResourceRecord
 * (no address of this family, or no answer at all on mDNS/LLMNR) asks
 * again without a family on the same connection: an address of the other
 * family makes it NODATA, nothing at all NXDOMAIN. Resolved's other
 * errors (timeouts, no servers, DNSSEC) are its verdict: SERVFAIL.
 *
 * Anything else means resolved is not there to ask (no socket, refused,
 * a reply that does not parse, a varlink-level error): the lookup goes
 * on with getaddrinfo (addr.c), which the static binary serves from
 * /etc/hosts and the resolv.conf nameservers. The first such failure
 * after resolved answered is logged once, and so is its return.
 *
 * The call's memory is its own (struct rv_call), apart from the lookup:
 * a lookup that moves on to getaddrinfo or is done leaves the call to
 * close its pipe and free itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "dns/dns_internal.h"
#include "lib/log.h"

#define RV_REPLY_MAX (32 * 1024)
#define RV_CALL_MAX (DNS_NAME_MAX * 6 + 128)
#define RV_DEPTH_MAX 16

#define RV_ERR_PREFIX "io.systemd.Resolve."
#define RV_ERR_NOSUCHRR "io.systemd.Resolve.NoSuchResourceRecord"
#define RV_ERR_DNS "io.systemd.Resolve.DNSError"

struct rv_call {
	uv_pipe_t pipe;
	uv_connect_t conn;
	uv_write_t wr[2]; /* the call, and the confirming one */
	struct dns_lookup *lk; /* NULL once the lookup has moved on */
	int family; /* of the call on the wire: AF_INET, AF_INET6, 0 */
	bool closing;
	size_t len; /* bytes of the reply so far */
	char req[RV_CALL_MAX];
	char reply[RV_REPLY_MAX];
};

/* --- the reply's JSON ---------------------------------------------------- */

struct jcur {
	const char *p, *end;
	int depth;
};

static void jws(struct jcur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
				 *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool jlit(struct jcur *c, char ch)
{
	jws(c);
	if (c->p >= c->end || *c->p != ch)
		return false;
	c->p++;
	return true;
}

/* a string into @out (NUL-terminated, cut at @cap), or skipped: NULL */
static bool jstring(struct jcur *c, char *out, size_t cap)
{
	size_t n = 0;

	if (!jlit(c, '"'))
		return false;
	while (c->p < c->end && *c->p != '"') {
		char ch = *c->p++;

		if ((unsigned char)ch < 0x20)
			return false;
		if (ch == '\\') {
			if (c->p >= c->end)
				return false;
			ch = *c->p++;
			if (ch == 'u') {
				/* names are ASCII: anything else is '?' */
				unsigned v = 0;

				for (int i = 0; i < 4; i++, c->p++) {
					int d;

					if (c->p >= c->end)
						return false;
					d = *c->p;
					if (d >= '0' && d <= '9')
						d -= '0';
					else if ((d | 0x20) >= 'a' &&
						 (d | 0x20) <= 'f')
						d = (d | 0x20) - 'a' + 10;
					else
						return false;
					v = v << 4 | (unsigned)d;
				}
				ch = v > 0 && v < 0x80 ? (char)v : '?';
			} else if (!ch || !strchr("\"\\/bfnrt", ch)) {
				return false;
			}
		}
		if (out && n + 1 < cap)
			out[n++] = ch;
	}
	if (out && cap)
		out[n] = '\0';
	return jlit(c, '"');
}

/* an integer; fractions and exponents do not occur in these replies */
static bool jint(struct jcur *c, long *v)
{
	bool neg = false;
	long x = 0;
	int digits = 0;

	jws(c);
	if (c->p < c->end && *c->p == '-') {
		neg = true;
		c->p++;
	}
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && digits < 12) {
		x = x * 10 + (*c->p++ - '0');
		digits++;
	}
	if (!digits || (c->p < c->end && ((*c->p >= '0' && *c->p <= '9') ||
					  *c->p == '.' || *c->p == 'e' ||
					  *c->p == 'E')))
		return false;
	*v = neg ? -x : x;
	return true;
}

static bool jskip(struct jcur *c);

/* the members of an object: @member is called at each key, with the
 * cursor before the value, and must consume the value */
static bool jobject(struct jcur *c, void *arg,
		    bool (*member)(struct jcur *c, const char *key, void *arg))
{
	char key[32];

	if (++c->depth > RV_DEPTH_MAX || !jlit(c, '{'))
		return false;
	if (!jlit(c, '}')) {
		do {
			if (!jstring(c, key, sizeof(key)) || !jlit(c, ':') ||
			    !member(c, key, arg))
				return false;
		} while (jlit(c, ','));
		if (!jlit(c, '}'))
			return false;
	}
	c->depth--;
	return true;
}

static bool skip_member(struct jcur *c, const char *key, void *arg)
{
	(void)key;
	(void)arg;
	return jskip(c);
}

static bool jarray(struct jcur *c, void *arg,
		   bool (*elem)(struct jcur *c, void *arg))
{
	if (++c->depth > RV_DEPTH_MAX || !jlit(c, '['))
		return false;
	if (!jlit(c, ']')) {
		do {
			if (!elem(c, arg))
				return false;
		} while (jlit(c, ','));
		if (!jlit(c, ']'))
			return false;
	}
	c->depth--;
	return true;
}

static bool skip_elem(struct jcur *c, void *arg)
{
	(void)arg;
	return jskip(c);
}

static bool jword(struct jcur *c, const char *w)
{
	size_t n = strlen(w);

	jws(c);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
		return false;
	c->p += n;
	return true;
}

static bool jskip(struct jcur *c)
{
	long v;

	jws(c);
	if (c->p >= c->end)
		return false;
	switch (*c->p) {
	case '{':
		return jobject(c, NULL, skip_member);
	case '[':
		return jarray(c, NULL, skip_elem);
	case '"':
		return jstring(c, NULL, 0);
	case 't':
		return jword(c, "true");
	case 'f':
		return jword(c, "false");
	case 'n':
		return jword(c, "null");
	default:
		return jint(c, &v);
	}
}

struct addr_parse {
	struct dns_addr a;
	long family;
	size_t bytes;
	bool too_long;
};

static bool address_byte(struct jcur *c, void *arg)
{
	struct addr_parse *ap = arg;
	long v;

	if (!jint(c, &v) || v < 0 || v > 255)
		return false;
	if (ap->bytes < sizeof(ap->a.addr))
		ap->a.addr[ap->bytes] = (uint8_t)v;
	else
		ap->too_long = true;
	ap->bytes++;
	return true;
}

static bool address_member(struct jcur *c, const char *key, void *arg)
{
	struct addr_parse *ap = arg;

	if (!strcmp(key, "family"))
		return jint(c, &ap->family);
	if (!strcmp(key, "address"))
		return jarray(c, ap, address_byte);
	return jskip(c);
}

static bool address_elem(struct jcur *c, void *arg)
{
	struct dns_resolved_reply *r = arg;
	struct addr_parse ap = {.family = -1};

	if (!jobject(c, &ap, address_member))
		return false;
	/* an entry that is not a whole address of a family is ignored */
	if (ap.too_long || !((ap.family == AF_INET && ap.bytes == 4) ||
			     (ap.family == AF_INET6 && ap.bytes == 16)))
		return true;
	ap.a.family = (int)ap.family;
	if (r->n < DNS_ADDR_MAX)
		r->addrs[r->n++] = ap.a;
	return true;
}

static bool params_member(struct jcur *c, const char *key, void *arg)
{
	struct dns_resolved_reply *r = arg;

	if (!strcmp(key, "addresses")) {
		r->has_addresses = true;
		return jarray(c, r, address_elem);
	}
	if (!strcmp(key, "name"))
		return jstring(c, r->name, sizeof(r->name));
	if (!strcmp(key, "rcode"))
		return jint(c, &r->rcode);
	return jskip(c);
}

static bool top_member(struct jcur *c, const char *key, void *arg)
{
	struct dns_resolved_reply *r = arg;

	if (!strcmp(key, "error"))
		return jstring(c, r->error, sizeof(r->error));
	if (!strcmp(key, "parameters"))
		return jobject(c, r, params_member);
	return jskip(c);
}

/**
 * dns_resolved_parse() - read one varlink reply of ResolveHostname
 * @json:	the message, without its NUL
 * @len:	its length
 * @r:		the result: error name ("" if none), rcode of a DNSError (-1
 *		if none), canonical name, addresses (the first DNS_ADDR_MAX)
 *
 * Return: 0, or -EBADMSG if it is not one JSON object
 */
int dns_resolved_parse(const char *json, size_t len,
		       struct dns_resolved_reply *r)
{
	struct jcur c = {.p = json, .end = json + len};

	memset(r, 0, sizeof(*r));
	r->rcode = -1;
	if (!jobject(&c, r, top_member))
		return -EBADMSG;
	jws(&c);
	return c.p == c.end ? 0 : -EBADMSG;
}

/**
 * dns_resolved_rcode() - what a reply means in DNS terms
 * @r:		the parsed reply
 * @family:	the family asked: AF_INET, AF_INET6, or 0 when confirming
 *		that a name does not exist
 *
 * Return: DNS_R_NOERROR (with the addresses of the family, if any),
 * DNS_R_NXDOMAIN, DNS_R_SERVFAIL, DNS_ADDR_CONFIRM (ask again without a
 * family), or DNS_RESOLVED_FAIL: not an answer of resolved at all
 */
int dns_resolved_rcode(const struct dns_resolved_reply *r, int family)
{
	if (!r->error[0])
		return r->has_addresses ? DNS_R_NOERROR : DNS_RESOLVED_FAIL;
	if (!strcmp(r->error, RV_ERR_NOSUCHRR))
		return family ? DNS_ADDR_CONFIRM : DNS_R_NXDOMAIN;
	if (!strcmp(r->error, RV_ERR_DNS))
		return r->rcode == DNS_R_NXDOMAIN ? DNS_R_NXDOMAIN
						  : DNS_R_SERVFAIL;
	if (!strncmp(r->error, RV_ERR_PREFIX, strlen(RV_ERR_PREFIX)))
		return DNS_R_SERVFAIL;
	return DNS_RESOLVED_FAIL;
}

/**
 * dns_resolved_call() - the varlink call for @name
 * @out:	buffer
 * @cap:	its size
 * @name:	host name (text, no trailing dot needed)
 * @family:	AF_INET, AF_INET6, or 0 for both
 *
 * Return: the call's length including its NUL, or -ENOSPC
 */
int dns_resolved_call(char *out, size_t cap, const char *name, int family)
{
	size_t n = 0;
	int w;

	w = snprintf(out, cap,
		     "{\"method\":\"io.systemd.Resolve.ResolveHostname\","
		     "\"parameters\":{\"name\":\"");
	if (w < 0 || (size_t)w >= cap)
		return -ENOSPC;
	n = (size_t)w;
	for (const char *s = name; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		w = ch < 0x20 || ch == '"' || ch == '\\'
			    ? snprintf(out + n, cap - n, "\\u%04x", ch)
			    : snprintf(out + n, cap - n, "%c", ch);
		if (w < 0 || (size_t)w >= cap - n)
			return -ENOSPC;
		n += (size_t)w;
	}
	w = family ? snprintf(out + n, cap - n, "\",\"family\":%d}}", family)
		   : snprintf(out + n, cap - n, "\"}}");
	if (w < 0 || (size_t)w + 1 >= cap - n)
		return -ENOSPC;
	return (int)(n + (size_t)w + 1); /* snprintf wrote the NUL */
}

/* --- the call on the loop ------------------------------------------------ */

static void call_free_cb(uv_handle_t *h)
{
	struct rv_call *rc = h->data;
	struct dns_lookup *lk = rc->lk;

	free(rc);
	/* a cancelled lookup ends here, after its pipe */
	if (lk)
		dns_lookup_done(lk, NULL, DNS_R_SERVFAIL, "cancelled");
}

/* the lookup leaves the call; the call closes and frees itself */
static struct dns_lookup *call_release(struct rv_call *rc)
{
	struct dns_lookup *lk = rc->lk;

	rc->lk = NULL;
	if (lk)
		lk->rv = NULL;
	if (!rc->closing) {
		rc->closing = true;
		uv_close((uv_handle_t *)&rc->pipe, call_free_cb);
	}
	return lk;
}

static void note_state(struct dns_proxy *p, bool ok, const char *why)
{
	if (ok && p->resolved_state != DNS_RESOLVED_OK) {
		if (p->resolved_state == DNS_RESOLVED_FAILED)
			tg_info("names: systemd-resolved answers again");
		p->resolved_state = DNS_RESOLVED_OK;
	} else if (!ok && p->resolved_state != DNS_RESOLVED_FAILED) {
		tg_warn("names: systemd-resolved failed (%s): files and dns "
			"until it answers again",
			why);
		p->resolved_state = DNS_RESOLVED_FAILED;
	}
}

/* resolved cannot answer: getaddrinfo takes the lookup over */
static void call_fail(struct rv_call *rc, const char *why)
{
	struct dns_lookup *lk = call_release(rc);

	if (!lk)
		return;
	note_state(lk->p, false, why);
	if (dns_addr_fallback(lk) < 0)
		dns_lookup_done(lk, NULL, DNS_R_SERVFAIL, "getaddrinfo");
}

static int call_send(struct rv_call *rc, int family);

static void answer(struct rv_call *rc, const struct dns_resolved_reply *r,
		   int rcode)
{
	struct dns_lookup *lk = call_release(rc);
	int family = lk->key.type == DNS_T_A ? AF_INET : AF_INET6;
	struct dns_rec *rec;

	note_state(lk->p, true, NULL);
	if (rcode == DNS_R_SERVFAIL) {
		dns_lookup_done(lk, NULL, DNS_R_SERVFAIL, r->error);
		return;
	}
	/* the confirming call's addresses only tell that the name exists */
	rec = dns_addr_build(&lk->key, r->name, rc->family ? r->addrs : NULL,
			     rc->family ? r->n : 0, family, rcode,
			     lk->p->o.addr_ttl_s);
	dns_addr_cap_negative(lk->p, rec);
	dns_lookup_done(lk, rec, DNS_R_SERVFAIL, rec ? NULL : "out of memory");
}

static void reply_done(struct rv_call *rc)
{
	struct dns_resolved_reply r;
	int rcode;

	if (dns_resolved_parse(rc->reply, rc->len, &r) < 0) {
		call_fail(rc, "a reply that does not parse");
		return;
	}
	rcode = dns_resolved_rcode(&r, rc->family);
	if (rcode == DNS_RESOLVED_FAIL) {
		call_fail(rc, r.error[0] ? r.error : "a reply without addresses");
		return;
	}
	if (rcode == DNS_ADDR_CONFIRM) {
		rc->len = 0;
		if (call_send(rc, 0) < 0)
			call_fail(rc, "cannot ask again");
		return;
	}
	answer(rc, &r, rcode);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct rv_call *rc = h->data;

	(void)hint;
	*buf = uv_buf_init(rc->reply + rc->len,
			   (unsigned)(sizeof(rc->reply) - rc->len));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct rv_call *rc = s->data;
	char *nul;

	(void)buf;
	if (!rc->lk || rc->closing)
		return;
	if (n < 0) {
		call_fail(rc, n == UV_EOF ? "closed the connection"
					  : uv_strerror((int)n));
		return;
	}
	if (n == 0)
		return;
	nul = memchr(rc->reply + rc->len, '\0', (size_t)n);
	rc->len += (size_t)n;
	if (nul) {
		rc->len = (size_t)(nul - rc->reply);
		uv_read_stop(s);
		reply_done(rc);
	} else if (rc->len == sizeof(rc->reply)) {
		call_fail(rc, "a reply too long");
	}
}

static void write_cb(uv_write_t *w, int status)
{
	struct rv_call *rc = w->data;

	if (status < 0 && rc->lk && !rc->closing)
		call_fail(rc, uv_strerror(status));
}

static int call_send(struct rv_call *rc, int family)
{
	char host[DNS_NAME_MAX + 1];
	uv_write_t *w;
	uv_buf_t b;
	int n;

	if (dns_name_text(rc->lk->key.name, rc->lk->key.len, host,
			  sizeof(host)) < 0)
		return -EINVAL;
	n = dns_resolved_call(rc->req, sizeof(rc->req), host, family);
	if (n < 0)
		return n;
	rc->family = family;
	b = uv_buf_init(rc->req, (unsigned)n);
	w = &rc->wr[family == 0];
	w->data = rc;
	n = uv_write(w, (uv_stream_t *)&rc->pipe, &b, 1, write_cb);
	if (n == 0)
		n = uv_read_start((uv_stream_t *)&rc->pipe, alloc_cb, read_cb);
	return n;
}

static void connect_cb(uv_connect_t *c, int status)
{
	struct rv_call *rc = c->data;

	if (!rc->lk || rc->closing)
		return;
	if (status < 0) {
		call_fail(rc, uv_strerror(status));
		return;
	}
	if (call_send(rc, rc->family) < 0)
		call_fail(rc, "cannot send the call");
}

/** dns_resolved_present() - see dns.h */
bool dns_resolved_present(const char *path)
{
	struct stat st;

	return path && stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/**
 * dns_resolved_start() - ask systemd-resolved for @lk's key
 * @lk:		an IN A or IN AAAA lookup; p->o.resolved_path is set
 *
 * Return: 0 if the call is under way (dns_lookup_done() or the
 * getaddrinfo fallback follow, from the loop); -ENOENT if resolved has no
 * socket (nothing is logged: the proxy uses files and dns), or another
 * error: the caller uses getaddrinfo
 */
int dns_resolved_start(struct dns_lookup *lk)
{
	struct dns_proxy *p = lk->p;
	struct rv_call *rc;

	if (!dns_resolved_present(p->o.resolved_path)) {
		if (p->resolved_state == DNS_RESOLVED_OK)
			note_state(p, false, "its socket is gone");
		return -ENOENT;
	}
	rc = malloc(sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	memset(rc, 0, offsetof(struct rv_call, req));
	if (uv_pipe_init(p->loop, &rc->pipe, 0) < 0) {
		free(rc);
		return -ENOMEM;
	}
	rc->pipe.data = rc->conn.data = rc;
	rc->lk = lk;
	rc->family = lk->key.type == DNS_T_A ? AF_INET : AF_INET6;
	lk->rv = rc;
	uv_pipe_connect(&rc->conn, &rc->pipe, p->o.resolved_path, connect_cb);
	return 0;
}

/**
 * dns_resolved_cancel() - give up on @lk's call: the lookup is done
 * (cancelled) once its pipe is closed
 */
void dns_resolved_cancel(struct dns_lookup *lk)
{
	struct rv_call *rc = lk->rv;

	if (!rc || rc->closing)
		return;
	rc->closing = true;
	uv_close((uv_handle_t *)&rc->pipe, call_free_cb);
}
