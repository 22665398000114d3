/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the libFuzzer harnesses of test/fuzz/ share: a cursor that
 * splits one input into the fields of a structured test case, and a check
 * that aborts (so libFuzzer keeps the input) when a property fails.
 *
 * A cursor never fails: past the end it yields zeros and empty slices, so
 * every input is a valid test case and the fuzzer wastes nothing on
 * framing errors.
 */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct fz {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->left)
		return 0;
	f->left--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t hi = fz_u8(f);

	return (uint16_t)(hi << 8 | fz_u8(f));
}

/* up to @n bytes off the front; *@got says how many there were */
static inline const uint8_t *fz_take(struct fz *f, size_t n, size_t *got)
{
	const uint8_t *p = f->p;

	if (n > f->left)
		n = f->left;
	f->p += n;
	f->left -= n;
	*got = n;
	return p;
}

/* a length-prefixed (16 bits) slice */
static inline const uint8_t *fz_slice(struct fz *f, size_t *got)
{
	size_t n = fz_u16(f);

	return fz_take(f, n, got);
}

#define FZ_CHECK(cond)                                                  \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "%s:%d: property failed: %s\n", \
				__FILE__, __LINE__, #cond);             \
			abort();                                        \
		}                                                       \
	} while (0)

#endif
