/* SPDX-License-Identifier: MIT */
/*
 * resolv.c - unit tests for tun/resolv.c: the rewrite, apply and restore
 * (in place, through a symlink, byte for byte, after a "crash"); and of
 * lib/resolvconf.c: the search domains and nameservers read as glibc
 * reads them.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/resolvconf.h"
#include "tun/resolv.h"

#define NS4 "198.18.0.53"
#define NS6 "fd7e:7475:6e::53"
#define HEAD "# tungate: DNS through the tunnel; restored on exit\n"

static char dir[64], path[128], backup[128];
static char out[2 * TG_RC_MAX];

static int setup(void **state)
{
	strcpy(dir, "/tmp/tg-resolv-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/resolv.conf", dir);
	snprintf(backup, sizeof(backup), "%s/resolv.backup", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void put_file(const char *p, const char *s, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, n), n);
	close(fd);
}

static void put_str(const char *p, const char *s)
{
	put_file(p, s, strlen(s));
}

static size_t get_file(const char *p, char *buf, size_t cap)
{
	int fd = open(p, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	assert_true(n >= 0);
	close(fd);
	return (size_t)n;
}

static void check_rewrite(const char *orig, const char *search,
			  const char *want)
{
	int n = tun_resolv_rewrite(orig, strlen(orig), NS4, NS6, search, out,
				   sizeof(out));

	assert_true(n >= 0);
	out[n] = '\0';
	assert_string_equal(out, want);
}

static void test_rewrite(void **state)
{
	check_rewrite(
		"nameserver 10.0.0.1\nsearch a.example\noptions ndots:2\n",
		"corp.example",
		HEAD "nameserver " NS4 "\nnameserver " NS6
		     "\nsearch a.example corp.example\noptions ndots:2\n");
	/* nothing to add: search and domain lines stay as they were */
	check_rewrite("# hi\ndomain x.example\nnameserver 10.0.0.1\n"
		      "nameserver 10.0.0.2\nsearch  A.example.\n",
		      "a.example",
		      HEAD "nameserver " NS4 "\nnameserver " NS6
			   "\n# hi\ndomain x.example\nsearch  "
			   "A.example.\n");
	check_rewrite("nameserver 10.0.0.1\n", NULL,
		      HEAD "nameserver " NS4 "\nnameserver " NS6 "\n");
	/* Kubernetes' file: the pod's search list first, the laptop's
	 * domains after it, ndots:5 and every other option as they were */
	check_rewrite("search default.svc.cluster.local svc.cluster.local "
		      "cluster.local ec2.internal\nnameserver 10.96.0.10\n"
		      "options ndots:5\noptions timeout:2 attempts:3 "
		      "single-request-reopen\n",
		      "corp.example cluster.local",
		      HEAD "nameserver " NS4 "\nnameserver " NS6
			   "\nsearch default.svc.cluster.local "
			   "svc.cluster.local cluster.local ec2.internal "
			   "corp.example\noptions ndots:5\noptions timeout:2 "
			   "attempts:3 single-request-reopen\n");
	/* the last of search and domain wins, as in glibc */
	check_rewrite("search y.example z.example\ndomain x.example\n",
		      "w.example",
		      HEAD "nameserver " NS4 "\nnameserver " NS6
			   "\nsearch x.example w.example\n");
	/* CRLF, no newline at the end, keywords not at line start */
	check_rewrite("options rotate\r\n nameserver 1.1.1.1\r\n"
		      "nameserver\t10.0.0.9\r\n#nameserver 2.2.2.2",
		      "",
		      HEAD "nameserver " NS4 "\nnameserver " NS6
			   "\noptions rotate\r\n nameserver 1.1.1.1\r\n"
			   "#nameserver 2.2.2.2");
	/* an empty file; domains from outside cannot inject lines */
	check_rewrite("", "a.example\nnameserver 6.6.6.6 #x ;y",
		      HEAD "nameserver " NS4 "\nnameserver " NS6
			   "\nsearch a.example nameserver 6.6.6.6\n");
	assert_int_equal(tun_resolv_rewrite("x\n", 2, NS4, NS6, NULL, out, 40),
			 -ENOSPC);
	assert_int_equal(tun_resolv_rewrite("x\n", 2, NULL, NULL, NULL, out,
					    sizeof(out)),
			 (int)strlen(HEAD) + 2);
}

static const char *const originals[] = {
	"nameserver 10.0.0.1\nsearch a.example\n",
	"# comment only, no newline at the end",
	"nameserver 10.0.0.1\r\nsearch a.example\r\n\r\n",
	"",
	"\n\n\n",
	"options ndots:5\n; semicolon comment\nnameserver ::1\n",
};

static void test_apply_restore(void **state)
{
	static char buf[TG_RC_MAX];
	struct stat st0, st1;
	size_t n;

	for (size_t i = 0; i < sizeof(originals) / sizeof(originals[0]); i++) {
		const char *o = originals[i];

		put_file(path, o, strlen(o));
		assert_int_equal(stat(path, &st0), 0);
		assert_int_equal(tun_resolv_apply(path, backup, NS4, NS6,
						  "corp.example"),
				 0);
		n = get_file(path, buf, sizeof(buf));
		buf[n] = '\0';
		assert_non_null(strstr(buf, "nameserver " NS4 "\n"));
		assert_non_null(strstr(buf, "corp.example"));
		assert_null(strstr(buf, "10.0.0.1"));
		/* same inode: written in place */
		assert_int_equal(stat(path, &st1), 0);
		assert_int_equal(st0.st_ino, st1.st_ino);
		/* the backup is the original */
		n = get_file(backup, buf, sizeof(buf));
		assert_int_equal(n, strlen(o));
		assert_memory_equal(buf, o, n);
		/* a second apply would lose it */
		assert_int_equal(tun_resolv_apply(path, backup, NS4, NS6, NULL),
				 -EEXIST);
		assert_int_equal(tun_resolv_restore(path, backup), 0);
		n = get_file(path, buf, sizeof(buf));
		assert_int_equal(n, strlen(o));
		assert_memory_equal(buf, o, n);
		assert_int_equal(stat(path, &st1), 0);
		assert_int_equal(st0.st_ino, st1.st_ino);
		assert_int_equal(access(backup, F_OK), -1);
		/* nothing to restore: fine */
		assert_int_equal(tun_resolv_restore(path, backup), 0);
	}
}

/* resolv.conf a symlink: the target is rewritten, the link stays */
static void test_symlink(void **state)
{
	static char buf[TG_RC_MAX];
	char target[160];
	struct stat st0, st1;
	const char *o = "nameserver 127.0.0.53\noptions edns0 trust-ad\n";
	size_t n;

	snprintf(target, sizeof(target), "%s/stub-resolv.conf", dir);
	put_file(target, o, strlen(o));
	assert_int_equal(symlink("stub-resolv.conf", path), 0);
	assert_int_equal(stat(target, &st0), 0);
	assert_int_equal(tun_resolv_apply(path, backup, NS4, NULL, NULL), 0);
	assert_int_equal(lstat(path, &st1), 0);
	assert_true(S_ISLNK(st1.st_mode));
	assert_int_equal(stat(target, &st1), 0);
	assert_int_equal(st0.st_ino, st1.st_ino);
	n = get_file(target, buf, sizeof(buf));
	assert_int_equal(
		n, strlen(HEAD "nameserver " NS4 "\noptions edns0 trust-ad\n"));
	assert_int_equal(tun_resolv_restore(path, backup), 0);
	n = get_file(target, buf, sizeof(buf));
	assert_int_equal(n, strlen(o));
	assert_memory_equal(buf, o, n);
	unlink(path);
}

/* a crash after apply: the next start restores from the backup alone */
static void test_crash_recovery(void **state)
{
	static char buf[TG_RC_MAX];
	const char *o = "search corp\nnameserver 10.1.1.1\n";
	size_t n;

	put_file(path, o, strlen(o));
	assert_int_equal(tun_resolv_apply(path, backup, NS4, NS6, "x.y"), 0);
	/* the file was removed meanwhile: restore creates it */
	unlink(path);
	assert_int_equal(tun_resolv_restore(path, backup), 0);
	n = get_file(path, buf, sizeof(buf));
	assert_int_equal(n, strlen(o));
	assert_memory_equal(buf, o, n);
	/* a stale temporary backup from a crash mid-write is not a backup */
	snprintf(buf, sizeof(buf), "%s.tmp", backup);
	put_file(buf, "garbage", 7);
	assert_int_equal(tun_resolv_restore(path, backup), 0);
	n = get_file(path, buf, sizeof(buf));
	assert_memory_equal(buf, o, n);
}

/*
 * A symbolic link someone else planted in the state directory: in place
 * of the backup it is refused (never read through: that would copy any
 * file into resolv.conf) and left alone; at the temporary name the old
 * code used it is never opened (a fresh name is used), so its target is
 * not written.
 */
static void test_planted_symlinks(void **state)
{
	static char buf[TG_RC_MAX];
	const char *o = "nameserver 10.1.1.1\n", *secret = "secret\n";
	char victim[160], tmp[160];
	size_t n;

	snprintf(victim, sizeof(victim), "%s/victim", dir);
	put_str(victim, secret);
	put_str(path, o);
	assert_int_equal(symlink(victim, backup), 0);
	assert_int_equal(tun_resolv_restore(path, backup), -ELOOP);
	n = get_file(path, buf, sizeof(buf));
	assert_int_equal(n, strlen(o));
	assert_memory_equal(buf, o, n);
	n = get_file(victim, buf, sizeof(buf));
	assert_int_equal(n, strlen(secret));
	assert_int_equal(access(backup, F_OK), 0); /* still the link */
	/* apply never takes over an existing backup, link or not */
	assert_int_equal(tun_resolv_apply(path, backup, NS4, NS6, NULL),
			 -EEXIST);
	unlink(backup);

	snprintf(tmp, sizeof(tmp), "%s.tmp", backup);
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(tun_resolv_apply(path, backup, NS4, NS6, NULL), 0);
	n = get_file(victim, buf, sizeof(buf));
	assert_int_equal(n, strlen(secret));
	assert_memory_equal(buf, secret, n);
	n = get_file(backup, buf, sizeof(buf));
	assert_int_equal(n, strlen(o));
	assert_int_equal(tun_resolv_restore(path, backup), 0);
	n = get_file(path, buf, sizeof(buf));
	assert_memory_equal(buf, o, n);
}

static void test_apply_errors(void **state)
{
	char missing[160];

	snprintf(missing, sizeof(missing), "%s/nope/resolv.conf", dir);
	assert_int_equal(tun_resolv_apply(missing, backup, NS4, NS6, NULL),
			 -ENOENT);
	assert_int_equal(access(backup, F_OK), -1);
	/* too big */
	{
		char *big = calloc(1, TG_RC_MAX + 1);

		memset(big, '#', TG_RC_MAX);
		put_file(path, big, TG_RC_MAX + 1);
		free(big);
	}
	assert_int_equal(tun_resolv_apply(path, backup, NS4, NS6, NULL),
			 -EFBIG);
	assert_int_equal(access(backup, F_OK), -1);
}

/* the property the fuzzer checks: restore(apply(x)) == x, any bytes */
static void test_random_round_trip(void **state)
{
	static char orig[4096], buf[TG_RC_MAX];
	static const char alphabet[] = "nameserver search domain options #;"
				       " \t\r\n\n\n.abc1:\0\xff";
	unsigned seed = 12345;
	size_t n;

	for (int i = 0; i < 300; i++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(orig));

		for (size_t j = 0; j < len; j++)
			orig[j] = i % 3 ? alphabet[rand_r(&seed) %
						   (sizeof(alphabet) - 1)]
					: (char)rand_r(&seed);
		put_file(path, orig, len);
		assert_int_equal(tun_resolv_apply(path, backup, NS4,
						  i % 2 ? NS6 : NULL,
						  i % 4 ? "a.b c.d" : NULL),
				 0);
		assert_int_equal(tun_resolv_restore(path, backup), 0);
		n = get_file(path, buf, sizeof(buf));
		assert_int_equal(n, len);
		assert_memory_equal(buf, orig, len);
	}
}

static void test_search_domains(void **state)
{
	char buf[64];

	put_str(path, "search a.example b.example\nnameserver 1.1.1.1\n");
	assert_int_equal(tg_rc_search_domains(path, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a.example b.example");
	put_str(path, "search a.example\r\ndomain c.example\r\n");
	assert_int_equal(tg_rc_search_domains(path, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "c.example");
	put_str(path, "nameserver 1.1.1.1\n#search x\n");
	assert_int_equal(tg_rc_search_domains(path, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	put_str(path, "search a.example b.example");
	assert_int_equal(tg_rc_search_domains(path, buf, 10), -ENOSPC);
	unlink(path);
	assert_int_equal(tg_rc_search_domains(path, buf, sizeof(buf)), -ENOENT);
}

static void test_nameservers(void **state)
{
	const char *s = "nameserver 10.0.0.1\n# nameserver 9.9.9.9\n"
			"nameserver fe80::1%eth0\r\nnameserver\n"
			"nameserver 10.0.0.3\nnameserver 10.0.0.4\n";
	char ns[3][64];

	put_file(path, s, strlen(s));
	assert_int_equal(tg_rc_nameservers(path, ns, 3), 3);
	assert_string_equal(ns[0], "10.0.0.1");
	assert_string_equal(ns[1], "fe80::1");
	assert_string_equal(ns[2], "10.0.0.3");
	unlink(path);
	assert_int_equal(tg_rc_nameservers(path, ns, 3), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test_setup_teardown(test_apply_restore, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_recovery, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_planted_symlinks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apply_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_random_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_search_domains, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nameservers, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
