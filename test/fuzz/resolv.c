// SPDX-License-Identifier: MIT
/*
 * resolv.c - fuzz the resolv.conf rewrite and restore of tun/resolv.c.
 *
 * Input: a flags byte (which nameservers and search domains to add, and
 * whether to go through a real file), a 16-bit length and the search
 * domains, then the original resolv.conf.
 *
 * Properties: the rewrite is deterministic and bounded; read back the way
 * glibc reads it, the result names our nameservers and no other, and its
 * search list holds the domains we added. Through a temp file (under
 * $TMPDIR, else /tmp): apply leaves the rewrite in the file and the
 * original in the backup, and restore gives back the original bytes and
 * removes the backup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/resolvconf.h"
#include "test/fuzz/fuzz.h"
#include "tun/resolv.h"

#define NS4 "198.18.0.53"
#define NS6 "fd7e:7475:6e::53"
#define OUT_CAP (2 * TG_RC_MAX)

static char dir[64], path[96], backup[96], search[1024];
static char *out, *out2, *back;

static void cleanup(void)
{
	unlink(path);
	unlink(backup);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/tg-fuzz-resolv.XXXXXX",
		 tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	FZ_CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/resolv.conf", dir);
	snprintf(backup, sizeof(backup), "%s/resolv.conf.orig", dir);
	atexit(cleanup);
	out = malloc(OUT_CAP);
	out2 = malloc(OUT_CAP);
	back = malloc(TG_RC_MAX + 1);
	FZ_CHECK(out && out2 && back);
	return 0;
}

static void put_file(const char *p, const void *buf, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FZ_CHECK(fd >= 0);
	FZ_CHECK(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

static size_t get_file(const char *p, char *buf, size_t cap)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	FZ_CHECK(fd >= 0);
	n = read(fd, buf, cap);
	close(fd);
	FZ_CHECK(n >= 0);
	return (size_t)n;
}

/* is @d (@len bytes) a domain of the space separated @list? */
static bool listed(const char *list, const char *d, size_t len)
{
	size_t l;

	if (len > 1 && d[len - 1] == '.')
		len--;
	for (const char *p = list; *p; p += l + (p[l] == ' ')) {
		l = strcspn(p, " ");
		if ((l == len || (l == len + 1 && p[len] == '.')) &&
		    !strncasecmp(p, d, len))
			return true;
	}
	return false;
}

#define BLANKS " \t\r\n\v\f"

static size_t count_words(const char *s)
{
	size_t n = 0;

	for (s += strspn(s, BLANKS); *s; s += strspn(s, BLANKS)) {
		s += strcspn(s, BLANKS);
		n++;
	}
	return n;
}

/* the domains of @s that a search line can hold, are on it */
static void check_search(const char *s, const char *before)
{
	static char after[8192];
	const char *t = s;
	bool printable;
	size_t l;

	if (tg_rc_search_domains(path, after, sizeof(after)) < 0 ||
	    count_words(before) + count_words(s) > 64)
		return;
	for (; *t; t += l) {
		t += strspn(t, BLANKS);
		l = strcspn(t, BLANKS);
		if (!l || l > 253 || memchr(t, '#', l) || memchr(t, ';', l))
			continue;
		printable = true;
		for (size_t i = 0; i < l; i++)
			printable &= t[i] > ' ' && t[i] < 0x7f;
		if (printable)
			FZ_CHECK(listed(after, t, l));
	}
}

/* the rewrite, read back as glibc would */
static void check_read_back(const char *orig, size_t len, const char *ns4,
			    const char *ns6, const char *s, size_t n)
{
	static char before[8192];
	char ns[8][64];
	int k;

	put_file(path, orig, len);
	if (tg_rc_search_domains(path, before, sizeof(before)) < 0)
		s = NULL;
	put_file(path, out, n);
	k = tg_rc_nameservers(path, ns, 8);
	FZ_CHECK(k == !!ns4 + !!ns6);
	if (ns4)
		FZ_CHECK(!strcmp(ns[0], ns4));
	if (ns6)
		FZ_CHECK(!strcmp(ns[ns4 ? 1 : 0], ns6));
	if (s)
		check_search(s, before);
	unlink(path);
}

/* apply and restore through real files */
static void check_files(const char *orig, size_t len, const char *ns4,
			const char *ns6, const char *s, int n)
{
	int r;

	put_file(path, orig, len);
	r = tun_resolv_apply(path, backup, ns4, ns6, s);
	if (r) {
		/* refused: the file is as it was, no backup */
		FZ_CHECK(r == n || len > TG_RC_MAX);
		FZ_CHECK(get_file(path, back, TG_RC_MAX + 1) == len);
		FZ_CHECK(!memcmp(back, orig, len));
		FZ_CHECK(access(backup, F_OK) && errno == ENOENT);
		unlink(path);
		return;
	}
	FZ_CHECK(n >= 0);
	FZ_CHECK(get_file(path, out2, OUT_CAP) == (size_t)n);
	FZ_CHECK(!memcmp(out2, out, (size_t)n));
	FZ_CHECK(get_file(backup, back, TG_RC_MAX + 1) == len);
	FZ_CHECK(!memcmp(back, orig, len));
	/* a second apply must not overwrite the backup */
	FZ_CHECK(tun_resolv_apply(path, backup, ns4, ns6, s) == -EEXIST);
	FZ_CHECK(tun_resolv_restore(path, backup) == 0);
	FZ_CHECK(get_file(path, back, TG_RC_MAX + 1) == len);
	FZ_CHECK(!memcmp(back, orig, len));
	FZ_CHECK(access(backup, F_OK) && errno == ENOENT);
	FZ_CHECK(tun_resolv_restore(path, backup) == 0);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	uint8_t flags = fz_u8(&in);
	const char *ns4 = flags & 1 ? NS4 : NULL;
	const char *ns6 = flags & 2 ? NS6 : NULL;
	const char *s = flags & 4 ? search : NULL;
	size_t slen, len;
	const uint8_t *sp = fz_slice(&in, &slen);
	const char *orig;
	int n, n2;

	if (slen >= sizeof(search) || memchr(sp, 0, slen))
		return 0;
	memcpy(search, sp, slen);
	search[slen] = '\0';
	orig = (const char *)fz_take(&in, in.left, &len);
	n = tun_resolv_rewrite(orig, len, ns4, ns6, s, out, OUT_CAP);
	FZ_CHECK(n == -ENOSPC || (n >= 0 && n <= OUT_CAP));
	n2 = tun_resolv_rewrite(orig, len, ns4, ns6, s, out2, OUT_CAP);
	FZ_CHECK(n2 == n && (n < 0 || !memcmp(out, out2, (size_t)n)));
	/* the original's lines, our header, nameservers and search line */
	if (len <= TG_RC_MAX)
		FZ_CHECK(n >= 0 && (size_t)n <= len + 128 + 64 * 256);
	if (n >= 0 && (flags & 8))
		check_read_back(orig, len, ns4, ns6, s, (size_t)n);
	/* one input in four: fsync() makes this the slow part */
	if ((flags & 0x30) == 0x30)
		check_files(orig, len, ns4, ns6, s, n);
	return 0;
}
