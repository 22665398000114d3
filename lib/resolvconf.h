/* SPDX-License-Identifier: MIT */
/*
 * resolvconf.h - resolv.conf read as glibc reads it (resolvconf.c): the
 * line, keyword and token readers, the effective search list, a bounded
 * output buffer, and the two things the outside reads of its machine's
 * file. Shared by dns/ (the upstream nameservers), cmd/ (the search
 * domains offered) and tun/ (the inside's rewrite).
 */
#ifndef TG_RESOLVCONF_H
#define TG_RESOLVCONF_H

#include <stdbool.h>
#include <stddef.h>

#define TG_RC_MAX (64 * 1024) /* a resolv.conf is read up to this size */
#define TG_RC_SEARCH_MAX 64 /* domains kept in one search line */

/* one line of a buffer */
struct tg_rc_line {
	const char *p;
	size_t len; /* without the '\n' */
	size_t full; /* with it, if there is one */
};

/* a search list: domains pointing into the buffer they were read from */
struct tg_rc_search {
	const char *d[TG_RC_SEARCH_MAX];
	size_t len[TG_RC_SEARCH_MAX];
	size_t n;
};

/* an output buffer that refuses to overflow: @full once anything did not fit */
struct tg_rc_out {
	char *p;
	size_t n, cap;
	bool full;
};

/**
 * tg_rc_next_line() - the line of @buf at *@off; moves *@off past it
 * Return: false at the end of @buf
 */
bool tg_rc_next_line(const char *buf, size_t len, size_t *off,
		     struct tg_rc_line *l);

/**
 * tg_rc_keyword() - does @l start with "@kw<blank>", as glibc's MATCH()
 * @after:	set to the offset past @kw
 */
bool tg_rc_keyword(const struct tg_rc_line *l, const char *kw, size_t *after);

/**
 * tg_rc_next_token() - the next blank-separated token of @p from *@off
 * Return: false if there is none
 */
bool tg_rc_next_token(const char *p, size_t len, size_t *off, const char **tok,
		      size_t *tlen);

/**
 * tg_rc_search_add() - append a domain unless it is malformed, already
 * listed (case and a final dot aside) or the list is full
 * Return: whether it was added
 */
bool tg_rc_search_add(struct tg_rc_search *s, const char *d, size_t len);

/**
 * tg_rc_search_of() - the effective search list of @buf: the last search
 * or domain line (glibc)
 */
void tg_rc_search_of(const char *buf, size_t len, struct tg_rc_search *s);

/* append to @o, or mark it full */
void tg_rc_put(struct tg_rc_out *o, const char *s, size_t len);
void tg_rc_put_str(struct tg_rc_out *o, const char *s);

/**
 * tg_rc_search_domains() - this machine's search list, space separated: the
 * last "search" or "domain" line of @resolv_conf wins, as in glibc
 * Return: 0 (an empty string if there is none), -ENOSPC, or -errno of
 * reading the file
 */
int tg_rc_search_domains(const char *resolv_conf, char *buf, size_t cap);

/**
 * tg_rc_nameservers() - the nameserver addresses of @path, in order
 * Return: how many, or -errno
 */
int tg_rc_nameservers(const char *path, char ns[][64], int max);

#endif
