/* SPDX-License-Identifier: MIT */
/* Unit tests for cmd/json.c: the bounded writer and the small reader. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/json.h"

static void test_write_doc(void **state)
{
	char buf[256];
	struct tg_json j;
	int n;

	(void)state;
	tg_json_init(&j, buf, sizeof(buf));
	tg_json_obj(&j, NULL);
	tg_json_str(&j, "name", "devbox");
	tg_json_u64(&j, "big", UINT64_MAX);
	tg_json_i64(&j, "neg", -42);
	tg_json_bool(&j, "up", true);
	tg_json_null(&j, "none");
	tg_json_str(&j, "nullstr", NULL);
	tg_json_arr(&j, "list");
	tg_json_u64(&j, NULL, 1);
	tg_json_obj(&j, NULL);
	tg_json_obj_end(&j);
	tg_json_arr(&j, NULL);
	tg_json_arr_end(&j);
	tg_json_strf(&j, NULL, "%s:%d", "a", 7);
	tg_json_arr_end(&j);
	tg_json_obj_end(&j);
	n = tg_json_finish(&j);
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "{\"name\":\"devbox\",\"big\":"
				 "18446744073709551615,\"neg\":-42,\"up\":true,"
				 "\"none\":null,\"nullstr\":null,\"list\":[1,"
				 "{},[],\"a:7\"]}\n");
}

static const char *esc(const char *in, size_t n)
{
	static char buf[512];
	struct tg_json j;

	tg_json_init(&j, buf, sizeof(buf));
	tg_json_strn(&j, NULL, in, n);
	assert_true(tg_json_finish(&j) > 0);
	buf[strlen(buf) - 1] = '\0'; /* the newline */
	return buf;
}

#define ESC(s) esc(s, sizeof(s) - 1)

static void test_escape(void **state)
{
	(void)state;
	assert_string_equal(ESC("plain"), "\"plain\"");
	assert_string_equal(ESC("q\"b\\s/"), "\"q\\\"b\\\\s/\"");
	assert_string_equal(ESC("a\nb\tc\r\x01\x1f\x7f"),
			    "\"a\\nb\\tc\\u000d\\u0001\\u001f\\u007f\"");
	assert_string_equal(ESC("nul\0x"), "\"nul\\u0000x\"");
	/* valid UTF-8 is kept as is */
	assert_string_equal(ESC("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80"),
			    "\"caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80\"");
	/* invalid bytes become U+FFFD, one each */
	assert_string_equal(ESC("\xff"), "\"\\ufffd\"");
	assert_string_equal(ESC("\xc0\x80"), "\"\\ufffd\\ufffd\"");
	assert_string_equal(ESC("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(ESC("cut\xc3"), "\"cut\\ufffd\"");
	assert_string_equal(ESC("\xf4\x90\x80\x80"),
			    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void test_overflow(void **state)
{
	char buf[40];
	struct tg_json j;

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	tg_json_init(&j, buf, 20);
	tg_json_obj(&j, NULL);
	tg_json_str(&j, "k", "a string much too long for the buffer");
	tg_json_obj_end(&j);
	assert_true(j.err);
	assert_true(j.len <= 20);
	assert_int_equal(tg_json_finish(&j), -ENOSPC);
	for (size_t i = 20; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 'Z');
	/* an open container is an error too */
	tg_json_init(&j, buf, sizeof(buf));
	tg_json_arr(&j, NULL);
	assert_int_equal(tg_json_finish(&j), -ENOSPC);
}

/* rows until full: each row that does not fit is taken back whole */
static void test_rows_rewind(void **state)
{
	char buf[300];
	struct tg_json j;
	struct tg_jdoc d;
	int rows = 0, omitted = 0, n, a;

	(void)state;
	tg_json_init(&j, buf, sizeof(buf));
	tg_json_reserve(&j, 32);
	tg_json_obj(&j, NULL);
	tg_json_arr(&j, "rows");
	for (int i = 0; i < 50; i++) {
		struct tg_json_mark m = tg_json_mark(&j);

		tg_json_obj(&j, NULL);
		tg_json_u64(&j, "i", (uint64_t)i);
		tg_json_str(&j, "s", "some text");
		tg_json_obj_end(&j);
		if (j.err) {
			tg_json_rewind(&j, m);
			omitted++;
		} else {
			rows++;
		}
	}
	tg_json_arr_end(&j);
	tg_json_reserve(&j, 0);
	tg_json_u64(&j, "omitted", (uint64_t)omitted);
	tg_json_obj_end(&j);
	n = tg_json_finish(&j);
	assert_true(n > 0);
	assert_true(rows > 3 && omitted > 0);
	assert_int_equal(tg_json_parse(&d, buf, (size_t)n, 1000), 0);
	assert_int_equal(tg_json_uint(&d, tg_json_get(&d, 0, "omitted"), 0),
			 omitted);
	a = tg_json_get(&d, 0, "rows");
	n = 0;
	for (int i = tg_json_first(&d, a); i >= 0; i = tg_json_next(&d, a, i))
		assert_int_equal(tg_json_uint(&d, tg_json_get(&d, i, "i"), 99),
				 n++);
	assert_int_equal(n, rows);
	tg_json_free(&d);
}

static void test_parse_walk(void **state)
{
	static const char doc[] =
		" {\"a\": 1, \"b\": {\"c\": [true, false, null, \"x\"]},"
		" \"e\\u0073c\": \"\\u00e9\\ud83d\\ude00\\n\\\"\","
		" \"neg\": -1.5e2, \"empty\": [], \"last\": \"z\"} ";
	struct tg_jdoc d;
	char s[32];
	int b, c, i, n = 0;

	(void)state;
	assert_int_equal(tg_json_parse(&d, doc, strlen(doc), 100), 0);
	assert_int_equal(d.tok[0].type, TG_JOBJ);
	assert_int_equal(tg_json_uint(&d, tg_json_get(&d, 0, "a"), 0), 1);
	b = tg_json_get(&d, 0, "b");
	c = tg_json_get(&d, b, "c");
	assert_int_equal(d.tok[c].type, TG_JARR);
	for (i = tg_json_first(&d, c); i >= 0; i = tg_json_next(&d, c, i))
		n++;
	assert_int_equal(n, 4);
	i = tg_json_first(&d, c);
	assert_true(tg_json_true(&d, i));
	i = tg_json_next(&d, c, i);
	assert_false(tg_json_true(&d, i));
	i = tg_json_next(&d, c, tg_json_next(&d, c, i));
	assert_string_equal(tg_json_text(&d, i, s, sizeof(s)), "x");
	/* an escaped key, escapes and a surrogate pair */
	assert_string_equal(
		tg_json_text(&d, tg_json_get(&d, 0, "esc"), s, sizeof(s)),
		"\xc3\xa9\xf0\x9f\x98\x80\n\"");
	assert_true(tg_json_num(&d, tg_json_get(&d, 0, "neg"), 0) == -150.0);
	assert_int_equal(tg_json_uint(&d, tg_json_get(&d, 0, "neg"), 7), 7);
	assert_int_equal(tg_json_first(&d, tg_json_get(&d, 0, "empty")), -1);
	assert_string_equal(
		tg_json_text(&d, tg_json_get(&d, 0, "last"), s, sizeof(s)),
		"z");
	assert_int_equal(tg_json_get(&d, 0, "missing"), -1);
	assert_int_equal(tg_json_get(&d, c, "a"), -1);
	assert_string_equal(tg_json_text(&d, -1, s, sizeof(s)), "");
	/* cut short at a character boundary */
	assert_string_equal(tg_json_text(&d, tg_json_get(&d, 0, "esc"), s, 4),
			    "\xc3\xa9");
	tg_json_free(&d);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",	  " ",		 "{",	       "}",	      "[1,]",
		"[1 2]",  "{\"a\" 1}",	 "{\"a\":}",   "{a:1}",	      "01",
		"1.",	  "-",		 "1e",	       "tru",	      "nul",
		"\"open", "\"ctl\x01\"", "\"bad\\x\"", "\"\\u12g4\"", "[1] x",
		"{}{}",	  "{\"a\":1,}",	 "'s'",
	};
	char deep[200];
	struct tg_jdoc d;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tg_json_parse(&d, bad[i], strlen(bad[i]), 100) != -EINVAL)
			fail_msg("accepted: '%s'", bad[i]);
	}
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_int_equal(tg_json_parse(&d, deep, sizeof(deep), 1000), -EINVAL);
	assert_int_equal(tg_json_parse(&d, "[1,2,3,4]", 9, 3), -E2BIG);
	assert_int_equal(tg_json_parse(&d, "0", 1, 3), 0);
	tg_json_free(&d);
}

/* whatever bytes a name holds, the writer's output parses back */
static void test_roundtrip_bytes(void **state)
{
	char in[256], buf[4096], out[1024];
	struct tg_json j;
	struct tg_jdoc d;
	int n;

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (char)(i + 1); /* every byte, NUL last */
	tg_json_init(&j, buf, sizeof(buf));
	tg_json_arr(&j, NULL);
	tg_json_strn(&j, NULL, in, 127); /* ASCII: comes back exactly */
	tg_json_strn(&j, NULL, in, sizeof(in));
	tg_json_arr_end(&j);
	n = tg_json_finish(&j);
	assert_true(n > 0);
	assert_int_equal(tg_json_parse(&d, buf, (size_t)n, 10), 0);
	tg_json_text(&d, tg_json_first(&d, 0), out, sizeof(out));
	assert_memory_equal(out, in, 127);
	assert_int_equal(out[127], '\0');
	/* 128 bytes >= 0x80 that are not UTF-8: each one U+FFFD */
	tg_json_text(&d, tg_json_next(&d, 0, 1), out, sizeof(out));
	assert_memory_equal(out, in, 127);
	assert_memory_equal(out + 127, "\xef\xbf\xbd", 3);
	assert_int_equal(strlen(out), 127 + 128 * 3); /* then the NUL byte */
	tg_json_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_doc),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_rows_rewind),
		cmocka_unit_test(test_parse_walk),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_roundtrip_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
