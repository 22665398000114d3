/* SPDX-License-Identifier: MIT */
/*
 * ssh.c - the --ssh transport: a libssh session in its own thread.
 *
 * Theory of operation: libssh is a blocking-minded library with its own
 * poll loop, so it gets a thread of its own and the libuv loop never sees
 * it. The two meet at a socketpair: the loop's end is an ordinary
 * uv_pipe_t handed to the link (so the loop sees one kind of stream
 * whatever the transport), the thread's end is pumped to and from an SSH
 * exec channel (ssh_pump.c).
 *
 * The thread runs the session in order: options (DEST, ~/.ssh/config),
 * connect, host key (ssh_hostkey.c), login (ssh_auth.c), --install
 * (ssh_install.c), exec, pump. libssh is used in non-blocking mode
 * throughout, and every wait polls the session's socket together with a
 * stop pipe and the socketpair, so tp_ssh_close() (stop pipe) or the link
 * going away (EOF on the socketpair) ends the thread within one poll,
 * even in the middle of a login or a terminal prompt.
 *
 * The result (the remote exit status, or -errno and one line) goes to the
 * loop through a uv_async_t, as do "the command runs" (ready_cb) and "a
 * question waits for the user at the terminal" (prompt_cb): the thread
 * only sets an atomic and wakes the loop, which calls back. The thread never
 * closes its end of the socketpair: the loop does, right after exit_cb, so the
 * caller learns why the session ended before its link sees EOF.
 *
 * One session per thread and per tp_ssh; ssh_init() runs once. Nothing
 * here is shared between threads except through the async handle and the
 * stop pipe: the loop reads the result only after joining the thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "lib/log.h"
#include "transport/ssh.h"
#include "transport/ssh_internal.h"

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

/* libssh's own log lines, for -v -v */
static void ssh_log_cb(int prio, const char *fn, const char *buf, void *u)
{
	tg_log(prio <= SSH_LOG_WARN ? TG_LOG_DEBUG : TG_LOG_TRACE, "libssh: %s",
	       buf);
}

static void ssh_init_once(void)
{
	ssh_init();
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

/**
 * tp_ssh_fail() - record the session's failure: the first one wins
 * @r:		session
 * @err:	-errno, returned
 * @fmt:	the line, after "ssh DEST: "; NULL records no line
 *
 * Return: @err
 */
int tp_ssh_fail(struct tp_ssh_run *r, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->why[0] || !fmt)
		return err;
	n = snprintf(r->why, sizeof(r->why), "ssh %s: ", r->dest);
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

/* remote stderr: log whole lines with the host as prefix */
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
	tg_info("%s: %s", r->d.host, line);
	snprintf(r->last_err, sizeof(r->last_err), "%s", line);
	if (strstr(line, "sudo") && strstr(line, "password"))
		r->sudo_password = true;
}

/**
 * tp_ssh_log_stderr() - add @len bytes of the remote's stderr
 * @r:		session
 * @p:		bytes
 * @len:	their count
 * @flush:	log a last unterminated line too
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
 * This user's /etc/passwd entry, the only source in the static binary
 * (cmd/nss.c): NULL for a user that only sssd or LDAP knows.
 */
static const struct passwd *local_passwd(struct passwd *pw, char *buf,
					 size_t cap)
{
	struct passwd *pwp = NULL;

	if (getpwuid_r(getuid(), pw, buf, cap, &pwp) || !pwp)
		return NULL;
	return pwp;
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
	pwp = local_passwd(&pw, buf, sizeof(buf));
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
		err = tp_ssh_install(r);
	if (!err && !r->cmd && !(r->cmd = strdup(r->remote_cmd)))
		err = tp_ssh_fail(r, -ENOMEM, "out of memory");
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

static void ssh_thread(void *arg)
{
	struct tp_ssh *x = arg;
	int err;

	ssh_thread_logging();
	err = run_session(&x->r);

	if (err < 0)
		x->r.status = err;
	atomic_store(&x->r.done, true);
	uv_async_send(&x->async);
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

static void run_free(struct tp_ssh_run *r)
{
	free(r->dest);
	free(r->config_file);
	free(r->remote_cmd);
	free(r->cmd_args);
	free(r->install_binaries);
	free(r->version);
	free(r->cmd);
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
	if (!o->dest || tp_ssh_dest_parse(o->dest, &r->d) < 0)
		return -EINVAL;
	r->dest = dup_or_null(o->dest, &oom);
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
	if ((!home || !*home) && (pwp = local_passwd(&pw, buf, sizeof(buf))))
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

/* the socketpair and the stop pipe (portable: no SOCK_CLOEXEC) */
static int make_fds(struct tp_ssh *x, int sv[2])
{
	int err = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -errno;
	if (pipe(x->stop) < 0) {
		err = -errno;
		x->stop[0] = x->stop[1] = -1;
	}
	if (!err)
		err = cloexec(sv[0], false);
	if (!err)
		err = cloexec(sv[1], true);
	if (!err)
		err = cloexec(x->stop[0], true);
	if (!err)
		err = cloexec(x->stop[1], false);
	if (err) {
		close_fd(&sv[0]);
		close_fd(&sv[1]);
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
 * @in:		set to the stream (malloc()ed, for the link)
 * @out:	set to the same stream
 * @sp:		set to the handle, for tp_ssh_close()
 *
 * Return: 0, or -errno (-EINVAL: @o->dest is not [user@]host[:port])
 */
int tp_ssh_open(uv_loop_t *loop, const struct tp_ssh_opts *o, tp_ssh_exit_cb cb,
		void *data, uv_stream_t **in, uv_stream_t **out,
		struct tp_ssh **sp)
{
	struct tp_ssh *x = calloc(1, sizeof(*x));
	uv_pipe_t *p = malloc(sizeof(*p));
	int sv[2] = {-1, -1}, err;

	if (!x || !p) {
		free(x);
		free(p);
		return -ENOMEM;
	}
	x->stop[0] = x->stop[1] = -1;
	err = run_init(&x->r, o);
	if (!err)
		err = make_fds(x, sv);
	if (err) {
		run_free(&x->r);
		free(x);
		free(p);
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
	err = uv_pipe_open(p, sv[0]);
	if (err)
		close(sv[0]); /* not adopted by libuv */
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
		return err;
	}
	err = uv_thread_create(&x->thread, ssh_thread, x);
	if (err) {
		tp_ssh_close(x);
		uv_close((uv_handle_t *)p, pipe_free_cb);
		return err;
	}
	x->started = true;
	*in = *out = (uv_stream_t *)p;
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
