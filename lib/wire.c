// SPDX-License-Identifier: MIT
/*
 * wire.c - the bounds-checked cursor (see wire.h).
 */
#include "lib/wire.h"

const uint8_t *tg_cur_pull(struct tg_cur *c, size_t n)
{
	const uint8_t *p = c->p;

	if (n > c->left)
		return NULL;
	c->p += n;
	c->left -= n;
	return p;
}

bool tg_cur_u8(struct tg_cur *c, uint8_t *v)
{
	const uint8_t *p = tg_cur_pull(c, 1);

	if (!p)
		return false;
	*v = p[0];
	return true;
}

bool tg_cur_be16(struct tg_cur *c, uint16_t *v)
{
	const uint8_t *p = tg_cur_pull(c, 2);

	if (!p)
		return false;
	*v = tg_be16(p);
	return true;
}

bool tg_cur_be32(struct tg_cur *c, uint32_t *v)
{
	const uint8_t *p = tg_cur_pull(c, 4);

	if (!p)
		return false;
	*v = tg_be32(p);
	return true;
}
