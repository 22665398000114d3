// SPDX-License-Identifier: MIT
/*
 * nat_fake.c - the in-memory socket layer of the nat_mem fuzz target;
 * see nat_fake.h. Every __wrap_X here replaces X for the objects linked
 * with -Wl,--wrap=X; __real_X is the original. The clock is
 * fake_clock.c's.
 *
 * The harness's own socket calls go to __real_X directly. Calls nat/
 * should never make (a datagram sendto, a bind) abort: they would mean
 * the harness no longer covers the code, or that nat/ is about to send
 * somewhere it must not.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/fuzz/fuzz.h"
#include "test/fuzz/nat_fake.h"

#define MAX_UDP 64
#define MAX_PING 64
#define MAX_FAR 64

struct fake_udp {
	uv_udp_t *h;
	uv_alloc_cb alloc;
	uv_udp_recv_cb recv;
	struct sockaddr_storage peer;
};

struct fake_ping {
	int fd, peer;
	int err; /* the next recv() fails with this */
};

struct far {
	uv_stream_t *s;
	bool tcp, shut, reading;
};

static uv_loop_t *loop;
static int fails[FAKE_N_CALLS];
static struct fake_udp udps[MAX_UDP];
static struct fake_ping pings[MAX_PING];
static struct far fars[MAX_FAR];
static size_t n_udp, n_ping, n_far;
static uv_tcp_t lis[2]; /* 127.0.0.1, ::1 */
static struct sockaddr_storage lis_addr[2], refuse_addr[2];
static uint8_t rbuf[65536];

int __real_socket(int domain, int type, int protocol);
int __real_connect(int fd, const struct sockaddr *a, socklen_t len);
ssize_t __real_recv(int fd, void *buf, size_t len, int flags);
void __real_uv_close(uv_handle_t *h, uv_close_cb cb);
int __real_close(int fd);
int __real_uv_tcp_connect(uv_connect_t *req, uv_tcp_t *h,
			  const struct sockaddr *addr, uv_connect_cb cb);
int __real_uv_tcp_bind(uv_tcp_t *h, const struct sockaddr *a, unsigned f);

static int take_fail(enum fake_call c)
{
	int e = fails[c];

	fails[c] = 0;
	return e;
}

void fake_fail_next(enum fake_call c, int err)
{
	fails[c] = err;
}

static void unexpected(const char *what)
{
	fprintf(stderr,
		"nat_fake: nat/ called %s, which the fake socket "
		"layer does not cover\n",
		what);
	abort();
}

/* ------------------------------------------------------------------- UDP */

static struct fake_udp *udp_find(const uv_udp_t *h, bool add)
{
	for (size_t i = 0; i < n_udp; i++)
		if (udps[i].h == h)
			return &udps[i];
	if (!add)
		return NULL;
	FZ_CHECK(n_udp < MAX_UDP);
	memset(&udps[n_udp], 0, sizeof(udps[0]));
	udps[n_udp].h = (uv_udp_t *)h;
	return &udps[n_udp++];
}

int __wrap_uv_udp_connect(uv_udp_t *h, const struct sockaddr *addr)
{
	int e = take_fail(FAKE_UDP_CONNECT);
	struct fake_udp *u;

	if (e)
		return e;
	u = udp_find(h, true);
	FZ_CHECK(addr &&
		 (addr->sa_family == AF_INET || addr->sa_family == AF_INET6));
	memcpy(&u->peer, addr,
	       addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
					  : sizeof(struct sockaddr_in6));
	return 0;
}

int __wrap_uv_udp_recv_start(uv_udp_t *h, uv_alloc_cb alloc,
			     uv_udp_recv_cb recv)
{
	int e = take_fail(FAKE_UDP_RECV_START);
	struct fake_udp *u;

	if (e)
		return e;
	u = udp_find(h, true);
	u->alloc = alloc;
	u->recv = recv;
	return 0;
}

int __wrap_uv_udp_recv_stop(uv_udp_t *h)
{
	struct fake_udp *u = udp_find(h, false);

	if (u)
		u->recv = NULL;
	return 0;
}

int __wrap_uv_udp_try_send(uv_udp_t *h, const uv_buf_t bufs[], unsigned n,
			   const struct sockaddr *addr)
{
	int e = take_fail(FAKE_UDP_SEND);
	size_t len = 0;

	FZ_CHECK(udp_find(h, false) && !addr);
	if (e)
		return e;
	for (unsigned i = 0; i < n; i++) {
		memcpy(rbuf, bufs[i].base, bufs[i].len); /* ASan: readable */
		len += bufs[i].len;
	}
	return (int)len;
}

int __wrap_uv_udp_send(uv_udp_send_t *r, uv_udp_t *h, const uv_buf_t b[],
		       unsigned n, const struct sockaddr *a, uv_udp_send_cb cb)
{
	unexpected("uv_udp_send");
	return UV_ENOSYS;
}

int __wrap_uv_udp_bind(uv_udp_t *h, const struct sockaddr *a, unsigned f)
{
	unexpected("uv_udp_bind");
	return UV_ENOSYS;
}

/* the @i-th flow that is receiving */
static struct fake_udp *udp_nth(size_t i)
{
	size_t k = 0;

	for (size_t j = 0; j < n_udp; j++)
		if (udps[j].recv && k++ == i)
			return &udps[j];
	return NULL;
}

size_t fake_udp_count(void)
{
	size_t k = 0;

	for (size_t j = 0; j < n_udp; j++)
		k += udps[j].recv != NULL;
	return k;
}

void fake_udp_deliver(size_t i, const uint8_t *data, size_t len)
{
	struct fake_udp *u = udp_nth(i);
	uv_buf_t b = {0};
	size_t n;

	if (!u)
		return;
	u->alloc((uv_handle_t *)u->h, 65536, &b);
	if (!b.base || !b.len) {
		u->recv(u->h, UV_ENOBUFS, &b, NULL, 0);
		return;
	}
	n = len < b.len ? len : b.len;
	memcpy(b.base, data, n);
	u->recv(u->h, (ssize_t)n, &b, (const struct sockaddr *)&u->peer,
		n < len ? UV_UDP_PARTIAL : 0);
}

void fake_udp_error(size_t i, int err)
{
	struct fake_udp *u = udp_nth(i);
	uv_buf_t b = {0};

	if (!u)
		return;
	u->alloc((uv_handle_t *)u->h, 65536, &b);
	u->recv(u->h, err, &b, NULL, 0);
}

/* ---------------------------------------------------------- ping sockets */

static struct fake_ping *ping_find(int fd)
{
	for (size_t i = 0; i < n_ping; i++)
		if (pings[i].fd == fd)
			return &pings[i];
	return NULL;
}

int __wrap_socket(int domain, int type, int protocol)
{
	struct fake_ping *p;
	int sv[2], e;

	if ((type & 0xff) != SOCK_DGRAM ||
	    (protocol != IPPROTO_ICMP && protocol != IPPROTO_ICMPV6))
		unexpected("socket() for something other than ping");
	e = take_fail(FAKE_PING_SOCKET);
	if (e) {
		errno = -e;
		return -1;
	}
	FZ_CHECK(n_ping < MAX_PING);
	FZ_CHECK(!socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	FZ_CHECK(!fcntl(sv[1], F_SETFL, O_NONBLOCK));
	p = &pings[n_ping++];
	p->fd = sv[0];
	p->peer = sv[1];
	p->err = 0;
	return sv[0];
}

int __wrap_connect(int fd, const struct sockaddr *a, socklen_t len)
{
	int e;

	if (!ping_find(fd))
		unexpected(
			"connect() on a socket it did not get from socket()");
	e = take_fail(FAKE_PING_CONNECT);
	if (e) {
		errno = -e;
		return -1;
	}
	return 0;
}

ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
	int e;

	if (!ping_find(fd))
		unexpected("send() on a socket other than a ping socket");
	e = take_fail(FAKE_PING_SEND);
	if (e) {
		errno = -e;
		return -1;
	}
	memcpy(rbuf, buf, len < sizeof(rbuf) ? len : sizeof(rbuf));
	return (ssize_t)len;
}

ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags)
{
	struct fake_ping *p = ping_find(fd);

	if (p && p->err) {
		errno = -p->err;
		p->err = 0;
		return -1;
	}
	return __real_recv(fd, buf, len, flags);
}

ssize_t __wrap_sendto(int fd, const void *b, size_t l, int f,
		      const struct sockaddr *a, socklen_t al)
{
	unexpected("sendto");
	return -1;
}

ssize_t __wrap_sendmsg(int fd, const struct msghdr *m, int f)
{
	unexpected("sendmsg");
	return -1;
}

size_t fake_ping_count(void)
{
	return n_ping;
}

void fake_ping_deliver(size_t i, const uint8_t *data, size_t len)
{
	if (i < n_ping && write(pings[i].peer, data, len) < 0)
		return; /* a full socket drops it, as the kernel would */
}

void fake_ping_error(size_t i, int err)
{
	if (i >= n_ping)
		return;
	pings[i].err = err;
	/* something to read, so that the poll callback runs */
	if (write(pings[i].peer, "", 0) < 0)
		pings[i].err = 0;
}

/* ------------------------------------------------------------------- TCP */

int __wrap_uv_tcp_connect(uv_connect_t *req, uv_tcp_t *h,
			  const struct sockaddr *addr, uv_connect_cb cb)
{
	int e = take_fail(FAKE_TCP_CONNECT), v6;

	if (e)
		return e;
	FZ_CHECK(addr &&
		 (addr->sa_family == AF_INET || addr->sa_family == AF_INET6));
	v6 = addr->sa_family == AF_INET6;
	addr = (const struct sockaddr *)(take_fail(FAKE_TCP_REFUSE)
						 ? &refuse_addr[v6]
						 : &lis_addr[v6]);
	e = __real_uv_tcp_connect(req, h, addr, cb);
	/* a small send buffer, so that the NAT meets a full socket */
	if (!e)
		uv_send_buffer_size((uv_handle_t *)h, &(int){4096});
	return e;
}

int __wrap_uv_tcp_bind(uv_tcp_t *h, const struct sockaddr *a, unsigned f)
{
	unexpected("uv_tcp_bind");
	return UV_ENOSYS;
}

static struct far *far_add(uv_stream_t *s, bool tcp)
{
	struct far *f;

	if (n_far == MAX_FAR)
		return NULL;
	f = &fars[n_far++];
	memset(f, 0, sizeof(*f));
	f->s = s;
	f->tcp = tcp;
	return f;
}

static void far_free_cb(uv_handle_t *h)
{
	free(h);
}

static void far_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	*b = uv_buf_init((char *)rbuf, sizeof(rbuf));
}

static void far_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	if (n >= 0)
		return;
	/* EOF or reset: the harness closes it */
	uv_read_stop(s);
	for (size_t i = 0; i < n_far; i++)
		if (fars[i].s == s)
			fars[i].reading = false;
}

static void far_start(struct far *f)
{
	if (!uv_read_start(f->s, far_alloc_cb, far_read_cb))
		f->reading = true;
}

static void accept_cb(uv_stream_t *server, int status)
{
	uv_tcp_t *c;
	struct far *f;

	if (status < 0)
		return;
	c = malloc(sizeof(*c));
	FZ_CHECK(c && !uv_tcp_init(loop, c));
	if (uv_accept(server, (uv_stream_t *)c) ||
	    !(f = far_add((uv_stream_t *)c, true))) {
		uv_close((uv_handle_t *)c, far_free_cb);
		return;
	}
	far_start(f);
}

void fake_far_adopt(int fd)
{
	uv_pipe_t *p = malloc(sizeof(*p));
	struct far *f;

	FZ_CHECK(p && !uv_pipe_init(loop, p, 0));
	if (uv_pipe_open(p, fd) || !(f = far_add((uv_stream_t *)p, false))) {
		uv_close((uv_handle_t *)p, far_free_cb);
		return;
	}
	far_start(f);
}

size_t fake_far_count(void)
{
	return n_far;
}

static void far_write_cb(uv_write_t *req, int status)
{
	free(req);
}

void fake_far_write(size_t i, const uint8_t *data, size_t len)
{
	uv_write_t *req;
	uv_buf_t b;

	if (i >= n_far)
		return;
	req = malloc(sizeof(*req) + len);
	FZ_CHECK(req);
	memcpy(req + 1, data, len);
	b = uv_buf_init((char *)(req + 1), (unsigned)len);
	if (uv_write(req, fars[i].s, &b, 1, far_write_cb))
		free(req);
}

static void far_shutdown_cb(uv_shutdown_t *req, int status)
{
	free(req);
}

void fake_far_pause(size_t i, bool pause)
{
	if (i >= n_far || pause != fars[i].reading)
		return;
	if (pause) {
		uv_read_stop(fars[i].s);
		fars[i].reading = false;
	} else {
		far_start(&fars[i]);
	}
}

void fake_far_shutdown(size_t i)
{
	uv_shutdown_t *req;

	if (i >= n_far || fars[i].shut)
		return;
	req = malloc(sizeof(*req));
	FZ_CHECK(req);
	fars[i].shut = true;
	if (uv_shutdown(req, fars[i].s, far_shutdown_cb))
		free(req);
}

void fake_far_close(size_t i, bool reset)
{
	struct far f;

	if (i >= n_far)
		return;
	f = fars[i];
	fars[i] = fars[--n_far];
	if (f.tcp && reset && !uv_tcp_close_reset((uv_tcp_t *)f.s, far_free_cb))
		return;
	uv_close((uv_handle_t *)f.s, far_free_cb);
}

/* ------------------------------------------------------------ life cycle */

void __wrap_uv_close(uv_handle_t *h, uv_close_cb cb)
{
	struct fake_udp *u;

	fake_clock_forget(h);
	if (h->type == UV_UDP && (u = udp_find((uv_udp_t *)h, false)))
		*u = udps[--n_udp];
	__real_uv_close(h, cb);
}

/* a ping socket goes, on every path (icmp.c closes it itself) */
int __wrap_close(int fd)
{
	struct fake_ping *p = ping_find(fd);

	if (p) {
		__real_close(p->peer);
		*p = pings[--n_ping];
	}
	return __real_close(fd);
}

/* a bound socket that does not listen: a connect to it is refused */
static void make_refuser(int v6)
{
	socklen_t len = sizeof(refuse_addr[v6]);
	struct sockaddr_storage *a = &refuse_addr[v6];
	int fd = __real_socket(v6 ? AF_INET6 : AF_INET,
			       SOCK_STREAM | SOCK_CLOEXEC, 0);

	FZ_CHECK(fd >= 0);
	FZ_CHECK(!uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)a));
	if (v6)
		FZ_CHECK(!uv_ip6_addr("::1", 0, (struct sockaddr_in6 *)a));
	FZ_CHECK(!bind(fd, (struct sockaddr *)a,
		       v6 ? sizeof(struct sockaddr_in6)
			  : sizeof(struct sockaddr_in)));
	FZ_CHECK(!getsockname(fd, (struct sockaddr *)a, &len));
	/* kept open for the life of the process */
}

static void listen_on(int v6)
{
	struct sockaddr_storage *a = &lis_addr[v6];
	int len = sizeof(*a);

	if (v6)
		FZ_CHECK(!uv_ip6_addr("::1", 0, (struct sockaddr_in6 *)a));
	else
		FZ_CHECK(!uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)a));
	FZ_CHECK(!uv_tcp_init(loop, &lis[v6]));
	FZ_CHECK(!__real_uv_tcp_bind(&lis[v6], (struct sockaddr *)a, 0));
	/* accepted connections inherit it: a far end that stops reading
	 * fills up soon */
	uv_recv_buffer_size((uv_handle_t *)&lis[v6], &(int){4096});
	FZ_CHECK(!uv_listen((uv_stream_t *)&lis[v6], 64, accept_cb));
	FZ_CHECK(!uv_tcp_getsockname(&lis[v6], (struct sockaddr *)a, &len));
}

void fake_begin(uv_loop_t *l)
{
	static bool once;

	loop = l;
	if (!once) {
		make_refuser(0);
		make_refuser(1);
		once = true;
	}
	memset(fails, 0, sizeof(fails));
	fake_clock_reset();
	listen_on(0);
	listen_on(1);
}

void fake_end(void)
{
	while (n_far)
		fake_far_close(n_far - 1, true);
	uv_close((uv_handle_t *)&lis[0], NULL);
	uv_close((uv_handle_t *)&lis[1], NULL);
}

bool fake_all_closed(void)
{
	if (!n_udp && !n_ping && !n_far && fake_clock_idle())
		return true;
	fprintf(stderr, "nat_fake: left open: %zu UDP, %zu ping, %zu far, %s\n",
		n_udp, n_ping, n_far,
		fake_clock_idle() ? "no timer" : "timers");
	return false;
}
