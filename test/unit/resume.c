/* SPDX-License-Identifier: MIT */
/*
 * resume.c - unit tests for cmd/inside_resume.c: a real unix socket, real
 * fd passing. The offering side runs in a child process (it blocks, as the
 * new inside does); the listening side runs on a libuv loop here.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/inside_resume.h"

static char dir[64], path[96];
static uv_loop_t loop;
static struct inside_resume *lis;
static int offers, taken_in = -1, taken_out = -1, taken_conn = -1;
static struct resume_offer got;
static uint8_t got_rest[64];
static uint8_t mine[TP_SESSION_LEN];

static int offer_cb(void *arg, struct resume_offer *o)
{
	offers++;
	got = *o;
	memcpy(got_rest, o->rest, o->rest_len < 64 ? o->rest_len : 64);
	if (memcmp(o->session, mine, TP_SESSION_LEN)) {
		close(o->fd_in);
		close(o->fd_out);
		close(o->fd_err);
		return -ESRCH;
	}
	close(o->fd_err);
	taken_in = o->fd_in;
	taken_out = o->fd_out;
	taken_conn = o->conn;
	return 0;
}

/* the new inside: offer the read end of @p and the write end of @q;
 * exit 0 when taken (after the taker closed), 3 for -ESRCH, 4 else */
static pid_t offerer(const uint8_t *session, int p, int q)
{
	pid_t pid = fork();
	struct resume_offer o = {.fd_in = p,
				 .fd_out = q,
				 .fd_err = 2,
				 .pid = 4242,
				 .rest = (uint8_t *)"CONFIG..",
				 .rest_len = 8};
	long who = 0;
	int conn = -1, r;

	assert_true(pid >= 0);
	if (pid)
		return pid;
	memcpy(o.session, session, TP_SESSION_LEN);
	o.ssh_client.family = 2;
	o.ssh_client.plen = 32;
	o.ssh_client.addr[0] = 198;
	r = inside_resume_offer(path, &o, &who, &conn);
	if (r == -ESRCH)
		_exit(3);
	if (r < 0 || who != (long)getppid())
		_exit(4);
	inside_resume_wait(conn);
	_exit(0);
}

static int child_status(pid_t pid)
{
	int st = 0;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void run_until_offers(int n)
{
	for (int i = 0; i < 500 && offers < n; i++)
		uv_run(&loop, UV_RUN_NOWAIT), usleep(10000);
	assert_int_equal(offers, n);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/tgresume.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	assert_int_equal(uv_loop_init(&loop), 0);
	memset(mine, 0x11, sizeof(mine));
	offers = 0;
	return 0;
}

static int teardown(void **state)
{
	inside_resume_close(lis);
	lis = NULL;
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(uv_loop_close(&loop), 0);
	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* the socket file is gone */
	return 0;
}

static void test_taken(void **state)
{
	int p[2], q[2];
	char buf[8];
	pid_t pid;

	assert_int_equal(
		inside_resume_listen(&loop, path, offer_cb, NULL, &lis), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	pid = offerer(mine, p[0], q[1]);
	run_until_offers(1);
	assert_memory_equal(got.session, mine, TP_SESSION_LEN);
	assert_int_equal(got.pid, 4242);
	assert_int_equal(got.ssh_client.family, 2);
	assert_int_equal(got.ssh_client.plen, 32);
	assert_int_equal(got.ssh_client.addr[0], 198);
	assert_int_equal(got.rest_len, 8);
	assert_memory_equal(got_rest, "CONFIG..", 8);
	/* the passed fds are the stream: both directions work */
	assert_int_equal(write(p[1], "in", 2), 2);
	assert_int_equal(read(taken_in, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "in", 2);
	assert_int_equal(write(taken_out, "out", 3), 3);
	assert_int_equal(read(q[0], buf, sizeof(buf)), 3);
	/* the offerer stays while we use the stream */
	usleep(100000);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
	close(taken_conn);
	assert_int_equal(child_status(pid), 0);
	close(taken_in);
	close(taken_out);
	for (int i = 0; i < 2; i++)
		close(p[i]), close(q[i]);
}

static void test_other_session(void **state)
{
	uint8_t other[TP_SESSION_LEN];
	int p[2];
	pid_t pid;

	memset(other, 0x22, sizeof(other));
	assert_int_equal(
		inside_resume_listen(&loop, path, offer_cb, NULL, &lis), 0);
	assert_int_equal(pipe(p), 0);
	pid = offerer(other, p[0], p[1]);
	run_until_offers(1);
	assert_int_equal(child_status(pid), 3);
	close(p[0]);
	close(p[1]);
}

static void test_nobody_waits(void **state)
{
	struct resume_offer o = {.fd_in = 0, .fd_out = 1, .fd_err = 2};
	long who;
	int conn;

	assert_int_equal(inside_resume_offer(path, &o, &who, &conn), -ENOENT);
}

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* a hostile or confused local peer: @len bytes of @hdr with @nfds copies
 * of stdin attached; exits 0 once the listener has closed the connection */
static pid_t raw_offerer(const void *hdr, size_t len, int nfds)
{
	pid_t pid = fork();
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = (void *)hdr, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	char x[8];
	int fd, fds[8] = {0};

	assert_true(pid >= 0);
	if (pid)
		return pid;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		_exit(4);
	if (nfds) {
		m.msg_control = cm.buf;
		m.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	if (sendmsg(fd, &m, 0) < 0)
		_exit(5);
	shutdown(fd, SHUT_WR);
	while (read(fd, x, sizeof(x)) > 0)
		;
	_exit(0);
}

/* nothing of it is taken, nothing leaks, and the listener still works */
static void test_bad_offers(void **state)
{
	uint8_t junk[256];
	int before, p[2];
	pid_t pid;
	struct {
		size_t len;
		int nfds;
	} cases[] = {{0, 0},
		     {10, 3},
		     {sizeof(junk), 0},
		     {sizeof(junk), 1},
		     {sizeof(junk), 3},
		     {sizeof(junk), 4},
		     {sizeof(junk), 8}};

	memset(junk, 'x', sizeof(junk)); /* no magic */
	assert_int_equal(
		inside_resume_listen(&loop, path, offer_cb, NULL, &lis), 0);
	before = fd_count();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid = raw_offerer(junk, cases[i].len, cases[i].nfds);

		int st = -1;

		for (int t = 0; t < 100 && !waitpid(pid, &st, WNOHANG); t++)
			uv_run(&loop, UV_RUN_NOWAIT), usleep(10000);
		uv_run(&loop, UV_RUN_NOWAIT);
		assert_int_equal(offers, 0);
		assert_int_equal(fd_count(), before);
	}
	/* a good offer afterwards is still heard */
	assert_int_equal(pipe(p), 0);
	pid = offerer(mine, p[0], p[1]);
	run_until_offers(1);
	close(taken_conn);
	assert_int_equal(child_status(pid), 0);
	close(taken_in);
	close(taken_out);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_taken),
		T(test_other_session),
		T(test_nobody_waits),
		T(test_bad_offers),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
