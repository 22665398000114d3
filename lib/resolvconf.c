// SPDX-License-Identifier: MIT
/*
 * resolvconf.c - resolv.conf read as glibc reads it.
 *
 * Theory of operation: glibc's res_init() knows a keyword only at the
 * start of a line and followed by a blank, skips lines that start with
 * '#' or ';', and lets the last "search" or "domain" line win; the
 * helpers here read it the same way (a '\r' counts as a blank). They are
 * pure functions over a buffer, shared by both sides: the outside reads
 * its machine's nameservers and search domains (tg_rc_nameservers(),
 * tg_rc_search_domains()), the inside rewrites the container's file with
 * them (tun/resolv.c). A domain that comes from elsewhere is taken only
 * if it is printable, has no comment character and fits in a DNS name,
 * so it cannot inject a line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/io.h"
#include "lib/resolvconf.h"

#define DOMAIN_MAX 253

bool tg_rc_next_line(const char *buf, size_t len, size_t *off,
		     struct tg_rc_line *l)
{
	const char *nl;

	if (*off >= len)
		return false;
	l->p = buf + *off;
	nl = memchr(l->p, '\n', len - *off);
	l->len = nl ? (size_t)(nl - l->p) : len - *off;
	l->full = l->len + (nl ? 1 : 0);
	*off += l->full;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' ||
	       c == '\n';
}

/** tg_rc_keyword() - see resolvconf.h */
bool tg_rc_keyword(const struct tg_rc_line *l, const char *kw, size_t *after)
{
	size_t n = strlen(kw);

	if (l->len <= n || memcmp(l->p, kw, n) || !is_blank(l->p[n]))
		return false;
	*after = n;
	return true;
}

/** tg_rc_next_token() - see resolvconf.h */
bool tg_rc_next_token(const char *p, size_t len, size_t *off, const char **tok,
		      size_t *tlen)
{
	size_t o = *off;

	while (o < len && is_blank(p[o]))
		o++;
	if (o >= len)
		return false;
	*tok = p + o;
	while (o < len && !is_blank(p[o]))
		o++;
	*tlen = (size_t)(p + o - *tok);
	*off = o;
	return true;
}

static bool same_domain(const char *a, size_t al, const char *b, size_t bl)
{
	if (al && a[al - 1] == '.')
		al--;
	if (bl && b[bl - 1] == '.')
		bl--;
	return al == bl && !strncasecmp(a, b, al);
}

/* a domain from outside: printable, no comment characters, not too long */
static bool domain_ok(const char *d, size_t len)
{
	if (len == 0 || len > DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)d[i] <= ' ' || (unsigned char)d[i] >= 0x7f ||
		    d[i] == '#' || d[i] == ';')
			return false;
	return true;
}

bool tg_rc_search_add(struct tg_rc_search *s, const char *d, size_t len)
{
	if (!domain_ok(d, len))
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (same_domain(s->d[i], s->len[i], d, len))
			return false;
	if (s->n == TG_RC_SEARCH_MAX)
		return false;
	s->d[s->n] = d;
	s->len[s->n++] = len;
	return true;
}

/** tg_rc_search_of() - see resolvconf.h */
void tg_rc_search_of(const char *buf, size_t len, struct tg_rc_search *s)
{
	size_t off = 0, o, tl;
	struct tg_rc_line l;
	const char *t;

	s->n = 0;
	while (tg_rc_next_line(buf, len, &off, &l)) {
		bool dom = tg_rc_keyword(&l, "domain", &o);

		if (!dom && !tg_rc_keyword(&l, "search", &o))
			continue;
		s->n = 0;
		while (tg_rc_next_token(l.p, l.len, &o, &t, &tl)) {
			tg_rc_search_add(s, t, tl);
			if (dom)
				break;
		}
	}
}

void tg_rc_put(struct tg_rc_out *o, const char *s, size_t len)
{
	if (o->full || len > o->cap - o->n) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, s, len);
	o->n += len;
}

void tg_rc_put_str(struct tg_rc_out *o, const char *s)
{
	tg_rc_put(o, s, strlen(s));
}

int tg_rc_search_domains(const char *resolv_conf, char *buf, size_t cap)
{
	char *file = malloc(TG_RC_MAX);
	struct tg_rc_search s;
	struct tg_rc_out o = {.p = buf, .cap = cap};
	ssize_t len;

	if (!file)
		return -ENOMEM;
	len = tg_read_file(resolv_conf, file, TG_RC_MAX);
	if (len < 0) {
		free(file);
		return (int)len;
	}
	tg_rc_search_of(file, (size_t)len, &s);
	for (size_t i = 0; i < s.n; i++) {
		if (i)
			tg_rc_put_str(&o, " ");
		tg_rc_put(&o, s.d[i], s.len[i]);
	}
	tg_rc_put(&o, "", 1);
	free(file);
	return o.full ? -ENOSPC : 0;
}

/**
 * tg_rc_nameservers() - the nameserver addresses of @path, in order
 * @path:	resolv.conf
 * @ns:		out: the addresses as text, a "%scope" cut off
 * @max:	room in @ns
 *
 * Return: how many, or -errno
 */
int tg_rc_nameservers(const char *path, char ns[][64], int max)
{
	char *file = malloc(TG_RC_MAX);
	size_t off = 0, o, tl;
	struct tg_rc_line l;
	const char *t;
	ssize_t len;
	int n = 0;

	if (!file)
		return -ENOMEM;
	len = tg_read_file(path, file, TG_RC_MAX);
	while (len > 0 && n < max &&
	       tg_rc_next_line(file, (size_t)len, &off, &l)) {
		if (!tg_rc_keyword(&l, "nameserver", &o) ||
		    !tg_rc_next_token(l.p, l.len, &o, &t, &tl))
			continue;
		const char *pct = memchr(t, '%', tl);

		if (pct)
			tl = (size_t)(pct - t);
		if (tl == 0 || tl >= 64)
			continue;
		memcpy(ns[n], t, tl);
		ns[n++][tl] = '\0';
	}
	free(file);
	return len < 0 ? (int)len : n;
}
