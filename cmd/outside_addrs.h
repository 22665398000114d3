/* SPDX-License-Identifier: MIT */
/*
 * outside_addrs.h - this machine's own addresses, kept current in the
 * NAT's destination policy.
 */
#ifndef TG_OUTSIDE_ADDRS_H
#define TG_OUTSIDE_ADDRS_H

#include <uv.h>

#include "nat/nat.h"

struct outside_addrs;

/**
 * outside_addrs_new() - hand @nat this machine's addresses now, and again
 * whenever they change
 * @loop:	event loop
 * @nat:	the NAT, for as long as the watcher lives
 *
 * Logs a warning when the addresses cannot be read or watched (the NAT
 * then refuses fewer of them) and goes on.
 * Return: the watcher, or NULL (out of memory)
 */
struct outside_addrs *outside_addrs_new(uv_loop_t *loop, struct nat *nat);

/** outside_addrs_close() - stop watching; frees @a (may be NULL) */
void outside_addrs_close(struct outside_addrs *a);

#endif
