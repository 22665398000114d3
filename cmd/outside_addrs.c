// SPDX-License-Identifier: MIT
/*
 * outside_addrs.c - this machine's own addresses, kept in the NAT's policy.
 *
 * Theory of operation: a container must not reach the services of the
 * machine the outside runs on through that machine's own addresses
 * (nat/policy.c refuses them unless --allow names them), and those
 * addresses change under a running outside: DHCP, a VPN coming up, a
 * docker0 bridge, `ip addr add`. The watcher of host.h says when to look
 * again; each look reads the whole set (every interface, whatever its
 * state) and, when it differs from what the NAT has, hands it over
 * (nat_set_own(), which also ends the flows that would now reach this
 * machine) and logs the change in one line. The watch starts before the
 * first read, so no change can fall between the two. A set that cannot
 * be read leaves the last one in place. Loopback and link-local addresses
 * are left out: the policy refuses their whole ranges anyway, and every
 * veth a container engine makes brings a link-local address that would
 * otherwise be logged as a change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "cmd/host.h"
#include "cmd/outside_addrs.h"

#define LINE_MAX_ADDRS 600

struct outside_addrs {
	struct nat *nat;
	struct tg_host_watch *watch;
	struct tg_prefix *cur;
	size_t n_cur;
	bool read_warned;
};

/* append " SIGNaddr" for each of @a not in @b; Return: how many */
static size_t diff_str(char *line, size_t cap, size_t *len, char sign,
		       const struct tg_prefix *a, size_t na,
		       const struct tg_prefix *b, size_t nb)
{
	char p[TG_PREFIX_STRLEN];
	size_t k = 0;

	for (size_t i = 0; i < na; i++) {
		if (tg_prefix_in(b, nb, &a[i]))
			continue;
		k++;
		if (*len + TG_PREFIX_STRLEN + 8 >= cap)
			continue;
		tg_prefix_str(&a[i], p);
		/* a host prefix: the address alone says it */
		*strchr(p, '/') = '\0';
		*len += (size_t)snprintf(line + *len, cap - *len, " %c%s", sign,
					 p);
	}
	return k;
}

static void log_change(const struct outside_addrs *a,
		       const struct tg_prefix *now, size_t n, int ended)
{
	char line[LINE_MAX_ADDRS] = "", tail[64] = "";
	size_t len = 0, added, gone;

	added = diff_str(line, sizeof(line), &len, '+', now, n, a->cur,
			 a->n_cur);
	gone = diff_str(line, sizeof(line), &len, '-', a->cur, a->n_cur, now,
			n);
	if (ended > 0)
		snprintf(tail, sizeof(tail), "; %d flow%s to them ended", ended,
			 ended == 1 ? "" : "s");
	tg_info("own addresses changed (%zu new, %zu gone):%s%s", added, gone,
		line, tail);
}

/* leave out what tg_prefix_special() covers; Return: how many are left */
static size_t drop_special(struct tg_prefix *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!tg_prefix_special(&p[i]))
			p[k++] = p[i];
	return k;
}

/* read the set again; hand it to the NAT if it changed */
static void refresh(struct outside_addrs *a, bool first)
{
	struct tg_prefix *now;
	size_t n;
	int r = tg_host_addrs(&now, &n);

	if (r < 0) {
		if (!a->read_warned)
			tg_warn("cannot read this machine's own addresses: "
				"%s; the container may reach services "
				"listening on those added since",
				strerror(-r));
		a->read_warned = true;
		return;
	}
	a->read_warned = false;
	n = drop_special(now, n);
	if (!first && tg_prefix_same_set(now, n, a->cur, a->n_cur)) {
		free(now);
		return;
	}
	r = nat_set_own(a->nat, now, n);
	if (r < 0) {
		tg_warn("out of memory: the NAT keeps the old own addresses");
		free(now);
		return;
	}
	if (first)
		tg_debug("this machine has %zu own addresses (beyond "
			 "loopback and link-local), refused",
			 n);
	else
		log_change(a, now, n, r);
	free(a->cur);
	a->cur = now;
	a->n_cur = n;
}

static void watch_cb(void *arg)
{
	refresh(arg, false);
}

struct outside_addrs *outside_addrs_new(uv_loop_t *loop, struct nat *nat)
{
	struct outside_addrs *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return NULL;
	a->nat = nat;
	r = tg_host_watch_addrs(loop, watch_cb, a, &a->watch);
	if (r < 0)
		tg_warn("cannot watch this machine's own addresses: %s; "
			"addresses added from now on are not refused",
			strerror(-r));
	refresh(a, true);
	return a;
}

void outside_addrs_close(struct outside_addrs *a)
{
	if (!a)
		return;
	tg_host_watch_close(a->watch);
	free(a->cur);
	free(a);
}
