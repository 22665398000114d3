/* SPDX-License-Identifier: MIT */
/*
 * netlink.h - a small rtnetlink client (Linux), shared by the inside's
 * routing (tun/) and the outside's view of its own routes (cmd/host_linux.c).
 *
 * One NETLINK_ROUTE socket, one request at a time: a request is built in a
 * struct tg_nl_req with tg_nl_attr_put(), which refuses to write past the
 * request's end, then sent with tg_nl_talk() (waits for the kernel's ACK or
 * error) or tg_nl_dump() (calls back for each message until NLMSG_DONE).
 */
#ifndef TG_NETLINK_H
#define TG_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "lib/prefix.h"

#define TG_NL_REQ_SIZE 512

struct tg_nl {
	int fd;
	uint32_t pid; /* our port id, as the kernel assigned it */
	uint32_t seq; /* of the request in flight */
	uint8_t *buf; /* receive buffer, grown to fit the largest message */
	size_t cap;
};

struct tg_nl_req {
	union {
		struct nlmsghdr n;
		uint8_t buf[TG_NL_REQ_SIZE];
	};
};


/** tg_nl_open() - open a NETLINK_ROUTE socket. Return: 0 or -errno */
int tg_nl_open(struct tg_nl *nl);

/** tg_nl_close() - close it (fd becomes -1; closing again is harmless) */
void tg_nl_close(struct tg_nl *nl);

/**
 * tg_nl_req_init() - start a request
 * @r:		request to clear and fill
 * @type:	RTM_NEWROUTE, ...
 * @flags:	NLM_F_CREATE, NLM_F_DUMP, ... (NLM_F_REQUEST is added)
 * @hdrlen:	size of the family header that follows the nlmsghdr
 *
 * Return: the zeroed family header, to fill in
 */
void *tg_nl_req_init(struct tg_nl_req *r, uint16_t type, uint16_t flags,
		      size_t hdrlen);

/**
 * tg_nl_attr_put() - append an attribute (iproute2's addattr_l)
 * @n:		message
 * @maxlen:	size of the buffer @n sits in
 * @type:	attribute type
 * @data:	payload
 * @len:	its length
 *
 * Return: 0, or -ENOBUFS if it does not fit (the message is unchanged)
 */
int tg_nl_attr_put(struct nlmsghdr *n, size_t maxlen, uint16_t type,
		    const void *data, size_t len);

/** tg_nl_attr_put_u32() - append a 32-bit attribute. Return: 0 or -ENOBUFS */
int tg_nl_attr_put_u32(struct nlmsghdr *n, size_t maxlen, uint16_t type,
			uint32_t v);

/**
 * tg_nl_attr_parse() - index the attributes of a message (iproute2's
 * parse_rtattr): @tb[type] is the last attribute of each type up to @max;
 * unknown types and a malformed tail are ignored
 */
void tg_nl_attr_parse(const struct rtattr *tb[], int max,
		       const struct rtattr *rta, size_t len);

/**
 * tg_nl_talk() - send a request and wait for its ACK
 * Return: 0, or the kernel's -errno for the request, or a socket -errno
 */
int tg_nl_talk(struct tg_nl *nl, struct nlmsghdr *n);

typedef int (*tg_nl_dump_fn)(const struct nlmsghdr *h, void *arg);

/**
 * tg_nl_dump() - send a dump request, call @fn for each message
 * @fn:		returns 0 to go on, or -errno to stop (returned, once the
 *		dump is drained)
 *
 * Return: 0; -EAGAIN if the kernel says the dump was interrupted by a
 *	   change (callers start again); or -errno
 */
int tg_nl_dump(struct tg_nl *nl, struct nlmsghdr *n, tg_nl_dump_fn fn,
		void *arg);

struct tg_nl_route_info {
	struct tg_prefix dst;
	uint8_t type;
	uint8_t proto;
	int oif; /* first nexthop's, 0 if none */
	bool has_gw; /* first nexthop's gateway, in @gw */
	uint8_t gw[16];
};

typedef int (*tg_nl_route_fn)(const struct tg_nl_route_info *ri, void *arg);

/**
 * tg_nl_route_dump_main() - call @fn for each route of the main table of
 * @family, cached clones left out
 * Return: 0 or -errno (-EAGAIN: interrupted, start again)
 */
int tg_nl_route_dump_main(struct tg_nl *nl, int family, tg_nl_route_fn fn,
			   void *arg);

#endif
