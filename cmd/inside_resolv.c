/* SPDX-License-Identifier: MIT */
/*
 * inside_resolv.c - the container's resolv.conf while the tunnel is up.
 *
 * Theory of operation: once the routes are in place, /etc/resolv.conf is
 * pointed at the tunnel's DNS addresses with the outside's search domains
 * (tun/resolv.c rewrites it in place and keeps the original in a backup
 * beside the state file, tun_state_file(".resolv")). A backup that is
 * already there is an earlier run's that died: it is put back first, so
 * the original, not our rewrite of it, is what we keep. That happens
 * whether or not DNS is on: with --no-dns a crash's leftover still comes
 * back. A symbolic link in place of the backup is not ours: it is refused
 * (following it would copy any file of the container into resolv.conf),
 * and resolv.conf is left alone. On every exit path inside_cleanup() calls
 * inside_resolv_stop(), which writes the original back byte for byte; if
 * that fails the backup stays, and the next start restores it. A
 * resolv.conf the container keeps read-only (a read-only bind mount) is
 * its owner's choice, not a reason to refuse the tunnel: one warning, and
 * DNS is left as it was.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/inside_internal.h"
#include "lib/log.h"
#include "tun/resolv.h"

#define RESOLV_CONF "/etc/resolv.conf"

static int resolv_backup_path(struct inside *s)
{
	return tun_state_file(s->o->tun_name, ".resolv", s->resolv_backup,
			      sizeof(s->resolv_backup));
}

/** inside_resolv_start() - see inside_internal.h */
int inside_resolv_start(struct inside *s, char *why, size_t cap)
{
	static const uint8_t zero[16];
	char ns4[INET_ADDRSTRLEN], ns6[INET6_ADDRSTRLEN] = "";
	int r = resolv_backup_path(s);

	if (r == 0)
		r = tun_resolv_restore(RESOLV_CONF, s->resolv_backup);
	if (r == -ELOOP) {
		/* not ours: following it would copy any file into resolv.conf */
		snprintf(why, cap,
			 "refusing %s: it is a symbolic link, not the backup "
			 "of resolv.conf that tungate writes (remove it; "
			 RESOLV_CONF " is left as it is)",
			 s->resolv_backup);
		return r;
	}
	if (r < 0)
		return inside_errno_hint(
			r, why, cap,
			"cannot restore resolv.conf of an earlier run");
	if (!s->cfg.dns)
		return 0;
	inet_ntop(AF_INET, s->cfg.dns4, ns4, sizeof(ns4));
	/* no IPv6 here: an address the resolver cannot reach only slows it */
	if (memcmp(s->cfg.dns6, zero, sizeof(zero)))
		inet_ntop(AF_INET6, s->cfg.dns6, ns6, sizeof(ns6));
	r = tun_resolv_apply(RESOLV_CONF, s->resolv_backup, ns4,
			     ns6[0] ? ns6 : NULL,
			     s->cfg.search[0] ? s->cfg.search : NULL);
	if (r == -EROFS || r == -EPERM || r == -EACCES) {
		/* the container's choice (a read-only bind mount, an
		 * immutable file): names resolve as before, the rest works */
		tg_warn("%s is read-only (%s): left alone, so names resolve "
			"as before; the tunnel's DNS still answers at %s%s%s "
			"(--no-dns silences this)",
			RESOLV_CONF, strerror(-r), ns4, ns6[0] ? " and " : "",
			ns6);
		return 0;
	}
	if (r < 0)
		return inside_errno_hint(r, why, cap,
					 "cannot point " RESOLV_CONF
					 " at the tunnel (use --no-dns to "
					 "leave it alone)");
	s->resolv_applied = true;
	if (ns6[0])
		tg_info("%s now asks %s and %s first", RESOLV_CONF, ns4, ns6);
	else
		tg_info("%s now asks %s first", RESOLV_CONF, ns4);
	return 0;
}

/** inside_resolv_stop() - see inside_internal.h */
void inside_resolv_stop(struct inside *s)
{
	int r;

	if (!s->resolv_applied)
		return;
	r = tun_resolv_restore(RESOLV_CONF, s->resolv_backup);
	s->resolv_applied = false;
	if (r < 0)
		tg_warn("restoring %s: %s (its original is kept in %s)",
			RESOLV_CONF, strerror(-r), s->resolv_backup);
	else
		tg_info("restored %s", RESOLV_CONF);
}
