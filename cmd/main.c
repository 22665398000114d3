/* SPDX-License-Identifier: MIT */
/*
 * main.c - `tungate MODE ...`: picks the mode and runs it.
 */
#include <ldns/ldns.h>
#include <libssh/libssh.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "transport/frame.h"
#include "lib/log.h"
#include "cmd/nss.h"
#include "cmd/opts.h"
#include "cmd/status.h"
#include "cmd/tungate.h"

static int print_version(void)
{
	printf("tungate %s (protocol %d; libuv %s, libssh %s, ldns %s, %s)\n",
	       TG_VERSION, TP_PROTO_VERSION, uv_version_string(),
	       ssh_version(0), ldns_version(), OpenSSL_version(OPENSSL_VERSION));
	return TG_EXIT_OK;
}

/*
 * Every NAT flow is a socket: a soft limit of 1024 would cap the outside
 * near 1000 connections, long before its own flow limits.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int run_mode(bool inside, int argc, char **argv)
{
	static struct tg_opts o; /* large: prefix arrays */
	int r = tg_opts_parse(&o, inside, argc, argv);

	if (r == TG_PARSE_EXIT)
		return TG_EXIT_OK;
	if (r != TG_PARSE_OK)
		return TG_EXIT_USAGE;
	tg_log_init(o.log_level, inside ? "inside" : "outside");
	raise_fd_limit();
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return inside ? tg_inside_run(&o) : tg_outside_run(&o);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : NULL;

	/* before anything can look a name, a user or a service up */
	if (tg_nss_pin())
		fprintf(stderr, "tungate: warning: name lookups may load this "
				"machine's NSS modules\n");
	/* a closed stream must be an error return, not a fatal signal */
	signal(SIGPIPE, SIG_IGN);
	/* getaddrinfo and upstream DNS lookups block a pool thread each: a
	 * few slow names must not stall the rest (libuv's default is 4) */
	setenv("UV_THREADPOOL_SIZE", "16", 0);

	if (!mode) {
		tg_usage_main();
		return TG_EXIT_USAGE;
	}
	if (!strcmp(mode, "--help") || !strcmp(mode, "-h") ||
	    !strcmp(mode, "help")) {
		tg_usage_main();
		return TG_EXIT_OK;
	}
	if (!strcmp(mode, "version") || !strcmp(mode, "--version"))
		return print_version();
	if (!strcmp(mode, "outside"))
		return run_mode(false, argc - 1, argv + 1);
	if (!strcmp(mode, "inside"))
		return run_mode(true, argc - 1, argv + 1);
	if (!strcmp(mode, "status"))
		return tg_status_run(argc - 1, argv + 1);
	fprintf(stderr,
		"tungate: unknown command '%s' (use outside, inside, status, "
		"version; see tungate --help)\n",
		mode);
	return TG_EXIT_USAGE;
}
