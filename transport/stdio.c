/* SPDX-License-Identifier: MIT */
/*
 * stdio.c - the stream is this process's stdin and stdout.
 *
 * Theory of operation: `tungate inside --stdio` is started by sshd or by
 * the outside's --exec child, so fd 0 and fd 1 are pipes, sockets or (by
 * mistake) a terminal. Each becomes the libuv stream type that matches it.
 * The link uses duplicates of the two fds: libuv never closes fds 0-2, and
 * the peer should see EOF when the link closes. fd 0 then reads /dev/null
 * and fd 1 goes to stderr, so nothing else in the process can write into
 * the stream by accident.
 *
 * A regular file or a character device (`< capture`, `> /dev/null`) cannot
 * be polled; such an fd is bridged through a socketpair by a small thread
 * that copies with blocking I/O, so the link still sees one kind of stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/stream.h"

struct relay {
	int from, to;
};

/* copy until EOF or error, then signal EOF onwards */
static void relay_thread(void *arg)
{
	struct relay r = *(struct relay *)arg;
	char buf[65536];
	ssize_t n;

	free(arg);
	while ((n = read(r.from, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(r.to, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				goto out;
			off += w;
		}
	}
out:
	shutdown(r.to, SHUT_WR);
	close(r.from);
	close(r.to);
}

/*
 * Replace a non-pollable @fd (owned) by one end of a socketpair whose
 * other end a detached thread copies to or from @fd.
 */
static int stdio_relay(int *fd, bool readable)
{
	struct relay *r = malloc(sizeof(*r));
	uv_thread_t t;
	int sp[2], err;

	if (!r)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		free(r);
		return -errno;
	}
	r->from = readable ? *fd : sp[1];
	r->to = readable ? sp[1] : *fd;
	err = uv_thread_create(&t, relay_thread, r);
	if (err < 0) {
		close(sp[0]);
		close(sp[1]);
		free(r);
		return err;
	}
	*fd = sp[0];
	return 0;
}

static int stdio_check(int fd)
{
	switch (uv_guess_handle(fd)) {
	case UV_NAMED_PIPE:
	case UV_TCP:
	case UV_TTY:
	case UV_FILE: /* bridged by stdio_relay() */
		return 0;
	default:
		return -EINVAL;
	}
}

static void free_cb(uv_handle_t *h)
{
	free(h);
}

/* wrap @fd (a duplicate, owned from now on) in a heap-allocated stream */
static int stdio_stream(uv_loop_t *loop, int fd, bool readable, uv_stream_t **s)
{
	uv_handle_type type = uv_guess_handle(fd);
	int r;

	if (type == UV_TCP) {
		uv_tcp_t *t = malloc(sizeof(*t));

		if (!t)
			return -ENOMEM;
		uv_tcp_init(loop, t);
		*s = (uv_stream_t *)t;
		r = uv_tcp_open(t, fd);
	} else if (type == UV_TTY) {
		uv_tty_t *t = malloc(sizeof(*t));

		if (!t)
			return -ENOMEM;
		r = uv_tty_init(loop, t, fd, readable);
		if (r < 0) {
			free(t);
			return r;
		}
		*s = (uv_stream_t *)t;
	} else {
		uv_pipe_t *p = malloc(sizeof(*p));

		if (!p)
			return -ENOMEM;
		uv_pipe_init(loop, p, 0);
		*s = (uv_stream_t *)p;
		r = uv_pipe_open(p, fd);
	}
	if (r < 0) {
		uv_close((uv_handle_t *)*s, free_cb);
		*s = NULL;
	}
	return r;
}

/* point fd 0 at /dev/null and fd 1 at stderr, now that the link has them */
static int stdio_detach(void)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (null < 0)
		return -errno;
	if (dup2(null, STDIN_FILENO) < 0 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		r = -errno;
	close(null);
	return r;
}

/**
 * tp_stdio_open() - this process's stdin (read) and stdout (write)
 * @loop:	event loop
 * @in:		set to the stream reading stdin
 * @out:	set to the stream writing stdout
 *
 * Return: 0, or -errno (-EINVAL when stdin or stdout is closed or of a
 * kind that neither libuv nor a relay thread can use)
 */
int tp_stdio_open(uv_loop_t *loop, uv_stream_t **in, uv_stream_t **out)
{
	int fd_in = -1, fd_out = -1, r;

	r = stdio_check(STDIN_FILENO);
	if (r == 0)
		r = stdio_check(STDOUT_FILENO);
	if (r < 0)
		return r;
	fd_in = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	fd_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd_in < 0 || fd_out < 0) {
		r = -errno;
		goto out;
	}
	if (uv_guess_handle(fd_in) == UV_FILE)
		r = stdio_relay(&fd_in, true);
	if (r == 0 && uv_guess_handle(fd_out) == UV_FILE)
		r = stdio_relay(&fd_out, false);
	if (r == 0)
		r = stdio_detach();
	if (r < 0)
		goto out;
	r = stdio_stream(loop, fd_in, true, in);
	if (r < 0)
		goto out;
	fd_in = -1;
	r = stdio_stream(loop, fd_out, false, out);
	if (r < 0) {
		uv_close((uv_handle_t *)*in, free_cb);
		*in = NULL;
		goto out;
	}
	fd_out = -1;
out:
	if (fd_in >= 0)
		close(fd_in);
	if (fd_out >= 0)
		close(fd_out);
	return r;
}

/**
 * tp_fd_open() - streams over two fds passed from another process
 * @loop:	event loop
 * @fd_in:	readable pipe or socket, owned from now on (closed on error)
 * @fd_out:	writable pipe or socket, likewise; may equal @fd_in
 * @in:		set to the read stream
 * @out:	set to the write stream
 *
 * Return: 0, or -errno (-EINVAL for an fd that cannot be polled)
 */
int tp_fd_open(uv_loop_t *loop, int fd_in, int fd_out, uv_stream_t **in,
	       uv_stream_t **out)
{
	int r = -EINVAL;
	uv_handle_type ti = uv_guess_handle(fd_in);
	uv_handle_type to = uv_guess_handle(fd_out);

	*in = *out = NULL;
	if ((ti == UV_NAMED_PIPE || ti == UV_TCP) &&
	    (to == UV_NAMED_PIPE || to == UV_TCP) && fd_in != fd_out)
		r = stdio_stream(loop, fd_in, true, in);
	if (r < 0) {
		close(fd_in);
		close(fd_out);
		return r;
	}
	r = stdio_stream(loop, fd_out, false, out);
	if (r < 0) {
		uv_close((uv_handle_t *)*in, free_cb);
		*in = NULL;
		close(fd_out);
	}
	return r;
}
