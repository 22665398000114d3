/* SPDX-License-Identifier: MIT */
/*
 * notify.h - the systemd notification protocol (sd_notify(3)), without
 * libsystemd: datagrams of "KEY=VALUE" lines to $NOTIFY_SOCKET, and
 * WATCHDOG=1 every half $WATCHDOG_USEC while the loop runs.
 */
#ifndef TG_NOTIFY_H
#define TG_NOTIFY_H

#include <uv.h>

struct tg_notify;

/**
 * tg_notify_new() - read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID,
 * remove them from the environment (children must not notify in our
 * name), and start the watchdog timer on @loop if one is asked for
 * Return: the notifier, or NULL when not run by systemd (or on failure,
 * logged)
 */
struct tg_notify *tg_notify_new(uv_loop_t *loop);

/**
 * tg_notify_send() - one message, e.g. "READY=1\nSTATUS=up"; a failure is
 * logged once. @n may be NULL (then nothing happens).
 */
void tg_notify_send(struct tg_notify *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** tg_notify_close() - stop the watchdog; freed once libuv closed it */
void tg_notify_close(struct tg_notify *n);

#endif
