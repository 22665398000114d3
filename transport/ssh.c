/* SPDX-License-Identifier: MIT */
/*
 * ssh.c - the --ssh transport, its loop side: open, async callback, close.
 *
 * Theory of operation: everything in this file runs in the libuv loop's
 * thread. libssh is a blocking-minded library with its own poll loop, so
 * each session gets a thread of its own (ssh_thread.c) and the loop never
 * sees it. The two meet at a socketpair: the loop's end is an ordinary
 * uv_pipe_t handed to the link (so the loop sees one kind of stream
 * whatever the transport), the thread's end is pumped to and from an SSH
 * exec channel (ssh_pump.c).
 *
 * tp_ssh_open() copies the settings into a struct tp_ssh_run, makes the
 * socketpair and the stop pipe, and starts the thread at
 * tp_ssh_thread_main(). The result (the remote exit status, or -errno and
 * one line) comes back through a uv_async_t, as do "the command runs"
 * (ready_cb) and "a question waits for the user at the terminal"
 * (prompt_cb): the thread only sets an atomic and wakes the loop, and
 * async_cb() here calls back. The thread never closes its end of the
 * socketpair: the loop does, right after exit_cb, so the caller learns why
 * the session ended before its link sees EOF.
 *
 * One session per thread and per tp_ssh; ssh_init() runs once. Nothing
 * here is shared between threads except through the async handle and the
 * stop pipe: the loop reads the result only after joining the thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "transport/ssh.h"
#include "transport/ssh_internal.h"
#include "transport/words.h"

#ifndef TG_VERSION
#define TG_VERSION "unknown"
#endif

struct tp_ssh {
	uv_async_t async;
	uv_thread_t thread;
	tp_ssh_exit_cb cb;
	tp_ssh_ready_cb ready_cb;
	void *data;
	void (*prompt_cb)(void *data, bool waiting);
	void *prompt_data;
	unsigned prompts_told; /* r.prompts as prompt_cb last heard it */
	int stop[2]; /* the thread polls [0]; closing [1] stops it */
	bool started, joined, reported, closed, ready_told;
	struct tp_ssh_run r;
};

static uv_once_t ssh_once = UV_ONCE_INIT;

static void ssh_init_once(void)
{
	ssh_init();
}

/* a word the remote shell takes as is: a flag of ours */
static bool word_plain(const char *w)
{
	return w[0] == '-' &&
	       strspn(w, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == strlen(w);
}

/**
 * tp_ssh_cmd_build() - the remote command with words appended
 * @base:	the command line, for the remote user's shell
 * @args:	NULL-terminated words to append, or NULL
 *
 * Each word that is not a plain flag is single-quoted, a ' in it written
 * as '\'' (POSIX sh, and what sshd's login shells understand), so that a
 * value reaches the inside as one argument whatever it holds. Values are
 * quoted even when plain: no list of the characters that some shell
 * treats specially to keep right.
 *
 * Return: a malloc()ed string, or NULL when out of memory
 */
char *tp_ssh_cmd_build(const char *base, const char *const *args)
{
	size_t len = strlen(base) + 1;
	char *cmd, *p;

	for (size_t i = 0; args && args[i]; i++)
		len += 3 + 4 * strlen(args[i]); /* ' ' + '' + '\'' each */
	cmd = malloc(len);
	if (!cmd)
		return NULL;
	p = stpcpy(cmd, base);
	for (size_t i = 0; args && args[i]; i++) {
		const char *w = args[i];

		*p++ = ' ';
		if (word_plain(w)) {
			p = stpcpy(p, w);
			continue;
		}
		*p++ = '\'';
		for (; *w; w++) {
			if (*w == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *w;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return cmd;
}

/*
 * in the loop: a question began or ended. The count may have moved by
 * more than one since the last turn; the caller still hears a question
 * that came and went (true, then false), so that its clock restarts.
 */
static void tell_prompt(struct tp_ssh *x)
{
	unsigned now = atomic_load(&x->r.prompts);
	bool was = x->prompts_told & 1, is = now & 1;

	if (now == x->prompts_told)
		return;
	x->prompts_told = now;
	if (!x->prompt_cb)
		return;
	if (was == is)
		x->prompt_cb(x->prompt_data, !is);
	if (!x->closed)
		x->prompt_cb(x->prompt_data, is);
}

/* in the loop: a question, the remote command runs, or the thread is done */
static void async_cb(uv_async_t *a)
{
	struct tp_ssh *x = a->data;

	if (!x->closed)
		tell_prompt(x);
	if (!x->closed && !x->ready_told && atomic_load(&x->r.ready)) {
		x->ready_told = true;
		if (x->ready_cb)
			x->ready_cb(x, x->data);
	}
	if (x->reported || x->closed || !atomic_load(&x->r.done))
		return;
	uv_thread_join(&x->thread);
	x->joined = true;
	x->reported = true;
	if (x->cb)
		x->cb(x, x->r.status, x->r.why[0] ? x->r.why : NULL, x->data);
	/* after the callback: the link sees EOF only now */
	if (x->r.sp >= 0) {
		close(x->r.sp);
		x->r.sp = -1;
	}
}

/* @v (NULL-terminated, may be NULL) as one block: "a\0b\0\0" */
static char *strv_pack(const char *const *v)
{
	size_t len = 1, off = 0;
	char *b;

	for (size_t i = 0; v && v[i]; i++)
		len += strlen(v[i]) + 1;
	b = malloc(len);
	if (!b)
		return NULL;
	for (size_t i = 0; v && v[i]; i++) {
		memcpy(b + off, v[i], strlen(v[i]) + 1);
		off += strlen(v[i]) + 1;
	}
	b[off] = '\0';
	return b;
}

/* @v (NULL-terminated) as an array and its strings in one block */
static char **strv_copy(const char *const *v)
{
	size_t n = 0, len = 0;
	char **c, *p;

	for (; v[n]; n++)
		len += strlen(v[n]) + 1;
	c = malloc((n + 1) * sizeof(*c) + len);
	if (!c)
		return NULL;
	p = (char *)(c + n + 1);
	for (size_t i = 0; i < n; i++) {
		c[i] = p;
		p = stpcpy(p, v[i]) + 1;
	}
	c[n] = NULL;
	return c;
}

static void run_free(struct tp_ssh_run *r)
{
	free(r->dest);
	free(r->config_file);
	free(r->remote_cmd);
	free(r->cmd_args);
	free(r->install_binaries);
	free(r->inside_words);
	free(r->via);
	free(r->version);
	free(r->cmd);
	free(r->full_cmd);
	free(r->ibuf);
	free(r->obuf);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void ssh_free_cb(uv_handle_t *h)
{
	struct tp_ssh *x = h->data;

	run_free(&x->r);
	free(x);
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

/* copy the settings; no handles yet */
static int run_init(struct tp_ssh_run *r, const struct tp_ssh_opts *o)
{
	const char *home = getenv("HOME");
	const struct passwd *pwp;
	struct passwd pw;
	char buf[4096];
	bool oom = false;

	r->sp = r->ctl = -1;
	r->exit_status = -1;
	atomic_init(&r->ready, false);
	atomic_init(&r->done, false);
	atomic_init(&r->prompts, 0);
	if (!o->dest || (!o->via && tp_ssh_dest_parse(o->dest, &r->d) < 0))
		return -EINVAL;
	r->dest = dup_or_null(o->dest, &oom);
	r->via = o->via ? strv_copy(o->via) : NULL;
	oom |= o->via && !r->via;
	r->via_shell = o->via_shell == TP_VIA_SHELL_AUTO
			       ? o->via && tp_words_remote_shell(o->via)
			       : o->via_shell == TP_VIA_SHELL_YES;
	if (o->via)
		snprintf(r->label, sizeof(r->label), "via '%s'", o->dest);
	else
		snprintf(r->label, sizeof(r->label), "ssh %s", o->dest);
	r->tag = o->via ? "remote" : r->d.host;
	r->cmd_given = o->remote_cmd != NULL;
	r->root = -1;
	r->inside_words = strv_pack(o->inside_args);
	oom |= !r->inside_words;
	r->config_file = dup_or_null(o->config_file, &oom);
	r->remote_cmd = dup_or_null(
		o->remote_cmd ? o->remote_cmd : TP_SSH_DEFAULT_CMD, &oom);
	r->cmd_args = tp_ssh_cmd_build("", o->inside_args);
	oom |= !r->cmd_args;
	r->install_binaries = strv_pack(o->install_binaries);
	oom |= !r->install_binaries;
	r->version = dup_or_null(o->version ? o->version : TG_VERSION, &oom);
	r->ibuf = malloc(TP_SSH_BUF);
	r->obuf = malloc(TP_SSH_OBUF);
	if (oom || !r->ibuf || !r->obuf)
		return -ENOMEM;
	r->accept_new = o->accept_new;
	r->install = o->install;
	r->timeout_ms = o->timeout_ms ? o->timeout_ms : 30000;
	if ((!home || !*home) &&
	    (pwp = tp_ssh_local_passwd(&pw, buf, sizeof(buf))))
		home = pwp->pw_dir;
	snprintf(r->home, sizeof(r->home), "%s", home ? home : "");
	return 0;
}

static int cloexec(int fd, bool nonblock)
{
	int fl = fcntl(fd, F_GETFL);

	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    (nonblock && (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)))
		return -errno;
	return 0;
}

/*
 * The socketpair, the loop's end twice, and the stop pipe (portable: no
 * SOCK_CLOEXEC); --via hands the thread's end to the child as it is, so it
 * stays blocking. The loop reads its end through one fd and writes through
 * a dup() of it: one uv_pipe_t that did both would have libuv change its
 * epoll interest (an epoll_ctl) after every write, one syscall more per
 * packet sent; a write-only handle is only ever polled when a write
 * blocks.
 */
static int make_fds(struct tp_ssh *x, int sv[3], bool via)
{
	int err = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -errno;
	if ((sv[2] = dup(sv[0])) < 0)
		err = -errno;
	if (!err && pipe(x->stop) < 0) {
		err = -errno;
		x->stop[0] = x->stop[1] = -1;
	}
	if (!err)
		err = cloexec(sv[0], false);
	if (!err)
		err = cloexec(sv[2], false);
	if (!err)
		err = cloexec(sv[1], !via); /* --via: a child's stdio */
	if (!err)
		err = cloexec(x->stop[0], true);
	if (!err)
		err = cloexec(x->stop[1], false);
	if (err) {
		close_fd(&sv[0]);
		close_fd(&sv[1]);
		close_fd(&sv[2]);
		close_fd(&x->stop[0]);
		close_fd(&x->stop[1]);
	}
	return err;
}

static void pipe_free_cb(uv_handle_t *h)
{
	free(h);
}

/**
 * tp_ssh_open() - start an SSH session to @o->dest in a new thread
 * @loop:	event loop
 * @o:		settings; strings are copied
 * @cb:		told the result once the session is over
 * @data:	for @cb
 * @in:		set to the stream to read (malloc()ed, for the link)
 * @out:	set to the stream to write (likewise; the same socket)
 * @sp:		set to the handle, for tp_ssh_close()
 *
 * Return: 0, or -errno (-EINVAL: @o->dest is not [user@]host[:port])
 */
int tp_ssh_open(uv_loop_t *loop, const struct tp_ssh_opts *o, tp_ssh_exit_cb cb,
		void *data, uv_stream_t **in, uv_stream_t **out,
		struct tp_ssh **sp)
{
	struct tp_ssh *x = calloc(1, sizeof(*x));
	uv_pipe_t *p = malloc(sizeof(*p)), *q = malloc(sizeof(*q));
	int sv[3] = {-1, -1, -1}, err;

	if (!x || !p || !q) {
		free(x);
		free(p);
		free(q);
		return -ENOMEM;
	}
	x->stop[0] = x->stop[1] = -1;
	err = run_init(&x->r, o);
	if (!err)
		err = make_fds(x, sv, o->via != NULL);
	if (err) {
		run_free(&x->r);
		free(x);
		free(p);
		free(q);
		return err;
	}
	x->cb = cb;
	x->ready_cb = o->ready_cb;
	x->prompt_cb = o->prompt_cb;
	x->prompt_data = o->prompt_data;
	x->data = data;
	x->r.wake = &x->async;
	x->r.sp = sv[1];
	x->r.ctl = x->stop[0];
	uv_once(&ssh_once, ssh_init_once);
	uv_pipe_init(loop, p, 0);
	uv_pipe_init(loop, q, 0);
	err = uv_pipe_open(p, sv[0]);
	if (err)
		close_fd(&sv[0]); /* not adopted by libuv */
	if (!err)
		err = uv_pipe_open(q, sv[2]);
	if (err)
		close_fd(&sv[2]);
	if (!err) {
		err = uv_async_init(loop, &x->async, async_cb);
		x->async.data = x;
	}
	if (err) {
		close_fd(&x->r.sp);
		close_fd(&x->stop[0]);
		close_fd(&x->stop[1]);
		run_free(&x->r);
		free(x);
		uv_close((uv_handle_t *)p, pipe_free_cb);
		uv_close((uv_handle_t *)q, pipe_free_cb);
		return err;
	}
	err = uv_thread_create(&x->thread, tp_ssh_thread_main, &x->r);
	if (err) {
		tp_ssh_close(x);
		uv_close((uv_handle_t *)p, pipe_free_cb);
		uv_close((uv_handle_t *)q, pipe_free_cb);
		return err;
	}
	x->started = true;
	*in = (uv_stream_t *)p;
	*out = (uv_stream_t *)q;
	*sp = x;
	return 0;
}

bool tp_ssh_running(const struct tp_ssh *x)
{
	return x && !x->reported && !x->closed;
}

/**
 * tp_ssh_close() - stop the thread if it still runs, wait for it, free
 * @x:		handle, may be NULL
 */
void tp_ssh_close(struct tp_ssh *x)
{
	if (!x || x->closed)
		return;
	x->closed = true;
	if (x->started && !x->joined) {
		close_fd(&x->stop[1]);
		uv_thread_join(&x->thread);
		x->joined = true;
	}
	close_fd(&x->r.sp);
	close_fd(&x->stop[0]);
	close_fd(&x->stop[1]);
	uv_close((uv_handle_t *)&x->async, ssh_free_cb);
}
