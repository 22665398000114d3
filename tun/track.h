/* SPDX-License-Identifier: MIT */
/*
 * track.h - the inside's TCP connection tracker: which of the container's
 * TCP connections go through the tunnel, and what a RST that their kernel
 * accepts must carry, so that a session that ends for good resets them
 * (ECONNRESET) instead of leaving them to hang.
 */
#ifndef TUN_TRACK_H
#define TUN_TRACK_H

#include <stddef.h>
#include <stdint.h>

struct tun_track;

/**
 * tun_track_new() - a tracker with a fixed table, allocated once
 * @max:	the most connections tracked at once (0: 4096); when the table
 *		is full, the least recently seen nearby entry is forgotten
 *
 * Return: the tracker, or NULL with errno set (ENOMEM; EINVAL if @max is
 *	   above 1 << 24)
 */
struct tun_track *tun_track_new(size_t max);

/**
 * tun_track_free() - free a tracker (NULL is allowed)
 * @t:		the tracker
 */
void tun_track_free(struct tun_track *t);

/**
 * tun_track_out() - note a packet read from the TUN device (an app sent it)
 * @t:		the tracker (NULL: nothing is done)
 * @pkt:	a raw IPv4 or IPv6 packet
 * @len:	its length
 *
 * Anything other than a well-formed TCP segment is ignored. O(1), no
 * allocation.
 */
void tun_track_out(struct tun_track *t, const uint8_t *pkt, size_t len);

/**
 * tun_track_in() - note a packet about to be written to the TUN device
 * (toward an app)
 * @t:		the tracker (NULL: nothing is done)
 * @pkt:	a raw IPv4 or IPv6 packet
 * @len:	its length
 *
 * Anything other than a well-formed TCP segment is ignored. O(1), no
 * allocation.
 */
void tun_track_in(struct tun_track *t, const uint8_t *pkt, size_t len);

/**
 * tun_track_count() - the number of connections tracked now
 * @t:		the tracker (NULL: 0)
 *
 * Return: that number, at most the @max given to tun_track_new()
 */
size_t tun_track_count(const struct tun_track *t);

/**
 * tun_track_reset_all() - reset every tracked connection and forget them
 * @t:		the tracker (NULL: nothing is done)
 * @write:	called once per connection with a RST|ACK segment, as if the
 *		remote end sent it (a TUN write); >= 0 means written
 * @arg:	passed to @write
 *
 * Each RST carries the app's receive point as its sequence number (RFC
 * 5961: Linux accepts a RST only at exactly rcv_nxt) and the app's send
 * point as its acknowledgement (needed in SYN_SENT), window 0, TTL/hop
 * limit 64. The packet passed to @write is valid only during the call.
 *
 * Return: the number of RSTs written (@write returned >= 0)
 */
size_t tun_track_reset_all(struct tun_track *t,
			   int (*write)(void *arg, const uint8_t *pkt,
					size_t len),
			   void *arg);

#endif
