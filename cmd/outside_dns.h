/* SPDX-License-Identifier: MIT */
/*
 * outside_dns.h - the outside's DNS service: the NAT's in-process service
 * at the tunnel's DNS address, answered by the DNS proxy.
 */
#ifndef TG_OUTSIDE_DNS_H
#define TG_OUTSIDE_DNS_H

#include <uv.h>

#include "dns/dns.h"
#include "nat/nat.h"

struct outside_dns;

/**
 * outside_dns_new() - start the proxy; fill @no's services for the
 * addresses @dns4 and @dns6, port 53; @dopts: the proxy's limits (copied),
 * whose max_pending also sizes the pool of UDP queries waiting for answers
 * Return: the service, or NULL on allocation failure
 */
struct outside_dns *outside_dns_new(uv_loop_t *loop, struct nat_opts *no,
				    const struct dns_opts *dopts,
				    const uint8_t dns4[4],
				    const uint8_t dns6[16]);

/** outside_dns_attach() - the NAT the answers go to, once it exists */
void outside_dns_attach(struct outside_dns *d, struct nat *n);

void outside_dns_stats(const struct outside_dns *d, struct dns_stats *s);

/** outside_dns_foreach_cache() - the proxy's cache, for `tungate status` */
void outside_dns_foreach_cache(const struct outside_dns *d,
			       void (*cb)(void *arg,
					  const struct dns_cache_info *ci),
			       void *arg);

/** outside_dns_close() - stop answering; pending answers are dropped */
void outside_dns_close(struct outside_dns *d);

#endif
