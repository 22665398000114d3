/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for `tungate status`: the text view (cmd/status_text.c) fits
 * widths and heights and keeps the terminal safe; the control socket
 * (cmd/control.c) lives where it should, with the right modes, replaces a
 * stale socket, refuses a second owner of a name and serves documents.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>

#include "cmd/control.h"
#include "cmd/json.h"
#include "cmd/status_text.h"

static char docbuf[1 << 20];

/* the session members of a document; NULL: an outside before resume */
struct session_doc {
	const char *state;
	const char *id; /* NULL: null, no session */
	uint64_t drops, resumes;
	int64_t outage_ms; /* < 0: null */
};

static void put_session(struct tg_json *j, const struct session_doc *s)
{
	if (s->id)
		tg_json_str(j, "session", s->id);
	else
		tg_json_null(j, "session");
	tg_json_u64(j, "stream_drops", s->drops);
	tg_json_u64(j, "resumes", s->resumes);
	if (s->outage_ms >= 0)
		tg_json_u64(j, "outage_ms", (uint64_t)s->outage_ms);
	else
		tg_json_null(j, "outage_ms");
}

/*
 * a document as the outside writes it, @nc connections, @nd DNS rows,
 * and @s's session members
 */
static struct tg_jdoc make_session_doc(int nc, int nd, const char *odd_name,
				       const struct session_doc *s)
{
	struct tg_json j;
	struct tg_jdoc d;
	int n;

	tg_json_init(&j, docbuf, sizeof(docbuf));
	tg_json_obj(&j, NULL);
	tg_json_u64(&j, "version", 1);
	tg_json_str(&j, "tungate", "0.1.0");
	tg_json_str(&j, "name", "devbox");
	tg_json_u64(&j, "pid", 42);
	tg_json_u64(&j, "time", 1000);
	tg_json_u64(&j, "started", 900);
	tg_json_u64(&j, "up_since", 910);
	tg_json_str(&j, "state", s ? s->state : "up");
	tg_json_str(&j, "transport", "ssh");
	tg_json_str(&j, "peer", "devbox");
	tg_json_str(&j, "inside_version", "0.1.0");
	if (s)
		put_session(&j, s);
	tg_json_obj(&j, "routes");
	tg_json_arr(&j, "offered");
	tg_json_str(&j, NULL, "198.19.2.0/24");
	tg_json_arr_end(&j);
	tg_json_str(&j, "inside", "tungate0 up, mtu 65520, 1 route");
	tg_json_obj_end(&j);
	tg_json_obj(&j, "flows");
	tg_json_u64(&j, "tcp", (uint64_t)nc);
	tg_json_obj_end(&j);
	tg_json_null(&j, "dns");
	tg_json_arr(&j, "connections");
	for (int i = 0; i < nc; i++) {
		tg_json_obj(&j, NULL);
		tg_json_str(&j, "proto", "tcp");
		tg_json_u64(&j, "family", 6);
		tg_json_str(&j, "inside_addr", "fd7e:7475:6e::1");
		tg_json_u64(&j, "inside_port", 40000 + (uint64_t)i);
		tg_json_str(&j, "dest_addr",
			    "fd7e:2:1234:5678:9abc:def0:1234:5678");
		tg_json_u64(&j, "dest_port", 443);
		tg_json_str(&j, "state", "established");
		tg_json_u64(&j, "bytes_from_inside", 5000);
		tg_json_u64(&j, "bytes_to_inside", 3u << 20);
		tg_json_u64(&j, "age_ms", 65000);
		tg_json_u64(&j, "idle_ms", 1000 * (uint64_t)i);
		tg_json_obj_end(&j);
	}
	tg_json_arr_end(&j);
	tg_json_u64(&j, "connections_total", (uint64_t)nc);
	tg_json_arr(&j, "dns_cache");
	for (int i = 0; i < nd; i++) {
		tg_json_obj(&j, NULL);
		tg_json_str(&j, "name",
			    i == 0 && odd_name ? odd_name
					       : "a-rather-long-name.of.some."
						 "service.corp.example");
		tg_json_str(&j, "type", "A");
		tg_json_str(&j, "status", i % 2 ? "NXDOMAIN" : "NOERROR");
		tg_json_str(&j, "answer", i % 2 ? "" : "198.19.2.2");
		tg_json_u64(&j, "answers", i % 2 ? 0 : 1);
		tg_json_u64(&j, "ttl", 30);
		tg_json_u64(&j, "hits", (uint64_t)i);
		tg_json_obj_end(&j);
	}
	tg_json_arr_end(&j);
	tg_json_u64(&j, "dns_cache_total", (uint64_t)nd);
	tg_json_obj_end(&j);
	n = tg_json_finish(&j);
	assert_true(n > 0);
	assert_int_equal(tg_json_parse(&d, docbuf, (size_t)n, 100000), 0);
	return d;
}

static struct tg_jdoc make_doc(int nc, int nd, const char *odd_name)
{
	return make_session_doc(nc, nd, odd_name, NULL);
}

static int count_lines(const struct tg_sbuf *b, size_t *widest)
{
	int lines = 0;
	size_t w = 0;

	*widest = 0;
	for (size_t i = 0; i < b->len; i++) {
		if (b->p[i] == '\n') {
			lines++;
			*widest = w > *widest ? w : *widest;
			w = 0;
		} else {
			w++;
		}
	}
	return lines;
}

static void test_text_full(void **state)
{
	struct tg_jdoc d = make_doc(30, 20, NULL);
	struct tg_sbuf out = {0};
	size_t widest;

	(void)state;
	assert_int_equal(tg_status_text(&d, &out, 0, 0), 0);
	tg_sbuf_printf(&out, "%c", '\0');
	assert_non_null(strstr(out.p, "up for 1m30s"));
	assert_non_null(strstr(out.p, "CONNECTIONS  30 open"));
	assert_null(strstr(out.p, "shown"));
	assert_non_null(strstr(out.p, "[fd7e:7475:6e::1]:40029"));
	assert_non_null(strstr(out.p, "3.0M"));
	assert_non_null(strstr(out.p, "DNS CACHE  20 entries"));
	assert_non_null(strstr(out.p, "NXDOMAIN"));
	assert_non_null(strstr(out.p, "not through the tunnel"));
	out.len--;
	assert_true(count_lines(&out, &widest) > 50);
	tg_sbuf_free(&out);
	tg_json_free(&d);
}

/* the DNS-over-TCP line counts in words: one connection, two connections */
static void test_text_dns_tcp(void **state)
{
	static const char *const want[] = {"0 connections,", "1 connection,",
					   "2 connections,"};

	(void)state;
	for (unsigned n = 0; n < 3; n++) {
		struct tg_json j;
		struct tg_jdoc d;
		struct tg_sbuf out = {0};
		int len;

		tg_json_init(&j, docbuf, sizeof(docbuf));
		tg_json_obj(&j, NULL);
		tg_json_u64(&j, "version", 1);
		tg_json_obj(&j, "dns");
		tg_json_arr(&j, "addresses");
		tg_json_str(&j, NULL, "198.18.0.53");
		tg_json_arr_end(&j);
		tg_json_u64(&j, "tcp_connections", n);
		tg_json_u64(&j, "tcp_buffer_bytes", 4096);
		tg_json_u64(&j, "tcp_buffer_max", 16u << 20);
		tg_json_u64(&j, "tcp_evicted", 0);
		tg_json_obj_end(&j);
		tg_json_obj_end(&j);
		len = tg_json_finish(&j);
		assert_true(len > 0);
		assert_int_equal(tg_json_parse(&d, docbuf, (size_t)len, 1000),
				 0);
		assert_int_equal(tg_status_text(&d, &out, 0, 0), 0);
		tg_sbuf_printf(&out, "%c", '\0');
		assert_non_null(strstr(out.p, want[n]));
		tg_sbuf_free(&out);
		tg_json_free(&d);
	}
}

/* whatever the window, nothing wider, nothing longer */
static void test_text_fits(void **state)
{
	static const int sizes[][2] = {
		{80, 24}, {70, 16}, {40, 10}, {200, 60}, {120, 12}};
	struct tg_jdoc d = make_doc(30, 20, NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct tg_sbuf out = {0};
		size_t widest;
		int lines;

		assert_int_equal(
			tg_status_text(&d, &out, sizes[i][0], sizes[i][1]), 0);
		lines = count_lines(&out, &widest);
		if (widest > (size_t)sizes[i][0] || lines > sizes[i][1])
			fail_msg("%dx%d: %zu columns, %d lines", sizes[i][0],
				 sizes[i][1], widest, lines);
		tg_sbuf_printf(&out, "%c", '\0');
		if (sizes[i][1] >= 16) {
			assert_non_null(strstr(out.p, "CONNECTIONS"));
			assert_non_null(strstr(out.p, "DNS CACHE"));
			assert_non_null(strstr(out.p, " shown"));
		}
		tg_sbuf_free(&out);
	}
	tg_json_free(&d);
}

/* a name with escape sequences must not reach the terminal as is */
static void test_text_safe(void **state)
{
	struct tg_jdoc d = make_doc(1, 1, "evil\033[2J\x07name\xc3\xa9");
	struct tg_sbuf out = {0};

	(void)state;
	assert_int_equal(tg_status_text(&d, &out, 0, 0), 0);
	for (size_t i = 0; i < out.len; i++)
		if (out.p[i] != '\n' && (out.p[i] < 0x20 || out.p[i] >= 0x7f))
			fail_msg("byte 0x%02x at %zu", (unsigned char)out.p[i],
				 i);
	tg_sbuf_free(&out);
	tg_json_free(&d);
	/* not a status document */
	assert_int_equal(tg_json_parse(&d, "[1]", 3, 10), 0);
	assert_int_equal(tg_status_text(&d, &out, 0, 0), -EINVAL);
	tg_json_free(&d);
	tg_sbuf_free(&out);
}

#define SESSION_HEX "3f2a0c1d5e6f708192a3b4c5d6e7f8e1"

/* @s rendered in full, as a C string to free */
static char *session_text(const struct session_doc *s)
{
	struct tg_jdoc d = make_session_doc(2, 1, NULL, s);
	struct tg_sbuf out = {0};

	assert_int_equal(tg_status_text(&d, &out, 0, 0), 0);
	tg_sbuf_printf(&out, "%c", '\0');
	tg_json_free(&d);
	return out.p;
}

static void test_text_session(void **state)
{
	struct session_doc up = {"up", SESSION_HEX, 2, 1, -1};
	struct session_doc out = {"reconnecting", SESSION_HEX, 3, 1, 12345};
	struct session_doc none = {"up", NULL, 1, 0, -1};
	char *t;

	(void)state;
	/* up again after two drops, one resumed */
	t = session_text(&up);
	assert_non_null(strstr(t, "\n  session   " SESSION_HEX
				  "; drops 2, resumes 1; up\n"));
	assert_non_null(strstr(t, ": up for 1m30s"));
	assert_null(strstr(t, "outage"));
	free(t);

	/* in an outage: the head and the session line say for how long */
	t = session_text(&out);
	assert_non_null(strstr(t, ": reconnecting for 12s\n"));
	assert_non_null(strstr(t, "\n  session   " SESSION_HEX
				  "; drops 3, resumes 1; outage 12.3 s\n"));
	assert_null(strstr(t, "; up"));
	free(t);

	/* resume off (--grace 0): no id, the drops still count */
	t = session_text(&none);
	assert_non_null(strstr(t, "\n  session   none (no resume); drops 1, "
				  "resumes 0; up\n"));
	free(t);

	/* an outside from before resume: no session line at all */
	t = session_text(NULL);
	assert_null(strstr(t, "session"));
	assert_non_null(strstr(t, "\n  stream    ssh devbox"));
	free(t);
}

/* a short window keeps the outage in the head line */
static void test_text_session_brief(void **state)
{
	struct session_doc out = {"reconnecting", SESSION_HEX, 1, 0, 61000};
	struct tg_jdoc d = make_session_doc(30, 20, NULL, &out);
	struct tg_sbuf b = {0};
	size_t widest;

	(void)state;
	assert_int_equal(tg_status_text(&d, &b, 80, 12), 0);
	assert_true(count_lines(&b, &widest) <= 12);
	assert_true(widest <= 80);
	tg_sbuf_printf(&b, "%c", '\0');
	assert_non_null(strstr(b.p, "): reconnecting for 1m01s\n"));
	tg_sbuf_free(&b);
	tg_json_free(&d);
}

static void test_names(void **state)
{
	char out[128], path[200];

	(void)state;
	tg_control_safe_name("me@devbox:2222", out, sizeof(out));
	assert_string_equal(out, "me@devbox:2222");
	tg_control_safe_name("../x y/z", out, sizeof(out));
	assert_string_equal(out, "_._x_y_z");
	memset(path, 'a', 150);
	path[150] = '\0';
	tg_control_safe_name(path, out, sizeof(out));
	assert_int_equal(strlen(out), TG_CONTROL_NAME_MAX);
	assert_int_equal(tg_control_sockaddr("/run/user/1000/tungate", "devbox",
					     path, sizeof(path)),
			 0);
	assert_string_equal(path, "/run/user/1000/tungate/devbox.sock");
	memset(out, 'd', 100);
	out[100] = '\0';
	assert_int_equal(tg_control_sockaddr(out, "devbox", path, sizeof(path)),
			 -ENAMETOOLONG);

	setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
	assert_int_equal(tg_control_dir(0, path, sizeof(path)), 0);
	assert_string_equal(path, "/run/user/7/tungate");
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(tg_control_dir(0, path, sizeof(path)), -ENOENT);
	assert_int_equal(tg_control_dir(1, path, sizeof(path)), 0);
	assert_int_equal(strncmp(path, "/run/user/", 10), 0);
	setenv("HOME", "/home/me", 1);
	assert_int_equal(tg_control_dir(2, path, sizeof(path)), 0);
	assert_string_equal(path, "/home/me/.cache/tungate");
	assert_int_equal(tg_control_dir(3, path, sizeof(path)), 0);
	assert_int_equal(strncmp(path, "/tmp/tungate-", 13), 0);
	assert_int_equal(tg_control_dir(4, path, sizeof(path)), -ERANGE);
}

/* ------------------------------------------------------------ server */

static int renders;

static void render(void *arg, struct tg_json *j)
{
	renders++;
	tg_json_obj(j, NULL);
	tg_json_str(j, "hello", arg);
	tg_json_obj_end(j);
}

struct client {
	char path[100];
	bool silent; /* connect, never ask, never read */
	char got[256];
	size_t len;
	volatile int done;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		c->done = 1;
		return NULL;
	}
	if (c->silent) {
		c->done = 1; /* the caller closes it */
		c->len = (size_t)fd;
		return NULL;
	}
	if (write(fd, TG_CONTROL_REQUEST "\n",
		  sizeof(TG_CONTROL_REQUEST)) == sizeof(TG_CONTROL_REQUEST))
		while ((n = read(fd, c->got + c->len,
				 sizeof(c->got) - 1 - c->len)) > 0)
			c->len += (size_t)n;
	close(fd);
	c->done = 1;
	return NULL;
}

static void poll_cb(uv_timer_t *t)
{
	struct client *c = t->data;

	if (c->done)
		uv_stop(t->loop);
}

static void ask_as(uv_loop_t *loop, const char *path, struct client *c,
		   bool silent)
{
	uv_timer_t t;
	pthread_t th;

	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->silent = silent;
	uv_timer_init(loop, &t);
	t.data = c;
	uv_timer_start(&t, poll_cb, 10, 10);
	assert_int_equal(pthread_create(&th, NULL, client_main, c), 0);
	uv_run(loop, UV_RUN_DEFAULT);
	pthread_join(th, NULL);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

static void ask(uv_loop_t *loop, const char *path, struct client *c)
{
	ask_as(loop, path, c, false);
}

static void test_server(void **state)
{
	char tmpl[] = "/tmp/tg-status-test.XXXXXX", path[100], dir[64];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct tg_control *c, *c2;
	struct client cl;
	struct stat st;
	uv_loop_t loop;
	int fd, n, silent[200];

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	setenv("XDG_RUNTIME_DIR", tmpl, 1);
	snprintf(dir, sizeof(dir), "%s/tungate", tmpl);
	snprintf(path, sizeof(path), "%s/devbox.sock", dir);
	/* a stale socket of an outside that is gone, in a lax directory */
	assert_int_equal(mkdir(dir, 0755), 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);

	uv_loop_init(&loop);
	assert_int_equal(tg_control_open(&loop, "devbox", render, "world", &c),
			 0);
	assert_string_equal(tg_control_path(c), path);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* the name is taken while this one runs */
	assert_int_equal(tg_control_open(&loop, "devbox", render, "x", &c2),
			 -EADDRINUSE);

	/* the probe of the second open cost no rendering */
	ask(&loop, path, &cl);
	assert_string_equal(cl.got, "{\"hello\":\"world\"}\n");
	assert_int_equal(renders, 1);
	n = renders;
	ask(&loop, path, &cl);
	assert_string_equal(cl.got, "{\"hello\":\"world\"}\n");
	assert_int_equal(renders, n + 1);
	/* 200 clients that never ask (more than are served at a time) do
	 * not keep another from its answer */
	for (int i = 0; i < 200; i++) {
		ask_as(&loop, path, &cl, true);
		assert_true(cl.len > 0);
		silent[i] = (int)cl.len;
	}
	ask(&loop, path, &cl);
	assert_string_equal(cl.got, "{\"hello\":\"world\"}\n");
	for (int i = 0; i < 200; i++)
		close(silent[i]);
	assert_int_equal(renders, n + 2);

	tg_control_close(c);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	rmdir(dir);
	rmdir(tmpl);
	unsetenv("XDG_RUNTIME_DIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_full),
		cmocka_unit_test(test_text_dns_tcp),
		cmocka_unit_test(test_text_fits),
		cmocka_unit_test(test_text_safe),
		cmocka_unit_test(test_text_session),
		cmocka_unit_test(test_text_session_brief),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_server),
	};

	signal(SIGPIPE, SIG_IGN); /* as main() does */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
