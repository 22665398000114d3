/* SPDX-License-Identifier: MIT */
/*
 * csum.c - the Internet checksum (RFC 1071).
 *
 * The sum does not depend on byte order (RFC 1071 2(B)): words are added
 * in the machine's order, 32 bits at a time into 64-bit sums (memcpy
 * loads: no alignment assumed), folded to 16 bits, and swapped to network
 * order on little-endian machines before joining the running sum. Every
 * TCP segment of ~64 KiB is summed twice (checked on the way in, computed
 * on the way out), so this runs at memory speed rather than a word a
 * cycle. Folding between pieces is not needed as long as each piece but
 * the last has an even length.
 */
#include <string.h>
#include <sys/socket.h>

#include "lib/csum.h"

uint32_t tg_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s0 = 0, s1 = 0, x, y;
	uint32_t w;
	uint16_t h;

	/* 32-bit words into 64-bit sums: 2^32 adds before one could carry */
	while (len >= 16) {
		memcpy(&x, p, 8);
		memcpy(&y, p + 8, 8);
		s0 += (x & 0xffffffff) + (x >> 32);
		s1 += (y & 0xffffffff) + (y >> 32);
		p += 16;
		len -= 16;
	}
	s0 += s1;
	while (len >= 4) {
		memcpy(&w, p, 4);
		s0 += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		s0 += h;
		p += 2;
		len -= 2;
	}
	/* the odd byte is the high half of a big-endian word */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (len)
		s0 += p[0];
	while (s0 >> 16)
		s0 = (s0 & 0xffff) + (s0 >> 16);
	s0 = (s0 & 0xff) << 8 | s0 >> 8;
#else
	if (len)
		s0 += (uint32_t)p[0] << 8;
	while (s0 >> 16)
		s0 = (s0 & 0xffff) + (s0 >> 16);
#endif
	s0 += sum;
	while (s0 >> 32)
		s0 = (s0 & 0xffffffff) + (s0 >> 32);
	return (uint32_t)s0;
}

uint16_t tg_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t tg_csum(const void *buf, size_t len)
{
	return tg_csum_fold(tg_csum_add(0, buf, len));
}

uint32_t tg_csum_pseudo4(const uint8_t *src, const uint8_t *dst, uint8_t proto,
		      uint16_t len)
{
	uint32_t sum = tg_csum_add(0, src, 4);

	sum = tg_csum_add(sum, dst, 4);
	return sum + proto + len;
}

uint32_t tg_csum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t nh,
		      uint32_t len)
{
	uint32_t sum = tg_csum_add(0, src, 16);

	sum = tg_csum_add(sum, dst, 16);
	return sum + (len >> 16) + (len & 0xffff) + nh;
}

uint32_t tg_csum_pseudo(int family, const uint8_t *src, const uint8_t *dst,
		     uint8_t proto, uint32_t len)
{
	if (family == AF_INET)
		return tg_csum_pseudo4(src, dst, proto, (uint16_t)len);
	return tg_csum_pseudo6(src, dst, proto, len);
}

uint16_t tg_csum_replace16(uint16_t check, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~old;
	sum += new;
	return tg_csum_fold(sum);
}
