/* SPDX-License-Identifier: MIT */
/*
 * nat_fake.h - the socket layer of nat/, replaced for the nat_mem fuzz
 * target only, by link-time wrapping (-Wl,--wrap=SYMBOL, see FUZZ_WRAP
 * in the Makefile): nat/ is compiled unchanged and its calls to these
 * libuv and libc functions land in nat_fake.c instead.
 *
 * - UDP flows get a real (never bound, never connected) uv_udp_t; their
 *   connect, receive and send calls are recorded, and the harness hands
 *   them datagrams and errors through the callbacks nat/ registered.
 * - Ping sockets are one end of an AF_UNIX datagram socketpair: the
 *   harness writes replies into the other end and uv_poll does the rest;
 *   close() of one closes the other end too.
 * - TCP connects go to a listener on 127.0.0.1 or ::1 that the harness
 *   runs, whatever address nat/ asked for; the accepted connections are
 *   the "far ends" the harness writes to, shuts and resets.
 * - Time is fake_clock.h's.
 *
 * Nothing leaves the machine: every other socket call from nat/ aborts.
 */
#ifndef TG_NAT_FAKE_H
#define TG_NAT_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "test/fuzz/fake_clock.h"

/* calls that can be made to fail once */
enum fake_call {
	FAKE_UDP_CONNECT,
	FAKE_UDP_RECV_START,
	FAKE_UDP_SEND,
	FAKE_PING_SOCKET,
	FAKE_PING_CONNECT,
	FAKE_PING_SEND,
	FAKE_TCP_CONNECT, /* at once, from uv_tcp_connect() */
	FAKE_TCP_REFUSE, /* later, in the connect callback (a real RST) */
	FAKE_N_CALLS,
};

/* a fresh world on @loop: listeners up, tables empty, clock reset */
void fake_begin(uv_loop_t *loop);
/* close the far ends and the listeners (nat_close() comes first) */
void fake_end(void);
/* are the tables empty again (everything nat/ made was closed)? */
bool fake_all_closed(void);

/* the next call of @c fails with @err (a negative errno) */
void fake_fail_next(enum fake_call c, int err);

size_t fake_udp_count(void);
void fake_udp_deliver(size_t i, const uint8_t *data, size_t len);
void fake_udp_error(size_t i, int err);

size_t fake_ping_count(void);
void fake_ping_deliver(size_t i, const uint8_t *data, size_t len);
void fake_ping_error(size_t i, int err);

/* far ends: accepted TCP connections, and service socketpair ends */
size_t fake_far_count(void);
void fake_far_adopt(int fd);
void fake_far_write(size_t i, const uint8_t *data, size_t len);
/* stop (or resume) reading what the NAT sends: its writes back up */
void fake_far_pause(size_t i, bool pause);
void fake_far_shutdown(size_t i);
void fake_far_close(size_t i, bool reset);

#endif
