/* SPDX-License-Identifier: MIT */
/*
 * opts.h - the command line of `tungate outside` and `tungate inside`.
 */
#ifndef TG_OPTS_H
#define TG_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/prefix.h"

#define TG_MAX_PREFIXES 256
/* --tun, --table, --pref, --timeout, --grace: flag and value; -v twice */
#define TG_INSIDE_ARGS_MAX 13
/* --install-binary, one per machine type and one more */
#define TG_INSTALL_BINARIES_MAX 8

enum tg_transport { TG_TP_NONE, TG_TP_STDIO, TG_TP_EXEC, TG_TP_SSH, TG_TP_VIA };

/* --ssh and --via: probe, --install, reconnection and session resume */
#define TG_TP_REMOTE(t) ((t) == TG_TP_SSH || (t) == TG_TP_VIA)

struct tg_opts {
	bool inside;
	enum tg_transport transport;
	const char *exec_cmd;
	const char *ssh_dest;
	const char *via;		/* --via PREFIX, as given */
	char **via_words;		/* ... split as sh would (malloc()ed) */
	int via_shell;			/* 1: --via-shell, -1: --no-via-shell,
					 * 0: by the prefix's name */
	const char *remote_cmd;
	const char *ssh_config;		/* -F FILE */
	/* --install-binary [ARCH=]PATH..., NULL-terminated */
	const char *install_binary[TG_INSTALL_BINARIES_MAX + 1];
	size_t n_install_binary;
	bool accept_new, install;	/* --accept-new, --install */
	bool once;			/* --once: no reconnecting */
	unsigned stripes;		/* --stripes: streams of the link */
	bool retry;			/* --retry: reconnect before the first
					 * session too */

	bool route_auto, route_default;
	size_t n_routes, n_allow, n_keep;
	struct tg_prefix routes[TG_MAX_PREFIXES];
	struct tg_prefix allow[TG_MAX_PREFIXES];
	struct tg_prefix keep[TG_MAX_PREFIXES]; /* inside --keep, outside
						 * --peer */
	bool routes_given;	/* inside: --route overrides the offer */

	int dns;		/* -1: not given, 0: --no-dns, 1: --dns */
	uint32_t mtu;		/* 0: not given */
	bool tun4_given, tun6_given, dns4_given, dns6_given;
	uint8_t tun4[4], tun6[16], dns4[4], dns6[16];
	const char *tun_name;
	unsigned timeout_ms;
	unsigned grace_ms;		/* --grace: how long a dropped stream's
				 * session waits to resume; 0: never */
	uint32_t table, pref;		/* 0: not given */
	bool main_table;		/* inside --main-table */
	bool tun_given, timeout_given, grace_given;
	/* outside --ssh, --via: the inside's options that the user gave (--tun,
	 * --table, --pref, --timeout, --grace, -v), as words to append to
	 * the remote command; NULL-terminated (for tp_ssh_opts.inside_args) */
	const char *inside_args[TG_INSIDE_ARGS_MAX];
	char inside_nums[5][12];	/* their numbers: [i / 2] for word i + 1 */

	size_t max_udp, max_icmp, max_tcp;
	size_t max_buf_bytes;		/* --max-buffer MB; 0: default */
	size_t dns_cache, dns_pending;	/* --dns-cache-entries, --dns-max-pending */
	size_t dns_tcp_buf_bytes;	/* --dns-tcp-buffer MB; 0: default */
	unsigned udp_idle_ms;
	int log_level;

	const char *name;		/* --name: of the control socket */
	const char *pcap;		/* --pcap FILE */
	uint64_t pcap_max_bytes;	/* --pcap-max-bytes; 0: no limit */
};

/* the defaults that the README and the usage text name */
#define TG_DEFAULT_TUN4 "198.18.0.1"
#define TG_DEFAULT_TUN6 "fd7e:7475:6e::1"
#define TG_DEFAULT_DNS4 "198.18.0.53"
#define TG_DEFAULT_DNS6 "fd7e:7475:6e::53"
#define TG_DEFAULT_MTU 65520
#define TG_DEFAULT_TUN_NAME "tungate0"
#define TG_DEFAULT_TIMEOUT_S 30
#define TG_DEFAULT_GRACE_S 120
#define TG_DEFAULT_PCAP_MAX (100ull << 20)

enum tg_parse { TG_PARSE_OK = 0, TG_PARSE_EXIT = 1, TG_PARSE_USAGE = 2 };

/**
 * tg_opts_parse() - parse the arguments after the mode word
 * @o:		filled with defaults, then the flags
 * @inside:	parsing for `tungate inside`
 * @argc:	argument count, argv[0] being the mode word
 * @argv:	arguments
 *
 * Prints usage for --help (TG_PARSE_EXIT) and one line naming the bad flag
 * for a usage error (TG_PARSE_USAGE).
 * Return: enum tg_parse
 */
int tg_opts_parse(struct tg_opts *o, bool inside, int argc, char **argv);

void tg_usage_outside(void);
void tg_usage_inside(void);
void tg_usage_main(void);

#endif
