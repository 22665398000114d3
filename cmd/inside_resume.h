/* SPDX-License-Identifier: MIT */
/*
 * inside_resume.h - handing a new stream to the inside that waits for it.
 *
 * An inside whose stream dropped keeps its TUN device and routes for the
 * grace period and listens on a unix socket beside its state file. The
 * inside that the reconnecting outside starts offers it the new stream
 * (the fds, by SCM_RIGHTS, and the bytes it already read) and exits.
 */
#ifndef TG_INSIDE_RESUME_H
#define TG_INSIDE_RESUME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "transport/frame.h"
#include "lib/prefix.h"

#define RESUME_REST_MAX (1u << 20) /* the link's read buffer */

/* what the new inside passes on */
struct resume_offer {
	uint8_t session[TP_SESSION_LEN];
	struct tg_prefix ssh_client; /* family 0: none */
	pid_t pid;
	int fd_in, fd_out, fd_err; /* owned by whoever holds the offer */
	int conn; /* the connection of the offer: see
		   * inside_resume_offer() */
	bool other_version; /* another tungate version offers it:
			     * not to be taken */
	bool stripe; /* one more stripe of the session, not a new stream */
	uint8_t *rest; /* bytes read past the outside's HELLO */
	size_t rest_len;
};

/*
 * An offer arrived. Return 0 to take it (the callee then owns the fds and
 * conn, which it closes when it is done with this stream; rest is valid
 * during the call only), or -ESRCH: not our session.
 */
typedef int (*resume_offer_fn)(void *arg, struct resume_offer *o);

struct inside_resume;

/**
 * inside_resume_listen() - accept offers on @path (mode 0600, ours)
 * Return: 0, or -errno
 */
int inside_resume_listen(uv_loop_t *loop, const char *path, resume_offer_fn cb,
			 void *arg, struct inside_resume **out);

/** inside_resume_close() - stop listening and remove the socket file */
void inside_resume_close(struct inside_resume *r);

/**
 * inside_resume_offer() - offer our stream to the inside listening on
 * @path; blocks for at most a few seconds
 * @pid:	set to the waiting inside's pid
 * @conn:	when taken, set to the connection: sshd stops feeding the
 *		stream once the process it started exits, so that process
 *		lives on until the taker closes its end (inside_resume_wait())
 *
 * Return: 0 taken, -ESRCH the waiting inside has another session (it
 * stops now), -ENOENT / -ECONNREFUSED nobody waits, else -errno
 */
int inside_resume_offer(const char *path, const struct resume_offer *o,
			long *pid, int *conn);

/** inside_resume_wait() - block until the taker is done with the stream */
void inside_resume_wait(int conn);

#endif
