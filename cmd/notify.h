/* SPDX-License-Identifier: MIT */
/*
 * notify.h - the systemd notification protocol (sd_notify(3)), without
 * libsystemd: datagrams of "KEY=VALUE" lines to $NOTIFY_SOCKET, and
 * WATCHDOG=1 every half $WATCHDOG_USEC while a loop runs.
 *
 * systemd talks to the process, which may run several sessions (the
 * outside reconnects), each on its own event loop: the socket is the
 * process's, a watchdog timer belongs to one loop.
 */
#ifndef TG_NOTIFY_H
#define TG_NOTIFY_H

#include <stdbool.h>
#include <uv.h>

struct tg_watchdog;

/**
 * tg_notify_init() - on the first call, read NOTIFY_SOCKET, WATCHDOG_USEC
 * and WATCHDOG_PID and remove them from the environment (children must
 * not notify in our name); later calls do nothing
 * Return: true if systemd is listening
 */
bool tg_notify_init(void);

/**
 * tg_notify_send() - one message, e.g. "READY=1\nSTATUS=up", at once;
 * nothing if systemd is not listening; a failure is logged once. A status
 * it carries replaces one that tg_notify_status() kept back.
 */
void tg_notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * tg_notify_status() - "STATUS=<fmt>", at most one a second: one that
 * comes sooner is kept (the newest wins) for tg_notify_flush()
 */
void tg_notify_status(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/**
 * tg_notify_flush() - send the status kept back, if its second has
 * passed; call it every second, so that the last status arrives
 */
void tg_notify_flush(void);

/**
 * tg_watchdog_start() - send WATCHDOG=1 from @loop every half
 * WATCHDOG_USEC, so that a wedged loop gets the service restarted
 * Return: the timer, or NULL if no watchdog was asked for
 */
struct tg_watchdog *tg_watchdog_start(uv_loop_t *loop);

/** tg_watchdog_stop() - stop it; freed once libuv closed it (NULL: no-op) */
void tg_watchdog_stop(struct tg_watchdog *w);

#endif
