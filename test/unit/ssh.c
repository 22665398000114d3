/* SPDX-License-Identifier: MIT */
/*
 * ssh.c - unit tests for the SSH transport (transport/ssh*.c) that need no
 * sshd: DEST parsing, the ssh_config keywords we read ourselves, the
 * remote command with the inside's options quoted for the shell, and the
 * thread's life on a real libuv loop against loopback ports that refuse
 * or never answer (stopping it mid-connect, timing out, reopening).
 * test/e2e/ssh.t.sh covers a real sshd.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/ssh.h"
#include "transport/ssh_internal.h"

/* -------------------------------------------------------- remote command */

static void test_cmd_build(void **state)
{
	const char *none[] = {NULL};
	const char *plain[] = {"--tun", "t1", "-v", "-v", NULL};
	const char *nasty[] = {"--tun", "it's", "--x", "a b;$(id)`x`\\", NULL};
	char *c;

	c = tp_ssh_cmd_build(TP_SSH_DEFAULT_CMD, NULL);
	assert_string_equal(c, TP_SSH_DEFAULT_CMD);
	free(c);
	c = tp_ssh_cmd_build("x", none);
	assert_string_equal(c, "x");
	free(c);
	/* values are quoted even when plain; flags of ours are not */
	c = tp_ssh_cmd_build("sudo -n tungate inside --stdio", plain);
	assert_string_equal(c,
			    "sudo -n tungate inside --stdio --tun 't1' -v -v");
	free(c);
	c = tp_ssh_cmd_build("t", nasty);
	assert_string_equal(c, "t --tun 'it'\\''s' --x 'a b;$(id)`x`\\'");
	free(c);
}

/* what the remote shell makes of it: each word arrives as it was */
static void test_cmd_shell(void **state)
{
	const char *args[] = {"--tun",	"it's",	      "'",   "''",
			      "a b\tc", "$HOME;`id`", "\\n", "-v",
			      "x\ny",	"",	      NULL};
	char *c = tp_ssh_cmd_build("printf '<%s>\\n'", args);
	char out[512] = "", want[512] = "";
	size_t n = 0;
	FILE *f;

	assert_non_null(c);
	f = popen(c, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	for (size_t i = 0; args[i]; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
			 "<%s>\n", args[i]);
	assert_string_equal(out, want);
	free(c);
}

/* ----------------------------------------------------------------- DEST */

static void test_dest(void **state)
{
	struct tp_ssh_dest d;

	assert_int_equal(tp_ssh_dest_parse("devbox", &d), 0);
	assert_string_equal(d.host, "devbox");
	assert_string_equal(d.user, "");
	assert_int_equal(d.port, 0);

	assert_int_equal(tp_ssh_dest_parse("root@10.1.2.3:2222", &d), 0);
	assert_string_equal(d.user, "root");
	assert_string_equal(d.host, "10.1.2.3");
	assert_int_equal(d.port, 2222);

	assert_int_equal(tp_ssh_dest_parse("ssh://me@box:22", &d), 0);
	assert_string_equal(d.user, "me");
	assert_string_equal(d.host, "box");
	assert_int_equal(d.port, 22);

	assert_int_equal(tp_ssh_dest_parse("fd7e::1", &d), 0);
	assert_string_equal(d.host, "fd7e::1");
	assert_int_equal(d.port, 0);

	assert_int_equal(tp_ssh_dest_parse("u@[fd7e::1]:2200", &d), 0);
	assert_string_equal(d.user, "u");
	assert_string_equal(d.host, "fd7e::1");
	assert_int_equal(d.port, 2200);

	assert_int_equal(tp_ssh_dest_parse("a@b@host", &d), 0);
	assert_string_equal(d.user, "a@b");

	assert_int_equal(tp_ssh_dest_parse("", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("@host", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("user@", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("host:0", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("host:99999", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("host:", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("host:22x", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("[fd7e::1", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("[fd7e::1]x", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("host name", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("host;rm", &d), -EINVAL);
	assert_int_equal(tp_ssh_dest_parse("a/b", &d), -EINVAL);
}

/* ---------------------------------------------------------------- config */

struct tmpdir {
	char path[64];
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_config(void **state)
{
	char dir[] = "/tmp/tg-ssh-unit.XXXXXX", path[128], inc[128];
	struct tp_ssh_cfg c;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config", dir);
	snprintf(inc, sizeof(inc), "%s/extra.conf", dir);
	write_file(inc, "Host devbox\n  ServerAliveCountMax 7\n");
	{
		char text[1024];

		snprintf(text, sizeof(text),
			 "# top: applies to all\n"
			 "ConnectTimeout=12\n"
			 "Host other\n"
			 "  ServerAliveInterval 99\n"
			 "Host dev* !devnull\n"
			 "  ServerAliveInterval 5\n"
			 "  IdentitiesOnly yes\n"
			 "  IdentityAgent ~/agent.sock\n"
			 "Include %s\n"
			 "Host *\n"
			 "  ServerAliveInterval 60\n"
			 "  StrictHostKeyChecking accept-new\n"
			 "  Include %s/extra.conf\n"
			 "Match exec \"true\"\n"
			 "  IdentitiesOnly no\n"
			 "Match all\n"
			 "  ServerAliveCountMax 9\n",
			 inc, dir);
		write_file(path, text);
	}

	tp_ssh_cfg_init(&c);
	assert_int_equal(tp_ssh_cfg_scan(path, "DevBox", "/home/u", &c), 0);
	assert_int_equal(c.connect_timeout, 12);
	assert_int_equal(c.alive_interval, 5); /* first value wins */
	assert_int_equal(c.identities_only, 1);
	assert_string_equal(c.identity_agent, "/home/u/agent.sock");
	assert_int_equal(c.accept_new, 1);
	assert_int_equal(c.alive_count, 7); /* from the Include */

	tp_ssh_cfg_init(&c);
	assert_int_equal(tp_ssh_cfg_scan(path, "devnull", "/home/u", &c), 0);
	assert_int_equal(c.alive_interval, 60); /* vetoed by !devnull */
	assert_int_equal(c.identities_only, -1);
	assert_int_equal(c.alive_count, 9); /* Match all */

	tp_ssh_cfg_init(&c);
	assert_int_equal(tp_ssh_cfg_scan("/nonexistent/config", "x", "/", &c),
			 -ENOENT);
	unlink(inc);
	unlink(path);
	rmdir(dir);
}

/* ---------------------------------------------------------------- thread */

struct result {
	int calls, status;
	char why[TP_SSH_WHY];
	bool eof;
	uv_stream_t *stream, *out;
	struct tp_ssh *s;
};

static void exit_cb(struct tp_ssh *s, int status, const char *why, void *data)
{
	struct result *r = data;

	r->calls++;
	r->status = status;
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char b[4096];

	*buf = uv_buf_init(b, sizeof(b));
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct result *r = st->data;

	/* the callback must come first: then the stream's EOF */
	if (n == UV_EOF) {
		assert_int_equal(r->calls, 1);
		r->eof = true;
		uv_read_stop(st);
	}
}

static void free_cb(uv_handle_t *h)
{
	free(h);
}

/* a loopback TCP port: listening (never accepting), or closed */
static int loopback_port(bool listening, int *fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	if (listening) {
		assert_int_equal(listen(s, 8), 0);
		*fd = s;
	} else {
		close(s);
		*fd = -1;
	}
	return ntohs(a.sin_port);
}

static void open_session(uv_loop_t *loop, int port, unsigned timeout_ms,
			 struct result *r)
{
	char dest[64];
	struct tp_ssh_opts o = {
		.dest = dest,
		.config_file = "/dev/null",
		.timeout_ms = timeout_ms,
	};
	uv_stream_t *in = NULL, *out = NULL;

	snprintf(dest, sizeof(dest), "nobody@127.0.0.1:%d", port);
	memset(r, 0, sizeof(*r));
	assert_int_equal(tp_ssh_open(loop, &o, exit_cb, r, &in, &out, &r->s),
			 0);
	/* two handles, two fds, one socket (tp_ssh_open: no epoll_ctl per
	 * write) */
	assert_ptr_not_equal(in, out);
	r->stream = in;
	r->out = out;
	in->data = r;
	assert_int_equal(uv_read_start(in, alloc_cb, read_cb), 0);
}

static void close_session(uv_loop_t *loop, struct result *r)
{
	tp_ssh_close(r->s);
	uv_close((uv_handle_t *)r->stream, free_cb);
	uv_close((uv_handle_t *)r->out, free_cb);
	uv_run(loop, UV_RUN_DEFAULT);
}

static void run_until_eof(uv_loop_t *loop, struct result *r)
{
	for (int i = 0; i < 2000 && !r->eof; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(5000);
	}
}

static void test_refused(void **state)
{
	uv_loop_t loop;
	struct result r;
	int fd;

	setenv("HOME", "/nonexistent", 1);
	assert_int_equal(uv_loop_init(&loop), 0);
	/* twice: a new session after the first one ended */
	for (int i = 0; i < 2; i++) {
		int port = loopback_port(false, &fd);

		open_session(&loop, port, 5000, &r);
		assert_true(tp_ssh_running(r.s));
		run_until_eof(&loop, &r);
		assert_true(r.eof);
		assert_int_equal(r.calls, 1);
		assert_int_equal(r.status, -ECONNREFUSED);
		assert_non_null(strstr(r.why, "connection refused"));
		assert_false(tp_ssh_running(r.s));
		close_session(&loop, &r);
	}
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_timeout(void **state)
{
	uv_loop_t loop;
	struct result r;
	int fd, port = loopback_port(true, &fd);

	assert_int_equal(uv_loop_init(&loop), 0);
	open_session(&loop, port, 300, &r);
	run_until_eof(&loop, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -ETIMEDOUT);
	assert_non_null(strstr(r.why, "timed out"));
	close_session(&loop, &r);
	close(fd);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* tp_ssh_close() while the thread waits for a silent server */
static void test_stop(void **state)
{
	uv_loop_t loop;
	struct result r;
	int fd, port = loopback_port(true, &fd);
	uint64_t t0;

	assert_int_equal(uv_loop_init(&loop), 0);
	open_session(&loop, port, 60000, &r);
	for (int i = 0; i < 20; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(5000);
	}
	t0 = uv_hrtime();
	close_session(&loop, &r);
	/* far below the 60 s the thread would wait, with room for a loaded
	 * machine: the close interrupted it */
	assert_true(uv_hrtime() - t0 < 10000000000ull);
	assert_int_equal(r.calls, 0);
	close(fd);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bad_dest(void **state)
{
	uv_loop_t loop;
	struct tp_ssh_opts o = {.dest = "user@"};
	uv_stream_t *in = NULL, *out = NULL;
	struct tp_ssh *s = NULL;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(tp_ssh_open(&loop, &o, exit_cb, NULL, &in, &out, &s),
			 -EINVAL);
	assert_null(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ------------------------------------------------------- remote stderr */

/*
 * A remote whose stderr floods: a burst is logged, the rest counted, and
 * every line, logged or not, still counts for the final message and the
 * sudo hint
 */
static void test_stderr_flood(void **state)
{
	struct tp_ssh_run *r = calloc(1, sizeof(*r));
	static const char chunk[] = "y\ny\ny\ny\ny\ny\ny\ny\n";
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);

	(void)state;
	assert_non_null(r);
	assert_true(saved >= 0 && null >= 0);
	dup2(null, STDERR_FILENO); /* the burst and the summary */
	tg_log_init(TG_LOG_INFO, "test");
	r->tag = "devbox"; /* what ssh.c sets for --ssh: the host */
	/* 80 000 lines: well within one interval of 5 s, even under ASan */
	for (int i = 0; i < 10000; i++)
		tp_ssh_log_stderr(r, chunk, sizeof(chunk) - 1, false);
	tp_ssh_log_stderr(r, "sudo: a password is required\n", 29, false);
	assert_int_equal(r->err_rl.shown, TP_SSH_ERR_BURST);
	assert_int_equal(r->err_rl.missed, 80001 - TP_SSH_ERR_BURST);
	assert_string_equal(r->err_rl.key, "devbox");
	assert_true(r->sudo_password);
	assert_string_equal(r->last_err, "sudo: a password is required");
	/* the end of the stream says the count and starts afresh */
	tp_ssh_log_stderr(r, "", 0, true);
	assert_int_equal(r->err_rl.missed, 0);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(null);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dest),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_bad_dest),
		cmocka_unit_test(test_cmd_build),
		cmocka_unit_test(test_cmd_shell),
		cmocka_unit_test(test_stderr_flood),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
