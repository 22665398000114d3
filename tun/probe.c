/* SPDX-License-Identifier: MIT */
/*
 * probe.c - what this container's network stack allows, asked before
 * anything is installed: whether it has IPv6 at all.
 *
 * Docker starts containers with net.ipv6.conf.all.disable_ipv6=1 unless
 * told otherwise. Writing "all" writes "default" too, so a device created
 * afterwards (ours) is born with IPv6 off, and the kernel refuses its IPv6
 * address with EACCES. We look before the HELLO goes out, so that the
 * outside knows to offer IPv4 alone. /proc/sys/net is per network
 * namespace: these are the container's own values.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "tun/tun.h"

#define IPV6_CONF "/proc/sys/net/ipv6/conf/"

/* the knob reads "1"; a knob that cannot be read says nothing */
static bool knob_on(const char *path)
{
	char c = '0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = '0';
	close(fd);
	return c == '1';
}

const char *tun_ipv6_disabled(void)
{
	/* a kernel without IPv6 (ipv6.disable=1, or not built) has no
	 * /proc/sys/net/ipv6 at all */
	if (access("/proc/sys/net/ipv6", F_OK) < 0)
		return access("/proc/sys/net", F_OK) == 0
			       ? "this kernel has no IPv6"
			       : NULL;
	if (knob_on(IPV6_CONF "all/disable_ipv6"))
		return "net.ipv6.conf.all.disable_ipv6=1";
	if (knob_on(IPV6_CONF "default/disable_ipv6"))
		return "net.ipv6.conf.default.disable_ipv6=1";
	return NULL;
}
