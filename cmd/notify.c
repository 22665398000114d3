/* SPDX-License-Identifier: MIT */
/*
 * notify.c - systemd's readiness and watchdog protocol, by hand.
 *
 * Theory of operation: under Type=notify systemd passes the path of a
 * datagram socket in NOTIFY_SOCKET ("@name" is Linux's abstract
 * namespace); each message is one datagram of newline-separated
 * KEY=VALUE lines (READY=1, STATUS=..., STOPPING=1, WATCHDOG=1). With
 * WatchdogSec= systemd also sets WATCHDOG_USEC (and WATCHDOG_PID, the
 * process it means): a loop timer sends WATCHDOG=1 every half of it, so a
 * wedged event loop gets the service restarted. Sends never block (a full
 * socket drops the message, as libsystemd's would fail).
 *
 * STATUS= follows what the inside does, which a hostile inside can make
 * change as fast as it likes, and each message costs systemd a wakeup and
 * a write: tg_notify_status() sends at most one a second. One that comes
 * sooner is kept (replacing any kept before) and sent by
 * tg_notify_flush(), which the outside's one-second timer calls, so the
 * last status always arrives, at most two seconds late. READY=1 and
 * STOPPING=1 go at once, with the status they carry.
 *
 * The environment is read once per process and then removed, so that
 * state is file-static: it is the process's, as the variables were, and
 * outlives the sessions (and loops) of a reconnecting outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "cmd/notify.h"

static struct {
	bool read; /* the environment was read */
	bool warned;
	int fd; /* -1: systemd is not listening */
	struct sockaddr_un addr;
	socklen_t addr_len;
	uint64_t watchdog_ms;
	/* STATUS= rate: the last one sent, and the one kept back */
	uint64_t status_ms;
	bool status_sent, status_held;
	char held[1024];
	size_t held_len;
} ntf = {.fd = -1};

#define NOTIFY_STATUS_MS 1000 /* at most one STATUS= per second */

struct tg_watchdog {
	uv_timer_t timer;
};

static int notify_addr(const char *path)
{
	size_t len = strlen(path);

	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(ntf.addr.sun_path))
		return -EINVAL;
	memset(&ntf.addr, 0, sizeof(ntf.addr));
	ntf.addr.sun_family = AF_UNIX;
	memcpy(ntf.addr.sun_path, path, len);
	ntf.addr_len =
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if (path[0] == '@')
		ntf.addr.sun_path[0] = '\0'; /* abstract: no trailing NUL */
	else
		ntf.addr_len++;
	return 0;
}

/* WATCHDOG_USEC, if it is meant for this process: the interval in ms */
static uint64_t watchdog_ms(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!usec || !*usec)
		return 0;
	if (pid && *pid && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || v == 0)
		return 0;
	v /= 2000; /* half the timeout, in ms */
	return v ? v : 1;
}

bool tg_notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	int fd;

	if (ntf.read)
		return ntf.fd >= 0;
	ntf.read = true;
	if (!path || !*path)
		return false;
	if (notify_addr(path) < 0) {
		tg_warn("NOTIFY_SOCKET '%s' is not a socket path; not "
			"notifying systemd",
			path);
		return false;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		tg_warn("cannot notify systemd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	ntf.fd = fd;
	ntf.watchdog_ms = watchdog_ms();
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return true;
}

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

static void send_msg(const char *msg, size_t len)
{
	if (sendto(ntf.fd, msg, len, 0, (struct sockaddr *)&ntf.addr,
		   ntf.addr_len) < 0 &&
	    !ntf.warned) {
		ntf.warned = true;
		tg_warn("cannot notify systemd: %s", strerror(errno));
	}
}

/* @msg carries a status: it is the newest, and starts the second */
static void mark_status_sent(void)
{
	ntf.status_sent = true;
	ntf.status_ms = now_ms();
	ntf.status_held = false;
}

static size_t format(char *msg, size_t cap, const char *prefix,
		     const char *fmt, va_list ap)
{
	size_t n = (size_t)snprintf(msg, cap, "%s", prefix);
	int len = vsnprintf(msg + n, cap - n, fmt, ap);

	if (len < 0)
		return 0;
	n += (size_t)len;
	return n < cap ? n : cap - 1;
}

void tg_notify_send(const char *fmt, ...)
{
	char msg[sizeof(ntf.held)];
	va_list ap;
	size_t len;

	if (ntf.fd < 0)
		return;
	va_start(ap, fmt);
	len = format(msg, sizeof(msg), "", fmt, ap);
	va_end(ap);
	if (!len)
		return;
	send_msg(msg, len);
	if (strstr(msg, "STATUS="))
		mark_status_sent();
}

void tg_notify_status(const char *fmt, ...)
{
	va_list ap;

	if (ntf.fd < 0)
		return;
	va_start(ap, fmt);
	ntf.held_len = format(ntf.held, sizeof(ntf.held), "STATUS=", fmt, ap);
	va_end(ap);
	ntf.status_held = true;
	tg_notify_flush();
}

void tg_notify_flush(void)
{
	if (ntf.fd < 0 || !ntf.status_held)
		return;
	if (ntf.status_sent && now_ms() - ntf.status_ms < NOTIFY_STATUS_MS)
		return;
	send_msg(ntf.held, ntf.held_len);
	mark_status_sent();
}

static void watchdog_cb(uv_timer_t *t)
{
	tg_notify_send("WATCHDOG=1");
}

struct tg_watchdog *tg_watchdog_start(uv_loop_t *loop)
{
	struct tg_watchdog *w;

	if (ntf.fd < 0 || !ntf.watchdog_ms)
		return NULL;
	w = malloc(sizeof(*w));
	if (!w)
		return NULL;
	uv_timer_init(loop, &w->timer);
	w->timer.data = w;
	uv_timer_start(&w->timer, watchdog_cb, ntf.watchdog_ms,
		       ntf.watchdog_ms);
	tg_debug("systemd watchdog: WATCHDOG=1 every %llu ms",
		 (unsigned long long)ntf.watchdog_ms);
	return w;
}

static void free_cb(uv_handle_t *h)
{
	free(h->data);
}

void tg_watchdog_stop(struct tg_watchdog *w)
{
	if (w)
		uv_close((uv_handle_t *)&w->timer, free_cb);
}
