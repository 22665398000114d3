/* SPDX-License-Identifier: MIT */
/* Unit tests for cmd/nss.c: which of nsswitch.conf's sources are kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/nss.h"

static const char desktop[] =
	"# /etc/nsswitch.conf\n"
	"passwd:         files systemd sss\n"
	"group:          files [SUCCESS=merge] systemd sss\n"
	"shadow:         files sss\n"
	"hosts:          files mdns4_minimal [NOTFOUND=return] resolve "
	"[!UNAVAIL=return] myhostname dns\n"
	"networks:       files\n"
	"netgroup:       nis\n";

static const char *S(const char *conf, const char *db, bool with_dns)
{
	static char out[256];

	tg_nss_sources(conf, strlen(conf), db, with_dns, out, sizeof(out));
	return out;
}

static void test_desktop(void **state)
{
	(void)state;
	assert_string_equal(S(desktop, "hosts", true), "files dns");
	assert_string_equal(S(desktop, "passwd", false), "files");
	/* an action after a kept source stays with it */
	assert_string_equal(S(desktop, "group", false),
			    "files [SUCCESS=merge]");
	assert_string_equal(S(desktop, "networks", true), "files");
	/* no built-in source: the caller's default */
	assert_string_equal(S(desktop, "netgroup", false), "");
	/* no line at all */
	assert_string_equal(S(desktop, "services", false), "");
}

static void test_machine_choice_kept(void **state)
{
	(void)state;
	/* a machine that wants no DNS for its hosts gets none */
	assert_string_equal(S("hosts: files\n", "hosts", true), "files");
	/* order and actions as written */
	assert_string_equal(S("hosts:\tdns [!UNAVAIL=return] files # x\n",
			      "hosts", true),
			    "dns [!UNAVAIL=return] files");
	/* an action of a dropped module goes with it */
	assert_string_equal(S("hosts: resolve [!UNAVAIL=return] dns\n",
			      "hosts", true),
			    "dns");
	/* dns is no source of passwd */
	assert_string_equal(S("passwd: dns files\n", "passwd", false),
			    "files");
	/* the first line for a database counts, as for glibc */
	assert_string_equal(S("hosts: dns\nhosts: files\n", "hosts", true),
			    "dns");
}

static void test_odd_text(void **state)
{
	char out[8];

	(void)state;
	/* a longer name is another database */
	assert_string_equal(S("hostsx: dns\n", "hosts", true), "");
	assert_string_equal(S("  hosts : files", "hosts", true), "files");
	/* a commented line is no line */
	assert_string_equal(S("#hosts: dns\n", "hosts", true), "");
	/* an unclosed action block, a line without a colon */
	assert_string_equal(S("hosts: files [NOTFOUND=return", "hosts", true),
			    "files [NOTFOUND=return");
	assert_string_equal(S("hosts files\n", "hosts", true), "");
	/* what does not fit is not cut: nothing */
	assert_int_equal(tg_nss_sources("hosts: files dns files dns\n", 27,
					"hosts", true, out, sizeof(out)),
			 0);
	/* text without a NUL, stopped at its length */
	assert_int_equal(tg_nss_sources("hosts: files", 9, "hosts", true, out,
					sizeof(out)),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_desktop),
		cmocka_unit_test(test_machine_choice_kept),
		cmocka_unit_test(test_odd_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
