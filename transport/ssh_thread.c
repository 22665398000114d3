/* SPDX-License-Identifier: MIT */
/*
 * ssh_thread.c - the --ssh transport's thread: one libssh session.
 *
 * Theory of operation: everything in this file runs in the SSH thread that
 * tp_ssh_open() (ssh.c, in the loop) starts at tp_ssh_thread_main(), on the
 * struct tp_ssh_run that the loop filled in before the thread began. libssh
 * is a blocking-minded library with its own poll loop, so it gets this
 * thread and the libuv loop never sees it.
 *
 * The thread runs the session in order: options (DEST, ~/.ssh/config),
 * connect, host key (ssh_hostkey.c), login (ssh_auth.c), --install
 * (ssh_install.c), exec, pump (ssh_pump.c). libssh is used in non-blocking
 * mode throughout, and every wait (tp_ssh_wait()) polls the session's
 * socket together with the stop pipe and the socketpair, so tp_ssh_close()
 * (stop pipe) or the link going away (EOF on the socketpair) ends the
 * thread within one poll, even in the middle of a login or a terminal
 * prompt.
 *
 * The thread tells the loop only by setting an atomic (ready, done,
 * prompts) and calling uv_async_send(r->wake), the one libuv call that is
 * safe from another thread; the loop reads the rest of the result only
 * after joining the thread. The thread never closes its end of the
 * socketpair: the loop does, after it has reported the result.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "lib/log.h"
#include "transport/ssh_internal.h"

/* libssh's own log lines, for -v -v */
static void ssh_log_cb(int prio, const char *fn, const char *buf, void *u)
{
	tg_log(prio <= SSH_LOG_WARN ? TG_LOG_DEBUG : TG_LOG_TRACE, "libssh: %s",
	       buf);
}

/* libssh keeps its log level and callback per thread: set in ours */
static void ssh_thread_logging(void)
{
	ssh_set_log_callback(ssh_log_cb);
	ssh_set_log_level(tg_log_level >= TG_LOG_TRACE	 ? SSH_LOG_PROTOCOL
			  : tg_log_level >= TG_LOG_DEBUG ? SSH_LOG_WARN
							 : SSH_LOG_NOLOG);
}

uint64_t tp_ssh_now(void)
{
	return uv_hrtime() / 1000000;
}

/* memset that the compiler may not drop: passwords and passphrases */
void tp_ssh_wipe(void *p, size_t len)
{
	volatile unsigned char *v = p;

	while (len--)
		*v++ = 0;
}

/**
 * tp_ssh_fail() - record the session's failure: the first one wins
 * @r:		session
 * @err:	-errno, returned
 * @fmt:	the line, after "ssh DEST: " (r->label); NULL records no line
 *
 * Return: @err
 */
int tp_ssh_fail(struct tp_ssh_run *r, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->why[0] || !fmt)
		return err;
	n = snprintf(r->why, sizeof(r->why), "%s: ", r->label);
	if (n < 0 || (size_t)n >= sizeof(r->why))
		return err;
	va_start(ap, fmt);
	vsnprintf(r->why + n, sizeof(r->why) - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

/**
 * tp_ssh_wait() - wait for the session's socket, a stop, or the stream
 * @r:		session
 * @timeout_ms:	at most this long
 *
 * Bytes the link writes meanwhile (its magic and HELLO) are kept in the
 * input buffer for the channel.
 *
 * Return: 0, or -ECANCELED (tp_ssh_close(), or the link closed its end)
 */
int tp_ssh_wait(struct tp_ssh_run *r, int timeout_ms)
{
	struct pollfd p[3] = {{.fd = r->ctl, .events = POLLIN}};
	int fd = r->sess ? ssh_get_fd(r->sess) : -1;
	nfds_t n = 1, isp = 0;

	if (fd >= 0) {
		p[n].fd = fd;
		p[n++].events =
			(short)(POLLIN |
				(ssh_get_poll_flags(r->sess) & SSH_WRITE_PENDING
					 ? POLLOUT
					 : 0));
	}
	if (!r->sp_eof && r->ilen < TP_SSH_BUF) {
		isp = n;
		p[n].fd = r->sp;
		p[n++].events = POLLIN;
	}
	if (poll(p, n, timeout_ms) < 0)
		return errno == EINTR ? 0 : -errno;
	if (p[0].revents || r->canceled)
		return -ECANCELED;
	if (isp && p[isp].revents)
		tp_ssh_stash_stream(r);
	return r->sp_eof ? -ECANCELED : 0;
}

/**
 * tp_ssh_check_deadline() - fail with -ETIMEDOUT once r->deadline passed
 * @r:		session
 * @what:	"connecting", "logging in" ...
 *
 * Return: 0, or -ETIMEDOUT (recorded)
 */
int tp_ssh_check_deadline(struct tp_ssh_run *r, const char *what)
{
	uint64_t now = tp_ssh_now();

	if (!r->deadline || now < r->deadline)
		return 0;
	return tp_ssh_fail(r, -ETIMEDOUT,
			   "timed out %s (no answer from the server); check "
			   "the address, or raise ConnectTimeout or --timeout",
			   what);
}

/*
 * remote stderr: log whole lines with the host as prefix, through a rate
 * limiter (a flood is counted, not logged); every line still counts for
 * the final message and the sudo hint
 */
static void stderr_line(struct tp_ssh_run *r, char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			line[i] = '?';
	}
	line[len] = '\0';
	if (!len)
		return;
	r->err_rl.key = r->tag;
	r->err_rl.burst = TP_SSH_ERR_BURST;
	tg_log_limited(&r->err_rl, r->stderr_quiet ? TG_LOG_DEBUG : TG_LOG_INFO,
		       "%s: %s", r->tag, line);
	snprintf(r->last_err, sizeof(r->last_err), "%s", line);
	if (strstr(line, "sudo") && strstr(line, "password"))
		r->sudo_password = true;
}

/**
 * tp_ssh_log_stderr() - add @len bytes of the remote's stderr
 * @r:		session
 * @p:		bytes
 * @len:	their count
 * @flush:	log a last unterminated line too, and the count of the lines
 *		the rate limiter held back
 */
void tp_ssh_log_stderr(struct tp_ssh_run *r, const char *p, size_t len,
		       bool flush)
{
	while (len) {
		const char *nl = memchr(p, '\n', len);
		size_t take = nl ? (size_t)(nl - p) : len;
		size_t room = sizeof(r->eline) - 1 - r->elen;

		if (take > room)
			take = room;
		memcpy(r->eline + r->elen, p, take);
		r->elen += take;
		p += take;
		len -= take;
		if (nl && p == nl) {
			p++;
			len--;
		} else if (r->elen < sizeof(r->eline) - 1) {
			continue;
		}
		stderr_line(r, r->eline, r->elen);
		r->elen = 0;
	}
	if (flush && r->elen) {
		stderr_line(r, r->eline, r->elen);
		r->elen = 0;
	}
	if (flush)
		tg_ratelimit_flush(&r->err_rl);
}

static const struct {
	const char *name;
	int num;
} sig_names[] = {
	{"HUP", 1},   {"INT", 2},   {"QUIT", 3},  {"ILL", 4},
	{"ABRT", 6},  {"FPE", 8},   {"KILL", 9},  {"SEGV", 11},
	{"PIPE", 13}, {"ALRM", 14}, {"TERM", 15},
};

static void exit_status_cb(ssh_session s, ssh_channel c, int status, void *u)
{
	struct tp_ssh_run *r = u;

	r->exit_status = status;
}

static void exit_signal_cb(ssh_session s, ssh_channel c, const char *sig,
			   int core, const char *errmsg, const char *lang,
			   void *u)
{
	struct tp_ssh_run *r = u;

	snprintf(r->signame, sizeof(r->signame), "%s", sig ? sig : "?");
	r->exit_signal = 64; /* unknown names: 128 + 64 */
	for (size_t i = 0; i < sizeof(sig_names) / sizeof(sig_names[0]); i++)
		if (sig && !strcmp(sig, sig_names[i].name))
			r->exit_signal = sig_names[i].num;
}

/*
 * The remote's stderr, logged as libssh decrypts it, so that the pump
 * needs no read call (a poll() each) per wake-up to look for it; stdout
 * stays in the channel's buffer for ssh_channel_read_timeout().
 */
static int data_cb(ssh_session s, ssh_channel c, void *data, uint32_t len,
		   int is_stderr, void *userdata)
{
	(void)s;
	(void)c;
	if (!is_stderr)
		return 0;
	tp_ssh_log_stderr(userdata, data, len, false);
	return (int)len;
}

/**
 * tp_ssh_exec() - open a session channel and run @cmd in it
 * @r:		session
 * @chan:	set to the channel
 * @cmd:	remote command line
 *
 * The exit status and signal land in r->exit_status / r->exit_signal.
 *
 * Return: 0, or -errno (recorded)
 */
int tp_ssh_exec(struct tp_ssh_run *r, ssh_channel *chan, const char *cmd)
{
	ssh_channel c = ssh_channel_new(r->sess);
	int rc;

	if (!c)
		return tp_ssh_fail(r, -ENOMEM, "out of memory");
	r->exit_status = -1;
	r->exit_signal = 0;
	ssh_callbacks_init(&r->ccb);
	r->ccb.userdata = r;
	r->ccb.channel_exit_status_function = exit_status_cb;
	r->ccb.channel_exit_signal_function = exit_signal_cb;
	r->ccb.channel_data_function = data_cb;
	ssh_set_channel_callbacks(c, &r->ccb);
	r->deadline = tp_ssh_now() + r->timeout_ms;
	SSH_UNTIL(rc, r, SSH_AGAIN, ssh_channel_open_session(c),
		  "opening a channel");
	if (rc == SSH_ERROR)
		rc = tp_ssh_fail(r, -ECONNABORTED,
				 "the server refused a session channel: %s",
				 ssh_get_error(r->sess));
	if (rc == SSH_OK)
		SSH_UNTIL(rc, r, SSH_AGAIN, ssh_channel_request_exec(c, cmd),
			  "starting the remote command");
	if (rc == SSH_ERROR)
		rc = tp_ssh_fail(r, -ECONNABORTED,
				 "the server refused to run '%s': %s", cmd,
				 ssh_get_error(r->sess));
	r->deadline = 0;
	if (rc < 0) {
		ssh_channel_free(c);
		return rc;
	}
	*chan = c;
	return 0;
}

/*
 * The login name when neither DEST nor the config gives one: libssh asks
 * getpwuid(), which knows only /etc/passwd in the static binary (cmd/nss.c),
 * so a user of sssd or LDAP is $USER, as ssh would have it.
 */
static int set_local_user(struct tp_ssh_run *r)
{
	char buf[4096], *u = NULL;
	const struct passwd *pwp;
	const char *name = NULL;
	struct passwd pw;

	if (ssh_options_get(r->sess, SSH_OPTIONS_USER, &u) == SSH_OK) {
		ssh_string_free_char(u);
		return 0;
	}
	pwp = tp_ssh_local_passwd(&pw, buf, sizeof(buf));
	if (pwp)
		name = pwp->pw_name;
	if (!name || !*name)
		name = getenv("USER");
	if (!name || !*name)
		name = getenv("LOGNAME");
	if (!name || !*name)
		return tp_ssh_fail(r, -EINVAL,
				   "no user name for uid %u: give one in the "
				   "destination (user@host) or set USER",
				   (unsigned)getuid());
	return ssh_options_set(r->sess, SSH_OPTIONS_USER, name) < 0 ? -ENOMEM
								      : 0;
}

/* the DEST as libssh wants it: an IPv6 address in brackets */
static int set_options(struct tp_ssh_run *r)
{
	char dir[600], host[300];
	const char *f = r->config_file;
	int rc = 0, err;

	ssh_set_blocking(r->sess, 0);
	if (r->home[0]) {
		snprintf(dir, sizeof(dir), "%s/.ssh", r->home);
		rc |= ssh_options_set(r->sess, SSH_OPTIONS_SSH_DIR, dir);
	}
	snprintf(host, sizeof(host), strchr(r->d.host, ':') ? "[%s]" : "%s",
		 r->d.host);
	if (ssh_options_set(r->sess, SSH_OPTIONS_HOST, host) < 0)
		return tp_ssh_fail(r, -EINVAL, "'%s' is not a valid host name",
				   r->d.host);
	if (r->d.user[0])
		rc |= ssh_options_set(r->sess, SSH_OPTIONS_USER, r->d.user);
	if (f && access(f, R_OK) < 0)
		return tp_ssh_fail(r, -errno,
				   "cannot read the config file %s: %s", f,
				   strerror(errno));
	if (ssh_options_parse_config(r->sess, f) < 0)
		return tp_ssh_fail(r, -EINVAL, "bad ssh config: %s",
				   ssh_get_error(r->sess));
	if ((err = set_local_user(r)) < 0)
		return err;
	/* given in DEST: wins over the config, as with ssh -p */
	if (r->d.port)
		rc |= ssh_options_set(r->sess, SSH_OPTIONS_PORT, &r->d.port);
	/* the tunnel's TCP ACKs are small writes: Nagle would hold them
	 * until the server's delayed ACK, 40 ms each */
	rc |= ssh_options_set(r->sess, SSH_OPTIONS_NODELAY, &(int){1});
	if (rc < 0)
		return tp_ssh_fail(r, -ENOMEM, "cannot set up the session: %s",
				   ssh_get_error(r->sess));
	tp_ssh_cfg_init(&r->cfg);
	if (f) {
		tp_ssh_cfg_scan(f, r->d.host, r->home, &r->cfg);
	} else {
		snprintf(dir, sizeof(dir), "%s/.ssh/config", r->home);
		tp_ssh_cfg_scan(dir, r->d.host, r->home, &r->cfg);
		tp_ssh_cfg_scan("/etc/ssh/ssh_config", r->d.host, r->home,
				&r->cfg);
	}
	if (r->cfg.accept_new == 1)
		r->accept_new = true;
	return 0;
}

/* one line for a failed connect: libssh has only text, no errno */
static int connect_error(struct tp_ssh_run *r)
{
	const char *msg = ssh_get_error(r->sess);
	unsigned port = 22;
	char *h = NULL;
	const char *host;
	int err;

	ssh_options_get_port(r->sess, &port);
	ssh_options_get(r->sess, SSH_OPTIONS_HOST, &h);
	host = h ? h : r->d.host;
	if (strcasestr(msg, "refused"))
		err = tp_ssh_fail(r, -ECONNREFUSED,
				  "connection refused (%s port %u): is sshd "
				  "running there, on that port?",
				  host, port);
	else if (strcasestr(msg, "resolve"))
		err = tp_ssh_fail(r, -ENXIO, "cannot resolve the host name: %s",
				  msg);
	else if (strcasestr(msg, "timeout") || strcasestr(msg, "timed out"))
		err = tp_ssh_fail(r, -ETIMEDOUT,
				  "connection timed out (%s port %u)", host,
				  port);
	else if (strcasestr(msg, "unreachable") || strcasestr(msg, "no route"))
		err = tp_ssh_fail(r, -EHOSTUNREACH, "%s (%s port %u)", msg,
				  host, port);
	else if (strcasestr(msg, "reset") || strcasestr(msg, "closed") ||
		 strcasestr(msg, "banner"))
		err = tp_ssh_fail(r, -ECONNRESET,
				  "the server closed the connection (%s port "
				  "%u): %s",
				  host, port, msg);
	else
		err = tp_ssh_fail(r, -ECONNABORTED,
				  "cannot connect (%s port %u): %s", host, port,
				  msg);
	ssh_string_free_char(h);
	return err;
}

static int do_connect(struct tp_ssh_run *r)
{
	unsigned ms = r->cfg.connect_timeout > 0
			      ? (unsigned)r->cfg.connect_timeout * 1000
			      : r->timeout_ms;
	int rc;

	r->deadline = tp_ssh_now() + ms;
	SSH_UNTIL(rc, r, SSH_AGAIN, ssh_connect(r->sess), "connecting");
	r->deadline = 0;
	if (rc == SSH_ERROR)
		return connect_error(r);
	return rc < 0 ? rc : 0;
}

static void log_login(struct tp_ssh_run *r)
{
	char *user = NULL, *host = NULL;
	unsigned port = 22;

	ssh_options_get(r->sess, SSH_OPTIONS_USER, &user);
	ssh_options_get(r->sess, SSH_OPTIONS_HOST, &host);
	ssh_options_get_port(r->sess, &port);
	tg_info("ssh %s: logged in as %s on %s port %u; running '%s%s'",
		r->dest, user ? user : "?", host ? host : r->d.host, port,
		r->cmd, r->cmd_args);
	ssh_string_free_char(user);
	ssh_string_free_char(host);
}

/*
 * the command with the inside's options after it; messages about it name
 * r->cmd, the command as the user gave it (or --install made it)
 */
static int exec_command(struct tp_ssh_run *r)
{
	size_t len = strlen(r->cmd) + strlen(r->cmd_args) + 1;
	char *full = malloc(len);
	int err;

	if (!full)
		return tp_ssh_fail(r, -ENOMEM, "out of memory");
	snprintf(full, len, "%s%s", r->cmd, r->cmd_args);
	err = tp_ssh_exec(r, &r->chan, full);
	free(full);
	return err;
}

/* the whole session, in the thread; the result is in r */
static int run_session(struct tp_ssh_run *r)
{
	int err;

	r->sess = ssh_new();
	if (!r->sess)
		return tp_ssh_fail(r, -ENOMEM, "out of memory");
	err = set_options(r);
	if (!err)
		err = do_connect(r);
	if (!err)
		err = tp_ssh_hostkey_check(r);
	if (!err)
		err = tp_ssh_auth(r);
	if (!err && r->install)
		err = tp_remote_probe(r);
	if (!err)
		err = tp_remote_command(r);
	if (!err)
		err = exec_command(r);
	if (!err) {
		log_login(r);
		atomic_store(&r->ready, true);
		uv_async_send(r->wake);
		err = tp_ssh_pump(r);
	}
	if (r->chan) {
		ssh_channel_close(r->chan);
		ssh_channel_free(r->chan);
		r->chan = NULL;
	}
	ssh_disconnect(r->sess);
	ssh_free(r->sess);
	r->sess = NULL;
	return err;
}

/**
 * tp_ssh_thread_main() - the SSH thread: run the session, tell the loop
 * @arg:	the struct tp_ssh_run, filled in by tp_ssh_open()
 *
 * The result is in the run (status, why) once r->done is set; r->wake
 * then wakes the loop, which joins this thread before it reads them.
 */
void tp_ssh_thread_main(void *arg)
{
	struct tp_ssh_run *r = arg;
	int err;

	ssh_thread_logging();
	err = r->via ? tp_via_session(r) : run_session(r);

	if (err < 0)
		r->status = err;
	atomic_store(&r->done, true);
	uv_async_send(r->wake);
}
