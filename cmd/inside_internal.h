/* SPDX-License-Identifier: MIT */
/*
 * inside_internal.h - what the files of `tungate inside` share: the
 * session's state (struct inside, driven by inside.c) and the helpers
 * that inside.c calls but that are not the session machine: the SSH
 * client found in the environment or /proc (inside_proc.c), the keep list
 * (inside_keep.c), the flags that win over the outside's offer and the
 * plan built from both (inside_opts.c), and resolv.conf while the tunnel
 * is up (inside_resolv.c). Nothing outside these files includes it.
 */
#ifndef TG_INSIDE_INTERNAL_H
#define TG_INSIDE_INTERNAL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cmd/inside_resume.h"
#include "cmd/opts.h"
#include "lib/prefix.h"
#include "transport/config.h"
#include "transport/link.h"
#include "tun/track.h"
#include "tun/tun.h"

/* --keep, the SSH client, and the outside's keep list */
#define MAX_KEEP (TG_MAX_PREFIXES + TP_CONFIG_MAX_KEEP + 1)

/* the session: one per process, driven by inside.c */
struct inside {
	uv_loop_t *loop;
	const struct tg_opts *o;
	struct tp_link *link;
	struct tp_config cfg;
	struct tun_state *st;
	char ifname[IFNAMSIZ];
	int tun_fd;
	uv_poll_t tun_poll;
	bool poll_init, polling, configured, stopping, link_down;
	bool resolv_applied;
	const char *no_ipv6; /* why IPv6 is off (IPv4 alone), or NULL */
	char resolv_backup[256];
	struct tg_prefix ssh_client; /* from SSH_CONNECTION; family 0: none */
	size_t n_keep;
	struct tg_prefix keep[MAX_KEEP];
	uv_signal_t sig[3];
	int exit_code;
	char why[512];
	uint64_t tun_write_drops;

	/* session resume: see the top of inside.c */
	uint8_t session[TP_SESSION_LEN], peer_session[TP_SESSION_LEN];
	struct inside_resume *resume;
	struct tun_track *track;
	uv_timer_t grace_timer;
	bool grace_init, waiting, can_hand_off, ready_sent;
	int stream_conn; /* the hand-over connection of a resumed stream:
			  * open while we use that stream */
	int handed_conn; /* ours, when we handed our stream over */
	bool peer_stripe; /* the outside's HELLO: a stripe of its session */
	int stripe_conn[TP_STRIPES_MAX]; /* hand-over connections of the
					  * stripes taken; -1: none */
	uint64_t drop_ms;
	unsigned drops, resumes;
};

/* inside.c */

/**
 * inside_errno_hint() - "@what: <strerror(-@r)><hint>" into @why, the hint
 * naming the flag or the setup that fixes @r
 * Return: @r
 */
int inside_errno_hint(int r, char *why, size_t cap, const char *what);

/* inside_proc.c */

/**
 * inside_find_ssh_client() - the SSH client's address, from our
 * SSH_CONNECTION or that of the process that ran us (sudo clears it)
 * @out:	set to the client as a host prefix; left alone if none is found
 */
void inside_find_ssh_client(struct tg_prefix *out);

/* inside_keep.c */

/**
 * inside_keep_build() - @s->keep from --keep, @s->ssh_client and the
 * keep list of @s->cfg, each once
 */
void inside_keep_build(struct inside *s);

/* inside_opts.c */

/**
 * inside_apply_overrides() - flags given to the inside win over the
 * outside's first offer @c: MTU, DNS, routes, the TUN and DNS addresses
 */
void inside_apply_overrides(const struct tg_opts *o, struct tp_config *c);

/**
 * inside_offer_routes() - the routes of @dst from the outside's @offer,
 * unless --route was given here: then they are those of @o
 * @o:		the inside's options
 * @dst:	the session's configuration
 * @offer:	the outside's offer (may be @dst: it was decoded there)
 *
 * Return: true if --route given here won over @offer
 */
bool inside_offer_routes(const struct tg_opts *o, struct tp_config *dst,
			 const struct tp_config *offer);

/**
 * inside_plan_fill() - what tun_install() and tun_update() are to put in
 * place, from @s->cfg, the keep list and the table and priority options;
 * @plan points into @s
 */
void inside_plan_fill(const struct inside *s, struct tun_plan *plan);

/* inside_resolv.c */

/**
 * inside_resolv_start() - put back the original resolv.conf an earlier run
 * left, then, if the configuration asks for DNS, point it at the tunnel
 * Return: 0, or -errno with @why set
 */
int inside_resolv_start(struct inside *s, char *why, size_t cap);

/**
 * inside_resolv_stop() - give resolv.conf back its original, if we
 * rewrote it; a failure is logged, the backup kept for the next start
 */
void inside_resolv_stop(struct inside *s);

#endif
