/* SPDX-License-Identifier: MIT */
/*
 * csum.h - the Internet checksum (RFC 1071) and its pseudo-headers.
 *
 * Sums are kept unfolded in 32 bits while data is added, then folded and
 * complemented once. A checksum value is in host order: store it with a
 * big-endian write, as any other 16-bit header field.
 */
#ifndef NAT_CSUM_H
#define NAT_CSUM_H

#include <stddef.h>
#include <stdint.h>

/**
 * tg_csum_add() - add @len bytes at @buf to a running sum
 * @sum:	sum so far (0 to start)
 * @buf:	data, read as big-endian 16-bit words
 * @len:	length; an odd length pads with a zero byte, so only the last
 *		piece of a chain may be odd
 *
 * Return: the new unfolded sum
 */
uint32_t tg_csum_add(uint32_t sum, const void *buf, size_t len);

/**
 * tg_csum_fold() - fold a running sum to 16 bits and complement it
 * Return: the checksum, ready to store
 */
uint16_t tg_csum_fold(uint32_t sum);

/** tg_csum() - checksum of one buffer */
uint16_t tg_csum(const void *buf, size_t len);

/**
 * tg_csum_pseudo4() - sum of the IPv4 pseudo-header (RFC 768, RFC 793)
 * @src:	source address
 * @dst:	destination address
 * @proto:	IP protocol number
 * @len:	transport length (header and data)
 *
 * Return: an unfolded sum to pass on to tg_csum_add()
 */
uint32_t tg_csum_pseudo4(const uint8_t *src, const uint8_t *dst, uint8_t proto,
		      uint16_t len);

/**
 * tg_csum_pseudo6() - sum of the IPv6 pseudo-header (RFC 8200 section 8.1)
 * @src:	source address (16 bytes)
 * @dst:	destination address (16 bytes)
 * @nh:		upper-layer protocol number
 * @len:	upper-layer packet length
 *
 * Return: an unfolded sum to pass on to tg_csum_add()
 */
uint32_t tg_csum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t nh,
		      uint32_t len);

/**
 * tg_csum_pseudo() - the pseudo-header sum for @family (AF_INET or AF_INET6)
 */
uint32_t tg_csum_pseudo(int family, const uint8_t *src, const uint8_t *dst,
		     uint8_t proto, uint32_t len);

/**
 * tg_csum_replace16() - update a stored checksum for one changed 16-bit field
 * @check:	the checksum as stored
 * @old:	the field's old value
 * @new:	its new value
 *
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
 *
 * Return: the new checksum
 */
uint16_t tg_csum_replace16(uint16_t check, uint16_t old, uint16_t new);

#endif
