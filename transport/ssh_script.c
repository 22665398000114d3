/* SPDX-License-Identifier: MIT */
/*
 * ssh_script.c - --ssh's tp_remote_script(): one sh script on the remote,
 * over an exec channel of the logged-in session, for install.c.
 *
 * Theory of operation: the script goes to `/bin/sh -c` as one quoted word
 * (sshd hands the line to the user's login shell, which unquotes it). A
 * file given for stdin is streamed into the channel within its window,
 * through r->obuf, which is free before the tunnel runs; stdout is kept,
 * stderr is logged with the host as prefix (its last line is kept for the
 * message of a failure). The deadline restarts with every write, so a
 * slow upload is not cut, a stalled one is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "transport/ssh_internal.h"
#include "transport/words.h"

struct capture {
	int in_fd; /* streamed to the command's stdin; -1: none */
	bool in_done; /* EOF sent */
	size_t off, len; /* in r->obuf: read from in_fd, not yet sent */
	char *out; /* stdout, NUL-terminated */
	size_t out_len, out_cap;
	uint64_t sent;
};

/* our binary to stdin: r->obuf is free before the tunnel runs */
static int capture_feed(struct tp_ssh_run *r, ssh_channel c, struct capture *k)
{
	while (!k->in_done) {
		uint32_t win = ssh_channel_window_size(c);
		ssize_t n;
		int w;

		if (k->off == k->len) {
			n = read(k->in_fd, r->obuf, TP_SSH_BUF);
			if (n < 0)
				return tp_ssh_fail(r, -errno,
						   "--install: cannot read the "
						   "binary: %s",
						   strerror(errno));
			if (n == 0) {
				ssh_channel_send_eof(c);
				k->in_done = true;
				break;
			}
			k->off = 0;
			k->len = (size_t)n;
		}
		if (!win || (ssh_get_poll_flags(r->sess) & SSH_WRITE_PENDING))
			break;
		if (win > k->len - k->off)
			win = (uint32_t)(k->len - k->off);
		w = ssh_channel_write(c, r->obuf + k->off, win);
		if (w == SSH_ERROR)
			return tp_ssh_fail(r, -ECONNRESET,
					   "--install: the upload failed: %s",
					   ssh_get_error(r->sess));
		if (w <= 0)
			break;
		k->off += (size_t)w;
		k->sent += (uint64_t)w;
		r->deadline = tp_ssh_now() + r->timeout_ms; /* progress */
	}
	return 0;
}

/* stdout into k->out, stderr to the log; true at EOF */
static bool capture_read(struct tp_ssh_run *r, ssh_channel c, struct capture *k)
{
	char buf[4096];
	int n;

	while ((n = ssh_channel_read_nonblocking(c, buf, sizeof(buf), 1)) > 0)
		tp_ssh_log_stderr(r, buf, (size_t)n, false);
	while ((n = ssh_channel_read_nonblocking(c, buf, sizeof(buf), 0)) > 0) {
		size_t room = k->out_cap - 1 - k->out_len;
		size_t take = (size_t)n < room ? (size_t)n : room;

		memcpy(k->out + k->out_len, buf, take);
		k->out_len += take;
	}
	k->out[k->out_len] = '\0';
	return n == SSH_EOF || ssh_channel_is_closed(c);
}

/* run @cmd to its end; its exit status, or -errno (recorded) */
static int capture_run(struct tp_ssh_run *r, const char *cmd, struct capture *k)
{
	ssh_channel c = NULL;
	int err = tp_ssh_exec(r, &c, cmd);

	if (err)
		return err;
	k->in_done = k->in_fd < 0;
	if (k->in_done)
		ssh_channel_send_eof(c);
	r->deadline = tp_ssh_now() + r->timeout_ms;
	for (;;) {
		bool eof;

		err = capture_feed(r, c, k);
		if (err)
			break;
		eof = capture_read(r, c, k);
		if (eof && k->in_done) {
			ssh_channel_get_exit_status(c);
			if (r->exit_status >= 0 || r->exit_signal ||
			    ssh_channel_is_closed(c))
				break;
		}
		if (ssh_get_poll_flags(r->sess) & SSH_WRITE_PENDING)
			ssh_blocking_flush(r->sess, 0);
		err = tp_ssh_check_deadline(r, "installing tungate");
		if (!err)
			err = tp_ssh_wait(r, TP_SSH_SLICE_MS);
		if (err)
			break;
	}
	tp_ssh_log_stderr(r, "", 0, true);
	ssh_channel_close(c);
	ssh_channel_free(c);
	r->deadline = 0;
	if (err)
		return err;
	return r->exit_signal ? 128 + r->exit_signal : r->exit_status;
}

/**
 * tp_ssh_script() - run @script with /bin/sh -c on the remote, to its end
 * @r:		a logged-in session
 * @script:	the script
 * @in_fd:	streamed to its stdin (read from the current offset), or -1
 * @out:	its stdout, NUL-terminated, cut at @cap - 1 bytes
 * @cap:	size of @out (at least 1)
 *
 * Return: its exit status (128 + N: killed by signal N), or -errno
 * (recorded)
 */
int tp_ssh_script(struct tp_ssh_run *r, const char *script, int in_fd,
		  char *out, size_t cap)
{
	size_t len = 4 * strlen(script) + 16;
	struct capture k = {.in_fd = in_fd, .out = out, .out_cap = cap};
	char *cmd = malloc(len);
	int st;

	out[0] = '\0';
	if (!cmd)
		return tp_ssh_fail(r, -ENOMEM, "out of memory");
	memcpy(cmd, "/bin/sh -c ", 11);
	tp_sh_quote(cmd + 11, len - 11, script);
	if (in_fd >= 0 && lseek(in_fd, 0, SEEK_SET) < 0)
		st = tp_ssh_fail(r, -errno,
				 "--install: cannot read the "
				 "binary: %s",
				 strerror(errno));
	else
		st = capture_run(r, cmd, &k);
	free(cmd);
	return st;
}
