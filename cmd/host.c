// SPDX-License-Identifier: MIT
/*
 * host.c - the portable part of host.h: this machine's own addresses,
 * from getifaddrs().
 *
 * Not libuv's uv_interface_addresses(): it leaves out interfaces that are
 * not UP and RUNNING, and the kernel delivers to the addresses of those
 * too (a bridge with nothing attached has no carrier, a link set down
 * keeps its addresses), so a container would reach services listening
 * there. Every address of every interface counts.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "cmd/host.h"

int tg_host_addrs(struct tg_prefix **out, size_t *n)
{
	struct ifaddrs *ifs, *i;
	struct tg_prefix *p, a;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (getifaddrs(&ifs) < 0)
		return -errno;
	for (i = ifs; i; i = i->ifa_next)
		count += i->ifa_addr && (i->ifa_addr->sa_family == AF_INET ||
					 i->ifa_addr->sa_family == AF_INET6);
	p = count ? calloc(count, sizeof(*p)) : NULL;
	if (count && !p) {
		freeifaddrs(ifs);
		return -ENOMEM;
	}
	for (i = ifs; i; i = i->ifa_next) {
		const struct sockaddr_in *a4 = (const void *)i->ifa_addr;
		const struct sockaddr_in6 *a6 = (const void *)i->ifa_addr;

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			tg_prefix_host(&a, AF_INET,
				       (const uint8_t *)&a4->sin_addr);
		else if (i->ifa_addr->sa_family == AF_INET6)
			tg_prefix_host(&a, AF_INET6, a6->sin6_addr.s6_addr);
		else
			continue;
		if (!tg_prefix_in(p, *n, &a))
			p[(*n)++] = a;
	}
	freeifaddrs(ifs);
	*out = p;
	return 0;
}
