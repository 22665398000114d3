// SPDX-License-Identifier: MIT
/*
 * resolv.c - the inside's /etc/resolv.conf: rewritten for the tunnel,
 * restored byte for byte.
 *
 * Theory of operation: the file is read as glibc reads it
 * (lib/resolvconf.c). The rewrite (a pure function, fuzzed) puts our
 * nameservers first and drops the others; the other lines are copied byte for
 * byte. If search domains are added, the effective search list (the last search
 * or domain line) plus the new domains becomes one search line after the
 * nameservers, replacing every search and domain line; otherwise those
 * stay as they were.
 *
 * In a container resolv.conf is often a bind mount or a symlink, so the
 * new contents are written through the existing inode (truncate, write,
 * fsync), never renamed over it. Before that the original bytes go to
 * the backup file, written under a fresh name beside it (O_EXCL |
 * O_NOFOLLOW) and renamed into place, then the directory synced: a backup
 * is either whole or absent, so after a crash at any point the next
 * start's tun_resolv_restore() gives the original back. Restoring reads
 * the backup without following a symbolic link (-ELOOP: someone else put
 * it there), writes its bytes through the inode the same way, then
 * removes the backup.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/resolvconf.h"
#include "tun/resolv.h"

static void put_search(struct tg_rc_out *o, const struct tg_rc_search *s)
{
	tg_rc_put_str(o, "search");
	for (size_t i = 0; i < s->n; i++) {
		tg_rc_put_str(o, " ");
		tg_rc_put(o, s->d[i], s->len[i]);
	}
	tg_rc_put_str(o, "\n");
}

int tun_resolv_rewrite(const char *orig, size_t len, const char *ns4,
		       const char *ns6, const char *search, char *out,
		       size_t cap)
{
	struct tg_rc_out o = {.p = out, .cap = cap};
	struct tg_rc_search s;
	bool added = false;
	size_t off = 0, a;
	struct tg_rc_line l;

	tg_rc_search_of(orig, len, &s);
	if (search) {
		size_t so = 0, tl;
		const char *t;

		while (tg_rc_next_token(search, strlen(search), &so, &t, &tl))
			added |= tg_rc_search_add(&s, t, tl);
	}
	tg_rc_put_str(&o,
		      "# tungate: DNS through the tunnel; restored on exit\n");
	for (int i = 0; i < 2; i++) {
		const char *ns = i ? ns6 : ns4;

		if (ns && *ns) {
			tg_rc_put_str(&o, "nameserver ");
			tg_rc_put_str(&o, ns);
			tg_rc_put_str(&o, "\n");
		}
	}
	if (added)
		put_search(&o, &s);
	while (tg_rc_next_line(orig, len, &off, &l)) {
		if (tg_rc_keyword(&l, "nameserver", &a))
			continue;
		if (added && (tg_rc_keyword(&l, "search", &a) ||
			      tg_rc_keyword(&l, "domain", &a)))
			continue;
		tg_rc_put(&o, l.p, l.full);
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

static int apply_fd(int fd, const char *backup, const char *ns4,
		    const char *ns6, const char *search, char *orig, char *out)
{
	ssize_t len = tg_read_all(fd, orig, TG_RC_MAX);
	int n, rc;

	if (len < 0)
		return (int)len;
	n = tun_resolv_rewrite(orig, (size_t)len, ns4, ns6, search, out,
			       2 * TG_RC_MAX);
	if (n < 0)
		return n;
	/* whole or absent: written aside under a fresh name, renamed */
	rc = tg_write_file_atomic(backup, orig, (size_t)len, 0600);
	if (rc)
		return rc;
	rc = replace_contents(fd, out, (size_t)n);
	/* put the original back; keep the backup if even that fails */
	if (rc && !replace_contents(fd, orig, (size_t)len)) {
		unlink(backup);
		tg_sync_dir(backup);
	}
	return rc;
}

/**
 * tun_resolv_apply() - rewrite @path in place, keeping a backup at @backup
 * @path:	resolv.conf (a symlink or a bind mount is written through)
 * @backup:	where the original goes; must not exist (-EEXIST: call
 *		tun_resolv_restore() first, it may be a crash's)
 * @ns4:	IPv4 nameserver, or NULL
 * @ns6:	IPv6 nameserver, or NULL
 * @search:	domains to add, or NULL
 *
 * Return: 0 or -errno; on error @path is as it was
 */
int tun_resolv_apply(const char *path, const char *backup, const char *ns4,
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
	orig = malloc(TG_RC_MAX);
	out = malloc(2 * TG_RC_MAX);
	rc = orig && out ? apply_fd(fd, backup, ns4, ns6, search, orig, out)
			 : -ENOMEM;
	close(fd);
	free(orig);
	free(out);
	return rc;
}

/**
 * tun_resolv_restore() - write the backup's bytes back into @path in place
 * and delete the backup
 * @path:	resolv.conf (created if it was removed meanwhile)
 * @backup:	the backup from tun_resolv_apply()
 *
 * Return: 0 (also if there is no backup), -ELOOP if @backup is a symbolic
 *	   link (refused, left alone), or -errno
 */
int tun_resolv_restore(const char *path, const char *backup)
{
	char *buf = malloc(TG_RC_MAX);
	ssize_t len;
	int fd, rc;

	if (!buf)
		return -ENOMEM;
	/* ours alone: a symbolic link there is refused, never followed */
	len = tg_read_file_nofollow(backup, buf, TG_RC_MAX);
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
	tg_sync_dir(backup);
	return 0;
}
