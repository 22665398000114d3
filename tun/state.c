/* SPDX-License-Identifier: MIT */
/*
 * state.c - the crash-recovery state file.
 *
 * Theory of operation: before tun_install() puts anything into the kernel
 * it writes the whole list of what it is about to install to
 * /run/tungate/<netns inode>-<ifname>.state, one item a line:
 *
 *	# tungate inside, pid 1234: removed on exit or by the next start
 *	route 4 7467 198.19.2.0/24
 *	throw 4 7467 198.19.7.7/32
 *	rule 4 7466 main suppress 0
 *	rule 4 7467 7467
 *
 * ("route|throw FAMILY TABLE PREFIX", "rule FAMILY PRIORITY TABLE
 * [suppress N]"; TABLE is a number or "main"). The routes vanish with the
 * device; the rules do not, and are what a crash leaves behind. In
 * main-table mode (install.c) there are no rules, the routes are in
 * "main", and what a crash leaves is "via FAMILY main PREFIX": the
 * stream's own path through the container's next hop.
 *
 * The state directory must be root's own, mode 0700 (tun_state_dir():
 * created so if absent, anything else refused), since root writes,
 * reads and deletes there by name. Every file in it is written to a fresh
 * random name with O_EXCL|O_NOFOLLOW (tg_tmp_create()) and read with
 * O_NOFOLLOW.
 *
 * The file is written to a temporary name, fsync()ed, then link()ed into
 * place, so it is complete when it appears and never replaces a file whose
 * leftovers were not cleaned up. When the routes change (tun_update()) a
 * new file is written the same way and rename()d over ours. The running
 * inside keeps it open under flock(): tun_recover() takes the lock without
 * waiting, so it never undoes the rules of an inside that is still alive;
 * the kernel drops the lock when that process dies, however it dies.
 *
 * Files that other parts of the inside keep beside it (the original
 * resolv.conf, the resume socket) are named the same way, with their own
 * extension: tun_state_file().
 *
 * Parsing is strict: a malformed line, or one that names something tungate
 * never installs (a route of main that is not of main-table mode, the
 * system's rules), is skipped; deleting an item that is already gone is
 * not an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/io.h"
#include "tun/tun.h"
#include "tun/tun_internal.h"

#define STATE_LINE_MAX 256
#define STATE_ITEMS_MAX 100000 /* far more than any plan */

/**
 * tun_state_file() - see tun.h
 */
int tun_state_file(const char *ifname, const char *ext, char *buf, size_t cap)
{
	struct stat st;
	size_t len = strlen(ifname);
	int n;

	/* the kernel's own rules for a device name (dev_valid_name) */
	if (!len || len >= IFNAMSIZ || !strcmp(ifname, ".") ||
	    !strcmp(ifname, "..") || strpbrk(ifname, "/: \t\n\v\f\r"))
		return -EINVAL;
	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	n = snprintf(buf, cap, "%s/%ju-%s%s", TUN_STATE_DIR,
		     (uintmax_t)st.st_ino, ifname, ext);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int tun_state_path(const char *ifname, char *buf, size_t cap)
{
	return tun_state_file(ifname, ".state", buf, cap);
}

void tun_item_format(const struct tun_item *it, char buf[TUN_ITEM_STRLEN])
{
	char fam = it->family == AF_INET6 ? '6' : '4';
	char p[TG_PREFIX_STRLEN], table[16];

	if (it->table == RT_TABLE_MAIN)
		snprintf(table, sizeof(table), "main");
	else
		snprintf(table, sizeof(table), "%u", it->table);
	if (it->kind != TUN_ITEM_RULE) {
		snprintf(buf, TUN_ITEM_STRLEN, "%s %c %s %s",
			 it->kind == TUN_ITEM_THROW ? "throw"
			 : it->kind == TUN_ITEM_VIA ? "via"
						    : "route",
			 fam, table, tg_prefix_str(&it->dst, p));
		return;
	}
	if (it->suppress >= 0)
		snprintf(buf, TUN_ITEM_STRLEN, "rule %c %u %s suppress %d", fam,
			 it->prio, table, it->suppress);
	else
		snprintf(buf, TUN_ITEM_STRLEN, "rule %c %u %s", fam, it->prio,
			 table);
}

/* plain decimal, no sign, no spaces, at most @max */
static bool parse_u32(const char *s, uint32_t max, uint32_t *v)
{
	unsigned long long x = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		x = x * 10 + (unsigned)(*s - '0');
		if (x > max)
			return false;
	}
	*v = (uint32_t)x;
	return true;
}

static bool parse_family(const char *s, uint8_t *family)
{
	if (!strcmp(s, "4"))
		*family = AF_INET;
	else if (!strcmp(s, "6"))
		*family = AF_INET6;
	else
		return false;
	return true;
}

/* a table tungate may have put something in: not unspec/default/local */
static bool parse_table(const char *s, uint32_t *table)
{
	if (!strcmp(s, "main")) {
		*table = RT_TABLE_MAIN;
		return true;
	}
	return parse_u32(s, UINT32_MAX, table) && *table != RT_TABLE_UNSPEC &&
	       *table != RT_TABLE_DEFAULT && *table != RT_TABLE_LOCAL;
}

static bool parse_rule(char **tok, int ntok, struct tun_item *it)
{
	uint32_t supp;

	it->kind = TUN_ITEM_RULE;
	it->suppress = -1;
	if (ntok != 4 && ntok != 6)
		return false;
	/* 0, 32766 and 32767 are the system's local/main/default rules */
	if (!parse_u32(tok[2], 32765, &it->prio) || !it->prio ||
	    !parse_table(tok[3], &it->table))
		return false;
	if (ntok == 6) {
		if (strcmp(tok[4], "suppress") ||
		    !parse_u32(tok[5], 128, &supp))
			return false;
		it->suppress = (int)supp;
	}
	/* a plain "lookup main" rule is never ours */
	return it->table != RT_TABLE_MAIN || it->suppress >= 0;
}

/* in main only the routes of main-table mode, whose removal names our
 * protocol (TUN_RTPROT); "via" only there */
static bool parse_route(char **tok, int ntok, struct tun_item *it)
{
	bool in_main;

	if (ntok != 4 || !parse_table(tok[2], &it->table) ||
	    !tg_prefix_parse(tok[3], &it->dst))
		return false;
	in_main = it->table == RT_TABLE_MAIN;
	if (it->kind == TUN_ITEM_VIA ? !in_main
				     : it->kind == TUN_ITEM_THROW && in_main)
		return false;
	return it->dst.family == it->family;
}

bool tun_item_parse(const char *line, struct tun_item *it)
{
	char buf[STATE_LINE_MAX], *tok[8], *save = NULL, *t;
	size_t len = strlen(line);
	int ntok = 0;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, line, len + 1);
	for (t = strtok_r(buf, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save)) {
		if (ntok == 8)
			return false;
		tok[ntok++] = t;
	}
	memset(it, 0, sizeof(*it));
	if (ntok < 2 || !parse_family(tok[1], &it->family))
		return false;
	if (!strcmp(tok[0], "rule"))
		return parse_rule(tok, ntok, it);
	if (!strcmp(tok[0], "route"))
		it->kind = TUN_ITEM_ROUTE;
	else if (!strcmp(tok[0], "throw"))
		it->kind = TUN_ITEM_THROW;
	else if (!strcmp(tok[0], "via"))
		it->kind = TUN_ITEM_VIA;
	else
		return false;
	return parse_route(tok, ntok, it);
}

/**
 * tun_state_dir() - see tun.h
 */
int tun_state_dir(struct stat *st)
{
	struct stat own;

	if (!st)
		st = &own;
	if (mkdir(TUN_STATE_DIR, 0700) == 0) {
		/* the umask may have taken bits off: exactly 0700 */
		if (chmod(TUN_STATE_DIR, 0700) < 0)
			return -errno;
	} else if (errno != EEXIST) {
		return -errno;
	}
	if (lstat(TUN_STATE_DIR, st) < 0)
		return -errno;
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (!S_ISDIR(st->st_mode))
		return -ENOTDIR;
	if (st->st_uid != geteuid())
		return -EPERM;
	if ((st->st_mode & 07777) != 0700)
		return -EACCES;
	return 0;
}

static int state_write(int fd, const struct tun_item *items, size_t n)
{
	char line[TUN_ITEM_STRLEN];

	if (dprintf(fd,
		    "# tungate inside, pid %ld: removed on exit or by the "
		    "next start\n",
		    (long)getpid()) < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		tun_item_format(&items[i], line);
		if (dprintf(fd, "%s\n", line) < 0)
			return -errno;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

/* best effort: make the new name durable too */
/* a complete, locked file under a temporary name beside @path */
static int state_tmp(const char *path, const struct tun_item *items, size_t n,
		     char tmp[PATH_MAX], int *fd)
{
	int err;

	*fd = tg_tmp_create(path, 0600, tmp, PATH_MAX);
	if (*fd < 0)
		return *fd;
	err = flock(*fd, LOCK_EX) < 0 ? -errno : state_write(*fd, items, n);
	if (err) {
		unlink(tmp);
		close(*fd);
		*fd = -1;
	}
	return err;
}

int tun_state_create(const char *path, const struct tun_item *items, size_t n,
		     int *lock_fd)
{
	char tmp[PATH_MAX];
	int fd, err;

	*lock_fd = -1;
	err = tun_state_dir(NULL);
	if (!err)
		err = state_tmp(path, items, n, tmp, &fd);
	if (err)
		return err;
	/* link(), not rename(): never replace an earlier run's leftovers */
	err = link(tmp, path) < 0 ? -errno : 0;
	unlink(tmp);
	if (err) {
		close(fd);
		return err;
	}
	tg_sync_dir(path);
	*lock_fd = fd;
	return 0;
}

/*
 * The new file is locked before it takes the old one's name, and the old
 * lock is dropped only after: tun_recover() never finds the name unlocked.
 */
int tun_state_replace(const char *path, const struct tun_item *items, size_t n,
		      int *lock_fd)
{
	char tmp[PATH_MAX];
	int fd, err;

	err = state_tmp(path, items, n, tmp, &fd);
	if (err)
		return err;
	if (rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
		close(fd);
		return err;
	}
	tg_sync_dir(path);
	if (*lock_fd >= 0)
		close(*lock_fd);
	*lock_fd = fd;
	return 0;
}

void tun_state_remove(const char *path, int lock_fd)
{
	if (lock_fd < 0)
		return;
	unlink(path);
	close(lock_fd);
}

/* every well-formed line of @f, in order; NULL and 0 if none */
static struct tun_item *state_read(FILE *f, size_t *n)
{
	char line[STATE_LINE_MAX];
	struct tun_item *items = NULL, it, *more;
	size_t cap = 0;
	bool whole = true; /* does @line start a line? */

	*n = 0;
	while (fgets(line, sizeof(line), f) && *n < STATE_ITEMS_MAX) {
		bool starts = whole;

		whole = strchr(line, '\n') != NULL || feof(f);
		/* a line too long for @line is skipped, all of its pieces */
		if (!starts || !whole || !tun_item_parse(line, &it))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			more = realloc(items, cap * sizeof(*items));
			if (!more)
				break;
			items = more;
		}
		items[(*n)++] = it;
	}
	return items;
}

/* remove the items listed in @f, last first; Return: first -errno or 0 */
static int state_undo(FILE *f, int *removed)
{
	struct tg_nl nl;
	size_t n;
	struct tun_item *items = state_read(f, &n);
	int err = 0, e;

	if (!n)
		goto out;
	err = tg_nl_open(&nl);
	if (err)
		goto out;
	for (size_t i = n; i-- > 0;) {
		e = tun_item_del(&nl, &items[i]);
		if (!e)
			(*removed)++;
		else if (!tun_item_gone(e) && !err)
			err = e;
	}
	tg_nl_close(&nl);
out:
	free(items);
	return err;
}

/* the file at @path is still the one open on @fd (not replaced since) */
static bool state_same(const char *path, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/**
 * tun_recover() - undo what a dead inside left, as its state file says
 * @ifname:	device name the state file is keyed by
 * @removed:	set to the number of items that were still there and removed
 *
 * The file is deleted once every item in it is gone; if one could not be
 * removed it stays, for the next try.
 * Return: 0 (also when there is no state file); -EBUSY if an inside that
 *	   holds the file is still running; -EPERM if not root; or the first
 *	   -errno met
 */
int tun_recover(const char *ifname, int *removed)
{
	char path[PATH_MAX];
	FILE *f;
	int fd, err;

	*removed = 0;
	err = tun_state_path(ifname, path, sizeof(path));
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == EACCES)
		return -EPERM; /* TUN_STATE_DIR is root's alone */
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return err;
	}
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	/* its owner removed it while we waited: nothing left to undo */
	if (state_same(path, fd)) {
		err = state_undo(f, removed);
		if (!err)
			unlink(path);
	}
	fclose(f);
	return err;
}

/**
 * tun_state_owner() - the pid of the inside that wrote the state file of
 * @ifname, from its first line
 * @ifname:	device name the state file is keyed by
 * @pid:	set to the pid
 *
 * Return: 0, -ENOENT when there is no state file, -EBADMSG when its first
 * line names no pid
 */
int tun_state_owner(const char *ifname, long *pid)
{
	char path[PATH_MAX], line[128];
	const char *p;
	FILE *f;
	int fd, err;

	err = tun_state_path(ifname, path, sizeof(path));
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	err = -EBADMSG;
	if (fgets(line, sizeof(line), f) && (p = strstr(line, ", pid ")) &&
	    sscanf(p, ", pid %ld", pid) == 1 && *pid > 1)
		err = 0;
	fclose(f);
	return err;
}
