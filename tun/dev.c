/* SPDX-License-Identifier: MIT */
/*
 * dev.c - create the TUN device.
 *
 * IFF_TUN | IFF_NO_PI: each read() returns one bare IP packet, each write()
 * takes one. The device is not made persistent, so the kernel removes it,
 * with its addresses and routes, when the last descriptor closes - even
 * when the inside is killed. Policy rules are not tied to the device; they
 * are what tun_recover() cleans up.
 *
 * Containers differ in what they let us do, and each refusal has its own
 * fix, so each gets its own code: no CAP_NET_ADMIN (Docker's default set)
 * is found before anything is tried (tun_net_admin()); a missing
 * /dev/net/tun node is created when we hold CAP_MKNOD, opened, and
 * unlinked again at once - the open descriptor is all the device needs,
 * so not even a crash leaves the node behind; a node the device cgroup
 * will not let us open (a container started without --device
 * /dev/net/tun) is -EACCES.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/if_tun.h>

#include "tun/tun.h"

#define TUN_DIR "/dev/net"
#define TUN_NODE TUN_DIR "/tun"
#define TUN_MAJOR 10 /* misc; Documentation/admin-guide/devices.txt */
#define TUN_MINOR 200

/** tun_net_admin() - see tun.h */
int tun_net_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	/* glibc has no wrapper, and libcap is one more static library */
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	return !!(d[CAP_TO_INDEX(CAP_NET_ADMIN)].effective &
		  CAP_TO_MASK(CAP_NET_ADMIN));
}

static int open_node(void)
{
	int fd = open(TUN_NODE, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	/* a node that is not 0666 refuses a non-root user, and the device
	 * cgroup a container without --device /dev/net/tun */
	if (fd < 0)
		return errno == EPERM ? -EACCES : -errno;
	return fd;
}

/* no node: make one for as long as it takes to open it */
static int open_made_node(void)
{
	bool made_dir = mkdir(TUN_DIR, 0755) == 0;
	int fd;

	if (mknod(TUN_NODE, S_IFCHR | 0666, makedev(TUN_MAJOR, TUN_MINOR)) <
	    0) {
		fd = -ENOENT; /* no CAP_MKNOD, or a read-only /dev */
	} else {
		fd = open_node();
		unlink(TUN_NODE);
	}
	if (made_dir)
		rmdir(TUN_DIR);
	return fd;
}

int tun_open(const char *name, char ifname[IFNAMSIZ], int *fd)
{
	struct ifreq ifr;
	size_t len = strlen(name);
	int tfd, err;

	if (len >= IFNAMSIZ || strchr(name, '/'))
		return -EINVAL;
	tfd = open_node();
	if (tfd == -ENOENT)
		tfd = open_made_node();
	if (tfd < 0)
		return tfd;
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
