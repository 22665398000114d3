/* SPDX-License-Identifier: MIT */
/*
 * control.h - the outside's control socket, and where it lives.
 *
 * Each running outside listens on DIR/NAME.sock, a Unix stream socket
 * that only its own user may use; a client sends "status\n" and gets one
 * JSON document (the status) read to EOF. DIR is the first usable of
 * $XDG_RUNTIME_DIR/tungate, /run/user/UID/tungate, $HOME/.cache/tungate and
 * /tmp/tungate-UID, each a directory of this user's, mode 0700 (only the
 * last component is created, and ~/.cache). `tungate status` looks in all
 * of them.
 */
#ifndef TG_CONTROL_H
#define TG_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "cmd/json.h"

#define TG_CONTROL_NAME_MAX 64
/* what a client sends: one line, before the answer */
#define TG_CONTROL_REQUEST "status"
/* the largest status document served */
#define TG_CONTROL_DOC_MAX (8u << 20)

struct tg_control;

/* writes the document; its containers are closed by the callee */
typedef void (*tg_control_render_fn)(void *arg, struct tg_json *j);

/**
 * tg_control_dir() - the @i-th place where control sockets may live
 * @i:		0, 1, 2, 3: XDG_RUNTIME_DIR, /run/user/UID, HOME, /tmp
 * @buf:	the directory
 * @cap:	its size
 *
 * Return: 0; -ENOENT if this place does not apply (its variable is
 * unset), -ENAMETOOLONG, or -ERANGE when @i is past the last one
 */
int tg_control_dir(unsigned i, char *buf, size_t cap);

/**
 * tg_control_safe_name() - @in as a file name: characters other than
 * letters, digits and ._@:+- become '_', a leading '.' too; at most
 * TG_CONTROL_NAME_MAX bytes
 */
void tg_control_safe_name(const char *in, char *out, size_t cap);

/**
 * tg_control_sockaddr() - DIR/NAME.sock, if it fits a Unix socket address
 * Return: 0 or -ENAMETOOLONG
 */
int tg_control_sockaddr(const char *dir, const char *name, char *path,
			size_t cap);

/**
 * tg_control_open() - create the directory if needed and listen
 * @loop:	event loop
 * @name:	the outside's name (tg_control_safe_name() applied)
 * @render:	writes the document for each connection
 * @arg:	for @render
 * @out:	the server
 *
 * A socket left by an outside that is gone is replaced.
 * Return: 0; -EADDRINUSE if a running outside already has @name; other
 * -errno if no place could be used
 */
int tg_control_open(uv_loop_t *loop, const char *name,
		    tg_control_render_fn render, void *arg,
		    struct tg_control **out);

/** tg_control_path() - the socket's path */
const char *tg_control_path(const struct tg_control *c);

/**
 * tg_control_close() - stop listening, drop open connections, remove the
 * socket file; freed once libuv has closed the handles
 */
void tg_control_close(struct tg_control *c);

#endif
