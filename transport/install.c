/* SPDX-License-Identifier: MIT */
/*
 * install.c - probe, --install and the inside's command, for --ssh and
 * --via alike.
 *
 * Theory of operation: everything here runs in the transport's thread and
 * reaches the remote only through tp_remote_script(), which runs one sh
 * script there to its end (an SSH exec channel for --ssh, `PREFIX sh -c`
 * for --via): the transport is the only difference.
 *
 * The probe is one script. It looks for our version (the cached copy
 * ~/.cache/tungate/tungate-VERSION, then `tungate` on the PATH, each asked
 * with `version`), and says the remote's `uname -m` and whether the inside
 * needs sudo (root already: no; else `sudo -n true` must work). With
 * --install and no copy of our version, a second script runs `cat` into a
 * temporary file beside the cache path, with the binary for the remote's
 * machine type on its stdin (an --install-binary ARCH=PATH for it, a
 * plain --install-binary PATH, our own executable if it is built for it,
 * or tungate-ARCH beside ours), and renames it into place only when its
 * size and SHA-256 are what we sent (a remote without sha256sum: the size
 * alone, said in the log). The ELF header of what is uploaded is checked
 * against `uname -m`, so a binary for another machine is never uploaded.
 *
 * Then the inside's command: the user's --remote-command with its word
 * `tungate` replaced by the path found, or by default
 * `[sudo -n] PATH inside --stdio`.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "transport/ssh_internal.h"
#include "transport/words.h"

#define OUT_CAP 2048
#define QPATH (4 * sizeof(((struct tp_ssh_run *)0)->path) + 3)

int tp_remote_script(struct tp_ssh_run *r, const char *script, int in_fd,
		     char *out, size_t cap)
{
	return r->via ? tp_via_script(r, script, in_fd, out, cap)
		      : tp_ssh_script(r, script, in_fd, out, cap);
}

/* the rest of the line after "TAG " in @out, into @buf; false: none */
static bool out_line(const char *out, const char *tag, char *buf, size_t n)
{
	size_t tl = strlen(tag);
	const char *p = out, *e;

	for (; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, '\n');
		if ((size_t)(e - p) > tl && !memcmp(p, tag, tl) &&
		    p[tl] == ' ') {
			snprintf(buf, n, "%.*s", (int)(e - p - tl - 1),
				 p + tl + 1);
			return true;
		}
		if ((size_t)(e - p) == tl && !memcmp(p, tag, tl)) {
			if (n)
				buf[0] = '\0';
			return true;
		}
	}
	return false;
}

/* "x86_64" for an ELF machine, so the remote's uname -m can be checked */
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
	if (!slash ||
	    snprintf(slash + 1, n - (size_t)(slash + 1 - buf), "tungate-%s",
		     mach) >= (int)(n - (size_t)(slash + 1 - buf)))
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
		tg_info("%s: the remote is %s: uploading %s", r->label, mach,
			path);
	*size = st.st_size;
	return fd;
}

/* the SHA-256 of what @fd holds, in hex; the offset is left at 0 */
static int file_sha256(int fd, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned len = 0;
	ssize_t n;
	int err = 0;

	if (!c)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		err = -EIO;
	for (off_t off = 0; !err && (n = pread(fd, buf, sizeof(buf), off));
	     off += n) {
		if (n < 0)
			err = -errno;
		else if (!EVP_DigestUpdate(c, buf, (size_t)n))
			err = -EIO;
	}
	if (!err && (!EVP_DigestFinal_ex(c, md, &len) || len != 32))
		err = -EIO;
	EVP_MD_CTX_free(c);
	for (unsigned i = 0; !err && i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	return err;
}

static int install_upload(struct tp_ssh_run *r, int fd, off_t size,
			  const char *dest)
{
	char script[QPATH + 1024], q[QPATH], out[OUT_CAP], got[160], hex[65];
	long long n = -1;
	char sum[80] = "";
	int st;

	if ((st = file_sha256(fd, hex)) < 0)
		return tp_ssh_fail(r, st,
				   "--install: cannot read the binary: "
				   "%s",
				   strerror(-st));
	tp_sh_quote(q, sizeof(q), dest);
	tg_info("%s: installing tungate %s into %s (%.1f MB)", r->label,
		r->version, dest, (double)size / 1e6);
	snprintf(
		script, sizeof(script),
		"p=%s; t=\"$p.tmp.$$\"\n"
		"mkdir -p \"${p%%/*}\" && cat >\"$t\" || "
		"{ rm -f \"$t\"; exit 1; }\n"
		"n=$(wc -c <\"$t\"); s=$(sha256sum <\"$t\" 2>/dev/null) || "
		"s=-\n"
		"echo \"TG-GOT $((n + 0)) ${s%%%% *}\"\n"
		"[ $((n + 0)) = %lld ] && { [ \"${s%%%% *}\" = %s ] || "
		"[ \"$s\" = - ]; } && chmod 0755 \"$t\" && mv -f \"$t\" \"$p\" "
		"&& echo TG-DONE || { rm -f \"$t\"; exit 1; }\n",
		q, (long long)size, hex);
	st = tp_remote_script(r, script, fd, out, sizeof(out));
	if (st < 0)
		return st;
	if (out_line(out, "TG-GOT", got, sizeof(got)))
		sscanf(got, "%lld %79s", &n, sum);
	if (st == 0 && strstr(out, "TG-DONE")) {
		if (!strcmp(sum, "-"))
			tg_info("%s: the remote has no sha256sum: checked the "
				"size only",
				r->label);
		tg_info("%s: installed %s (%lld bytes%s)", r->label, dest, n,
			strcmp(sum, "-") ? ", SHA-256 checked" : "");
		return 0;
	}
	if (n >= 0 && n != (long long)size)
		return tp_ssh_fail(r, -EIO,
				   "--install: %s got %lld of %lld bytes%s%s",
				   dest, n, (long long)size,
				   r->last_err[0] ? ": " : "", r->last_err);
	if (n >= 0 && strcmp(sum, hex) && strcmp(sum, "-"))
		return tp_ssh_fail(r, -EIO,
				   "--install: the SHA-256 of %s is %s, not "
				   "%s: the upload was corrupted",
				   dest, sum, hex);
	return tp_ssh_fail(r, -EIO,
			   "--install: writing %s failed (exit status %d%s%s)",
			   dest, st, r->last_err[0] ? ": " : "", r->last_err);
}

static bool version_ok(const char *v)
{
	return *v && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
			       "VWXYZ0123456789.+-_~") == strlen(v);
}

/* the probe failed: say which part, with the remote's own last line */
static int probe_failed(struct tp_ssh_run *r, int st)
{
	const char *e = r->last_err, *sep = e[0] ? ": " : "";

	if (r->via)
		return tp_ssh_fail(r, -EHOSTDOWN,
				   "the prefix did not run sh in the "
				   "container (exit status %d%s%s)",
				   st, sep, e);
	return tp_ssh_fail(r, -EIO,
			   "cannot look for tungate on the remote (exit "
			   "status %d%s%s)",
			   st, sep, e);
}

static int install_arch(struct tp_ssh_run *r, const char *mach,
			const char *dest)
{
	const char *arch = NULL;
	off_t size = 0;
	int fd, st;

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
		st = install_upload(r, fd, size, dest);
	close(fd);
	return st;
}

/**
 * tp_remote_probe() - find (or with --install, put) our version on the
 * remote, and learn whether the inside needs sudo (see the top)
 * @r:		a session that can run scripts (logged in, or --via)
 *
 * Sets r->path (the tungate to run, "tungate" for the one on the PATH)
 * and r->root (1: root already, 0: sudo -n works).
 *
 * Return: 0, or -errno (recorded): -EHOSTDOWN (--via: the prefix ran no
 * sh in the container), -ENOENT (no tungate there, no --install), -EACCES
 * (not root and no sudo -n), -ENOEXEC (no binary for that machine), -EIO
 */
int tp_remote_probe(struct tp_ssh_run *r)
{
	char script[1024], out[OUT_CAP], have[sizeof(r->path)], mach[64],
		who[32], onpath[sizeof(r->path)] = "";
	int st;

	if (!version_ok(r->version))
		return tp_ssh_fail(r, -EINVAL, "--install: bad version '%s'",
				   r->version);
	snprintf(script, sizeof(script),
		 "v='%s'; p=\"$HOME/.cache/tungate/tungate-$v\"\n"
		 "if [ -x \"$p\" ] && \"$p\" version 2>/dev/null | "
		 "grep -q \"^tungate $v \"; then echo \"TG-HAVE $p\"\n"
		 "elif tungate version 2>/dev/null | grep -q \"^tungate $v \"; "
		 "then echo TG-HAVE tungate\n"
		 "else echo \"TG-NEED $p\"; fi\n"
		 "echo \"TG-PATH $(command -v tungate)\"\n"
		 "echo \"TG-MACH $(uname -m)\"\n"
		 "if [ \"$(id -u)\" = 0 ]; then echo TG-WHO root\n"
		 "elif sudo -n true 2>/dev/null; then echo TG-WHO sudo\n"
		 "else echo \"TG-WHO $(id -un 2>/dev/null || id -u)\"; fi\n",
		 r->version);
	st = tp_remote_script(r, script, -1, out, sizeof(out));
	if (st < 0)
		return st;
	if (!out_line(out, "TG-MACH", mach, sizeof(mach)) ||
	    !out_line(out, "TG-WHO", who, sizeof(who)))
		return probe_failed(r, st);
	out_line(out, "TG-PATH", onpath, sizeof(onpath));
	r->root = !strcmp(who, "root") ? 1 : !strcmp(who, "sudo") ? 0 : -1;
	if (r->root < 0 && !r->cmd_given)
		return tp_ssh_fail(r, -EACCES,
				   "the remote user (%s) is not root and sudo "
				   "-n fails (no sudo, or it asks for a "
				   "password): enter as root, or allow "
				   "tungate with NOPASSWD in sudoers there",
				   who);
	if (out_line(out, "TG-HAVE", have, sizeof(have))) {
		tg_info("%s: the remote has tungate %s (%s)", r->label,
			r->version, have);
		snprintf(r->path, sizeof(r->path), "%s", have);
		return 0;
	}
	if (!out_line(out, "TG-NEED", have, sizeof(have)))
		return probe_failed(r, st);
	if (!r->install && onpath[0]) {
		/* another version: the handshake says which to upgrade */
		snprintf(r->path, sizeof(r->path), "tungate");
		return 0;
	}
	if (!r->install)
		return tp_ssh_fail(r, -ENOENT,
				   "no tungate in the container (%s or the "
				   "PATH): add --install to upload this one",
				   have);
	if ((st = install_arch(r, mach, have)) < 0)
		return st;
	snprintf(r->path, sizeof(r->path), "%s", have);
	return 0;
}

/* the remote command with its word "tungate" replaced by @q */
static char *replace_word(const struct tp_ssh_run *r, const char *q)
{
	const char *c = r->remote_cmd, *w = c;
	size_t len;
	char *cmd;

	while ((w = strstr(w, "tungate"))) {
		if ((w == c || w[-1] == ' ') && (w[7] == ' ' || !w[7]))
			break;
		w += 7;
	}
	if (!w) {
		tg_warn("%s: the remote command '%s' does not run "
			"'tungate' by that word; it runs as given",
			r->label, c);
		return strdup(c);
	}
	len = strlen(c) + strlen(q) + 1;
	cmd = malloc(len);
	if (cmd)
		snprintf(cmd, len, "%.*s%s%s", (int)(w - c), c, q, w + 7);
	return cmd;
}

/**
 * tp_remote_command() - r->cmd: the command line that runs the inside
 * @r:		session, after tp_remote_probe() if it ran (r->path set)
 *
 * The user's --remote-command (its word `tungate` becomes r->path), or
 * `[sudo -n] PATH inside --stdio`: sudo only when r->root says so, and
 * always when nothing was probed. Without the inside's options, which go
 * after it (r->cmd_args for a shell, r->inside_args as words).
 *
 * Return: 0, or -errno (recorded): -EACCES (not root, no sudo -n)
 */
int tp_remote_command(struct tp_ssh_run *r)
{
	char q[QPATH];
	size_t len;

	if (r->path[0] && strcmp(r->path, "tungate"))
		tp_sh_quote(q, sizeof(q), r->path);
	else
		snprintf(q, sizeof(q), "tungate");
	if (r->cmd_given) {
		r->cmd =
			r->path[0] ? replace_word(r, q) : strdup(r->remote_cmd);
	} else {
		len = strlen(q) + 32;
		if ((r->cmd = malloc(len)))
			snprintf(r->cmd, len, "%s%s inside --stdio",
				 r->path[0] && r->root ? "" : "sudo -n ", q);
	}
	return r->cmd ? 0 : tp_ssh_fail(r, -ENOMEM, "out of memory");
}
