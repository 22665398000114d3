/* SPDX-License-Identifier: MIT */
/*
 * inside_opts.c - "a flag given here wins": the inside's options over the
 * outside's offer, and the plan built from the result.
 *
 * Theory of operation: the outside decides what the container gets (its
 * CONFIG frame: routes, MTU, the TUN and DNS addresses, DNS on or off),
 * but a flag given to the inside itself wins over each of these. At the
 * first CONFIG every override applies (inside_apply_overrides()); a later
 * CONFIG is a new offer of routes only, and --route given here wins over
 * it in the same way (inside_offer_routes(), which the first CONFIG uses
 * too, so the rule is written once). What comes out, together with the
 * keep list (inside_keep.c) and --table and --pref, becomes the plan that
 * tun_install() and tun_update() put in place (inside_plan_fill()).
 */
#include <string.h>

#include "cmd/inside_internal.h"

static void routes_set(struct tp_config *c, bool route_default, size_t n,
		       const struct tg_prefix *routes)
{
	c->route_default = route_default;
	c->n_routes = n;
	memcpy(c->routes, routes, n * sizeof(routes[0]));
}

/** inside_offer_routes() - see inside_internal.h */
bool inside_offer_routes(const struct tg_opts *o, struct tp_config *dst,
			 const struct tp_config *offer)
{
	if (o->routes_given) {
		routes_set(dst, o->route_default, o->n_routes, o->routes);
		return true;
	}
	if (dst != offer)
		routes_set(dst, offer->route_default, offer->n_routes,
			   offer->routes);
	return false;
}

/** inside_apply_overrides() - see inside_internal.h */
void inside_apply_overrides(const struct tg_opts *o, struct tp_config *c)
{
	if (o->mtu)
		c->mtu = o->mtu;
	if (o->dns >= 0)
		c->dns = o->dns;
	inside_offer_routes(o, c, c);
	if (o->tun4_given)
		memcpy(c->tun4, o->tun4, 4);
	if (o->tun6_given)
		memcpy(c->tun6, o->tun6, 16);
	if (o->dns4_given)
		memcpy(c->dns4, o->dns4, 4);
	if (o->dns6_given)
		memcpy(c->dns6, o->dns6, 16);
}

/** inside_plan_fill() - see inside_internal.h */
void inside_plan_fill(const struct inside *s, struct tun_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->ifname = s->ifname;
	plan->mtu = s->cfg.mtu;
	memcpy(plan->addr4, s->cfg.tun4, 4);
	memcpy(plan->addr6, s->cfg.tun6, 16);
	memcpy(plan->dns4, s->cfg.dns4, 4);
	memcpy(plan->dns6, s->cfg.dns6, 16);
	plan->dns = s->cfg.dns;
	plan->route_default = s->cfg.route_default;
	plan->routes = s->cfg.routes;
	plan->n_routes = s->cfg.n_routes;
	plan->keep = s->keep;
	plan->n_keep = s->n_keep;
	plan->table = s->o->table;
	plan->pref = s->o->pref;
	plan->main_table = s->o->main_table;
}
