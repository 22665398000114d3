/* SPDX-License-Identifier: MIT */
/*
 * ssh_tty.c - questions to the user on the terminal (/dev/tty).
 *
 * Theory of operation: the outside's stdin and stdout may be anything (a
 * systemd service has neither a terminal nor a controlling tty), so the
 * SSH thread asks on /dev/tty, as ssh does: a host key to confirm, a key's
 * passphrase, a password. Without a controlling terminal, open() fails and
 * the caller falls back to a message that says what to do instead. While
 * waiting for the answer the thread still watches the stop pipe and the
 * stream, so Ctrl-C or tp_ssh_close() ends the question at once (the
 * terminal's echo is restored).
 *
 * The loop is told when a question starts and ends waiting for the user
 * (prompt_cb, so that the link's handshake clock does not run out on a
 * slow typist): a counter, odd while waiting, and a wake-up of its async
 * handle; the loop reads the counter and calls back there.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "transport/ssh_internal.h"

bool tp_ssh_tty_present(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* start or stop waiting for the user; the loop calls prompt_cb */
static void tty_waiting(struct tp_ssh_run *r)
{
	atomic_fetch_add(&r->prompts, 1);
	if (r->wake)
		uv_async_send(r->wake);
}

static void tty_write(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* read one line into @buf; 0, -ECANCELED or -EIO */
static int tty_line(struct tp_ssh_run *r, int fd, char *buf, size_t len)
{
	size_t n = 0;
	char c;

	for (;;) {
		struct pollfd p[3] = {{.fd = r->ctl, .events = POLLIN},
				      {.fd = fd, .events = POLLIN},
				      {.fd = r->sp, .events = POLLIN}};
		nfds_t np = !r->sp_eof && r->ilen < TP_SSH_BUF ? 3 : 2;
		ssize_t got;

		if (poll(p, np, -1) < 0 && errno != EINTR)
			return -errno;
		if (p[0].revents)
			return -ECANCELED;
		if (np == 3 && p[2].revents &&
		    (tp_ssh_stash_stream(r), r->sp_eof))
			return -ECANCELED;
		if (!p[1].revents)
			continue;
		/* canonical mode: a read ends at the newline; one byte at a
		 * time so that nothing after it is taken */
		got = read(fd, &c, 1);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0)
			return -EIO;
		if (c == '\n')
			break;
		if (n + 1 < len)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
}

/**
 * tp_ssh_tty_ask() - ask on the terminal, read one line
 * @r:		session (its stop pipe and stream are watched meanwhile)
 * @prompt:	printed as is
 * @buf:	the answer, without its newline; wiped by the caller
 * @len:	size of @buf
 * @echo:	false for secrets
 *
 * A running deadline restarts afterwards: the user's time does not count.
 *
 * Return: 0, -ENXIO (no terminal), -ECANCELED (stopped), or -EIO
 */
int tp_ssh_tty_ask(struct tp_ssh_run *r, const char *prompt, char *buf,
		   size_t len, bool echo)
{
	struct termios old, t;
	bool restore = false;
	int fd, err;

	buf[0] = '\0';
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -ENXIO;
	if (!echo && tcgetattr(fd, &old) == 0) {
		t = old;
		t.c_lflag &= ~(tcflag_t)ECHO;
		t.c_lflag |= ECHONL;
		restore = tcsetattr(fd, TCSAFLUSH, &t) == 0;
	}
	tty_waiting(r);
	tty_write(fd, prompt);
	err = tty_line(r, fd, buf, len);
	tty_waiting(r);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (err == -ECANCELED) {
		tty_write(fd, "\n");
		r->canceled = true;
	}
	close(fd);
	if (r->deadline)
		r->deadline = tp_ssh_now() + r->timeout_ms;
	return err;
}
