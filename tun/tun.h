/* SPDX-License-Identifier: MIT */
/*
 * tun.h - the inside's network plumbing (Linux): the TUN device, its
 * addresses, the policy routing, the state file, the resolv.conf rewrite.
 *
 * Everything is done with ioctl on /dev/net/tun and rtnetlink directly.
 * Functions return 0 or -errno and print nothing; messages for the user go
 * through the @warn callback or back to the caller.
 */
#ifndef TUN_H
#define TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "lib/prefix.h"

/**
 * tun_open() - create a TUN device (IFF_TUN | IFF_NO_PI), non-blocking
 * @name:	wanted name ("tungate0"), or "" for the kernel's choice
 * @ifname:	set to the name the device got
 * @fd:		set to its file descriptor
 *
 * The device is not persistent: it vanishes when @fd is closed. A missing
 * /dev/net/tun is created for the open (with CAP_MKNOD) and removed again.
 * Return: 0 or -errno (-EPERM: no CAP_NET_ADMIN; -ENOENT: no /dev/net/tun
 *	   and none could be made; -EACCES: it may not be opened here, by
 *	   its mode or the container's device cgroup; -ENODEV: no TUN
 *	   driver in this kernel)
 */
int tun_open(const char *name, char ifname[IFNAMSIZ], int *fd);

/**
 * tun_net_admin() - whether this process holds CAP_NET_ADMIN (effective),
 * which the TUN device, its addresses and the policy routing all need
 * Return: 1, 0, or -errno
 */
int tun_net_admin(void);

/**
 * tun_ipv6_disabled() - is IPv6 off in this network namespace (the
 * disable_ipv6 sysctl for all or new devices, or no IPv6 in the kernel)?
 * A device created now would get no IPv6 address.
 * Return: why, in words (the setting that disables it), or NULL
 */
const char *tun_ipv6_disabled(void);

/* what the inside installs */
struct tun_plan {
	const char *ifname;
	uint32_t mtu;
	uint8_t addr4[4], addr6[16];	/* the device's own addresses */
	uint8_t dns4[4], dns6[16];	/* routed into the device */
	bool route_default;		/* 0.0.0.0/0 and ::/0 in the table */
	const struct tg_prefix *routes;	/* offered prefixes */
	size_t n_routes;
	const struct tg_prefix *keep;	/* never routed into the tunnel (the
					 * stream's own path) */
	size_t n_keep;
	bool dns;			/* resolv.conf will name dns4/dns6 */
	uint32_t table;			/* tunnel's routing table, default 7467 */
	uint32_t pref;			/* rule priority of the suppress rule;
					 * the table rule is @pref + 1 */
	bool main_table;		/* no policy rules even where the
					 * kernel takes them: routes in the
					 * main table (tun_install() falls
					 * back to that by itself) */
};

typedef void (*tun_warn_fn)(void *arg, const char *line);

struct tun_state;

/* where the inside keeps its state files: root's alone (tun_state_dir()) */
#define TUN_STATE_DIR "/run/tungate"

struct stat;

/**
 * tun_state_dir() - make sure TUN_STATE_DIR is a directory of this user's
 * (root's), mode 0700: created so if absent, else checked, never changed
 * @st:		set to what lstat() found there, for a message; may be NULL
 *
 * Whoever else owns it, or may write into it, could point the files that
 * root writes and reads there at any file of the container.
 * Return: 0; -ELOOP a symbolic link; -ENOTDIR not a directory; -EPERM
 *	   another user's; -EACCES another mode than 0700; or -errno
 */
int tun_state_dir(struct stat *st);

/**
 * tun_state_path() - the state file for this network namespace and device:
 * /run/tungate/<netns inode>-<ifname>.state
 * Return: 0 or -errno
 */
int tun_state_path(const char *ifname, char *buf, size_t cap);

/**
 * tun_state_file() - a file kept beside the state file, keyed the same way:
 * /run/tungate/<netns inode>-<ifname><ext>
 * @ifname:	the TUN device's name
 * @ext:	".state" (the state file), ".resolv" (the original
 *		resolv.conf), ".sock" (where a waiting inside listens)
 * @buf:	where the path goes
 * @cap:	its size
 *
 * Return: 0 or -errno (-EINVAL: not a device name; -ENAMETOOLONG)
 */
int tun_state_file(const char *ifname, const char *ext, char *buf, size_t cap);

/**
 * tun_recover() - remove what a previous inside that died without cleaning
 * up left behind, as recorded in its state file, then delete the file
 * @ifname:	device name the state file is keyed by
 * @removed:	set to the number of items removed
 *
 * Return: 0 (also when there was no state file) or -errno
 */
int tun_recover(const char *ifname, int *removed);

/**
 * tun_state_owner() - the pid of the inside that holds @ifname's state file
 * Return: 0, -ENOENT or -EBADMSG
 */
int tun_state_owner(const char *ifname, long *pid);

/**
 * tun_install() - configure the device and install the policy routing
 * @plan:	what to install
 * @warn:	called with one line for each skipped or overlapping prefix
 * @arg:	for @warn
 * @st:		set to what was installed, for tun_uninstall()
 *
 * Records each item in the state file before installing it. On failure,
 * what was installed is removed again and *@st is NULL.
 * Return: 0 or -errno
 */
int tun_install(const struct tun_plan *plan, tun_warn_fn warn, void *arg,
		struct tun_state **st);

/* which of a plan's own addresses is taken already, and by what */
enum tun_conflict_kind {
	TUN_CONFLICT_NONE,
	TUN_CONFLICT_TUN, /* the device's address (addr4/addr6) */
	TUN_CONFLICT_DNS, /* the tunnel's DNS address (dns4/dns6) */
};

struct tun_conflict {
	enum tun_conflict_kind kind;
	struct tg_prefix addr; /* the plan's address, as a host prefix */
	struct tg_prefix within; /* .family 0: @addr itself is assigned on
				  * @dev; else the container's route that
				  * holds it */
	char dev[IFNAMSIZ]; /* "" when not known */
};

/**
 * tun_check_addrs() - before tun_open(): is the TUN or DNS address of @plan
 * assigned already in this container? With @plan->dns, is the DNS address
 * inside a subnet the container routes itself (the suppress rule would
 * keep its queries away from the tunnel)?
 * @plan:	the plan (@plan->ifname is not used)
 * @c:		filled with the first conflict found
 *
 * Return: 1 if there is one, 0 if not, or -errno
 */
int tun_check_addrs(const struct tun_plan *plan, struct tun_conflict *c);

/**
 * tun_update() - route a new offer without a restart: what is new goes in
 * (recorded in the state file first), what was withdrawn comes out
 * @st:		from tun_install()
 * @plan:	the new plan; only route_default, routes and keep are read
 *		(device, addresses, table and rules stay as installed)
 * @warn:	as for tun_install(), for prefixes new since the last offer
 * @arg:	for @warn
 * @added:	set to the number of routes put in
 * @removed:	set to the number taken out
 *
 * Throw routes go in before, and come out after, the routes they cut
 * holes in, so the stream's own path never enters the tunnel meanwhile.
 * A route the kernel refuses is left out, with a warning.
 * Return: 0, or -errno when nothing was changed
 */
int tun_update(struct tun_state *st, const struct tun_plan *plan,
	       tun_warn_fn warn, void *arg, size_t *added, size_t *removed);

/** tun_installed_routes() - number of prefixes routed, after tun_install() */
size_t tun_installed_routes(const struct tun_state *st);

/**
 * tun_uninstall() - remove every rule, route and address that tun_install()
 * added, by its own identity, then the state file; frees @st
 * Return: 0, or the first -errno met (removal goes on past errors)
 */
int tun_uninstall(struct tun_state *st);

#endif
