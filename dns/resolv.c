// SPDX-License-Identifier: MIT
/*
 * resolv.c - resolv.conf: read as glibc reads it, rewritten for the
 * tunnel, restored byte for byte.
 *
 * Theory of operation: glibc's res_init() knows a keyword only at the
 * start of a line and followed by a blank, skips lines that start with
 * '#' or ';', and lets the last "search" or "domain" line win; the
 * helpers here read it the same way (a '\r' counts as a blank).
 *
 * The rewrite (a pure function, fuzzed) puts our nameservers first and
 * drops the others; the other lines are copied byte for byte. If search
 * domains are added, the effective search list (the last search or
 * domain line) plus the new domains becomes one search line after the
 * nameservers, replacing every search and domain line; otherwise those
 * stay as they were.
 *
 * In a container resolv.conf is often a bind mount or a symlink, so the
 * new contents are written through the existing inode (truncate, write,
 * fsync), never renamed over it. Before that the original bytes go to
 * the backup file, written beside it and renamed into place, then the
 * directory synced: a backup is either whole or absent, so after a
 * crash at any point the next start's dns_resolv_restore() gives the
 * original back. Restoring writes the backup's bytes through the inode
 * the same way, then removes the backup.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/dns_internal.h"
#include "lib/io.h"
#include "dns/resolv.h"

#define SEARCH_MAX 64 /* domains kept in one search line */
#define DOMAIN_MAX 253

struct line {
	const char *p;
	size_t len; /* without the '\n' */
	size_t full; /* with it, if there is one */
};

static bool next_line(const char *buf, size_t len, size_t *off, struct line *l)
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

/* "keyword<blank>" at the start of the line, as glibc's MATCH() */
static bool keyword(const struct line *l, const char *kw, size_t *after)
{
	size_t n = strlen(kw);

	if (l->len <= n || memcmp(l->p, kw, n) || !is_blank(l->p[n]))
		return false;
	*after = n;
	return true;
}

/* the next blank-separated token of @l from @off */
static bool next_token(const char *p, size_t len, size_t *off, const char **tok,
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

struct search_list {
	const char *d[SEARCH_MAX];
	size_t len[SEARCH_MAX];
	size_t n;
};

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

static bool search_add(struct search_list *s, const char *d, size_t len)
{
	if (!domain_ok(d, len))
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (same_domain(s->d[i], s->len[i], d, len))
			return false;
	if (s->n == SEARCH_MAX)
		return false;
	s->d[s->n] = d;
	s->len[s->n++] = len;
	return true;
}

/* the effective search list: the last search or domain line (glibc) */
static void search_of(const char *buf, size_t len, struct search_list *s)
{
	size_t off = 0, o, tl;
	struct line l;
	const char *t;

	s->n = 0;
	while (next_line(buf, len, &off, &l)) {
		bool dom = keyword(&l, "domain", &o);

		if (!dom && !keyword(&l, "search", &o))
			continue;
		s->n = 0;
		while (next_token(l.p, l.len, &o, &t, &tl)) {
			search_add(s, t, tl);
			if (dom)
				break;
		}
	}
}

struct out {
	char *p;
	size_t n, cap;
	bool full;
};

static void put(struct out *o, const char *s, size_t len)
{
	if (o->full || len > o->cap - o->n) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, s, len);
	o->n += len;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_search(struct out *o, const struct search_list *s)
{
	put_str(o, "search");
	for (size_t i = 0; i < s->n; i++) {
		put_str(o, " ");
		put(o, s->d[i], s->len[i]);
	}
	put_str(o, "\n");
}

int dns_resolv_rewrite(const char *orig, size_t len, const char *ns4,
		       const char *ns6, const char *search, char *out,
		       size_t cap)
{
	struct out o = {.p = out, .cap = cap};
	struct search_list s;
	bool added = false;
	size_t off = 0, a;
	struct line l;

	search_of(orig, len, &s);
	if (search) {
		size_t so = 0, tl;
		const char *t;

		while (next_token(search, strlen(search), &so, &t, &tl))
			added |= search_add(&s, t, tl);
	}
	put_str(&o, "# tungate: DNS through the tunnel; restored on exit\n");
	for (int i = 0; i < 2; i++) {
		const char *ns = i ? ns6 : ns4;

		if (ns && *ns) {
			put_str(&o, "nameserver ");
			put_str(&o, ns);
			put_str(&o, "\n");
		}
	}
	if (added)
		put_search(&o, &s);
	while (next_line(orig, len, &off, &l)) {
		if (keyword(&l, "nameserver", &a))
			continue;
		if (added &&
		    (keyword(&l, "search", &a) || keyword(&l, "domain", &a)))
			continue;
		put(&o, l.p, l.full);
	}
	return o.full ? -ENOSPC : (int)o.n;
}

/* @fd's file is exactly @buf, on disk */
static int replace_contents(int fd, const char *buf, size_t len)
{
	int rc;

	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	rc = tg_write_all(fd, buf, len);
	if (!rc && fsync(fd) < 0 && errno != EINVAL)
		rc = -errno;
	return rc;
}

static void sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	fsync(fd);
	close(fd);
}

/* the backup appears whole or not at all: written aside, renamed */
static int write_backup(const char *backup, const char *buf, size_t len)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", backup) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = tg_write_all(fd, buf, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, backup) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	else
		sync_dir(backup);
	return rc;
}

static int apply_fd(int fd, const char *backup, const char *ns4,
		    const char *ns6, const char *search, char *orig, char *out)
{
	ssize_t len = tg_read_all(fd, orig, DNS_RESOLV_MAX);
	int n, rc;

	if (len < 0)
		return (int)len;
	n = dns_resolv_rewrite(orig, (size_t)len, ns4, ns6, search, out,
			       2 * DNS_RESOLV_MAX);
	if (n < 0)
		return n;
	rc = write_backup(backup, orig, (size_t)len);
	if (rc)
		return rc;
	rc = replace_contents(fd, out, (size_t)n);
	/* put the original back; keep the backup if even that fails */
	if (rc && !replace_contents(fd, orig, (size_t)len)) {
		unlink(backup);
		sync_dir(backup);
	}
	return rc;
}

/**
 * dns_resolv_apply() - rewrite @path in place, keeping a backup at @backup
 * @path:	resolv.conf (a symlink or a bind mount is written through)
 * @backup:	where the original goes; must not exist (-EEXIST: call
 *		dns_resolv_restore() first, it may be a crash's)
 * @ns4:	IPv4 nameserver, or NULL
 * @ns6:	IPv6 nameserver, or NULL
 * @search:	domains to add, or NULL
 *
 * Return: 0 or -errno; on error @path is as it was
 */
int dns_resolv_apply(const char *path, const char *backup, const char *ns4,
		     const char *ns6, const char *search)
{
	char *orig = NULL, *out = NULL;
	struct stat st;
	int fd = -1, rc;

	if (lstat(backup, &st) == 0)
		return -EEXIST;
	/* read and write through one open file: it must be writable */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	orig = malloc(DNS_RESOLV_MAX);
	out = malloc(2 * DNS_RESOLV_MAX);
	rc = orig && out ? apply_fd(fd, backup, ns4, ns6, search, orig, out)
			 : -ENOMEM;
	close(fd);
	free(orig);
	free(out);
	return rc;
}

/**
 * dns_resolv_restore() - write the backup's bytes back into @path in place
 * and delete the backup
 * @path:	resolv.conf (created if it was removed meanwhile)
 * @backup:	the backup from dns_resolv_apply()
 *
 * Return: 0 (also if there is no backup) or -errno
 */
int dns_resolv_restore(const char *path, const char *backup)
{
	char *buf = malloc(DNS_RESOLV_MAX);
	ssize_t len;
	int fd, rc;

	if (!buf)
		return -ENOMEM;
	len = tg_read_file(backup, buf, DNS_RESOLV_MAX);
	if (len < 0) {
		free(buf);
		return len == -ENOENT ? 0 : (int)len;
	}
	fd = open(path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
	rc = fd < 0 ? -errno : replace_contents(fd, buf, (size_t)len);
	if (fd >= 0)
		close(fd);
	free(buf);
	if (rc)
		return rc;
	if (unlink(backup) < 0 && errno != ENOENT)
		return -errno;
	sync_dir(backup);
	return 0;
}

int dns_search_domains(const char *resolv_conf, char *buf, size_t cap)
{
	char *file = malloc(DNS_RESOLV_MAX);
	struct search_list s;
	struct out o = {.p = buf, .cap = cap};
	ssize_t len;

	if (!file)
		return -ENOMEM;
	len = tg_read_file(resolv_conf, file, DNS_RESOLV_MAX);
	if (len < 0) {
		free(file);
		return (int)len;
	}
	search_of(file, (size_t)len, &s);
	for (size_t i = 0; i < s.n; i++) {
		if (i)
			put_str(&o, " ");
		put(&o, s.d[i], s.len[i]);
	}
	put(&o, "", 1);
	free(file);
	return o.full ? -ENOSPC : 0;
}

/**
 * dns_resolv_nameservers() - the nameserver addresses of @path, in order
 * @path:	resolv.conf
 * @ns:		out: the addresses as text, a "%scope" cut off
 * @max:	room in @ns
 *
 * Return: how many, or -errno
 */
int dns_resolv_nameservers(const char *path, char ns[][64], int max)
{
	char *file = malloc(DNS_RESOLV_MAX);
	size_t off = 0, o, tl;
	struct line l;
	const char *t;
	ssize_t len;
	int n = 0;

	if (!file)
		return -ENOMEM;
	len = tg_read_file(path, file, DNS_RESOLV_MAX);
	while (len > 0 && n < max && next_line(file, (size_t)len, &off, &l)) {
		if (!keyword(&l, "nameserver", &o) ||
		    !next_token(l.p, l.len, &o, &t, &tl))
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
