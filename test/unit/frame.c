/* SPDX-License-Identifier: MIT */
/*
 * frame.c - unit tests for transport/frame.c: frame header codec, magic
 * search through banner text and across reads, HELLO payloads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "transport/frame.h"

static void test_frame_round_trip(void **state)
{
	static uint8_t buf[TP_FRAME_HDR + TP_FRAME_MAX];
	const size_t lens[] = {0, 1, 255, 256, 1500, 65520, TP_FRAME_MAX};
	struct tp_frame f;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];

		for (size_t j = 0; j < len; j++)
			buf[TP_FRAME_HDR + j] = (uint8_t)(j * 7 + i);
		assert_int_equal(tp_frame_put_hdr(buf, TP_F_PACKET, len), 0);
		assert_int_equal(buf[0], TP_F_PACKET);
		assert_int_equal(buf[1], 0);
		assert_int_equal(buf[2], len >> 8);
		assert_int_equal(buf[3], len & 0xff);
		assert_int_equal(tp_frame_decode(buf, TP_FRAME_HDR + len, &f),
				 TP_FRAME_HDR + len);
		assert_int_equal(f.type, TP_F_PACKET);
		assert_int_equal(f.len, len);
		assert_ptr_equal(f.data, buf + TP_FRAME_HDR);
	}
}

static void test_frame_incomplete(void **state)
{
	uint8_t buf[TP_FRAME_HDR + 100] = {0};
	struct tp_frame f;

	assert_int_equal(tp_frame_put_hdr(buf, TP_F_CONFIG, 100), 0);
	for (size_t len = 0; len < sizeof(buf); len++)
		assert_int_equal(tp_frame_decode(buf, len, &f), 0);
	assert_int_equal(tp_frame_decode(buf, sizeof(buf), &f), sizeof(buf));
}

static void test_frame_two_in_a_row(void **state)
{
	uint8_t buf[64];
	struct tp_frame f;
	ssize_t n;

	tp_frame_put_hdr(buf, TP_F_KEEPALIVE, 0);
	tp_frame_put_hdr(buf + 4, TP_F_GOODBYE, 3);
	memcpy(buf + 8, "bye", 3);
	n = tp_frame_decode(buf, 11, &f);
	assert_int_equal(n, 4);
	assert_int_equal(f.type, TP_F_KEEPALIVE);
	assert_int_equal(f.len, 0);
	n = tp_frame_decode(buf + 4, 7, &f);
	assert_int_equal(n, 7);
	assert_int_equal(f.type, TP_F_GOODBYE);
	assert_memory_equal(f.data, "bye", 3);
}

static void test_frame_bad_header(void **state)
{
	uint8_t buf[8] = {TP_F_PACKET, 0x01, 0, 2, 'h', 'i'};
	struct tp_frame f;

	assert_int_equal(tp_frame_decode(buf, 6, &f), -EBADMSG);
	buf[1] = 0x80;
	assert_int_equal(tp_frame_decode(buf, 6, &f), -EBADMSG);
	/* the header alone is enough to know it is bad */
	assert_int_equal(tp_frame_decode(buf, 4, &f), -EBADMSG);
	buf[0] = 0;
	buf[1] = 0;
	assert_int_equal(tp_frame_decode(buf, 6, &f), -EBADMSG);
	/* an unknown but well-formed type decodes: the link drops it */
	buf[0] = 200;
	assert_int_equal(tp_frame_decode(buf, 6, &f), 6);
	assert_int_equal(f.type, 200);
}

static void test_frame_msgsize(void **state)
{
	uint8_t hdr[TP_FRAME_HDR] = {0xaa, 0xaa, 0xaa, 0xaa};

	assert_int_equal(tp_frame_put_hdr(hdr, TP_F_PACKET, TP_FRAME_MAX + 1),
			 -EMSGSIZE);
	assert_int_equal(tp_frame_put_hdr(hdr, TP_F_PACKET, 1u << 20),
			 -EMSGSIZE);
	assert_int_equal(hdr[0], 0xaa); /* untouched on error */
	assert_int_equal(tp_frame_put_hdr(hdr, TP_F_PACKET, TP_FRAME_MAX), 0);
	assert_int_equal(hdr[2], 0xff);
	assert_int_equal(hdr[3], 0xff);
}

static void test_magic_at_start(void **state)
{
	uint8_t buf[16];
	size_t skip = 99;

	memcpy(buf, TP_MAGIC, TP_MAGIC_LEN);
	memset(buf + TP_MAGIC_LEN, 1, 8);
	assert_true(tp_magic_find(buf, sizeof(buf), &skip));
	assert_int_equal(skip, 0);
}

static void test_magic_after_banner(void **state)
{
	const char banner[] = "Welcome to Ubuntu\r\n\tLast login: x\n";
	uint8_t buf[128];
	size_t blen = sizeof(banner) - 1, skip = 0;

	memcpy(buf, banner, blen);
	memcpy(buf + blen, TP_MAGIC, TP_MAGIC_LEN);
	buf[blen + TP_MAGIC_LEN] = TP_F_HELLO;
	assert_true(tp_magic_find(buf, blen + TP_MAGIC_LEN + 1, &skip));
	assert_int_equal(skip, blen);
}

static void test_magic_false_starts(void **state)
{
	/* NULs and near-misses of the magic before the real one */
	const uint8_t pre[] = "ab\0TUNGAT\0\0TUN\0TUNGATX";
	uint8_t buf[64];
	size_t plen = sizeof(pre) - 1, skip = 0;

	memcpy(buf, pre, plen);
	memcpy(buf + plen, TP_MAGIC, TP_MAGIC_LEN);
	assert_true(tp_magic_find(buf, plen + TP_MAGIC_LEN, &skip));
	assert_int_equal(skip, plen);
	/* without the real one, all can go: no near-miss is at the tail */
	assert_false(tp_magic_find(buf, plen, &skip));
	assert_int_equal(skip, plen);
}

static void test_magic_partial_tail(void **state)
{
	const char text[] = "motd text";
	uint8_t buf[32];
	size_t tlen = sizeof(text) - 1, skip;

	memcpy(buf, text, tlen);
	for (size_t k = 1; k < TP_MAGIC_LEN; k++) {
		memcpy(buf + tlen, TP_MAGIC, k);
		skip = 0;
		assert_false(tp_magic_find(buf, tlen + k, &skip));
		assert_int_equal(skip, tlen); /* the k magic bytes are kept */
	}
	assert_false(tp_magic_find(buf, 0, &skip));
	assert_int_equal(skip, 0);
	assert_false(tp_magic_find(buf, tlen, &skip));
	assert_int_equal(skip, tlen);
}

static void test_magic_split_reads(void **state)
{
	/* feed a stream in chunks of every size, keeping what is not skipped,
	 * as link.c does; the magic must be found at the right place */
	const char banner[] = "sudo: lecture\n\0\0TUNG\n";
	uint8_t stream[64], held[64];
	size_t blen = sizeof(banner) - 1, total = blen + TP_MAGIC_LEN + 2;

	memcpy(stream, banner, blen);
	memcpy(stream + blen, TP_MAGIC, TP_MAGIC_LEN);
	stream[blen + TP_MAGIC_LEN] = 0x01;
	stream[blen + TP_MAGIC_LEN + 1] = 0x00;
	for (size_t chunk = 1; chunk <= total; chunk++) {
		size_t fed = 0, hlen = 0, dropped = 0, skip;
		bool found = false;

		while (!found && fed < total) {
			size_t n = total - fed < chunk ? total - fed : chunk;

			memcpy(held + hlen, stream + fed, n);
			hlen += n;
			fed += n;
			found = tp_magic_find(held, hlen, &skip);
			dropped += skip;
			if (!found) {
				memmove(held, held + skip, hlen - skip);
				hlen -= skip;
			}
		}
		assert_true(found);
		assert_int_equal(dropped, blen);
	}
}

static void test_hello_round_trip(void **state)
{
	struct tp_hello h = {.proto = 0x1234, .role = TP_ROLE_INSIDE};
	struct tp_hello d;
	uint8_t buf[128];
	int n;

	strcpy(h.version, "0.1.0-rc1");
	for (int i = 0; i < TP_SESSION_LEN; i++)
		h.session[i] = (uint8_t)(0xa0 + i);
	h.flags = TP_HELLO_NO_IPV6;
	n = tp_hello_encode(&h, buf, sizeof(buf));
	assert_int_equal(n, 3 + 9 + 1 + TP_SESSION_LEN + 1);
	assert_int_equal(buf[0], 0x12);
	assert_int_equal(buf[1], 0x34);
	assert_int_equal(buf[2], TP_ROLE_INSIDE);
	assert_memory_equal(buf + 3, "0.1.0-rc1", 10); /* NUL, then the id */
	assert_memory_equal(buf + 13, h.session, TP_SESSION_LEN);
	assert_int_equal(buf[13 + TP_SESSION_LEN], TP_HELLO_NO_IPV6);
	memset(&d, 0xee, sizeof(d));
	assert_int_equal(tp_hello_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.proto, 0x1234);
	assert_int_equal(d.role, TP_ROLE_INSIDE);
	assert_string_equal(d.version, "0.1.0-rc1");
	assert_memory_equal(d.session, h.session, TP_SESSION_LEN);
	assert_int_equal(d.flags, TP_HELLO_NO_IPV6);
	/* a 0.2.0 peer sends no flags: 0 */
	assert_int_equal(tp_hello_decode(&d, buf, (size_t)n - 1), 0);
	assert_memory_equal(d.session, h.session, TP_SESSION_LEN);
	assert_int_equal(d.flags, 0);
	/* a newer peer's bytes past the flags are skipped */
	buf[n] = 0x5a;
	assert_int_equal(tp_hello_decode(&d, buf, (size_t)n + 1), 0);
	assert_int_equal(d.flags, TP_HELLO_NO_IPV6);
	/* the id cut short reads as none */
	assert_int_equal(tp_hello_decode(&d, buf, (size_t)n - 2), 0);
	for (int i = 0; i < TP_SESSION_LEN; i++)
		assert_int_equal(d.session[i], 0);
	assert_int_equal(d.flags, 0);
}

static void test_hello_empty_version(void **state)
{
	struct tp_hello h = {.proto = 1, .role = TP_ROLE_OUTSIDE}, d;
	uint8_t buf[32];

	assert_int_equal(tp_hello_encode(&h, buf, 3 + 1 + TP_SESSION_LEN + 1),
			 3 + 1 + TP_SESSION_LEN + 1);
	assert_int_equal(tp_hello_encode(&h, buf, 3 + 1 + TP_SESSION_LEN),
			 -ENOSPC);
	assert_int_equal(tp_hello_decode(&d, buf, 3), 0);
	assert_string_equal(d.version, "");
	assert_int_equal(tp_hello_decode(&d, buf, 2), -EBADMSG);
	assert_int_equal(tp_hello_decode(&d, buf, 0), -EBADMSG);
}

static void test_hello_truncation(void **state)
{
	struct tp_hello h = {.proto = 1, .role = TP_ROLE_OUTSIDE}, d;
	uint8_t buf[256];
	int n;

	/* a version that fills the array without a NUL: 63 bytes go out */
	memset(h.version, 'v', sizeof(h.version));
	n = tp_hello_encode(&h, buf, sizeof(buf));
	assert_int_equal(n, 3 + 63 + 1 + TP_SESSION_LEN + 1);
	assert_int_equal(tp_hello_encode(&h, buf, (size_t)n - 1), -ENOSPC);
	assert_int_equal(tp_hello_encode(&h, buf, 2), -ENOSPC);

	/* a protocol 1 peer's long version (no NUL) is cut to 63 */
	memset(buf + 3, 'w', 200);
	assert_int_equal(tp_hello_decode(&d, buf, 3 + 200), 0);
	assert_int_equal(strlen(d.version), 63);
	assert_int_equal(d.version[62], 'w');

	/* control bytes from the peer never reach a log line */
	memcpy(buf + 3, "1\n2\0333\0", 6);
	assert_int_equal(tp_hello_decode(&d, buf, 3 + 5), 0);
	assert_string_equal(d.version, "1?2?3");
}

static void test_ready_round_trip(void **state)
{
	struct tp_ready r = {.flags = TP_READY_RESUMED}, d;
	uint8_t buf[512];
	int n;

	memset(r.session, 0x5a, sizeof(r.session));
	strcpy(r.text, "tungate0 up, mtu 65520, 2 routes");
	n = tp_ready_encode(&r, buf, sizeof(buf));
	assert_int_equal(n, TP_SESSION_LEN + 1 + strlen(r.text));
	assert_int_equal(tp_ready_encode(&r, buf, (size_t)n - 1), -ENOSPC);
	memset(&d, 0xee, sizeof(d));
	assert_int_equal(tp_ready_decode(&d, buf, (size_t)n), 0);
	assert_memory_equal(d.session, r.session, TP_SESSION_LEN);
	assert_int_equal(d.flags, TP_READY_RESUMED);
	assert_string_equal(d.text, r.text);
	/* too short for the id and flags; hostile text made printable */
	assert_int_equal(tp_ready_decode(&d, buf, TP_SESSION_LEN), -EBADMSG);
	memcpy(buf + TP_SESSION_LEN + 1, "a\nb", 3);
	assert_int_equal(tp_ready_decode(&d, buf, TP_SESSION_LEN + 4), 0);
	assert_string_equal(d.text, "a?b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_round_trip),
		cmocka_unit_test(test_frame_incomplete),
		cmocka_unit_test(test_frame_two_in_a_row),
		cmocka_unit_test(test_frame_bad_header),
		cmocka_unit_test(test_frame_msgsize),
		cmocka_unit_test(test_magic_at_start),
		cmocka_unit_test(test_magic_after_banner),
		cmocka_unit_test(test_magic_false_starts),
		cmocka_unit_test(test_magic_partial_tail),
		cmocka_unit_test(test_magic_split_reads),
		cmocka_unit_test(test_hello_round_trip),
		cmocka_unit_test(test_hello_empty_version),
		cmocka_unit_test(test_ready_round_trip),
		cmocka_unit_test(test_hello_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
