/* SPDX-License-Identifier: MIT */
/*
 * ssh_internal.h - what the files of the SSH transport share.
 *
 * The files share one struct tp_ssh_run: the settings (copied at open),
 * the libssh session and channel, the two fds the thread watches besides
 * the session's socket (its end of the socketpair, and the stop pipe), the
 * buffers, and the result that the loop is told. The loop (ssh.c) fills in
 * the settings before it starts the thread and reads the result only after
 * joining it; in between only the SSH thread touches the run, except the
 * atomics (ready, done, prompts) and the async handle in wake.
 *
 * Which thread calls what is said at each group of declarations below:
 * ssh.c is the loop side, ssh_config.c is called from both, every other
 * file runs in the SSH thread. --via uses the same run and loop side; its
 * thread runs via.c instead of libssh (r->via set), and install.c reaches
 * the remote through whichever transport the run has.
 */
#ifndef TP_SSH_INTERNAL_H
#define TP_SSH_INTERNAL_H

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lib/log.h"

#define TP_SSH_BUF (256u * 1024) /* stream -> channel */
/* channel -> stream; also the window we grant the server: what it may
 * send per round trip toward us, the container's upload. OpenSSH grants
 * 2 MiB, 200 Mbit/s at 80 ms; 8 MiB is what the NAT's window scale lets
 * a TCP connection have in flight, so a channel is not the lower cap. */
#define TP_SSH_OBUF (8u << 20)
#define TP_SSH_WHY 512
#define TP_SSH_LINE 800 /* one remote stderr line: fits one log line */
#define TP_SSH_ERR_BURST 50 /* remote stderr lines logged per 5 s */
#define TP_SSH_SLICE_MS 200 /* longest single poll while waiting */

/* [user@]host[:port] as the user typed it */
struct tp_ssh_dest {
	char user[64];
	char host[256];
	int port; /* 0: not given */
};

/* the few ssh_config keywords that libssh 0.10 ignores; -1: not set */
struct tp_ssh_cfg {
	int alive_interval; /* ServerAliveInterval, seconds (0: off) */
	int alive_count; /* ServerAliveCountMax */
	int connect_timeout; /* ConnectTimeout, seconds */
	int identities_only; /* IdentitiesOnly yes/no */
	int accept_new; /* StrictHostKeyChecking accept-new/no */
	char identity_agent[256]; /* IdentityAgent, "" when not set */
};

#define TP_INSIDE_WORDS_MAX 16

struct tp_ssh_run {
	/* settings */
	char *dest, *config_file, *remote_cmd, *version;
	char *install_binaries; /* NUL-separated, ended by an empty one */
	char *inside_words; /* the inside's options, likewise (--via) */
	char **via; /* --via: the prefix's words; NULL: --ssh */
	bool via_shell; /* ... which hand ours to a remote shell: quote */
	char label[300]; /* "ssh DEST" or "via 'PREFIX'", for messages */
	const char *tag; /* before each remote stderr line: host, "remote" */
	bool cmd_given; /* --remote-command */
	bool accept_new, install;
	unsigned timeout_ms;
	struct tp_ssh_dest d;
	struct tp_ssh_cfg cfg;
	char home[512]; /* $HOME, "" when unset */

	/* session */
	ssh_session sess;
	ssh_channel chan;
	struct ssh_callbacks_struct scb;
	struct ssh_channel_callbacks_struct ccb;
	char *cmd; /* the remote command that runs, as messages name it */
	char *full_cmd; /* --via: cmd with cmd_args, for sh -c */
	char path[600]; /* the probe's tungate to run; "": not probed */
	int root; /* the probe: 1 root, 0 sudo -n works, -1 neither */
	char *cmd_args; /* the inside's options, quoted, to append to cmd:
			 * " --tun 't1' -v", or "" */
	char locked_key[256]; /* a key that needs a passphrase we could not
			       * ask for */
	int sp; /* our end of the socketpair (non-blocking) */
	int ctl; /* readable: stop now */
	uint64_t deadline; /* ms (uv_hrtime based); 0: none */

	/* stream -> channel: bytes read from sp, not yet on the channel;
	 * read before the channel is open too (the link's HELLO) */
	uint8_t *ibuf;
	size_t ioff, ilen;
	bool sp_eof; /* the loop shut its side: EOF to send */
	bool sp_idle; /* the last read drained the socketpair: no read
		       * until poll() says it is readable again */
	bool canceled; /* a question was cut short by a stop */
	/* channel -> stream */
	uint8_t *obuf;
	size_t ooff, olen;
	bool sp_dead; /* the loop closed its side: discard */
	/* remote stderr, cut into lines */
	char eline[TP_SSH_LINE];
	size_t elen;
	struct tg_ratelimit err_rl;
	char last_err[256]; /* the last stderr line, for the final message */
	bool sudo_password;
	bool stderr_quiet; /* log stderr lines at debug level: a script's */

	/* the remote command's end */
	int exit_status; /* -1: not yet */
	int exit_signal; /* 0: none */
	char signame[16];

	/* result */
	int status;
	char why[TP_SSH_WHY];
	uv_async_t *wake; /* tells the loop about prompts, ready and done */
	atomic_bool ready, done;
	atomic_uint prompts; /* odd: a question waits for the user */
};

/*
 * One non-blocking libssh call, repeated until it is done: @rc becomes its
 * final result, or -errno when the deadline passed or we were stopped.
 */
#define SSH_UNTIL(rc, r, again, call, what)                              \
	do {                                                             \
		int e_ = 0;                                              \
		while (((rc) = (call)) == (again)) {                     \
			if ((e_ = tp_ssh_check_deadline((r), (what))) || \
			    (e_ = tp_ssh_wait((r), TP_SSH_SLICE_MS)))    \
				break;                                   \
		}                                                        \
		if (e_)                                                  \
			(rc) = e_;                                       \
	} while (0)

struct passwd;

/* ssh_config.c: from either thread (no state) */
int tp_ssh_dest_parse(const char *dest, struct tp_ssh_dest *d);
void tp_ssh_cfg_init(struct tp_ssh_cfg *c);
int tp_ssh_cfg_scan(const char *path, const char *host, const char *home,
		    struct tp_ssh_cfg *c);
const struct passwd *tp_ssh_local_passwd(struct passwd *pw, char *buf,
					 size_t cap);

/* ssh.c: in the loop (and test/unit/ssh.c) */
char *tp_ssh_cmd_build(const char *base, const char *const *args);

/* ssh_thread.c: in the SSH thread */
void tp_ssh_thread_main(void *arg);
uint64_t tp_ssh_now(void);
int tp_ssh_fail(struct tp_ssh_run *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int tp_ssh_wait(struct tp_ssh_run *r, int timeout_ms);
int tp_ssh_check_deadline(struct tp_ssh_run *r, const char *what);
int tp_ssh_exec(struct tp_ssh_run *r, ssh_channel *chan, const char *cmd);
void tp_ssh_log_stderr(struct tp_ssh_run *r, const char *p, size_t len,
		       bool flush);
void tp_ssh_wipe(void *p, size_t len);

/* ssh_tty.c: in the SSH thread */
int tp_ssh_tty_ask(struct tp_ssh_run *r, const char *prompt, char *buf,
		   size_t len, bool echo);
bool tp_ssh_tty_present(void);

/* ssh_hostkey.c: in the SSH thread */
int tp_ssh_hostkey_check(struct tp_ssh_run *r);

/* ssh_auth.c: in the SSH thread */
int tp_ssh_auth(struct tp_ssh_run *r);

/* ssh_pump.c: in the SSH thread */
int tp_ssh_pump(struct tp_ssh_run *r);
int tp_ssh_stash_stream(struct tp_ssh_run *r);

/* ssh_script.c: in the SSH thread */
int tp_ssh_script(struct tp_ssh_run *r, const char *script, int in_fd,
		  char *out, size_t cap);

/* via.c: in the thread of a --via session */
int tp_via_script(struct tp_ssh_run *r, const char *script, int in_fd,
		  char *out, size_t cap);
int tp_via_session(struct tp_ssh_run *r);

/* install.c: in the thread, for either transport */
int tp_remote_script(struct tp_ssh_run *r, const char *script, int in_fd,
		     char *out, size_t cap);
int tp_remote_probe(struct tp_ssh_run *r);
int tp_remote_command(struct tp_ssh_run *r);

#endif
