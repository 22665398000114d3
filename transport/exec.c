/* SPDX-License-Identifier: MIT */
/*
 * exec.c - the stream is a child's stdin and stdout (--exec).
 *
 * Theory of operation: the command runs under /bin/sh -c with three new
 * pipes (libuv makes them socketpairs, so the write side can half-close).
 * Its stdin and stdout become the link's streams and belong to the link;
 * its stderr is read here, cut into lines in one fixed buffer and logged
 * with a prefix, so "Permission denied (publickey)" or "sudo: a password
 * is required" reaches the user as it happens. A line longer than the
 * buffer is logged in pieces. The lines go through a rate limiter
 * (lib/log.h): a burst is logged whole, a flood is counted. The child stays in our process group, so a
 * Ctrl-C in the terminal reaches it too; the outside still sends it
 * SIGTERM with tp_exec_kill() when it ends on its own.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "transport/stream.h"

#define LINE_CAP 4096
#define PIECE_MAX 800 /* what fits in one tg_log() line with its prefix */
/* the inside's start at -v is a few dozen lines: shown whole */
#define ERR_BURST 50

struct tp_exec {
	uv_process_t proc;
	uv_pipe_t err;
	tp_exec_exit_cb exit_cb;
	void *data;
	char prefix[32];
	struct tg_ratelimit rl;
	char line[LINE_CAP];
	size_t line_len;
	bool exited, closed;
	unsigned handles; /* still to be closed */
};

/* log one line of the child's stderr, in pieces if it is long */
static void exec_log(struct tp_exec *x, const char *p, size_t len)
{
	char piece[PIECE_MAX + 1];

	if (len && p[len - 1] == '\r')
		len--;
	do {
		size_t n = len < PIECE_MAX ? len : PIECE_MAX;

		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];

			piece[i] = (c < 0x20 && c != '\t') || c == 0x7f
					   ? '?'
					   : (char)c;
		}
		piece[n] = '\0';
		tg_log_limited(&x->rl, TG_LOG_INFO, "%s: %s", x->prefix,
			       piece);
		p += n;
		len -= n;
	} while (len);
}

static void err_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct tp_exec *x = h->data;

	*buf = uv_buf_init(x->line + x->line_len,
			   (unsigned)(LINE_CAP - x->line_len));
}

static void err_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tp_exec *x = s->data;
	size_t start = 0;
	char *nl;

	if (nread < 0) {
		if (x->line_len)
			exec_log(x, x->line, x->line_len);
		x->line_len = 0;
		tg_ratelimit_flush(&x->rl);
		uv_read_stop(s);
		return;
	}
	x->line_len += (size_t)nread;
	while ((nl = memchr(x->line + start, '\n', x->line_len - start))) {
		exec_log(x, x->line + start, (size_t)(nl - x->line) - start);
		start = (size_t)(nl - x->line) + 1;
	}
	if (start == 0 && x->line_len == LINE_CAP) {
		exec_log(x, x->line, x->line_len);
		x->line_len = 0;
		return;
	}
	memmove(x->line, x->line + start, x->line_len - start);
	x->line_len -= start;
}

static void proc_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
	struct tp_exec *x = p->data;

	x->exited = true;
	if (!x->closed && x->exit_cb)
		x->exit_cb(x, status, term_signal, x->data);
}

static void exec_close_cb(uv_handle_t *h)
{
	struct tp_exec *x = h->data;

	if (--x->handles == 0)
		free(x);
}

static void free_cb(uv_handle_t *h)
{
	free(h);
}

/* spawn failed: every handle was initialised and must go through uv_close */
static void exec_abort(struct tp_exec *x, uv_pipe_t *in, uv_pipe_t *out)
{
	uv_close((uv_handle_t *)in, free_cb);
	uv_close((uv_handle_t *)out, free_cb);
	x->closed = true;
	x->handles = 2;
	uv_close((uv_handle_t *)&x->proc, exec_close_cb);
	uv_close((uv_handle_t *)&x->err, exec_close_cb);
}

/**
 * tp_exec_open() - run @cmd with /bin/sh -c; its stdin/stdout are the
 * stream, each line of its stderr is logged with @prefix
 * @loop:	event loop
 * @cmd:	shell command
 * @prefix:	log prefix for the child's stderr lines ("remote")
 * @exit_cb:	called when the child is reaped
 * @data:	for @exit_cb
 * @in:		set to the child's stdout (malloc()ed, for the link)
 * @out:	set to the child's stdin (likewise)
 * @xp:		set to the handle, for tp_exec_kill() / tp_exec_close()
 *
 * On failure the handles already made are closed through the loop.
 *
 * Return: 0, or -errno (-ENOENT: /bin/sh missing)
 */
int tp_exec_open(uv_loop_t *loop, const char *cmd, const char *prefix,
		 tp_exec_exit_cb exit_cb, void *data, uv_stream_t **in,
		 uv_stream_t **out, struct tp_exec **xp)
{
	char *args[] = {"sh", "-c", (char *)cmd, NULL};
	uv_stdio_container_t stdio[3];
	uv_process_options_t o = {0};
	struct tp_exec *x = calloc(1, sizeof(*x));
	uv_pipe_t *pin = malloc(sizeof(*pin)), *pout = malloc(sizeof(*pout));
	int r;

	if (!x || !pin || !pout) {
		free(x);
		free(pin);
		free(pout);
		return -ENOMEM;
	}
	snprintf(x->prefix, sizeof(x->prefix), "%s", prefix ? prefix : "exec");
	x->rl.key = x->prefix;
	x->rl.burst = ERR_BURST;
	x->exit_cb = exit_cb;
	x->data = data;
	x->proc.data = x->err.data = x;
	uv_pipe_init(loop, pin, 0);
	uv_pipe_init(loop, pout, 0);
	uv_pipe_init(loop, &x->err, 0);

	/* READABLE/WRITABLE are from the child's point of view */
	stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	stdio[0].data.stream = (uv_stream_t *)pin;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)pout;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&x->err;
	o.file = "/bin/sh";
	o.args = args;
	o.exit_cb = proc_exit_cb;
	o.stdio = stdio;
	o.stdio_count = 3;

	r = uv_spawn(loop, &x->proc, &o);
	if (r == 0)
		r = uv_read_start((uv_stream_t *)&x->err, err_alloc_cb,
				  err_read_cb);
	if (r < 0) {
		if (x->proc.pid > 0)
			uv_process_kill(&x->proc, SIGKILL);
		exec_abort(x, pin, pout);
		return r;
	}
	tg_debug("started /bin/sh -c '%s' (pid %d)", cmd, x->proc.pid);
	*in = (uv_stream_t *)pout;
	*out = (uv_stream_t *)pin;
	*xp = x;
	return 0;
}

/**
 * tp_exec_kill() - send @signum to the child if it is still running
 * @x:		handle
 * @signum:	signal
 */
void tp_exec_kill(struct tp_exec *x, int signum)
{
	if (x && !x->exited && !x->closed)
		uv_process_kill(&x->proc, signum);
}

/**
 * tp_exec_close() - close the handles; exit_cb does not run afterwards
 * @x:		handle, may be NULL
 *
 * A child still running is not waited for: kill it first.
 */
void tp_exec_close(struct tp_exec *x)
{
	if (!x || x->closed)
		return;
	if (x->line_len)
		exec_log(x, x->line, x->line_len);
	x->line_len = 0;
	tg_ratelimit_flush(&x->rl);
	x->closed = true;
	x->handles = 2;
	uv_close((uv_handle_t *)&x->proc, exec_close_cb);
	uv_close((uv_handle_t *)&x->err, exec_close_cb);
}
