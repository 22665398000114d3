/* SPDX-License-Identifier: MIT */
/*
 * ssh.h - the --ssh transport: libssh in its own thread, one stream.
 *
 * --via PREFIX is the same transport with a child process in place of
 * libssh: the same probe and --install, reconnection and resume (via.c).
 *
 * tp_ssh_open() hands back two malloc()ed uv_pipe_t, @in to read and @out
 * to write, over one end of a socketpair (two fds: see ssh.c) whose far
 * end a thread pumps to and from an SSH exec channel. The thread connects,
 * checks the host key, logs in, optionally installs tungate on the peer,
 * runs the remote command and pumps until either side ends; then the loop is told the result once,
 * through exit_cb. Bytes the link writes before the channel is open wait
 * in the socketpair, so the link can start at once.
 */
#ifndef TP_SSH_H
#define TP_SSH_H

#include <stdbool.h>
#include <uv.h>

struct tp_ssh;

/* the remote command runs: the stream now reaches it (may be NULL) */
typedef void (*tp_ssh_ready_cb)(struct tp_ssh *s, void *data);

/* --via-shell, --no-via-shell */
enum tp_via_shell {
	TP_VIA_SHELL_AUTO, /* by the prefix's name (tp_words_remote_shell) */
	TP_VIA_SHELL_YES,
	TP_VIA_SHELL_NO,
};

struct tp_ssh_opts {
	const char *dest; /* [user@]host[:port], or a Host alias; with
			   * @via: the prefix as the user gave it */
	/* --via: the prefix's words, NULL-terminated (transport/words.h);
	 * the session then runs `PREFIX ...` here instead of ssh (via.c) */
	const char *const *via;
	/* --via: whether the prefix hands our words to a remote shell as one
	 * line (ssh, gh codespace ssh), so that each is quoted for it */
	enum tp_via_shell via_shell;
	const char *config_file; /* -F FILE; NULL: ~/.ssh/config and
				  * /etc/ssh/ssh_config */
	const char *remote_cmd; /* NULL: TP_SSH_DEFAULT_CMD */
	const char *const *inside_args; /* NULL-terminated words appended to
					 * the remote command, each quoted for
					 * the remote shell (may be NULL) */
	bool accept_new; /* add an unknown host key without asking */
	bool install; /* --install: same tungate on the peer */
	/* what --install uploads, NULL-terminated "ARCH=PATH" (for a remote
	 * whose uname -m is ARCH) or "PATH" (any); NULL or none that fits:
	 * our own executable, or tungate-ARCH beside it */
	const char *const *install_binaries;
	const char *version; /* ours, for --install (NULL: TG_VERSION) */
	unsigned timeout_ms; /* connect and login limit (0: 30 s) */
	tp_ssh_ready_cb ready_cb; /* logged in, command started; before
				   * it, prompts may wait for the user */
	/* the SSH thread starts (@waiting) or stops waiting for the user
	 * at the terminal: a passphrase, a password, keyboard-interactive,
	 * a host key question. Called on the loop (may be NULL), with the
	 * current state; a question that came and went between two turns
	 * of the loop is still told, as true then false. Not called after
	 * tp_ssh_close(); the last call before exit_cb says false. */
	void (*prompt_cb)(void *data, bool waiting);
	void *prompt_data;
};

#define TP_SSH_DEFAULT_CMD "sudo -n tungate inside --stdio"

/**
 * typedef tp_ssh_exit_cb - the session is over
 * @s:		handle
 * @status:	the remote command's exit status (0-255; 128+N when killed
 *		by signal N), or -errno when it did not run to its end:
 *		-ENXIO (host name not resolved), -ECONNREFUSED,
 *		-EHOSTUNREACH, -ETIMEDOUT (connect, login, or keepalives
 *		unanswered), -ECONNRESET (connection lost), -EACCES (host
 *		key or login refused, or no root nor sudo -n: retrying will
 *		not help), -ENOEXEC or -EIO (--install), -ENOENT (no tungate
 *		there without --install; --via: the prefix is not found
 *		here), -EHOSTDOWN (--via: the prefix ran no sh in the
 *		container), -ECANCELED (stopped by us; @why is NULL)
 * @why:	NULL, or one line that says what went wrong and what to do
 * @data:	as given to tp_ssh_open()
 *
 * Called once, from the loop; the stream sees EOF right after it. The
 * callback may call tp_ssh_close().
 */
typedef void (*tp_ssh_exit_cb)(struct tp_ssh *s, int status, const char *why,
			       void *data);

/**
 * tp_ssh_open() - start an SSH session to @o->dest in a new thread
 * @loop:	event loop
 * @o:		settings; strings are copied
 * @cb:		told the result once the session is over
 * @data:	for @cb
 * @in:		set to the stream to read (malloc()ed, for the link)
 * @out:	set to the stream to write: the same socket, another fd
 * @s:		set to the handle, for tp_ssh_close()
 *
 * Callable again after an earlier session was closed (reconnection).
 *
 * Return: 0, or -errno (-EINVAL: @o->dest is not [user@]host[:port]); no
 * callback after an error return
 */
int tp_ssh_open(uv_loop_t *loop, const struct tp_ssh_opts *o, tp_ssh_exit_cb cb,
		void *data, uv_stream_t **in, uv_stream_t **out,
		struct tp_ssh **s);

/**
 * tp_ssh_running() - true until exit_cb has run (or tp_ssh_close())
 * @s:		handle, may be NULL
 */
bool tp_ssh_running(const struct tp_ssh *s);

/**
 * tp_ssh_close() - stop the thread if it still runs, wait for it, free
 * @s:		handle, may be NULL
 *
 * A session still pumping is cut at once (no wait for the remote exit
 * status); exit_cb does not run afterwards. The stream stays the link's.
 */
void tp_ssh_close(struct tp_ssh *s);

#endif
