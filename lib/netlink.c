// SPDX-License-Identifier: MIT
/*
 * netlink.c - a small rtnetlink client: requests, ACKs, dumps (Linux).
 *
 * Theory of operation: one socket, one request in flight. Each request gets
 * the next sequence number; replies whose sequence number or port id do not
 * match it are stale and skipped, as is anything not sent by the kernel.
 * tg_nl_talk() asks for an ACK and returns the errno it carries;
 * tg_nl_dump() reads until NLMSG_DONE, even after its callback failed, so
 * that the next request starts on an empty socket. The receive buffer is
 * grown to the size of the next datagram (peeked with MSG_TRUNC) before it
 * is read, so a message is never cut; every length in a reply is checked
 * against what was received before it is used. Shared by the inside's
 * routing (tun/) and the outside's view of its routes (cmd/host_linux.c).
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/netlink.h"

#define NL_BUF_MIN 32768 /* the kernel's largest dump datagram */
#define NL_TIMEOUT_SEC 5 /* the kernel answers at once; never hang */

int tg_nl_open(struct tg_nl *nl)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	socklen_t salen = sizeof(sa);
	struct timeval tv = {.tv_sec = NL_TIMEOUT_SEC};
	int one = 1, err;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(nl->fd, (struct sockaddr *)&sa, &salen) < 0 ||
	    setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		err = -errno;
		goto out;
	}
	/* error replies need not echo the whole request back */
	(void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one,
			 sizeof(one));
	nl->pid = sa.nl_pid;
	nl->seq = (uint32_t)time(NULL);
	nl->cap = NL_BUF_MIN;
	nl->buf = malloc(nl->cap);
	if (nl->buf)
		return 0;
	err = -ENOMEM;
out:
	tg_nl_close(nl);
	return err;
}

void tg_nl_close(struct tg_nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
	nl->fd = -1;
}

void *tg_nl_req_init(struct tg_nl_req *r, uint16_t type, uint16_t flags,
		      size_t hdrlen)
{
	memset(r, 0, sizeof(*r));
	r->n.nlmsg_len = NLMSG_LENGTH(hdrlen);
	r->n.nlmsg_type = type;
	r->n.nlmsg_flags = NLM_F_REQUEST | flags;
	return NLMSG_DATA(&r->n);
}

int tg_nl_attr_put(struct nlmsghdr *n, size_t maxlen, uint16_t type,
		    const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(n->nlmsg_len);
	struct rtattr *rta;

	if (len > UINT16_MAX - RTA_LENGTH(0) || off > maxlen ||
	    RTA_SPACE(len) > maxlen - off)
		return -ENOBUFS;
	rta = (struct rtattr *)((uint8_t *)n + off);
	rta->rta_type = type;
	rta->rta_len = (uint16_t)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	memset((uint8_t *)RTA_DATA(rta) + len, 0,
	       RTA_SPACE(len) - RTA_LENGTH(len));
	n->nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
	return 0;
}

int tg_nl_attr_put_u32(struct nlmsghdr *n, size_t maxlen, uint16_t type,
			uint32_t v)
{
	return tg_nl_attr_put(n, maxlen, type, &v, sizeof(v));
}

void tg_nl_attr_parse(const struct rtattr *tb[], int max,
		       const struct rtattr *rta, size_t len)
{
	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	while (len >= sizeof(*rta)) {
		size_t step = RTA_ALIGN(rta->rta_len);
		int type = rta->rta_type & NLA_TYPE_MASK;

		if (rta->rta_len < sizeof(*rta) || rta->rta_len > len)
			return;
		if (type <= max)
			tb[type] = rta;
		if (step >= len)
			return;
		len -= step;
		rta = (const struct rtattr *)((const uint8_t *)rta + step);
	}
}

static int nl_send(struct tg_nl *nl, struct nlmsghdr *n)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	ssize_t len;

	n->nlmsg_seq = ++nl->seq;
	n->nlmsg_pid = 0;
	do {
		len = sendto(nl->fd, n, n->nlmsg_len, 0, (struct sockaddr *)&sa,
			     sizeof(sa));
	} while (len < 0 && errno == EINTR);
	if (len < 0)
		return -errno;
	return (size_t)len == n->nlmsg_len ? 0 : -EIO;
}

static int nl_recv_errno(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
}

/* read one datagram from the kernel; Return: its length or -errno */
static ssize_t nl_recv(struct tg_nl *nl)
{
	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov;
		struct msghdr msg = {.msg_name = &sa,
				     .msg_namelen = sizeof(sa),
				     .msg_iov = &iov,
				     .msg_iovlen = 1};
		ssize_t len = recv(nl->fd, NULL, 0, MSG_PEEK | MSG_TRUNC);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return nl_recv_errno();
		if ((size_t)len > nl->cap) {
			uint8_t *b = realloc(nl->buf, (size_t)len);

			if (!b)
				return -ENOMEM;
			nl->buf = b;
			nl->cap = (size_t)len;
		}
		iov.iov_base = nl->buf;
		iov.iov_len = nl->cap;
		len = recvmsg(nl->fd, &msg, 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return nl_recv_errno();
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (msg.msg_namelen >= sizeof(sa) && sa.nl_pid == 0)
			return len;
	}
}

static int nl_msg_error(const struct nlmsghdr *h)
{
	const struct nlmsgerr *e;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return -EBADMSG;
	e = NLMSG_DATA(h);
	return e->error <= 0 && e->error > -4096 ? e->error : -EPROTO;
}

/* NLMSG_DONE may carry the error that cut a dump short */
static int nl_msg_done(const struct nlmsghdr *h)
{
	int v;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(v)))
		return 0;
	memcpy(&v, NLMSG_DATA(h), sizeof(v));
	return v < 0 && v > -4096 ? v : 0;
}

struct nl_walk {
	tg_nl_dump_fn fn; /* NULL: waiting for an ACK */
	void *arg;
	int cb_err;
	bool intr;
};

/* Return: 1 to read on, else the exchange's result */
static int nl_walk_one(struct tg_nl *nl, const struct nlmsghdr *h,
		       struct nl_walk *w)
{
	if (h->nlmsg_seq != nl->seq || h->nlmsg_pid != nl->pid)
		return 1;
	if (h->nlmsg_flags & NLM_F_DUMP_INTR)
		w->intr = true;
	if (h->nlmsg_type == NLMSG_ERROR)
		return w->cb_err ? w->cb_err : nl_msg_error(h);
	if (h->nlmsg_type == NLMSG_DONE) {
		if (w->cb_err)
			return w->cb_err;
		return w->intr ? -EAGAIN : nl_msg_done(h);
	}
	if (w->fn && !w->cb_err && h->nlmsg_type >= NLMSG_MIN_TYPE)
		w->cb_err = w->fn(h, w->arg);
	return 1;
}

static int nl_exchange(struct tg_nl *nl, struct nlmsghdr *req,
		       struct nl_walk *w)
{
	int ret = nl_send(nl, req);

	if (ret)
		return ret;
	for (;;) {
		ssize_t got = nl_recv(nl);
		size_t off = 0, len;

		if (got < 0)
			return (int)got;
		len = (size_t)got;
		while (len - off >= sizeof(struct nlmsghdr)) {
			const struct nlmsghdr *h =
				(const void *)(nl->buf + off);

			if (h->nlmsg_len < sizeof(*h) ||
			    h->nlmsg_len > len - off)
				return -EBADMSG;
			ret = nl_walk_one(nl, h, w);
			if (ret != 1)
				return ret;
			if (NLMSG_ALIGN(h->nlmsg_len) >= len - off)
				break;
			off += NLMSG_ALIGN(h->nlmsg_len);
		}
	}
}

int tg_nl_talk(struct tg_nl *nl, struct nlmsghdr *n)
{
	struct nl_walk w = {0};

	n->nlmsg_flags |= NLM_F_ACK;
	return nl_exchange(nl, n, &w);
}

int tg_nl_dump(struct tg_nl *nl, struct nlmsghdr *n, tg_nl_dump_fn fn,
		void *arg)
{
	struct nl_walk w = {.fn = fn, .arg = arg};

	n->nlmsg_flags |= NLM_F_DUMP;
	return nl_exchange(nl, n, &w);
}

static bool attr_u32(const struct rtattr *a, uint32_t *v)
{
	if (!a || RTA_PAYLOAD(a) < sizeof(*v))
		return false;
	memcpy(v, RTA_DATA(a), sizeof(*v));
	return true;
}

static void route_gw(const struct rtattr *a, size_t alen,
		     struct tg_nl_route_info *ri)
{
	if (!a || RTA_PAYLOAD(a) != alen)
		return;
	memcpy(ri->gw, RTA_DATA(a), alen);
	ri->has_gw = true;
}

/* the first nexthop: the route's own, or the first of a multipath one */
static void route_nexthop(const struct rtattr *tb[], size_t alen,
			  struct tg_nl_route_info *ri)
{
	const struct rtattr *mp = tb[RTA_MULTIPATH];
	const struct rtattr *nt[RTA_MAX + 1];
	struct rtnexthop nh;
	uint32_t oif;

	if (attr_u32(tb[RTA_OIF], &oif)) {
		ri->oif = (int)oif;
		route_gw(tb[RTA_GATEWAY], alen, ri);
		return;
	}
	if (!mp || RTA_PAYLOAD(mp) < sizeof(nh))
		return;
	memcpy(&nh, RTA_DATA(mp), sizeof(nh));
	ri->oif = nh.rtnh_ifindex;
	if (nh.rtnh_len < sizeof(nh) || nh.rtnh_len > RTA_PAYLOAD(mp))
		return;
	tg_nl_attr_parse(nt, RTA_MAX,
			 (const struct rtattr *)((const uint8_t *)RTA_DATA(mp) +
						 RTNH_ALIGN(sizeof(nh))),
			 nh.rtnh_len - RTNH_ALIGN(sizeof(nh)));
	route_gw(nt[RTA_GATEWAY], alen, ri);
}

struct route_dump {
	int family;
	tg_nl_route_fn fn;
	void *arg;
};

static int route_dump_msg(const struct nlmsghdr *h, void *arg)
{
	const struct route_dump *d = arg;
	const struct rtattr *tb[RTA_MAX + 1];
	struct tg_nl_route_info ri = {.dst.family = (uint8_t)d->family};
	size_t alen = tg_addr_len(d->family);
	const struct rtmsg *rtm;
	uint32_t table;

	if (h->nlmsg_type != RTM_NEWROUTE ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return 0;
	rtm = NLMSG_DATA(h);
	if (rtm->rtm_family != d->family || (rtm->rtm_flags & RTM_F_CLONED) ||
	    rtm->rtm_dst_len > alen * 8)
		return 0;
	tg_nl_attr_parse(tb, RTA_MAX,
			  (const struct rtattr *)((const uint8_t *)rtm +
						  NLMSG_ALIGN(sizeof(*rtm))),
			  h->nlmsg_len - NLMSG_LENGTH(sizeof(*rtm)));
	if (!attr_u32(tb[RTA_TABLE], &table))
		table = rtm->rtm_table;
	if (table != RT_TABLE_MAIN)
		return 0;
	if (tb[RTA_DST]) {
		if (RTA_PAYLOAD(tb[RTA_DST]) != alen)
			return 0;
		memcpy(ri.dst.addr, RTA_DATA(tb[RTA_DST]), alen);
	} else if (rtm->rtm_dst_len) {
		return 0;
	}
	ri.dst.plen = rtm->rtm_dst_len;
	tg_prefix_mask(&ri.dst);
	ri.type = rtm->rtm_type;
	ri.proto = rtm->rtm_protocol;
	route_nexthop(tb, alen, &ri);
	return d->fn(&ri, d->arg);
}

int tg_nl_route_dump_main(struct tg_nl *nl, int family, tg_nl_route_fn fn,
			   void *arg)
{
	struct route_dump d = {.family = family, .fn = fn, .arg = arg};
	struct tg_nl_req r;
	struct rtmsg *rtm = tg_nl_req_init(&r, RTM_GETROUTE, 0, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)family;
	return tg_nl_dump(nl, &r.n, route_dump_msg, &d);
}
