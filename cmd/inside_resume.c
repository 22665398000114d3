/* SPDX-License-Identifier: MIT */
/*
 * inside_resume.c - handing a new stream to the inside that waits for it.
 *
 * Theory of operation: an inside with a session listens on
 * /run/tungate/<netns inode>-<ifname>.sock (beside its state file, mode
 * 0600, root's directory). When the outside reconnects, sshd starts a new
 * inside; the outside's HELLO names the session. That new inside connects
 * here and sends one message: a fixed header (magic, session id, the SSH
 * client it saw, its pid, how many bytes follow) with its stdin, stdout
 * and stderr attached (SCM_RIGHTS), then the bytes it had already read
 * past the HELLO. The waiting inside answers one byte: 'Y' (taken: the new
 * inside exits, the waiting one carries on over the new stream) or 'N'
 * (another session: the outside restarted, so the waiting inside stops
 * and the new one starts afresh). An offer may also be one more stripe
 * of the running session (the outside's HELLO said so): taken alongside
 * the stream the inside has, or refused without consequence. Both ends check that the other is root
 * (SO_PEERCRED).
 *
 * The exchange is local and small, so it is done with blocking calls
 * bounded by socket timeouts, outside the packet path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd/inside_resume.h"
#include "lib/wire.h"

#ifndef TG_VERSION
#define TG_VERSION "unknown"
#endif

#define MAGIC "TGRESUM1"
#define VER_LEN 32 /* TG_VERSION, NUL padded */
#define HDR_LEN (8 + VER_LEN + TP_SESSION_LEN + 2 + 16 + 4 + 4 + 1)
#define IO_TIMEOUT_S 3
#define EXCHANGE_MS 5000 /* the whole offer, however slowly it trickles */
#define N_FDS 3

struct inside_resume {
	uv_poll_t poll;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	resume_offer_fn cb;
	void *arg;
};

static int sock_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

/* only root may hand us a stream, or take ours */
static int peer_is_root(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	return uc.uid == 0 || uc.uid == geteuid() ? 0 : -EPERM;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void set_timeouts_off(int fd)
{
	struct timeval tv = {0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* all of @len bytes, within the exchange's deadline: a peer that trickles
 * cannot hold the waiting inside's loop for long */
static int io_all(int fd, void *buf, size_t len, bool rd, uint64_t deadline)
{
	uint8_t *p = buf;

	while (len) {
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		ssize_t n = rd ? recv(fd, p, len, MSG_WAITALL)
			       : send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void hdr_encode(uint8_t *h, const struct resume_offer *o)
{
	memcpy(h, MAGIC, 8);
	memset(h + 8, 0, VER_LEN);
	memcpy(h + 8, TG_VERSION, strnlen(TG_VERSION, VER_LEN - 1));
	h += VER_LEN;
	memcpy(h + 8, o->session, TP_SESSION_LEN);
	h += 8 + TP_SESSION_LEN;
	h[0] = o->ssh_client.family;
	h[1] = o->ssh_client.plen;
	memcpy(h + 2, o->ssh_client.addr, 16);
	tg_put_be32(h + 18, (uint32_t)o->pid);
	tg_put_be32(h + 22, (uint32_t)o->rest_len);
	h[26] = o->stripe;
}

/* -EPROTO: another tungate version, which may speak otherwise on the
 * stream: treated like another session */
static int hdr_decode(const uint8_t *h, struct resume_offer *o)
{
	char ver[VER_LEN] = {0};

	if (memcmp(h, MAGIC, 8))
		return -EBADMSG;
	memcpy(ver, TG_VERSION, strnlen(TG_VERSION, VER_LEN - 1));
	if (memcmp(h + 8, ver, VER_LEN))
		return -EPROTO;
	h += VER_LEN;
	memcpy(o->session, h + 8, TP_SESSION_LEN);
	h += 8 + TP_SESSION_LEN;
	memset(&o->ssh_client, 0, sizeof(o->ssh_client));
	o->ssh_client.family = h[0];
	o->ssh_client.plen = h[1];
	memcpy(o->ssh_client.addr, h + 2, 16);
	o->pid = (pid_t)tg_be32(h + 18);
	o->rest_len = tg_be32(h + 22);
	o->stripe = h[26] == 1;
	if (o->rest_len > RESUME_REST_MAX)
		return -EMSGSIZE;
	return 0;
}

#define MAX_FDS 16 /* received at most; all closed unless exactly N_FDS */

/* the header, with the fds it carries */
static int recv_hdr(int fd, uint8_t *h, int fds[N_FDS])
{
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = h, .iov_len = HDR_LEN};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cm.buf,
			   .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *c;
	ssize_t n = recvmsg(fd, &m, MSG_WAITALL | MSG_CMSG_CLOEXEC);
	int got[MAX_FDS];
	size_t nfds = 0;

	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (k > MAX_FDS - nfds)
			k = MAX_FDS - nfds;
		memcpy(got + nfds, CMSG_DATA(c), k * sizeof(int));
		nfds += k;
	}
	if (n != HDR_LEN || nfds != N_FDS || (m.msg_flags & MSG_CTRUNC)) {
		for (size_t i = 0; i < nfds; i++)
			close(got[i]);
		return -EBADMSG;
	}
	memcpy(fds, got, sizeof(int) * N_FDS);
	return 0;
}

static int send_hdr(int fd, const uint8_t *h, const int fds[N_FDS])
{
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(N_FDS * sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = (void *)h, .iov_len = HDR_LEN};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cm.buf,
			   .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	memset(cm.buf, 0, sizeof(cm.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(N_FDS * sizeof(int));
	memcpy(CMSG_DATA(c), fds, N_FDS * sizeof(int));
	if (sendmsg(fd, &m, MSG_NOSIGNAL) != HDR_LEN)
		return errno ? -errno : -EIO;
	return 0;
}

static void close_fds(struct resume_offer *o)
{
	close(o->fd_in);
	close(o->fd_out);
	close(o->fd_err);
}

/* one offer on connection @fd; the answer goes back after the callback,
 * so a refusing inside has already cleaned up when the new one starts
 * afresh. Return: true when taken (the connection is then the
 * callback's) */
static bool serve(struct inside_resume *r, int fd)
{
	uint8_t h[HDR_LEN], reply[5];
	struct resume_offer o = {.conn = fd};
	uint64_t deadline = now_ms() + EXCHANGE_MS;
	int fds[N_FDS] = {-1, -1, -1}, res, rfd;

	set_timeouts(fd);
	if (peer_is_root(fd) < 0 || recv_hdr(fd, h, fds) < 0)
		return false;
	o.fd_in = fds[0];
	o.fd_out = fds[1];
	o.fd_err = fds[2];
	res = hdr_decode(h, &o);
	if (res == 0 && o.rest_len) {
		o.rest = malloc(o.rest_len);
		res = o.rest ? io_all(fd, o.rest, o.rest_len, true, deadline)
			     : -ENOMEM;
	}
	reply[0] = 'N';
	tg_put_be32(reply + 1, (uint32_t)getpid());
	/* the callback may close fd (a stream that ends at once): answer on
	 * a duplicate, which keeps the socket open for the reply */
	rfd = dup(fd);
	if (res == -EPROTO) {
		o.other_version = true; /* the callback refuses it */
		res = 0;
	}
	if (res < 0 || rfd < 0) {
		close_fds(&o);
	} else if (r->cb(r->arg, &o) == 0) {
		reply[0] = 'Y';
		/* the connection stays open as long as the stream: no
		 * timeouts on it from here on */
		set_timeouts_off(rfd);
	}
	if (rfd >= 0) {
		io_all(rfd, reply, sizeof(reply), false, deadline);
		close(rfd);
	}
	free(o.rest);
	return reply[0] == 'Y';
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct inside_resume *r = h->data;
	int fd;

	if (status < 0)
		return;
	fd = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* the callback may close r: serve() must not touch it afterwards */
	if (!serve(r, fd))
		close(fd);
}

/**
 * inside_resume_listen() - accept offers of a new stream
 * @loop:	event loop
 * @path:	socket path (inside_resume_path()); a stale file is replaced,
 *		which is safe because our state file's lock is held
 * @cb:		called for each offer
 * @arg:	for @cb
 * @out:	set to the listener
 *
 * Return: 0, or -errno
 */
int inside_resume_listen(uv_loop_t *loop, const char *path, resume_offer_fn cb,
			 void *arg, struct inside_resume **out)
{
	struct inside_resume *r;
	struct sockaddr_un a;
	int err = sock_addr(path, &a);

	if (err < 0)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->fd < 0) {
		err = -errno;
		free(r);
		return err;
	}
	unlink(path);
	if (bind(r->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(path, 0600) < 0 || listen(r->fd, 4) < 0) {
		err = -errno;
		close(r->fd);
		unlink(path);
		free(r);
		return err;
	}
	strcpy(r->path, path);
	r->cb = cb;
	r->arg = arg;
	uv_poll_init(loop, &r->poll, r->fd);
	r->poll.data = r;
	uv_poll_start(&r->poll, UV_READABLE, poll_cb);
	*out = r;
	return 0;
}

static void close_cb(uv_handle_t *h)
{
	struct inside_resume *r = h->data;

	close(r->fd);
	free(r);
}

void inside_resume_close(struct inside_resume *r)
{
	if (!r)
		return;
	unlink(r->path);
	uv_close((uv_handle_t *)&r->poll, close_cb);
}

/**
 * inside_resume_offer() - offer our stream to the inside waiting on @path
 * @path:	its socket
 * @o:		the offer; the fds stay ours (the kernel passes copies)
 * @pid:	set to the waiting inside's pid
 * @conn:	when taken, set to the open connection, for
 *		inside_resume_wait()
 *
 * Return: 0 taken, -ESRCH the waiting inside has another session (it
 * stops now), -ENOENT or -ECONNREFUSED when nobody waits, else -errno
 */
int inside_resume_offer(const char *path, const struct resume_offer *o,
			long *pid, int *conn)
{
	struct sockaddr_un a;
	uint8_t h[HDR_LEN], reply[5];
	int fds[N_FDS] = {o->fd_in, o->fd_out, o->fd_err};
	uint64_t deadline = now_ms() + EXCHANGE_MS;
	int fd, err = sock_addr(path, &a);

	if (err < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	set_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		err = -errno;
	if (!err)
		err = peer_is_root(fd);
	hdr_encode(h, o);
	if (!err)
		err = send_hdr(fd, h, fds);
	if (!err && o->rest_len)
		err = io_all(fd, o->rest, o->rest_len, false, deadline);
	if (!err)
		err = io_all(fd, reply, sizeof(reply), true, deadline);
	if (err || reply[0] != 'Y') {
		close(fd);
		if (!err)
			*pid = (long)tg_be32(reply + 1);
		return err ? err : -ESRCH;
	}
	*pid = (long)tg_be32(reply + 1);
	set_timeouts_off(fd);
	*conn = fd;
	return 0;
}

/**
 * inside_resume_wait() - block until the inside that took our stream is
 * done with it (it closes the connection, or exits), then close @conn
 * @conn:	from inside_resume_offer()
 */
void inside_resume_wait(int conn)
{
	char c;
	ssize_t n;

	do
		n = recv(conn, &c, 1, 0);
	while (n > 0 || (n < 0 && errno == EINTR));
	close(conn);
}
