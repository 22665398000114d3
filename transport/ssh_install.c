/* SPDX-License-Identifier: MIT */
/*
 * ssh_install.c - --install: the same tungate on the remote, uploaded once.
 *
 * Theory of operation: before the tunnel's command, one exec channel runs
 * a small sh script that looks for our version: first the cached copy
 * ~/.cache/tungate/tungate-VERSION, then `tungate` on the PATH, each asked
 * with `version`. When neither answers with our version, a second channel
 * runs `cat` into a temporary file beside the cache path, which is made
 * executable and renamed into place only once complete, and the binary
 * for the remote's `uname -m` is streamed into it: an --install-binary
 * ARCH=PATH for that machine, a plain --install-binary PATH, our own
 * executable if it is built for it, or tungate-ARCH beside ours (make
 * tungate-aarch64 builds one).
 * The remote command then runs the cached copy: its first word `tungate`
 * is replaced by the copy's path. The ELF header of what is uploaded is
 * checked against `uname -m` too, so that a binary for another machine is
 * never uploaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "transport/ssh_internal.h"

#define PROBE_OUT 1024

struct capture {
	int in_fd; /* streamed to the command's stdin; -1: none */
	bool in_done; /* EOF sent */
	size_t off, len; /* in r->obuf: read from in_fd, not yet sent */
	char out[PROBE_OUT];
	size_t out_len;
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
		size_t room = sizeof(k->out) - 1 - k->out_len;
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

/* the remote command with its word "tungate" replaced by @path */
static int set_command(struct tp_ssh_run *r, const char *path)
{
	const char *c = r->remote_cmd, *w = c;
	size_t len;

	while ((w = strstr(w, "tungate"))) {
		if ((w == c || w[-1] == ' ') && (w[7] == ' ' || !w[7]))
			break;
		w += 7;
	}
	if (!w) {
		tg_warn("ssh %s: --install: the remote command '%s' does not "
			"run 'tungate'; it runs as given",
			r->dest, c);
		return 0;
	}
	len = strlen(c) + strlen(path) + 1;
	r->cmd = malloc(len);
	if (!r->cmd)
		return tp_ssh_fail(r, -ENOMEM, "out of memory");
	snprintf(r->cmd, len, "%.*s%s%s", (int)(w - c), c, path, w + 7);
	return 0;
}

/* "x86_64" for our ELF machine, so the remote's uname -m can be checked */
static const char *elf_machine(int fd)
{
	unsigned char h[20];

	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h, "\177ELF", 4) != 0)
		return NULL;
	switch (h[18] | h[19] << 8) { /* e_machine, little-endian */
	case 62:
		return "x86_64";
	case 183:
		return "aarch64";
	case 40:
		return "armv7l";
	case 3:
		return "i686";
	default:
		return "?";
	}
}

/*
 * The binary for a remote whose uname -m is @mach: an --install-binary
 * ARCH=PATH for it, else a plain --install-binary PATH, else our own
 * executable if it is one, else tungate-@mach beside it. NULL: none.
 */
static const char *install_pick(const struct tp_ssh_run *r, const char *mach,
				char *buf, size_t n)
{
	const char *plain = NULL, *e;
	size_t mlen = strlen(mach);
	ssize_t len;
	char *slash;
	int fd;

	for (e = r->install_binaries; *e; e += strlen(e) + 1) {
		const char *eq = strchr(e, '=');

		/* ARCH=PATH: no '/' before the '=' */
		if (!eq || memchr(e, '/', (size_t)(eq - e)))
			plain = plain ? plain : e;
		else if ((size_t)(eq - e) == mlen && !memcmp(e, mach, mlen))
			return eq + 1;
	}
	if (plain)
		return plain;
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		const char *own = elf_machine(fd);

		close(fd);
		if (own && !strcmp(own, mach))
			return "/proc/self/exe";
	}
	len = readlink("/proc/self/exe", buf, n - 1);
	if (len <= 0)
		return NULL;
	buf[len] = '\0';
	slash = strrchr(buf, '/');
	if (!slash || snprintf(slash + 1, n - (size_t)(slash + 1 - buf),
			       "tungate-%s", mach) >=
			      (int)(n - (size_t)(slash + 1 - buf)))
		return NULL;
	return access(buf, R_OK) == 0 ? buf : NULL;
}

static int install_open(struct tp_ssh_run *r, const char *mach,
			const char **arch, off_t *size)
{
	char buf[PATH_MAX];
	const char *path = install_pick(r, mach, buf, sizeof(buf));
	struct stat st;
	int fd;

	if (!path)
		return tp_ssh_fail(r, -ENOEXEC,
				   "--install: the remote is %s and this "
				   "tungate is not: put tungate-%s (make "
				   "tungate-%s) beside it, or name one with "
				   "--install-binary %s=PATH",
				   mach, mach, mach, mach);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tp_ssh_fail(r, -errno, "--install: cannot open %s: %s%s",
				   path, strerror(errno),
				   strcmp(path, "/proc/self/exe")
					   ? ""
					   : "; name a Linux build of tungate "
					     "with --install-binary PATH");
	*arch = elf_machine(fd);
	if (!*arch || fstat(fd, &st) < 0) {
		close(fd);
		return tp_ssh_fail(r, -ENOEXEC,
				   "--install: %s is not a Linux executable; "
				   "name one with --install-binary PATH",
				   path);
	}
	if (strcmp(path, "/proc/self/exe"))
		tg_info("ssh %s: the remote is %s: uploading %s", r->dest,
			mach, path);
	*size = st.st_size;
	return fd;
}

static int install_upload(struct tp_ssh_run *r, int fd, off_t size,
			  const char *dest)
{
	char cmd[1024];
	struct capture k = {.in_fd = fd};
	int st;

	tg_info("ssh %s: installing tungate %s into %s (%.1f MB)", r->dest,
		r->version, dest, (double)size / 1e6);
	snprintf(cmd, sizeof(cmd),
		 "/bin/sh -c 'p=\"%s\"; t=\"$p.tmp.$$\"; "
		 "mkdir -p \"${p%%/*}\" && cat > \"$t\" && chmod 0755 \"$t\" "
		 "&& mv -f \"$t\" \"$p\" && echo TG-DONE || "
		 "{ rm -f \"$t\"; exit 1; }'",
		 dest);
	st = capture_run(r, cmd, &k);
	if (st < 0)
		return st;
	if (st != 0 || !strstr(k.out, "TG-DONE"))
		return tp_ssh_fail(r, -EIO,
				   "--install: writing %s failed (exit status "
				   "%d%s%s)",
				   dest, st, r->last_err[0] ? ": " : "",
				   r->last_err);
	tg_info("ssh %s: installed %s (%llu bytes)", r->dest, dest,
		(unsigned long long)k.sent);
	return 0;
}

static bool version_ok(const char *v)
{
	return *v && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
			       "VWXYZ0123456789.+-_~") == strlen(v);
}

/**
 * tp_ssh_install() - make sure the remote runs our version (see the top)
 * @r:		a logged-in session
 *
 * Sets r->cmd to the remote command to run.
 *
 * Return: 0, or -errno (recorded)
 */
int tp_ssh_install(struct tp_ssh_run *r)
{
	char cmd[1024], have[600], mach[64];
	struct capture k = {.in_fd = -1};
	const char *arch = NULL;
	off_t size = 0;
	int fd, st;

	if (!version_ok(r->version))
		return tp_ssh_fail(r, -EINVAL, "--install: bad version '%s'",
				   r->version);
	snprintf(cmd, sizeof(cmd),
		 "/bin/sh -c 'v=\"%s\"; p=\"$HOME/.cache/tungate/tungate-$v\"; "
		 "if [ -x \"$p\" ] && \"$p\" version 2>/dev/null | "
		 "grep -q \"^tungate $v \"; then echo \"TG-HAVE $p\"; "
		 "elif tungate version 2>/dev/null | grep -q \"^tungate $v \"; "
		 "then echo TG-HAVE tungate; else echo \"TG-NEED $p\"; fi; "
		 "echo \"TG-MACH $(uname -m)\"'",
		 r->version);
	st = capture_run(r, cmd, &k);
	if (st < 0)
		return st;
	if (sscanf(k.out, "TG-HAVE %599s", have) == 1) {
		tg_info("ssh %s: the remote has tungate %s (%s)", r->dest,
			r->version, have);
		return strcmp(have, "tungate") ? set_command(r, have) : 0;
	}
	if (sscanf(k.out, "TG-NEED %599s\nTG-MACH %63s", have, mach) != 2)
		return tp_ssh_fail(r, -EIO,
				   "--install: cannot look for tungate on the "
				   "remote (exit status %d%s%s)",
				   st, r->last_err[0] ? ": " : "", r->last_err);
	fd = install_open(r, mach, &arch, &size);
	if (fd < 0)
		return fd;
	if (strcmp(arch, mach) &&
	    !(strcmp(arch, "i686") == 0 && mach[0] == 'i'))
		st = tp_ssh_fail(
			r, -ENOEXEC,
			"--install: the remote is %s but the binary is "
			"%s; name a %s build with --install-binary PATH",
			mach, arch, mach);
	else
		st = install_upload(r, fd, size, have);
	close(fd);
	return st < 0 ? st : set_command(r, have);
}
