/* SPDX-License-Identifier: MIT */
/*
 * outside_dns.c - glue between the NAT's in-process service and the DNS
 * proxy: nat/ and dns/ know nothing of each other.
 *
 * A UDP query takes one slot of a fixed pool that remembers the inside's
 * address and port until the proxy answers; the answer goes back through
 * nat_udp_reply(). The pool has a slot for each query the proxy may hold
 * (max_pending, sized once at start): a full pool drops the query, as a
 * busy server would, and as the proxy would too; the client retries. A
 * TCP connection arrives as one end of a socketpair that the proxy serves
 * with DNS-over-TCP framing.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "cmd/host.h"
#include "cmd/outside_dns.h"

/* dns_opts.max_pending when it is 0 (dns.h) */
#define DNS_PENDING_DEFAULT 1024

struct dns_slot {
	struct outside_dns *d;
	struct nat_peer peer;
	int next; /* free list, -1 at the end */
};

struct outside_dns {
	uv_loop_t *loop;
	struct dns_proxy *proxy;
	struct nat *nat;
	int free_head;
	uint64_t dropped;
	struct dns_slot slots[]; /* the proxy's max_pending */
};

static void slot_put(struct outside_dns *d, struct dns_slot *s)
{
	s->next = d->free_head;
	d->free_head = (int)(s - d->slots);
}

static void answer_cb(void *arg, const uint8_t *msg, size_t len)
{
	struct dns_slot *s = arg;
	struct outside_dns *d = s->d;
	int r = d->nat ? nat_udp_reply(d->nat, &s->peer, msg, len) : -EPIPE;

	if (r < 0) {
		d->dropped++;
		tg_debug("dns: answer of %zu bytes not delivered: %s", len,
			 strerror(-r));
	}
	slot_put(d, s);
}

static void udp_cb(void *arg, const struct nat_peer *from, const uint8_t *data,
		   size_t len)
{
	struct outside_dns *d = arg;
	struct dns_slot *s;

	if (d->free_head < 0) {
		d->dropped++;
		return;
	}
	s = &d->slots[d->free_head];
	d->free_head = s->next;
	s->peer = *from;
	if (dns_query(d->proxy, data, len, true, answer_cb, s) < 0)
		slot_put(d, s); /* counted by the proxy */
}

static void free_cb(uv_handle_t *h)
{
	free(h);
}

static int tcp_cb(void *arg, const struct nat_peer *from, int fd)
{
	struct outside_dns *d = arg;
	uv_pipe_t *p = malloc(sizeof(*p));
	int r;

	(void)from;
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	uv_pipe_init(d->loop, p, 0);
	r = uv_pipe_open(p, fd);
	if (r == 0)
		r = dns_serve_stream(d->proxy, (uv_stream_t *)p);
	if (r < 0) {
		/* the pipe owns @fd now: closing it closes the socket */
		uv_close((uv_handle_t *)p, free_cb);
		return r;
	}
	return 0;
}

static void add_service(struct nat_opts *no, struct outside_dns *d, int family,
			const uint8_t *addr)
{
	struct nat_service *svc = &no->services[no->n_services++];

	memset(svc, 0, sizeof(*svc));
	svc->family = (uint8_t)family;
	memcpy(svc->addr, addr, family == AF_INET ? 4 : 16);
	svc->port = 53;
	svc->arg = d;
	svc->udp = udp_cb;
	svc->tcp = tcp_cb;
}

struct outside_dns *outside_dns_new(uv_loop_t *loop, struct nat_opts *no,
				    const struct dns_opts *dopts,
				    const uint8_t dns4[4],
				    const uint8_t dns6[16])
{
	struct dns_opts o = *dopts;
	struct outside_dns *d;
	struct tg_host_resolver hr;

	if (!o.max_pending)
		o.max_pending = DNS_PENDING_DEFAULT;
	tg_host_resolver(&hr);
	if (!o.resolv_conf)
		o.resolv_conf = hr.resolv_conf;
	if (!o.resolved_path)
		o.resolved_path = hr.resolved_socket;
	if (dns_resolved_present(o.resolved_path))
		tg_info("names: systemd-resolved (%s) for A and AAAA, the "
			"nameservers of %s for other types",
			o.resolved_path, o.resolv_conf);
	else
		tg_info("names: files and dns (/etc/hosts, the "
			"nameservers of %s)",
			o.resolv_conf);
	/* slots are counted in int, and allocated in one piece */
	if (o.max_pending > INT_MAX / sizeof(struct dns_slot))
		return NULL;
	d = calloc(1, sizeof(*d) + o.max_pending * sizeof(struct dns_slot));
	if (!d)
		return NULL;
	d->loop = loop;
	d->proxy = dns_proxy_new(loop, &o);
	if (!d->proxy) {
		free(d);
		return NULL;
	}
	d->free_head = -1;
	for (int i = (int)o.max_pending - 1; i >= 0; i--) {
		d->slots[i].d = d;
		slot_put(d, &d->slots[i]);
	}
	if (no->n_services + 2 <= NAT_MAX_SERVICES) {
		add_service(no, d, AF_INET, dns4);
		add_service(no, d, AF_INET6, dns6);
	}
	return d;
}

void outside_dns_attach(struct outside_dns *d, struct nat *n)
{
	d->nat = n;
}

void outside_dns_stats(const struct outside_dns *d, struct dns_stats *s)
{
	dns_get_stats(d->proxy, s);
}

void outside_dns_foreach_cache(const struct outside_dns *d,
			       void (*cb)(void *arg,
					  const struct dns_cache_info *ci),
			       void *arg)
{
	dns_foreach_cache(d->proxy, cb, arg);
}

void outside_dns_close(struct outside_dns *d)
{
	d->nat = NULL;
	dns_proxy_close(d->proxy);
	free(d);
}
