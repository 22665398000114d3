/* SPDX-License-Identifier: MIT */
/*
 * csum.c - the Internet checksum (RFC 1071).
 *
 * A plain loop over 16-bit big-endian words into a 32-bit accumulator,
 * folded once at the end. Packets are at most 64 KiB, so 32 bits cannot
 * overflow: 2^15 words of at most 0xffff each, plus a pseudo-header.
 * Folding between pieces is not needed as long as each piece but the last
 * has an even length.
 */
#include <sys/socket.h>

#include "csum.h"

uint32_t csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s = sum;

	while (len >= 2) {
		s += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
	/* fold the carries so that chained calls cannot overflow */
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t csum(const void *buf, size_t len)
{
	return csum_fold(csum_add(0, buf, len));
}

uint32_t csum_pseudo4(const uint8_t *src, const uint8_t *dst, uint8_t proto,
		      uint16_t len)
{
	uint32_t sum = csum_add(0, src, 4);

	sum = csum_add(sum, dst, 4);
	return sum + proto + len;
}

uint32_t csum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t nh,
		      uint32_t len)
{
	uint32_t sum = csum_add(0, src, 16);

	sum = csum_add(sum, dst, 16);
	return sum + (len >> 16) + (len & 0xffff) + nh;
}

uint32_t csum_pseudo(int family, const uint8_t *src, const uint8_t *dst,
		     uint8_t proto, uint32_t len)
{
	if (family == AF_INET)
		return csum_pseudo4(src, dst, proto, (uint16_t)len);
	return csum_pseudo6(src, dst, proto, len);
}

uint16_t csum_replace16(uint16_t check, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~old;
	sum += new;
	return csum_fold(sum);
}
