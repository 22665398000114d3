/* SPDX-License-Identifier: MIT */
/*
 * stream.h - the transports: where a link's byte streams come from.
 *
 * Each returns a read stream and a write stream for tp_link_new(); the
 * caller hands them to the link, which closes them. The streams are
 * malloc()ed handles: the link's close path uv_close()s and free()s them.
 */
#ifndef TP_STREAM_H
#define TP_STREAM_H

#include <uv.h>

/**
 * tp_stdio_open() - this process's stdin (read) and stdout (write)
 *
 * The streams use duplicates of fds 0 and 1; fd 0 is then pointed at
 * /dev/null and fd 1 at stderr, so a stray printf() cannot corrupt the
 * stream and closing the link closes it for the peer.
 *
 * Return: 0, or -errno (e.g. -EINVAL when stdin is a regular file)
 */
int tp_stdio_open(uv_loop_t *loop, uv_stream_t **in, uv_stream_t **out);

/**
 * tp_fd_open() - streams over two distinct fds (pipes or sockets) that
 * another process passed us; both are owned from now on
 * Return: 0, or -errno
 */
int tp_fd_open(uv_loop_t *loop, int fd_in, int fd_out, uv_stream_t **in,
	       uv_stream_t **out);

struct tp_exec;

/* the child ended: exit status, or the signal that killed it */
typedef void (*tp_exec_exit_cb)(struct tp_exec *x, int64_t status,
				int term_signal, void *data);

/**
 * tp_exec_open() - run @cmd with /bin/sh -c; its stdin/stdout are the
 * stream, each line of its stderr is logged with @prefix
 * @loop:	event loop
 * @cmd:	shell command
 * @prefix:	log prefix for the child's stderr lines ("remote")
 * @exit_cb:	called when the child is reaped
 * @data:	for @exit_cb
 * @in:		set to the child's stdout
 * @out:	set to the child's stdin
 * @x:		set to the handle, for tp_exec_kill() / tp_exec_close()
 *
 * Return: 0, or -errno (-ENOENT: /bin/sh missing)
 */
int tp_exec_open(uv_loop_t *loop, const char *cmd, const char *prefix,
		 tp_exec_exit_cb exit_cb, void *data, uv_stream_t **in,
		 uv_stream_t **out, struct tp_exec **x);

/** tp_exec_kill() - send @signum to the child if it is still running */
void tp_exec_kill(struct tp_exec *x, int signum);

/** tp_exec_close() - close the handles; exit_cb does not run afterwards */
void tp_exec_close(struct tp_exec *x);

#endif
