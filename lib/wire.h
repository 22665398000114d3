/* SPDX-License-Identifier: MIT */
/*
 * wire.h - big-endian loads and stores, and the bounds-checked cursor
 * that every parser of untrusted bytes reads through.
 *
 * Frames, CONFIG TLVs, IP packets, DNS messages and resume offers are all
 * big-endian on the wire. A parser takes fields off a struct tg_cur, whose
 * getters fail (leaving the cursor as it was) instead of reading past the
 * end: nothing is cast into a buffer before its length is known.
 */
#ifndef TG_WIRE_H
#define TG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t tg_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t tg_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void tg_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void tg_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

struct tg_cur {
	const uint8_t *p;
	size_t left;
};

/**
 * tg_cur_pull() - take @n bytes off the front of @c
 * Return: a pointer to them, or NULL (and @c unchanged) if fewer are left
 */
const uint8_t *tg_cur_pull(struct tg_cur *c, size_t n);
bool tg_cur_u8(struct tg_cur *c, uint8_t *v);
bool tg_cur_be16(struct tg_cur *c, uint16_t *v);
bool tg_cur_be32(struct tg_cur *c, uint32_t *v);

#endif
