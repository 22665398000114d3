// SPDX-License-Identifier: MIT
/*
 * host.c - the portable part of host.h: own addresses through libuv,
 * which reads them as each platform allows (getifaddrs, netlink).
 */
#include <errno.h>
#include <stdlib.h>
#include <uv.h>

#include "cmd/host.h"

int tg_host_addrs(struct tg_prefix **out, size_t *n)
{
	uv_interface_address_t *ifs;
	struct tg_prefix *p;
	int count, r;

	*out = NULL;
	*n = 0;
	r = uv_interface_addresses(&ifs, &count);
	if (r)
		return r;
	p = calloc(count ? (size_t)count : 1, sizeof(*p));
	if (!p) {
		uv_free_interface_addresses(ifs, count);
		return -ENOMEM;
	}
	for (int i = 0; i < count; i++) {
		const struct sockaddr_in *a4 = &ifs[i].address.address4;
		const struct sockaddr_in6 *a6 = &ifs[i].address.address6;

		if (a4->sin_family == AF_INET)
			tg_prefix_host(&p[(*n)++], AF_INET,
				       (const uint8_t *)&a4->sin_addr);
		else if (a6->sin6_family == AF_INET6)
			tg_prefix_host(&p[(*n)++], AF_INET6,
				       a6->sin6_addr.s6_addr);
	}
	uv_free_interface_addresses(ifs, count);
	*out = p;
	return 0;
}
