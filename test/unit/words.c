/* SPDX-License-Identifier: MIT */
/*
 * words.c - unit tests for transport/words.c: --via's PREFIX split as sh
 * would, checked against what /bin/sh itself makes of the same text, and
 * quoting for sh, checked by running sh on the result.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/words.h"

static void expect_words(const char *s, const char *const *want)
{
	const char *why = "x";
	char **v = NULL;
	int n = tp_words_split(s, &v, &why);
	int i;

	assert_null(why);
	for (i = 0; want[i]; i++)
		;
	assert_int_equal(n, i);
	for (i = 0; want[i]; i++)
		assert_string_equal(v[i], want[i]);
	assert_null(v[n]);
	free(v);
}

static void test_split(void **state)
{
	expect_words("docker exec -i devc",
		     (const char *[]){"docker", "exec", "-i", "devc", NULL});
	expect_words("  kubectl\texec -i pod/x -c app --  ",
		     (const char *[]){"kubectl", "exec", "-i", "pod/x", "-c",
				      "app", "--", NULL});
	expect_words("'/my dir/enter' \"it's\" a\\ b",
		     (const char *[]){"/my dir/enter", "it's", "a b", NULL});
	expect_words("\"a \\\"q\\\" \\\\ \\x\" '\\n'",
		     (const char *[]){"a \"q\" \\ \\x", "\\n", NULL});
	expect_words("x''y \"\" ''", (const char *[]){"xy", "", "", NULL});
	expect_words("a\\\nb \"c\\\nd\"", (const char *[]){"ab", "cd", NULL});
	expect_words("'$HOME' \"*\" \\; a#b",
		     (const char *[]){"$HOME", "*", ";", "a#b", NULL});
}

static void expect_bad(const char *s)
{
	const char *why = NULL;
	char **v = NULL;

	assert_int_equal(tp_words_split(s, &v, &why), -EINVAL);
	assert_non_null(why);
	assert_null(v);
}

static void test_refused(void **state)
{
	expect_bad("");
	expect_bad("   ");
	expect_bad("a 'b");
	expect_bad("a \"b");
	expect_bad("a\\");
	expect_bad("docker exec $C");
	expect_bad("a \"$b\"");
	expect_bad("a `id`");
	expect_bad("a | b");
	expect_bad("a;b");
	expect_bad("a > f");
	expect_bad("a (b)");
	expect_bad("a *");
	expect_bad("a #comment");
	expect_bad("~/bin/enter");
	expect_bad("a &");
}

/* the output of shell command @cmd, into @out */
static void sh_out(const char *cmd, char *out, size_t cap)
{
	FILE *f = popen(cmd, "r");

	assert_non_null(f);
	assert_true(fread(out, 1, cap - 1, f) > 0);
	pclose(f);
}

/* what sh makes of the same line: printf '<%s>' over its words */
static void test_like_sh(void **state)
{
	static const char *lines[] = {
		"a 'b c' \"d'e\" f\\ g",
		"\"x\\\"y\" '\\' \\\\",
		"'' \"\" x",
		"a\\\tb \"c\\$d\"",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char cmd[512], q[256], out[512] = "", want[512] = "", *p = want;
		const char *why;
		char **v;
		int n = tp_words_split(lines[i], &v, &why);

		assert_true(n > 0);
		for (int k = 0; k < n; k++)
			p += sprintf(p, "<%s>", v[k]);
		free(v);
		assert_true(tp_sh_quote(q, sizeof(q), lines[i]) > 0);
		snprintf(cmd, sizeof(cmd), "sh -c \"printf '<%%s>' \"%s", q);
		sh_out(cmd, out, sizeof(out));
		assert_string_equal(out, want);
	}
}

/* quoted words come back out of sh as they went in */
static void test_quote(void **state)
{
	static const char *words[] = {"plain", "it's",	 "'",
				      "''",    "a b\tc", "$HOME;`id`",
				      "\\n",   "",	 "x\ny"};
	char q[64];

	assert_int_equal(tp_sh_quote(q, sizeof(q), "it's"), 9);
	assert_string_equal(q, "'it'\\''s'");
	assert_int_equal(tp_sh_quote(q, 4, "abc"), -ENOSPC);
	assert_string_equal(q, "");
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		char cmd[256], out[64] = "";

		assert_true(tp_sh_quote(q, sizeof(q), words[i]) > 0);
		snprintf(cmd, sizeof(cmd), "printf '<%%s>' %s", q);
		sh_out(cmd, out, sizeof(out));
		snprintf(cmd, sizeof(cmd), "<%s>", words[i]);
		assert_string_equal(out, cmd);
	}
}

/* which prefixes hand their words to a remote shell as one line */
static void test_remote_shell(void **state)
{
	static const struct {
		const char *prefix;
		bool shell;
	} cases[] = {
		{"ssh dev", true},
		{"/usr/bin/ssh -p 2222 u@h --", true},
		{"gh codespace ssh -c NAME --", true},
		{"gh -R o/r cs ssh -c NAME", true},
		{"/opt/gh/bin/gh codespace ssh", true},
		{"gh codespace list", false},
		{"gh ssh", false},
		{"docker exec -i devc", false},
		{"kubectl exec -i pod/x -c app --", false},
		{"sshpass -e ssh h", false}, /* its first word is not ssh */
		{"myssh h", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why;
		char **v;

		assert_true(tp_words_split(cases[i].prefix, &v, &why) > 0);
		if (tp_words_remote_shell((const char *const *)v) !=
		    cases[i].shell)
			fail_msg("%s: want %d", cases[i].prefix, cases[i].shell);
		free(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_like_sh),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_remote_shell),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
