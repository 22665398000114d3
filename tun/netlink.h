/* SPDX-License-Identifier: MIT */
/*
 * netlink.h - a small rtnetlink client for tun/ (internal to tun/).
 *
 * One NETLINK_ROUTE socket, one request at a time: a request is built in a
 * struct tun_nl_req with tun_nl_attr_put(), which refuses to write past the
 * request's end, then sent with tun_nl_talk() (waits for the kernel's ACK or
 * error) or tun_nl_dump() (calls back for each message until NLMSG_DONE).
 * The typed operations below cover what the inside installs.
 */
#ifndef TUN_NETLINK_H
#define TUN_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "lib/prefix.h"

#define TUN_NL_REQ_SIZE 512

struct tun_nl {
	int fd;
	uint32_t pid; /* our port id, as the kernel assigned it */
	uint32_t seq; /* of the request in flight */
	uint8_t *buf; /* receive buffer, grown to fit the largest message */
	size_t cap;
};

struct tun_nl_req {
	union {
		struct nlmsghdr n;
		uint8_t buf[TUN_NL_REQ_SIZE];
	};
};


/** tun_nl_open() - open a NETLINK_ROUTE socket. Return: 0 or -errno */
int tun_nl_open(struct tun_nl *nl);

/** tun_nl_close() - close it (fd becomes -1; closing again is harmless) */
void tun_nl_close(struct tun_nl *nl);

/**
 * tun_nl_req_init() - start a request
 * @r:		request to clear and fill
 * @type:	RTM_NEWROUTE, ...
 * @flags:	NLM_F_CREATE, NLM_F_DUMP, ... (NLM_F_REQUEST is added)
 * @hdrlen:	size of the family header that follows the nlmsghdr
 *
 * Return: the zeroed family header, to fill in
 */
void *tun_nl_req_init(struct tun_nl_req *r, uint16_t type, uint16_t flags,
		      size_t hdrlen);

/**
 * tun_nl_attr_put() - append an attribute (iproute2's addattr_l)
 * @n:		message
 * @maxlen:	size of the buffer @n sits in
 * @type:	attribute type
 * @data:	payload
 * @len:	its length
 *
 * Return: 0, or -ENOBUFS if it does not fit (the message is unchanged)
 */
int tun_nl_attr_put(struct nlmsghdr *n, size_t maxlen, uint16_t type,
		    const void *data, size_t len);

/** tun_nl_attr_put_u32() - append a 32-bit attribute. Return: 0 or -ENOBUFS */
int tun_nl_attr_put_u32(struct nlmsghdr *n, size_t maxlen, uint16_t type,
			uint32_t v);

/**
 * tun_nl_attr_parse() - index the attributes of a message (iproute2's
 * parse_rtattr): @tb[type] is the last attribute of each type up to @max;
 * unknown types and a malformed tail are ignored
 */
void tun_nl_attr_parse(const struct rtattr *tb[], int max,
		       const struct rtattr *rta, size_t len);

/**
 * tun_nl_talk() - send a request and wait for its ACK
 * Return: 0, or the kernel's -errno for the request, or a socket -errno
 */
int tun_nl_talk(struct tun_nl *nl, struct nlmsghdr *n);

typedef int (*tun_nl_dump_fn)(const struct nlmsghdr *h, void *arg);

/**
 * tun_nl_dump() - send a dump request, call @fn for each message
 * @fn:		returns 0 to go on, or -errno to stop (returned, once the
 *		dump is drained)
 *
 * Return: 0; -EAGAIN if the kernel says the dump was interrupted by a
 *	   change (callers start again); or -errno
 */
int tun_nl_dump(struct tun_nl *nl, struct nlmsghdr *n, tun_nl_dump_fn fn,
		void *arg);

/** tun_nl_link_set() - set the MTU (0: leave it) and bring the link up */
int tun_nl_link_set(struct tun_nl *nl, int ifindex, uint32_t mtu);

/**
 * tun_nl_addr() - add or delete a host address (/32 or /128) on a link;
 * IPv6 addresses skip duplicate address detection (IFA_F_NODAD)
 * @addr:	4 or 16 bytes by @family
 */
int tun_nl_addr(struct tun_nl *nl, bool add, int ifindex, int family,
		const uint8_t *addr);

struct tun_nl_route {
	struct tg_prefix dst;
	uint32_t table;
	uint8_t type; /* RTN_UNICAST, RTN_THROW; 0 on delete: any */
	int oif; /* 0: none */
	const uint8_t *prefsrc; /* NULL: none */
};

/**
 * tun_nl_route() - add (exclusively) or delete a route in a table
 * Return: 0 or -errno (-EEXIST: already there; -ESRCH: not there)
 */
int tun_nl_route(struct tun_nl *nl, bool add, const struct tun_nl_route *r);

struct tun_nl_rule {
	uint8_t family;
	uint32_t prio;
	uint32_t table;
	int suppress; /* suppress_prefixlength, or -1 */
};

/**
 * tun_nl_rule() - add (exclusively) or delete a "lookup TABLE" rule; a
 * delete matches the family, priority, table and suppress_prefixlength
 * Return: 0 or -errno (-EEXIST: already there; -ENOENT: not there)
 */
int tun_nl_rule(struct tun_nl *nl, bool add, const struct tun_nl_rule *r);

struct tun_nl_route_info {
	struct tg_prefix dst;
	uint8_t type;
	uint8_t proto;
	int oif; /* first nexthop's, 0 if none */
};

typedef int (*tun_nl_route_fn)(const struct tun_nl_route_info *ri, void *arg);

/**
 * tun_nl_route_dump_main() - call @fn for each route of the main table of
 * @family, cached clones left out
 * Return: 0 or -errno (-EAGAIN: interrupted, start again)
 */
int tun_nl_route_dump_main(struct tun_nl *nl, int family, tun_nl_route_fn fn,
			   void *arg);

#endif
