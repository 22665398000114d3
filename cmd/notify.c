/* SPDX-License-Identifier: MIT */
/*
 * notify.c - systemd's readiness and watchdog protocol, by hand.
 *
 * Theory of operation: under Type=notify systemd passes the path of a
 * datagram socket in NOTIFY_SOCKET ("@name" is Linux's abstract
 * namespace); each message is one datagram of newline-separated
 * KEY=VALUE lines (READY=1, STATUS=..., STOPPING=1, WATCHDOG=1). With
 * WatchdogSec= systemd also sets WATCHDOG_USEC (and WATCHDOG_PID, the
 * process it means): we send WATCHDOG=1 every half of it from a loop
 * timer, so a wedged event loop gets the service restarted. Sends never
 * block (a full socket drops the message, as libsystemd's would fail).
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

#include "log.h"
#include "notify.h"

struct tg_notify {
	int fd;
	struct sockaddr_un addr;
	socklen_t addr_len;
	uv_timer_t watchdog;
	bool watchdog_on, warned;
};

static int notify_addr(struct tg_notify *n, const char *path)
{
	size_t len = strlen(path);

	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(n->addr.sun_path))
		return -EINVAL;
	memset(&n->addr, 0, sizeof(n->addr));
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if (path[0] == '@')
		n->addr.sun_path[0] = '\0'; /* abstract: no trailing NUL */
	else
		n->addr_len++;
	return 0;
}

static void watchdog_cb(uv_timer_t *t)
{
	tg_notify_send(t->data, "WATCHDOG=1");
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

struct tg_notify *tg_notify_new(uv_loop_t *loop)
{
	const char *path = getenv("NOTIFY_SOCKET");
	uint64_t wd = watchdog_ms();
	struct tg_notify *n;

	if (!path || !*path)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	if (notify_addr(n, path) < 0) {
		tg_warn("NOTIFY_SOCKET '%s' is not a socket path; not "
			"notifying systemd",
			path);
		free(n);
		return NULL;
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (n->fd < 0 || fcntl(n->fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(n->fd, F_SETFL, O_NONBLOCK) < 0) {
		tg_warn("cannot notify systemd: %s", strerror(errno));
		if (n->fd >= 0)
			close(n->fd);
		free(n);
		return NULL;
	}
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	uv_timer_init(loop, &n->watchdog);
	n->watchdog.data = n;
	if (wd) {
		n->watchdog_on = true;
		uv_timer_start(&n->watchdog, watchdog_cb, wd, wd);
		tg_debug("systemd watchdog: WATCHDOG=1 every %llu ms",
			 (unsigned long long)wd);
	}
	return n;
}

void tg_notify_send(struct tg_notify *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int len;

	if (!n)
		return;
	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(msg))
		len = sizeof(msg) - 1;
	if (sendto(n->fd, msg, (size_t)len, 0, (struct sockaddr *)&n->addr,
		   n->addr_len) < 0 &&
	    !n->warned) {
		n->warned = true;
		tg_warn("cannot notify systemd: %s", strerror(errno));
	}
}

static void free_cb(uv_handle_t *h)
{
	struct tg_notify *n = h->data;

	close(n->fd);
	free(n);
}

void tg_notify_close(struct tg_notify *n)
{
	if (!n)
		return;
	uv_close((uv_handle_t *)&n->watchdog, free_cb);
}
