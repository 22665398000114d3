// SPDX-License-Identifier: MIT
/*
 * frame.c - fuzz the stream codec of transport/frame.c.
 *
 * The input is a received stream: the magic search runs over it as the
 * link runs it (banner first), then frames are taken off one by one; a
 * HELLO is decoded, re-encoded and decoded again. Properties: the search
 * and the decoder never claim bytes that are not there, a found magic is
 * the magic, a kept tail could still start one, and a HELLO survives a
 * round trip.
 */
#include <errno.h>
#include <string.h>

#include "transport/frame.h"
#include "test/fuzz/fuzz.h"

static void check_magic(const uint8_t *buf, size_t len, size_t *after)
{
	size_t skip = SIZE_MAX;
	bool found = tp_magic_find(buf, len, &skip);

	FZ_CHECK(skip <= len);
	if (found) {
		FZ_CHECK(len - skip >= TP_MAGIC_LEN);
		FZ_CHECK(!memcmp(buf + skip, TP_MAGIC, TP_MAGIC_LEN));
		/* the first one: nothing before it is a whole magic */
		FZ_CHECK(!memmem(buf, skip + TP_MAGIC_LEN - 1, TP_MAGIC,
				 TP_MAGIC_LEN));
		*after = skip + TP_MAGIC_LEN;
		return;
	}
	/* what is kept is short and could still start the magic */
	FZ_CHECK(len - skip < TP_MAGIC_LEN);
	FZ_CHECK(!memcmp(buf + skip, TP_MAGIC, len - skip));
	FZ_CHECK(!memmem(buf, len, TP_MAGIC, TP_MAGIC_LEN));
	*after = len;
}

static void check_hello(const struct tp_frame *f)
{
	struct tp_hello h, h2;
	uint8_t buf[4 + sizeof(h.version) + TP_SESSION_LEN + 1];
	int n;

	if (tp_hello_decode(&h, f->data, f->len) < 0) {
		FZ_CHECK(f->len < 3);
		return;
	}
	FZ_CHECK(strlen(h.version) < sizeof(h.version));
	for (const char *c = h.version; *c; c++)
		FZ_CHECK(*c >= 0x20 && *c < 0x7f);
	n = tp_hello_encode(&h, buf, sizeof(buf));
	FZ_CHECK(n >= 3 && (size_t)n <= sizeof(buf));
	FZ_CHECK(tp_hello_decode(&h2, buf, (size_t)n) == 0);
	FZ_CHECK(h.proto == h2.proto && h.role == h2.role);
	FZ_CHECK(!strcmp(h.version, h2.version));
	FZ_CHECK(!memcmp(h.session, h2.session, TP_SESSION_LEN));
	FZ_CHECK(h.flags == h2.flags);
}

static void check_ready(const struct tp_frame *f)
{
	struct tp_ready r, r2;
	uint8_t buf[TP_SESSION_LEN + 1 + sizeof(r.text)];
	int n;

	if (tp_ready_decode(&r, f->data, f->len) < 0) {
		FZ_CHECK(f->len < TP_SESSION_LEN + 1);
		return;
	}
	FZ_CHECK(strlen(r.text) < sizeof(r.text));
	for (const char *c = r.text; *c; c++)
		FZ_CHECK(*c >= 0x20 && *c < 0x7f);
	n = tp_ready_encode(&r, buf, sizeof(buf));
	FZ_CHECK(n > TP_SESSION_LEN && (size_t)n <= sizeof(buf));
	FZ_CHECK(tp_ready_decode(&r2, buf, (size_t)n) == 0);
	FZ_CHECK(r.flags == r2.flags && !strcmp(r.text, r2.text));
	FZ_CHECK(!memcmp(r.session, r2.session, TP_SESSION_LEN));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	struct tp_frame f;
	uint8_t hdr[TP_FRAME_HDR];

	check_magic(data, size, &off);
	/* after the magic (or from the start, if there is none) */
	if (off == size)
		off = 0;
	while (off < size) {
		ssize_t n = tp_frame_decode(data + off, size - off, &f);

		if (n == 0)
			break;
		if (n < 0) {
			FZ_CHECK(n == -EBADMSG);
			FZ_CHECK(data[off] == 0 || data[off + 1] != 0);
			off++; /* resynchronise anywhere: more cases */
			continue;
		}
		FZ_CHECK((size_t)n == TP_FRAME_HDR + f.len);
		FZ_CHECK((size_t)n <= size - off);
		FZ_CHECK(f.data == data + off + TP_FRAME_HDR);
		FZ_CHECK(f.type != 0 && f.len <= TP_FRAME_MAX);
		FZ_CHECK(tp_frame_put_hdr(hdr, f.type, f.len) == 0);
		FZ_CHECK(!memcmp(hdr, data + off, TP_FRAME_HDR));
		if (f.type == TP_F_HELLO)
			check_hello(&f);
		if (f.type == TP_F_READY)
			check_ready(&f);
		off += (size_t)n;
	}
	return 0;
}
