/* SPDX-License-Identifier: MIT */
/*
 * via.c - the --via transport's thread: `PREFIX ...` on this machine.
 *
 * Theory of operation: --via shares the SSH transport's loop side (ssh.c:
 * the socketpair, the stop pipe, the result through an async handle) and
 * its steps (install.c: probe, --install, the inside's command); only how
 * a command reaches the container differs. Here it is a child process:
 * the prefix's words (split as sh would, words.c), then ours, started with
 * posix_spawnp() and no shell on this side. A prefix that joins its
 * words into one line for a remote shell (ssh, gh codespace ssh) gets
 * ours sh-quoted, so that that shell splits them back as they were.
 * Each script of install.c runs as `PREFIX sh -c SCRIPT`, with its stdout read into a buffer; the
 * inside runs as `PREFIX [sudo -n] PATH inside --stdio ...` (or, with
 * --remote-command, `PREFIX sh -c CMD`) with our end of the socketpair as
 * its stdin and stdout, so the loop's link talks to the prefix directly
 * and nothing is pumped here. Every child's stderr is cut into lines: a
 * script's at debug level (its last line goes into the failure's one
 * line, so the prefix's own complaint is shown once), the inside's at
 * info, as for --ssh.
 *
 * The thread waits in poll() on the stop pipe, the child's pipes and the
 * socketpair (whose hang-up means the link is gone), in slices, reaping
 * the child with waitpid(WNOHANG): no SIGCHLD handler, which libuv owns.
 * A child that outlives a stop, or the link's close by 2 s, gets SIGTERM,
 * then SIGKILL 2 s later.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "transport/ssh_internal.h"
#include "transport/words.h"

#define SLICE_MS 100
#define KILL_MS 2000

extern char **environ;

struct child {
	pid_t pid;
	int out, err; /* our ends of its stdout and stderr; -1: none */
	int status; /* exit status, 128 + N for signal N; -1: running */
	uint64_t term_at, kill_at; /* ms; 0: not planned */
};

static int pipe_cloexec(int p[2])
{
	if (pipe(p) < 0)
		return -errno;
	if (fcntl(p[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(p[1], F_SETFD, FD_CLOEXEC) < 0) {
		int err = -errno;

		close(p[0]);
		close(p[1]);
		return err;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* the prefix's words, then @extra (NULL-terminated), in one block; each
 * of @extra quoted when the prefix hands them to a remote shell as one
 * line (r->via_shell), so that the shell there splits them back into the
 * same words */
static char **argv_build(const struct tp_ssh_run *r, const char *const *extra)
{
	size_t n = 0, m = 0, len = 0;
	char **v, *p;

	while (r->via[n])
		n++;
	for (; extra && extra[m]; m++)
		len += r->via_shell ? 4 * strlen(extra[m]) + 3 : 0;
	v = calloc(1, (n + m + 1) * sizeof(*v) + len);
	if (!v)
		return NULL;
	memcpy(v, r->via, n * sizeof(*v));
	p = (char *)(v + n + m + 1);
	for (size_t i = 0; i < m; i++) {
		if (!r->via_shell) {
			v[n + i] = (char *)extra[i];
			continue;
		}
		v[n + i] = p;
		p += tp_sh_quote(p, 4 * strlen(extra[i]) + 3, extra[i]) + 1;
	}
	return v;
}

/* start @argv: stdin from @in (-1: /dev/null), stdout to @out (-1: a pipe
 * into c->out), stderr into c->err */
static int child_spawn(struct tp_ssh_run *r, char *const *argv, int in, int out,
		       struct child *c)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, err;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, none;

	*c = (struct child){.pid = -1, .out = -1, .err = -1, .status = -1};
	if ((out < 0 && (err = pipe_cloexec(po)) < 0) ||
	    (err = pipe_cloexec(pe)) < 0) {
		close_fd(&po[0]);
		close_fd(&po[1]);
		return tp_ssh_fail(r, err, "cannot make a pipe: %s",
				   strerror(-err));
	}
	posix_spawn_file_actions_init(&fa);
	if (in >= 0)
		posix_spawn_file_actions_adddup2(&fa, in, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
						 0);
	posix_spawn_file_actions_adddup2(&fa, out >= 0 ? out : po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	/* as a shell would start it: no signal ignored or blocked */
	posix_spawnattr_init(&at);
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETSIGMASK);
	err = -posix_spawnp(&c->pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close_fd(&po[1]);
	close_fd(&pe[1]);
	if (err) {
		close_fd(&po[0]);
		close_fd(&pe[0]);
		c->pid = -1;
		if (err == -ENOENT)
			return tp_ssh_fail(
				r, -ENOENT,
				"the prefix's command '%s' is not "
				"found on this machine%s",
				argv[0], strchr(argv[0], '/') ? "" : " (PATH)");
		if (err == -EACCES || err == -ENOEXEC)
			return tp_ssh_fail(r, -ENOENT,
					   "cannot run the prefix's command "
					   "'%s' on this machine: %s",
					   argv[0], strerror(-err));
		return tp_ssh_fail(r, err, "cannot start '%s': %s", argv[0],
				   strerror(-err));
	}
	c->out = po[0];
	c->err = pe[0];
	return 0;
}

/* reap @c if it ended; true once it has */
static bool child_reaped(struct child *c)
{
	int st;

	if (c->status >= 0)
		return true;
	if (waitpid(c->pid, &st, WNOHANG) != c->pid)
		return false;
	c->status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	return true;
}

/* SIGTERM now or at c->term_at, SIGKILL after; true while it runs */
static bool child_ending(struct child *c, uint64_t now)
{
	if (child_reaped(c))
		return false;
	if (!c->term_at || now < c->term_at)
		return true;
	if (!c->kill_at) {
		kill(c->pid, SIGTERM);
		c->kill_at = now + KILL_MS;
	} else if (now >= c->kill_at) {
		kill(c->pid, SIGKILL);
		c->kill_at = UINT64_MAX;
	}
	return true;
}

/* stopped: end the child within KILL_MS * 2, reap it */
static void child_stop(struct child *c)
{
	c->term_at = tp_ssh_now();
	while (child_ending(c, tp_ssh_now()))
		poll(NULL, 0, SLICE_MS);
	close_fd(&c->out);
	close_fd(&c->err);
}

/* the child's stderr, into lines (EOF: closed) */
static void child_err(struct tp_ssh_run *r, struct child *c)
{
	char buf[4096];
	ssize_t n = read(c->err, buf, sizeof(buf));

	if (n > 0) {
		tp_ssh_log_stderr(r, buf, (size_t)n, false);
	} else if (n == 0 || errno != EINTR) {
		tp_ssh_log_stderr(r, "", 0, true);
		close_fd(&c->err);
	}
}

/**
 * tp_via_script() - run @script as `PREFIX sh -c SCRIPT`, to its end
 * @r:		session
 * @script:	the script
 * @in_fd:	its stdin (read from offset 0), or -1 for /dev/null
 * @out:	its stdout, NUL-terminated, cut at @cap - 1 bytes
 * @cap:	size of @out (at least 1)
 *
 * Return: its exit status (128 + N: killed by signal N), or -errno
 * (recorded): -ENOENT (the prefix is not found here), -ETIMEDOUT,
 * -ECANCELED (stopped)
 */
int tp_via_script(struct tp_ssh_run *r, const char *script, int in_fd,
		  char *out, size_t cap)
{
	const char *extra[] = {"sh", "-c", script, NULL};
	char **argv = argv_build(r, extra);
	uint64_t deadline;
	size_t len = 0;
	struct child c;
	int err;

	out[0] = '\0';
	if (!argv)
		return tp_ssh_fail(r, -ENOMEM, "out of memory");
	if (in_fd >= 0 && lseek(in_fd, 0, SEEK_SET) < 0)
		err = tp_ssh_fail(r, -errno, "cannot read the binary: %s",
				  strerror(errno));
	else
		err = child_spawn(r, argv, in_fd, -1, &c);
	free(argv);
	if (err)
		return err;
	/* an upload runs as long as it takes the prefix to read the file */
	deadline =
		tp_ssh_now() + (uint64_t)r->timeout_ms * (in_fd >= 0 ? 10 : 1);
	r->stderr_quiet = true;
	while (c.out >= 0 || c.err >= 0 || !child_reaped(&c)) {
		struct pollfd p[3] = {{.fd = r->ctl, .events = POLLIN},
				      {.fd = c.out, .events = POLLIN},
				      {.fd = c.err, .events = POLLIN}};

		if (tp_ssh_now() >= deadline) {
			err = tp_ssh_fail(
				r, -ETIMEDOUT,
				"the prefix did not finish within "
				"%u s%s%s",
				r->timeout_ms / 1000 * (in_fd >= 0 ? 10 : 1),
				r->last_err[0] ? ": " : "", r->last_err);
			break;
		}
		if (poll(p, 3, SLICE_MS) < 0 && errno != EINTR) {
			err = tp_ssh_fail(r, -errno, "poll: %s",
					  strerror(errno));
			break;
		}
		if (p[0].revents) {
			err = -ECANCELED;
			break;
		}
		if (p[1].revents) {
			ssize_t n = read(c.out, out + len, cap - 1 - len);

			if (n > 0)
				len += (size_t)n;
			else if (n == 0 || errno != EINTR)
				close_fd(&c.out);
			out[len] = '\0';
			if (len == cap - 1) /* the rest is of no interest */
				close_fd(&c.out);
		}
		if (p[2].revents)
			child_err(r, &c);
	}
	r->stderr_quiet = false;
	if (err) {
		child_stop(&c);
		return err;
	}
	return c.status;
}

/* the inside's command after the prefix, as words */
static char **inside_argv(struct tp_ssh_run *r)
{
	const char *v[8 + TP_INSIDE_WORDS_MAX];
	size_t n = 0, len;
	char *full;

	if (r->cmd_given) {
		/* the user's command is a shell command line, as for --ssh */
		len = strlen(r->cmd) + strlen(r->cmd_args) + 1;
		if (!(full = malloc(len)))
			return NULL;
		snprintf(full, len, "%s%s", r->cmd, r->cmd_args);
		r->full_cmd = full;
		v[n++] = "sh";
		v[n++] = "-c";
		v[n++] = full;
	} else {
		if (!r->root) {
			v[n++] = "sudo";
			v[n++] = "-n";
		}
		v[n++] = r->path;
		v[n++] = "inside";
		v[n++] = "--stdio";
		for (const char *a = r->inside_words;
		     *a && n < sizeof(v) / sizeof(v[0]) - 1; a += strlen(a) + 1)
			v[n++] = a;
	}
	v[n] = NULL;
	return argv_build(r, v);
}

/* the inside's command ended: its status and, if it failed, one line */
static void via_result(struct tp_ssh_run *r, const struct child *c)
{
	const char *e = r->last_err, *sep = e[0] ? ": " : "";

	r->status = c->status;
	if (c->status == 0)
		return;
	if (c->status > 128 && c->status < 128 + 64)
		tp_ssh_fail(r, c->status, "the command was killed by signal %d",
			    c->status - 128);
	else if (r->sudo_password)
		tp_ssh_fail(r, c->status,
			    "sudo in the container asks for a password: allow "
			    "tungate with NOPASSWD in sudoers there, or enter "
			    "as root");
	else if (c->status == 127)
		tp_ssh_fail(r, c->status,
			    "'%s' was not found in the container (exit status "
			    "127%s%s): pass --install, or name it with "
			    "--remote-command",
			    r->cmd, sep, e);
	else
		tp_ssh_fail(r, c->status,
			    "the command exited with status %d%s%s", c->status,
			    sep, e);
}

/* until the child ends; the link closing its end (hang-up) ends it */
static int via_wait(struct tp_ssh_run *r, struct child *c)
{
	for (;;) {
		struct pollfd p[3] = {
			{.fd = r->ctl, .events = POLLIN},
			{.fd = c->err, .events = POLLIN},
			{.fd = c->term_at ? -1 : r->sp, .events = 0}};
		uint64_t now = tp_ssh_now();

		if (!child_ending(c, now) && c->err < 0)
			return 0;
		if (c->status >= 0 && c->err >= 0 && !c->term_at)
			c->term_at = now + KILL_MS; /* a grandchild holds it */
		if (c->status >= 0 && c->term_at && now >= c->term_at)
			close_fd(&c->err);
		if (poll(p, 3, SLICE_MS) < 0 && errno != EINTR)
			return tp_ssh_fail(r, -errno, "poll: %s",
					   strerror(errno));
		if (p[0].revents) {
			child_stop(c);
			return -ECANCELED;
		}
		if (p[1].revents)
			child_err(r, c);
		if (p[2].revents && !c->term_at)
			c->term_at = now + KILL_MS;
	}
}

/**
 * tp_via_session() - the whole --via session, in the thread
 * @r:		filled in by tp_ssh_open() with r->via set
 *
 * Return: 0 with r->status (the command's exit), or -errno (recorded)
 */
int tp_via_session(struct tp_ssh_run *r)
{
	struct child c;
	char **argv;
	int err;

	err = tp_remote_probe(r);
	if (!err)
		err = tp_remote_command(r);
	if (err)
		return err;
	argv = inside_argv(r);
	if (!argv)
		return tp_ssh_fail(r, -ENOMEM, "out of memory");
	err = child_spawn(r, argv, r->sp, r->sp, &c);
	free(argv);
	if (err)
		return err;
	tg_info("%s: running %s%s (pid %d)", r->label, r->cmd, r->cmd_args,
		(int)c.pid);
	atomic_store(&r->ready, true);
	uv_async_send(r->wake);
	err = via_wait(r, &c);
	close_fd(&c.err);
	if (!err)
		via_result(r, &c);
	return err;
}
