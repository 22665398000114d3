/* SPDX-License-Identifier: MIT */
/*
 * outside_status.h - what the outside shows of itself: the control
 * socket that `tungate status` reads, the packet capture (--pcap), and
 * systemd's notifications. outside.c calls these at the moments they
 * describe; each is a no-op for what is not enabled, and for a NULL
 * status. The status may outlive a stream: the link, HELLO and READY are
 * told again for each new one.
 */
#ifndef TG_OUTSIDE_STATUS_H
#define TG_OUTSIDE_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "transport/config.h"
#include "transport/link.h"
#include "nat/nat.h"
#include "cmd/opts.h"
#include "cmd/outside_dns.h"

struct outside_status;

/**
 * outside_status_new() - open the control socket, the capture file and
 * the systemd notifier
 * @loop:	event loop
 * @o:		command line (--name, --pcap, --pcap-max-bytes)
 * @cfg:	the offer, read when the status is asked for
 * @nat:	the NAT, for its counters and flows
 * @dns:	the DNS service, or NULL
 *
 * Logs why on failure: a capture file that cannot be created, or a
 * --name that another running outside has.
 * Return: the status, or NULL
 */
struct outside_status *outside_status_new(uv_loop_t *loop,
					  const struct tg_opts *o,
					  const struct tp_config *cfg,
					  struct nat *nat,
					  struct outside_dns *dns);

/**
 * outside_status_link() - the stream's link, whose counters are shown
 * @st:		the status
 * @l:		the new link; NULL when the link is gone (it is not read
 *		again): the stream counters show zero until the next one
 */
void outside_status_link(struct outside_status *st, struct tp_link *l);

/** outside_status_packet() - a packet crossed the tunnel (for --pcap) */
void outside_status_packet(struct outside_status *st, const uint8_t *pkt,
			   size_t len);

/**
 * outside_status_hello() - the inside answered (tungate @version); each
 * new stream's HELLO replaces the last
 */
void outside_status_hello(struct outside_status *st, const char *version);

/**
 * outside_status_ready() - the inside's routes are up on this stream:
 * READY=1 the first time; each new stream's text replaces the last
 */
void outside_status_ready(struct outside_status *st, const uint8_t *text,
			  size_t len);

/**
 * outside_status_session() - the session's state, whenever it changes
 * @st:		the status
 * @id:		session id (TP_SESSION_LEN bytes, see transport/frame.h; all
 *		zeros: no session, resume is off)
 * @drops:	streams that dropped during this run
 * @resumes:	drops after which the session was resumed
 * @outage_since_ms: uv_now() when the current outage began, 0 when the
 *		stream is up
 */
void outside_status_session(struct outside_status *st, const uint8_t *id,
			    unsigned drops, unsigned resumes,
			    uint64_t outage_since_ms);

/**
 * outside_status_close() - the outside is stopping (@why, may be NULL):
 * STOPPING=1, the socket file is removed, the capture flushed and closed.
 * Handles close with the loop; nothing is used after this call.
 */
void outside_status_close(struct outside_status *st, const char *why);

#endif
