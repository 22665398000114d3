/* SPDX-License-Identifier: MIT */
/*
 * control.c - the control socket of a running outside.
 *
 * Theory of operation: the socket is created by hand (socket, bind under
 * umask 0177, listen) so that it is mode 0600 from its first moment, in a
 * directory that must be ours and is forced to 0700; then libuv takes the
 * descriptor. Both would already keep other users out, but the peer's
 * credentials are checked as well (SO_PEERCRED, or getpeereid() where
 * that is what the system has): root, whom no mode stops, is refused too.
 *
 * A client sends one line, "status", and reads the document to EOF. The
 * loop never waits for a client: each has a deadline for what it must do
 * now (CTL_REQUEST_MS to send its request, then CTL_ANSWER_MS to take the
 * whole answer) and is dropped when it passes. The answer is rendered
 * into one scratch buffer of TG_CONTROL_DOC_MAX bytes and copied out at
 * its size, so a client that does not read holds only its own document;
 * all answers not yet taken together hold at most CTL_OUT_MAX, and the
 * oldest are dropped to make room. At most CTL_CONNS clients are served
 * at a time: a new one replaces the oldest. A client that connects and
 * closes (`tungate status` looking for outsides) costs no rendering, and
 * `tungate status --watch` asks afresh each second like any client, so a
 * stuck watcher or a crowd of silent clients never delays anyone else.
 *
 * A socket file whose outside is gone (connect() is refused) is removed
 * and replaced; one that answers belongs to a running outside, and the
 * caller picks another name. On close the file is removed only if it is
 * still the one we bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd/control.h"
#include "lib/log.h"

#define CTL_CONNS 128 /* clients at a time; the oldest goes for a new one */
#define CTL_REQUEST_MS 2000 /* to send the request */
#define CTL_ANSWER_MS 5000 /* to take the answer */
#define CTL_BACKLOG 64
#define CTL_OUT_MAX (4 * TG_CONTROL_DOC_MAX) /* answers not yet taken */

struct ctl_conn {
	uv_pipe_t pipe;
	uv_timer_t timer; /* the deadline of what the client must do now */
	uv_write_t wr;
	struct tg_control *c;
	char req[64]; /* the request line */
	size_t req_len;
	char *out; /* the answer, once asked */
	size_t out_len;
	unsigned handles; /* still to be closed */
	bool listed;
	struct ctl_conn *next, *prev; /* newer, older */
};

struct tg_control {
	uv_pipe_t listener;
	tg_control_render_fn render;
	void *arg;
	struct ctl_conn *oldest, *newest;
	unsigned n_conns;
	size_t out_bytes; /* of the answers not yet taken */
	char *scratch; /* TG_CONTROL_DOC_MAX bytes, where documents render */
	size_t scratch_len; /* the document in it (0: none) */
	uint64_t scratch_ms; /* rendered in the loop turn of this uv_now() */
	unsigned pending; /* uv_close() calls not yet called back */
	bool closing;
	ino_t ino;
	dev_t dev;
	uint64_t refused_log_ms;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int tg_control_dir(unsigned i, char *buf, size_t cap)
{
	const char *base;
	int r;

	switch (i) {
	case 0:
		base = getenv("XDG_RUNTIME_DIR");
		if (!base || base[0] != '/')
			return -ENOENT;
		r = snprintf(buf, cap, "%s/tungate", base);
		break;
	case 1:
		/* systemd-logind's, when XDG_RUNTIME_DIR is not passed on
		 * (sudo, some SSH sessions) */
		r = snprintf(buf, cap, "/run/user/%lu/tungate",
			     (unsigned long)geteuid());
		break;
	case 2:
		base = getenv("HOME");
		if (!base || base[0] != '/' || !strcmp(base, "/"))
			return -ENOENT;
		r = snprintf(buf, cap, "%s/.cache/tungate", base);
		break;
	case 3:
		r = snprintf(buf, cap, "/tmp/tungate-%lu",
			     (unsigned long)geteuid());
		break;
	default:
		return -ERANGE;
	}
	return r < 0 || (size_t)r >= cap ? -ENAMETOOLONG : 0;
}

void tg_control_safe_name(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	if (!cap)
		return;
	for (; *in && n + 1 < cap && n < TG_CONTROL_NAME_MAX; in++) {
		char c = *in;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || strchr("._@:+-", c);

		out[n] = ok && !(n == 0 && c == '.') ? c : '_';
		n++;
	}
	out[n] = '\0';
}

int tg_control_sockaddr(const char *dir, const char *name, char *path,
			size_t cap)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
	int r = snprintf(path, cap, "%s/%s.sock", dir, name);

	if (r < 0 || (size_t)r >= cap || (size_t)r >= max)
		return -ENAMETOOLONG;
	return 0;
}

/* @dir exists, is a directory of ours, and is 0700 (its parent too, if
 * it is ~/.cache and missing) */
static int ensure_dir(const char *dir, unsigned i)
{
	struct stat st;

	if (i == 2) {
		char parent[PATH_MAX];
		char *slash;

		snprintf(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		if (slash) {
			*slash = '\0';
			if (mkdir(parent, 0700) < 0 && errno != EEXIST)
				return -errno;
		}
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -EPERM;
	if ((st.st_mode & 077) && chmod(dir, 0700) < 0)
		return -errno;
	return 0;
}

static void sockaddr_of(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

/* a socket at @path: 0 if gone (removed), -EADDRINUSE if it answers */
static int clear_stale(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	sockaddr_of(&sa, path);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	if (errno != ECONNREFUSED && errno != ENOENT)
		return -errno;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int bind_listen(struct tg_control *c)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, r;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	/* not for the children (--exec, ssh's ProxyCommand) */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	sockaddr_of(&sa, c->path);
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, CTL_BACKLOG) < 0 || lstat(c->path, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	c->ino = st.st_ino;
	c->dev = st.st_dev;
	return fd;
}

/* try one place: the listening socket, or -errno */
static int open_in(struct tg_control *c, unsigned i, const char *name)
{
	char dir[PATH_MAX];
	int r;

	r = tg_control_dir(i, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = tg_control_sockaddr(dir, name, c->path, sizeof(c->path));
	if (r < 0)
		return r;
	r = ensure_dir(dir, i);
	if (r < 0)
		return r;
	r = clear_stale(c->path);
	if (r < 0)
		return r;
	return bind_listen(c);
}

static void control_free(struct tg_control *c)
{
	free(c->scratch);
	free(c);
}

/* the peer's user, or -errno */
static int peer_uid(uv_pipe_t *p, uid_t *uid, long *pid)
{
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)p, &fd) < 0)
		return -EBADF;
#ifdef SO_PEERCRED
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	*uid = cr.uid;
	*pid = (long)cr.pid;
#else
	gid_t gid;

	if (getpeereid(fd, uid, &gid) < 0)
		return -errno;
	*pid = -1;
#endif
	return 0;
}

static void conn_free_cb(uv_handle_t *h)
{
	struct ctl_conn *k = h->data;
	struct tg_control *c = k->c;

	if (--k->handles)
		return;
	free(k->out);
	free(k);
	c->pending--;
	if (c->closing && !c->pending)
		control_free(c);
}

static void conn_close(struct ctl_conn *k)
{
	struct tg_control *c = k->c;

	if (uv_is_closing((uv_handle_t *)&k->pipe))
		return;
	if (k->listed) {
		*(k->prev ? &k->prev->next : &c->oldest) = k->next;
		*(k->next ? &k->next->prev : &c->newest) = k->prev;
		k->listed = false;
		c->n_conns--;
	}
	c->out_bytes -= k->out_len;
	k->out_len = 0;
	uv_close((uv_handle_t *)&k->pipe, conn_free_cb);
	uv_close((uv_handle_t *)&k->timer, conn_free_cb);
}

/* a client that did not ask, or did not take its answer, in time */
static void deadline_cb(uv_timer_t *t)
{
	struct ctl_conn *k = t->data;

	tg_debug("control socket: a client did not %s within %u s; dropped",
		 k->out ? "take its answer" : "ask",
		 (k->out ? CTL_ANSWER_MS : CTL_REQUEST_MS) / 1000);
	conn_close(k);
}

static void write_cb(uv_write_t *w, int status)
{
	struct ctl_conn *k = w->data;

	if (status < 0 && status != UV_ECANCELED)
		tg_debug("control socket: a client left early: %s",
			 uv_strerror(status));
	conn_close(k);
}

/*
 * The status document, rendered into the one scratch buffer; its length.
 * Clients that ask at the same uv_now() (one turn of the loop, mostly)
 * share one rendering: the state has hardly moved on, and a crowd asking
 * at once costs one.
 */
static int render_doc(struct tg_control *c)
{
	uint64_t now = uv_now(c->listener.loop);
	struct tg_json j;
	int n;

	if (!c->scratch && !(c->scratch = malloc(TG_CONTROL_DOC_MAX)))
		return -ENOMEM;
	if (c->scratch_len && c->scratch_ms == now)
		return (int)c->scratch_len;
	tg_json_init(&j, c->scratch, TG_CONTROL_DOC_MAX);
	c->render(c->arg, &j);
	n = tg_json_finish(&j);
	if (n < 0) {
		tg_json_init(&j, c->scratch, TG_CONTROL_DOC_MAX);
		tg_json_obj(&j, NULL);
		tg_json_str(&j, "error", "the status does not fit");
		tg_json_obj_end(&j);
		n = tg_json_finish(&j);
	}
	c->scratch_len = n > 0 ? (size_t)n : 0;
	c->scratch_ms = now;
	return n;
}

/*
 * Room for @len more bytes of answers: the oldest answers still unread
 * are dropped first (their clients are the slowest).
 */
static void make_room(struct tg_control *c, struct ctl_conn *self, size_t len)
{
	struct ctl_conn *k = c->oldest, *next;

	for (; k && c->out_bytes + len > CTL_OUT_MAX; k = next) {
		next = k->next;
		if (k != self && k->out) {
			tg_debug("control socket: answers waiting exceed %u "
				 "MiB; dropping the oldest",
				 CTL_OUT_MAX >> 20);
			conn_close(k);
		}
	}
}

static void serve(struct ctl_conn *k)
{
	struct tg_control *c = k->c;
	uv_buf_t b;
	int n = render_doc(c);

	if (n < 0) {
		conn_close(k);
		return;
	}
	make_room(c, k, (size_t)n);
	k->out = malloc((size_t)n);
	if (!k->out) {
		conn_close(k);
		return;
	}
	memcpy(k->out, c->scratch, (size_t)n);
	k->out_len = (size_t)n;
	c->out_bytes += k->out_len;
	uv_timer_start(&k->timer, deadline_cb, CTL_ANSWER_MS, 0);
	b = uv_buf_init(k->out, (unsigned)n);
	k->wr.data = k;
	if (uv_write(&k->wr, (uv_stream_t *)&k->pipe, &b, 1, write_cb) < 0)
		conn_close(k);
}

static void req_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct ctl_conn *k = h->data;

	*buf = uv_buf_init(k->req + k->req_len,
			   (unsigned)(sizeof(k->req) - k->req_len));
}

/* the request is one line, "status"; its answer is the document */
static void req_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_conn *k = s->data;
	char *nl;

	if (nread == 0)
		return;
	if (nread < 0) {
		conn_close(k); /* a probe (`tungate status` looking), or gone */
		return;
	}
	k->req_len += (size_t)nread;
	nl = memchr(k->req, '\n', k->req_len);
	if (!nl) {
		if (k->req_len == sizeof(k->req))
			conn_close(k);
		return;
	}
	uv_read_stop(s);
	*nl = '\0';
	if (strcmp(k->req, TG_CONTROL_REQUEST)) {
		tg_debug("control socket: unknown request; dropped");
		conn_close(k);
		return;
	}
	serve(k);
}

/* same user only; a refusal is logged at most every 10 s */
static bool allowed(struct ctl_conn *k)
{
	struct tg_control *c = k->c;
	uint64_t now = uv_now(k->pipe.loop);
	uid_t uid = (uid_t)-1;
	long pid = -1;
	int r = peer_uid(&k->pipe, &uid, &pid);

	if (r == 0 && uid == geteuid())
		return true;
	if (!c->refused_log_ms || now - c->refused_log_ms >= 10000) {
		c->refused_log_ms = now ? now : 1;
		if (r < 0)
			tg_warn("control socket: cannot tell who connected "
				"(%s); refused",
				strerror(-r));
		else
			tg_warn("control socket: refused uid %lu (pid %ld): "
				"only uid %lu may ask",
				(unsigned long)uid, pid,
				(unsigned long)geteuid());
	}
	return false;
}

static void connection_cb(uv_stream_t *server, int status)
{
	struct tg_control *c = server->data;
	struct ctl_conn *k;

	if (status < 0 || c->closing)
		return;
	k = calloc(1, sizeof(*k));
	if (!k)
		return;
	k->c = c;
	uv_pipe_init(server->loop, &k->pipe, 0);
	uv_timer_init(server->loop, &k->timer);
	k->pipe.data = k->timer.data = k;
	k->handles = 2;
	c->pending++;
	if (uv_accept(server, (uv_stream_t *)&k->pipe) < 0 || !allowed(k)) {
		conn_close(k);
		return;
	}
	/* full: the oldest client has had the longest to be done */
	if (c->n_conns >= CTL_CONNS)
		conn_close(c->oldest);
	k->prev = c->newest;
	*(c->newest ? &c->newest->next : &c->oldest) = k;
	c->newest = k;
	k->listed = true;
	c->n_conns++;
	uv_timer_start(&k->timer, deadline_cb, CTL_REQUEST_MS, 0);
	if (uv_read_start((uv_stream_t *)&k->pipe, req_alloc_cb,
			  req_read_cb) < 0)
		conn_close(k);
}

int tg_control_open(uv_loop_t *loop, const char *name,
		    tg_control_render_fn render, void *arg,
		    struct tg_control **out)
{
	struct tg_control *c = calloc(1, sizeof(*c));
	int fd = -ENOENT, err = -ENOENT, r;

	if (!c)
		return -ENOMEM;
	c->render = render;
	c->arg = arg;
	for (unsigned i = 0; fd != -ERANGE; i++) {
		fd = open_in(c, i, name);
		if (fd >= 0 || fd == -EADDRINUSE)
			break;
		if (fd != -ENOENT && fd != -ERANGE) {
			err = fd;
			tg_debug("control socket: cannot use %s: %s", c->path,
				 strerror(-fd));
		}
	}
	if (fd < 0) {
		free(c);
		return fd == -EADDRINUSE ? fd : err;
	}
	uv_pipe_init(loop, &c->listener, 0);
	c->listener.data = c;
	r = uv_pipe_open(&c->listener, fd);
	if (r < 0)
		close(fd);
	else
		r = uv_listen((uv_stream_t *)&c->listener, CTL_BACKLOG,
			      connection_cb);
	if (r < 0) {
		tg_control_close(c);
		return r;
	}
	*out = c;
	return 0;
}

const char *tg_control_path(const struct tg_control *c)
{
	return c->path;
}

static void listener_close_cb(uv_handle_t *h)
{
	struct tg_control *c = h->data;

	c->pending--;
	if (!c->pending)
		control_free(c);
}

void tg_control_close(struct tg_control *c)
{
	struct stat st;

	if (!c)
		return;
	c->closing = true;
	while (c->oldest)
		conn_close(c->oldest);
	if (lstat(c->path, &st) == 0 && st.st_ino == c->ino &&
	    st.st_dev == c->dev)
		unlink(c->path);
	c->pending++;
	uv_close((uv_handle_t *)&c->listener, listener_close_cb);
}
