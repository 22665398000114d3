/* SPDX-License-Identifier: MIT */
/*
 * ssh_pump.c - bytes between the socketpair and the exec channel.
 *
 * Theory of operation: one poll() over three fds: the stop pipe, the SSH
 * socket and our end of the socketpair, each asked only for what can be
 * acted on now, so the thread sleeps whenever nothing can move.
 *
 * channel -> stream: ssh_channel_read_nonblocking() copies into obuf (the
 * one copy), write() drains it into the socketpair. While obuf is not
 * drained the channel is not read, libssh stops growing the window, and
 * the server stops sending: the link's pace is the session's pace.
 *
 * stream -> channel: read() into ibuf, ssh_channel_write() of no more than
 * the peer's window, and no new read while libssh still holds unsent
 * output (SSH_WRITE_PENDING): then we wait for the socket to be writable
 * and let libssh flush. libssh's buffers never grow beyond one ibuf.
 *
 * The remote's stderr is logged line by line, prefixed with the host, from
 * libssh's data callback, through a rate limiter (ssh_thread.c): a flood
 * of it is counted.
 *
 * Latency: a wake-up for one direction does not touch the other. The
 * channel is not read when poll() saw no SSH data and libssh counted no
 * packet since it was read dry; the socketpair is not read after a short
 * read until poll() says so; POLLOUT is asked for only while libssh holds
 * unwritten output; and the window is topped up once per WINDOW_SLACK,
 * not after every packet (fill_ask()). One small packet each way then
 * costs the thread one poll() wake-up, one read and one write or send.
 *
 * Liveness: after ServerAliveInterval (default 15 s) without a packet
 * from the server (libssh's own counter, since it reads the socket in
 * more places than our poll sees) a keepalive request is sent; with
 * nothing heard for ServerAliveCountMax (default 3) intervals the server
 * is gone.
 *
 * The end: the remote sent EOF (the inside exited) -> drain obuf, collect
 * the exit status (2 s at most), done. The link shut its side -> EOF to
 * the channel, wait for the remote to exit (3 s, then a TERM signal, then
 * 2 s more). A stop request -> done at once. The socketpair stays open: the
 * loop closes it after it has the result.
 */
#include <errno.h>
#include <libssh/server.h> /* ssh_send_keepalive(), a client call too */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "transport/ssh_internal.h"

#define ROUNDS 16 /* reads per direction per wake-up */
#define WINDOW_SLACK (128u * 1024) /* window used before we top it up */
#define SOCK_READ 4096 /* libssh's read off its socket (MAX_BUF_SIZE) */
#define EXIT_WAIT_MS 2000 /* remote EOF -> its exit status */
#define EOF_WAIT_MS 3000 /* our EOF -> the remote exits, before TERM */
#define TERM_WAIT_MS 2000 /* TERM -> the remote exits */
#define ALIVE_DEFAULT_S 15
#define ALIVE_COUNT_DEFAULT 3

struct pump {
	struct ssh_counter_struct rx; /* what libssh read, wherever */
	struct ssh_counter_struct sock; /* bytes libssh read off the socket */
	uint64_t rx_packets;	     /* rx.in_packets when last looked */
	uint64_t rx_drained;	     /* rx.in_packets when the channel was
				      * last read dry */
	uint32_t grant;		     /* what the server may still send, as
				      * far as we know (see fill_out) */
	bool ssh_ready;		     /* poll() saw the SSH socket readable */
	uint64_t last_rx, last_ka;
	uint64_t ka_ms, dead_ms;
	uint64_t chan_eof_at, eof_sent_at;
	bool chan_eof, eof_sent, signalled;
};

/**
 * tp_ssh_stash_stream() - read what the link wrote into ibuf
 * @r:		session
 *
 * Return: bytes read (0: none now, or EOF: r->sp_eof), or -errno
 */
int tp_ssh_stash_stream(struct tp_ssh_run *r)
{
	ssize_t n;

	if (r->sp_eof)
		return 0;
	if (r->ioff == r->ilen)
		r->ioff = r->ilen = 0;
	if (r->ilen >= TP_SSH_BUF)
		return 0;
	n = read(r->sp, r->ibuf + r->ilen, TP_SSH_BUF - r->ilen);
	if (n > 0) {
		/* a stream socket's short read took all there was */
		r->sp_idle = (size_t)n < TP_SSH_BUF - r->ilen;
		r->ilen += (size_t)n;
		return (int)n;
	}
	if (n == 0) {
		r->sp_eof = true;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		r->sp_idle = true;
		return 0;
	}
	if (errno == EINTR)
		return 0;
	r->sp_eof = r->sp_dead = true;
	return -errno;
}

static int pump_lost(struct tp_ssh_run *r)
{
	return tp_ssh_fail(r, -ECONNRESET, "connection lost: %s",
			   ssh_get_error(r->sess));
}

/* obuf -> socketpair; true when obuf is empty */
static bool flush_out(struct tp_ssh_run *r)
{
	while (r->ooff < r->olen && !r->sp_dead) {
		ssize_t n = write(r->sp, r->obuf + r->ooff, r->olen - r->ooff);

		if (n > 0) {
			r->ooff += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return false;
		} else {
			r->sp_dead = true; /* the loop closed it: discard */
		}
	}
	r->ooff = r->olen = 0;
	return true;
}

/*
 * How much to ask ssh_channel_read_timeout() for. libssh grows the
 * channel's window to the count asked whenever that is more than the
 * server may still send, with a WINDOW_ADJUST each time: asking for all
 * of obuf on every call sent one adjust per packet received, an encrypted
 * packet more each way and an sshd wake-up in front of every reply. So
 * ask for no more than the grant left until WINDOW_SLACK of it has been
 * used, then for all of obuf's room: one adjust per WINDOW_SLACK bytes,
 * as OpenSSH's channel_check_window() does, and the window stays within
 * WINDOW_SLACK of TP_SSH_OBUF, which is what a long round trip needs.
 */
static uint32_t fill_ask(const struct tp_ssh_run *r, const struct pump *p)
{
	uint32_t room = (uint32_t)(TP_SSH_OBUF - r->olen);

	if (p->grant + WINDOW_SLACK > TP_SSH_OBUF && room > p->grant)
		return p->grant;
	return room;
}

/*
 * The channel has nothing more for us until the socket brings more: a
 * read call polls the socket once and reads it at most once, SOCK_READ
 * bytes, so fewer bytes read off it (@before: the count before the call)
 * means it was dry. If libssh ever reads otherwise, the level-triggered
 * poll() that follows wakes at once: a wake-up more, never a stall.
 */
static bool fill_drained(struct tp_ssh_run *r, const struct pump *p,
			 uint64_t before)
{
	return !ssh_channel_is_eof(r->chan) && !ssh_channel_is_closed(r->chan) &&
	       p->sock.in_bytes - before < SOCK_READ;
}

/*
 * Fill obuf from the channel. libssh reads its socket 4 KiB per call and
 * returns nothing until a whole packet (up to 32 KiB) is in: keep calling
 * while the socket has more, so that one wake-up moves many packets and
 * the socketpair gets few large writes. One call hands over every whole
 * packet libssh has, so a short read with the socket dry ends the round
 * without another call (each is a poll()). ssh_channel_read_timeout()
 * with no timeout is the non-blocking read that also grows the window
 * (fill_ask()): to TP_SSH_OBUF, not libssh's 1.25 MiB, which held the
 * upload to 1.25 MiB per round trip.
 *
 * Return: 0 (*@dry: the channel is read dry) or -errno
 */
static int fill_out(struct tp_ssh_run *r, struct pump *p, bool *dry)
{
	*dry = false;
	while (r->olen < TP_SSH_OBUF && !p->chan_eof) {
		uint32_t ask = fill_ask(r, p);
		uint64_t before = p->sock.in_bytes;
		int n = ssh_channel_read_timeout(r->chan, r->obuf + r->olen,
						 ask, 0, 0);

		if (ask > p->grant)
			p->grant = ask;
		if (n > 0) {
			r->olen += (size_t)n;
			p->grant -= (uint32_t)n;
			if ((uint32_t)n < ask && fill_drained(r, p, before))
				*dry = true;
		} else if ((n == 0 && ssh_channel_is_eof(r->chan)) ||
			   (n == SSH_ERROR && ssh_channel_is_closed(r->chan))) {
			p->chan_eof = true;
			p->chan_eof_at = tp_ssh_now();
		} else if (n == SSH_ERROR) {
			return pump_lost(r);
		} else if (fill_drained(r, p, before)) {
			*dry = true;
		}
		if (*dry)
			break;
	}
	if (*dry)
		p->rx_drained = p->rx.in_packets;
	return 0;
}

/*
 * Nothing can have come for the channel since it was read dry: poll()
 * did not see the socket readable and libssh (which reads it inside
 * writes too) counted no packet since. Saves the calls (each a poll())
 * of a wake-up for the other direction.
 */
static bool out_idle(const struct tp_ssh_run *r, const struct pump *p)
{
	return !p->ssh_ready && p->rx.in_packets == p->rx_drained &&
	       r->ooff == r->olen;
}

/* channel stdout -> socketpair (stderr goes to the log from libssh's
 * callback, ssh_thread.c) */
static int pump_out(struct tp_ssh_run *r, struct pump *p)
{
	bool dry = false;
	int n;

	if (out_idle(r, p))
		return 0;
	for (int i = 0; i < ROUNDS && flush_out(r) && !p->chan_eof; i++) {
		n = fill_out(r, p, &dry);
		if (n < 0)
			return n;
		if (!r->olen || dry)
			break;
	}
	flush_out(r);
	return 0;
}

/*
 * libssh holds output it could not write. Not ssh_get_poll_flags(): it
 * asks for POLLOUT after every write, written out or not, so a poll() on
 * it returned at once after each packet sent, for nothing.
 */
static bool write_pending(struct tp_ssh_run *r)
{
	return ssh_get_status(r->sess) & SSH_WRITE_PENDING;
}

/* socketpair -> channel, within the peer's window */
static int pump_in(struct tp_ssh_run *r, struct pump *p)
{
	for (int i = 0; i < ROUNDS && !p->eof_sent; i++) {
		uint32_t win;
		size_t len;
		int n;

		if (r->ioff == r->ilen &&
		    (r->sp_idle || tp_ssh_stash_stream(r) <= 0))
			break;
		if (write_pending(r))
			break;
		win = ssh_channel_window_size(r->chan);
		if (!win)
			break;
		len = r->ilen - r->ioff;
		if (len > win)
			len = win;
		n = ssh_channel_write(r->chan, r->ibuf + r->ioff,
				      (uint32_t)len);
		if (n == SSH_ERROR)
			return p->chan_eof ? 0 : pump_lost(r);
		if (n <= 0)
			break; /* key exchange in progress */
		r->ioff += (size_t)n;
	}
	if (r->sp_eof && r->ioff == r->ilen && !p->eof_sent) {
		p->eof_sent = true;
		p->eof_sent_at = tp_ssh_now();
		if (!p->chan_eof)
			ssh_channel_send_eof(r->chan);
	}
	return 0;
}

static bool exit_known(struct tp_ssh_run *r)
{
	return r->exit_status >= 0 || r->exit_signal ||
	       ssh_channel_is_closed(r->chan);
}

/* true when the session is over (see the top) */
static bool pump_done(struct tp_ssh_run *r, struct pump *p)
{
	uint64_t now = tp_ssh_now();

	if (p->chan_eof || p->eof_sent)
		ssh_channel_get_exit_status(r->chan); /* reads what came */
	if (p->chan_eof && (r->ooff == r->olen || r->sp_dead))
		return exit_known(r) || now - p->chan_eof_at >= EXIT_WAIT_MS;
	if (!p->eof_sent)
		return ssh_channel_is_closed(r->chan);
	if (exit_known(r))
		return true;
	if (!p->signalled && now - p->eof_sent_at >= EOF_WAIT_MS) {
		p->signalled = true;
		tg_debug("ssh %s: the remote command is still running after "
			 "EOF; sending it TERM",
			 r->dest);
		ssh_channel_request_send_signal(r->chan, "TERM");
	}
	return now - p->eof_sent_at >= EOF_WAIT_MS + TERM_WAIT_MS;
}

static int pump_keepalive(struct tp_ssh_run *r, struct pump *p)
{
	uint64_t now = tp_ssh_now();

	if (!p->ka_ms)
		return 0;
	/* libssh reads the socket inside channel reads and keepalive calls
	 * too, so a poll() wake-up is not the only sign of life: a packet
	 * it counted is */
	if (p->rx.in_packets != p->rx_packets) {
		p->rx_packets = p->rx.in_packets;
		p->last_rx = now;
	}
	if (p->dead_ms && now - p->last_rx >= p->dead_ms)
		return tp_ssh_fail(r, -ETIMEDOUT,
				   "the server has not answered for %llu s: "
				   "the connection is gone",
				   (unsigned long long)(now - p->last_rx) /
					   1000);
	if (now - p->last_rx >= p->ka_ms && now - p->last_ka >= p->ka_ms) {
		/* a reply left from the last round is consumed by the first
		 * call, so the second one always sends */
		ssh_send_keepalive(r->sess);
		ssh_send_keepalive(r->sess);
		p->last_ka = now;
	}
	return 0;
}

static int pump_timeout(const struct pump *p)
{
	uint64_t now = tp_ssh_now(), t = 1000;

	if (p->ka_ms) {
		uint64_t due = p->last_ka + p->ka_ms;

		if (p->last_rx + p->ka_ms > due)
			due = p->last_rx + p->ka_ms;
		t = due > now ? due - now : 0;
		if (t > 1000)
			t = 1000;
	}
	if (p->chan_eof || p->eof_sent)
		t = t > 100 ? 100 : t;
	return (int)t;
}

/* sleep until something can move; -ECANCELED on a stop request */
static int pump_poll(struct tp_ssh_run *r, struct pump *p)
{
	bool out_pending = r->ooff < r->olen && !r->sp_dead;
	bool wpend = write_pending(r);
	struct pollfd f[3] = {
		{.fd = r->ctl, .events = POLLIN},
		{.fd = ssh_get_fd(r->sess),
		 .events = (short)((out_pending ? 0 : POLLIN) |
				   (wpend ? POLLOUT : 0))},
		{.fd = r->sp,
		 .events = (short)((!r->sp_eof && r->ioff == r->ilen ? POLLIN
								     : 0) |
				   (out_pending ? POLLOUT : 0))},
	};

	if (!f[1].events)
		f[1].fd = -1; /* a hung-up socket would wake us for nothing */
	if (!f[2].events)
		f[2].fd = -1;
	if (poll(f, 3, pump_timeout(p)) < 0 && errno != EINTR)
		return tp_ssh_fail(r, -errno, "poll: %s", strerror(errno));
	if (f[0].revents)
		return -ECANCELED;
	p->ssh_ready = f[1].revents & (POLLIN | POLLHUP | POLLERR);
	if (f[2].revents & (POLLIN | POLLHUP | POLLERR))
		r->sp_idle = false;
	if (p->ssh_ready || out_pending)
		p->last_rx = tp_ssh_now();
	if (f[1].revents & POLLOUT)
		ssh_blocking_flush(r->sess, 0);
	return 0;
}

/* the remote command's end, as a status and (if it failed) one line */
static void pump_result(struct tp_ssh_run *r, const struct pump *p)
{
	const char *c = r->cmd, *e = r->last_err;
	const char *sep = e[0] ? ": " : "";

	tp_ssh_log_stderr(r, "", 0, true);
	if (r->exit_signal) {
		r->status = 128 + r->exit_signal;
		tp_ssh_fail(r, r->status,
			    "the remote command '%s' was killed by signal %s",
			    c, r->signame);
	} else if (r->exit_status < 0 && p->eof_sent) {
		r->status = -ECANCELED; /* we ended it and did not wait */
	} else if (r->exit_status < 0) {
		r->status = -ECONNRESET;
		tp_ssh_fail(r, r->status,
			    "the remote command '%s' ended without an exit "
			    "status%s%s",
			    c, sep, e);
	} else if ((r->status = r->exit_status) == 0) {
		return;
	} else if (r->sudo_password) {
		tp_ssh_fail(r, r->status,
			    "sudo on the remote asks for a password: allow "
			    "tungate with NOPASSWD in sudoers there, or log in "
			    "as root");
	} else if (r->status == 127) {
		tp_ssh_fail(
			r, r->status,
			"the remote command '%s' was not found (exit status "
			"127%s%s): install tungate there, pass --install, or "
			"name it with --remote-command",
			c, sep, e);
	} else {
		tp_ssh_fail(r, r->status,
			    "the remote command '%s' exited with status %d%s%s",
			    c, r->status, sep, e);
	}
}

/**
 * tp_ssh_pump() - move bytes until the session ends (see the top)
 * @r:		session with r->chan running the remote command
 *
 * Return: 0 with r->status set (the remote's exit), or -errno (recorded;
 * -ECANCELED: stopped, no line)
 */
int tp_ssh_pump(struct tp_ssh_run *r)
{
	int a = r->cfg.alive_interval, n = r->cfg.alive_count;
	struct pump p = {0};
	int err = 0;

	p.last_rx = p.last_ka = tp_ssh_now();
	p.ssh_ready = true; /* read at once: what came with the exec reply */
	r->sp_idle = false;
	ssh_set_counters(r->sess, &p.sock, &p.rx);
	p.ka_ms = (uint64_t)(a < 0 ? ALIVE_DEFAULT_S : a) * 1000;
	p.dead_ms = p.ka_ms * (uint64_t)(n < 0 ? ALIVE_COUNT_DEFAULT : n);
	while (!err) {
		err = pump_out(r, &p);
		if (!err)
			err = pump_in(r, &p);
		if (err || pump_done(r, &p))
			break;
		err = pump_keepalive(r, &p);
		if (!err)
			err = pump_poll(r, &p);
	}
	ssh_set_counters(r->sess, NULL, NULL); /* p is going away */
	if (err)
		return err;
	pump_result(r, &p);
	return 0;
}
