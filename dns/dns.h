/* SPDX-License-Identifier: MIT */
/*
 * dns.h - the outside's DNS proxy: answers the inside's queries with this
 * machine's own resolver.
 *
 * The proxy takes whole DNS messages and hands whole answers back; it
 * knows nothing of packets, TUN or the stream. cmd/ wires it to the NAT:
 * UDP datagrams to the tunnel's DNS address become dns_query() calls, and
 * TCP connections to it become a byte stream served by dns_serve_stream().
 */
#ifndef DNS_H
#define DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct dns_proxy;

/* A zero field means its default. */
struct dns_opts {
	unsigned addr_ttl_s;	 /* TTL of getaddrinfo answers, default 30 */
	unsigned timeout_ms;	 /* upstream limit before SERVFAIL, default 4000 */
	size_t cache_entries;	 /* default 4096 */
	size_t cache_bytes;	 /* default 4 MiB */
	size_t max_pending;	 /* queries in flight, default 1024; DNS over
				  * TCP may hold half of them */
	size_t tcp_buffer_bytes; /* all DNS-over-TCP buffers together,
				  * default 16 MiB (stream.c) */
	unsigned neg_ttl_max_s;	 /* cap for negative caching, default 300 */
	const char *resolv_conf; /* upstream servers for other types;
				  * default /etc/resolv.conf */
	uint16_t upstream_port;	 /* port of those servers, default 53 */
	const char *resolved_path; /* systemd-resolved's varlink socket, for
				    * A and AAAA while it exists; NULL:
				    * getaddrinfo only */
};

struct dns_stats {
	uint64_t queries, answered, cache_hits, coalesced;
	uint64_t formerr, servfail, nxdomain, nodata;
	uint64_t dropped;	/* not even a header: nothing to answer */
	uint64_t truncated;	/* UDP answer cut to the client's size (TC) */
	uint64_t overload;	/* refused with -ENOBUFS: too many pending */
	uint64_t lookups;	/* getaddrinfo and upstream lookups started */
	uint64_t pending, cache_entries;
	/* DNS over TCP: connections open, their buffers and the budget
	 * (bytes), connections closed because the budget was reached */
	uint64_t tcp_conns, tcp_bytes, tcp_buffer_max, tcp_evicted;
};

/*
 * An answer. @msg is valid only during the call. Called exactly once per
 * accepted query, from the loop, never from inside dns_query() itself.
 */
typedef void (*dns_answer_fn)(void *arg, const uint8_t *msg, size_t len);

/**
 * dns_proxy_new() - create the proxy
 * Return: the proxy, or NULL on allocation failure
 */
struct dns_proxy *dns_proxy_new(uv_loop_t *loop, const struct dns_opts *o);

/**
 * dns_resolved_present() - is there a systemd-resolved socket at @path
 * (dns_opts.resolved_path) to ask?
 */
bool dns_resolved_present(const char *path);

/**
 * dns_query() - answer one query
 * @p:		proxy
 * @q:		the query message (copied)
 * @len:	its length
 * @udp:	true for UDP: the answer is cut to the client's size (512, or
 *		its EDNS0 size) with TC set; false for TCP (up to 65535)
 * @cb:		called with the answer
 * @arg:	for @cb
 *
 * Return: 0 if @cb will be called; -EBADMSG if not even the header
 * parses (dropped and counted, no answer), -ENOBUFS if too many queries
 * are pending (counted; the client retries), -ESHUTDOWN after
 * dns_proxy_close()
 */
int dns_query(struct dns_proxy *p, const uint8_t *q, size_t len, bool udp,
	      dns_answer_fn cb, void *arg);

/**
 * dns_cancel() - forget every pending answer for @arg (its flow is gone);
 * their callbacks will not run
 */
void dns_cancel(struct dns_proxy *p, void *arg);

/**
 * dns_serve_stream() - serve DNS over TCP framing (RFC 1035 4.2.2: 2-byte
 * length, then the message; several queries per connection, answers in
 * any order) on @s, which the proxy owns and closes when the peer closes
 * (or sends a zero length) and on dns_proxy_close(); @s must come from
 * malloc(): the proxy frees it in its close callback. @s->data is the
 * proxy's from now on. A connection has at most 16 queries in flight and
 * stops reading at 64 KiB of unwritten answers; all of them together stay
 * within dns_opts.tcp_buffer_bytes, which closes the oldest idle one when
 * reached (stream.c).
 * Return: 0 or -errno (then @s is still the caller's)
 */
int dns_serve_stream(struct dns_proxy *p, uv_stream_t *s);

void dns_get_stats(const struct dns_proxy *p, struct dns_stats *s);

/* One cached answer, for people (`tungate status`). */
struct dns_cache_info {
	char name[256];		/* "web.corp.test", ldns's escapes */
	char type[16];		/* "A", "AAAA", "TYPE65" */
	const char *status;	/* NOERROR, NXDOMAIN, NODATA, SERVFAIL, ... */
	char answer[128];	/* the first answer of the asked type (or the
				 * first answer) as text; "" if none */
	unsigned answers;	/* records in the answer section */
	uint32_t ttl_s;		/* seconds left in the cache */
	uint64_t hits;		/* queries answered from the cache */
};

/**
 * dns_foreach_cache() - call @cb for each live cached answer, the most
 * recently used first
 */
void dns_foreach_cache(const struct dns_proxy *p,
		       void (*cb)(void *arg, const struct dns_cache_info *ci),
		       void *arg);

/**
 * dns_proxy_close() - cancel everything, close handles; freed once libuv
 * has closed them
 */
void dns_proxy_close(struct dns_proxy *p);

#endif
