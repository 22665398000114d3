/* SPDX-License-Identifier: MIT */
/*
 * dev.c - create the TUN device.
 *
 * IFF_TUN | IFF_NO_PI: each read() returns one bare IP packet, each write()
 * takes one. The device is not made persistent, so the kernel removes it,
 * with its addresses and routes, when the last descriptor closes - even
 * when the inside is killed. Policy rules are not tied to the device; they
 * are what tun_recover() cleans up.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "tun/tun.h"

int tun_open(const char *name, char ifname[IFNAMSIZ], int *fd)
{
	struct ifreq ifr;
	size_t len = strlen(name);
	int tfd, err;

	if (len >= IFNAMSIZ || strchr(name, '/'))
		return -EINVAL;
	tfd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	/* a node that is not 0666 refuses a non-root user before TUNSETIFF */
	if (tfd < 0)
		return errno == EACCES ? -EPERM : -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, len);
	if (ioctl(tfd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(tfd);
		return err;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	*fd = tfd;
	return 0;
}
