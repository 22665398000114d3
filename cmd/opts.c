/* SPDX-License-Identifier: MIT */
/*
 * opts.c - command-line parsing for both modes.
 *
 * Every usage error is one line on stderr that names the flag and says
 * where help is; the caller exits 2. Values are checked here, so the
 * programs behind can trust them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "cmd/opts.h"
#include "transport/link.h"
#include "transport/words.h"

enum {
	O_STDIO = 256, O_EXEC, O_SSH, O_REMOTE_CMD, O_ROUTE, O_DNS, O_NO_DNS,
	O_ALLOW, O_MTU, O_TIMEOUT, O_TUN_ADDR, O_DNS_ADDR, O_TUN, O_KEEP,
	O_MAIN_TABLE,
	O_TABLE, O_PREF, O_MAX_UDP, O_MAX_ICMP, O_MAX_TCP, O_UDP_IDLE,
	O_HELP, O_ONCE, O_ACCEPT_NEW, O_INSTALL, O_INSTALL_BIN, O_PEER,
	O_NAME, O_PCAP, O_PCAP_MAX, O_MAX_BUF, O_DNS_CACHE, O_DNS_PENDING,
	O_GRACE, O_VIA, O_RETRY, O_DNS_TCP_BUF, O_VIA_SHELL, O_NO_VIA_SHELL,
	O_STRIPES,
};

static const struct option outside_longopts[] = {
	{ "stdio", no_argument, NULL, O_STDIO },
	{ "exec", required_argument, NULL, O_EXEC },
	{ "ssh", required_argument, NULL, O_SSH },
	{ "via", required_argument, NULL, O_VIA },
	{ "via-shell", no_argument, NULL, O_VIA_SHELL },
	{ "no-via-shell", no_argument, NULL, O_NO_VIA_SHELL },
	{ "remote-command", required_argument, NULL, O_REMOTE_CMD },
	{ "accept-new", no_argument, NULL, O_ACCEPT_NEW },
	{ "once", no_argument, NULL, O_ONCE },
	{ "retry", no_argument, NULL, O_RETRY },
	{ "install", no_argument, NULL, O_INSTALL },
	{ "install-binary", required_argument, NULL, O_INSTALL_BIN },
	{ "route", required_argument, NULL, O_ROUTE },
	{ "dns", no_argument, NULL, O_DNS },
	{ "no-dns", no_argument, NULL, O_NO_DNS },
	{ "allow", required_argument, NULL, O_ALLOW },
	{ "peer", required_argument, NULL, O_PEER },
	{ "mtu", required_argument, NULL, O_MTU },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "grace", required_argument, NULL, O_GRACE },
	{ "stripes", required_argument, NULL, O_STRIPES },
	{ "tun", required_argument, NULL, O_TUN },
	{ "table", required_argument, NULL, O_TABLE },
	{ "pref", required_argument, NULL, O_PREF },
	{ "tun-addr", required_argument, NULL, O_TUN_ADDR },
	{ "dns-addr", required_argument, NULL, O_DNS_ADDR },
	{ "max-udp-flows", required_argument, NULL, O_MAX_UDP },
	{ "max-icmp-flows", required_argument, NULL, O_MAX_ICMP },
	{ "max-tcp-flows", required_argument, NULL, O_MAX_TCP },
	{ "udp-idle", required_argument, NULL, O_UDP_IDLE },
	{ "max-buffer", required_argument, NULL, O_MAX_BUF },
	{ "dns-cache-entries", required_argument, NULL, O_DNS_CACHE },
	{ "dns-max-pending", required_argument, NULL, O_DNS_PENDING },
	{ "dns-tcp-buffer", required_argument, NULL, O_DNS_TCP_BUF },
	{ "name", required_argument, NULL, O_NAME },
	{ "pcap", required_argument, NULL, O_PCAP },
	{ "pcap-max-bytes", required_argument, NULL, O_PCAP_MAX },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static const struct option inside_longopts[] = {
	{ "stdio", no_argument, NULL, O_STDIO },
	{ "tun", required_argument, NULL, O_TUN },
	{ "mtu", required_argument, NULL, O_MTU },
	{ "route", required_argument, NULL, O_ROUTE },
	{ "dns", no_argument, NULL, O_DNS },
	{ "no-dns", no_argument, NULL, O_NO_DNS },
	{ "keep", required_argument, NULL, O_KEEP },
	{ "tun-addr", required_argument, NULL, O_TUN_ADDR },
	{ "dns-addr", required_argument, NULL, O_DNS_ADDR },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "grace", required_argument, NULL, O_GRACE },
	{ "table", required_argument, NULL, O_TABLE },
	{ "pref", required_argument, NULL, O_PREF },
	{ "main-table", no_argument, NULL, O_MAIN_TABLE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

void tg_usage_main(void)
{
	printf("tungate %s - make this machine the network gateway of a remote "
	       "container\n\n"
	       "usage:\n"
	       "  tungate outside (--ssh DEST | --via PREFIX | --exec CMD | "
	       "--stdio) [options]\n"
	       "  tungate inside --stdio [options]\n"
	       "  tungate status [NAME] [--json] [--watch]\n"
	       "  tungate version\n\n"
	       "`tungate outside --help` and `tungate inside --help` list the "
	       "options.\n",
	       TG_VERSION);
}

void tg_usage_outside(void)
{
	printf("usage: tungate outside (--ssh DEST | --via PREFIX | --exec CMD "
	       "| --stdio)\n"
	       "                       [options]\n\n"
	       "Runs on your machine as an ordinary user; carries the "
	       "container's traffic\nfor the offered routes out through this "
	       "machine's own connections.\n\n"
	       "  --exec CMD            run CMD (sh -c); its stdin/stdout "
	       "reach `tungate inside --stdio`\n"
	       "  --stdio               the stream is this process's "
	       "stdin/stdout\n"
	       "  --ssh DEST            ssh to DEST ([user@]host[:port] or a "
	       "Host alias of\n"
	       "                        ~/.ssh/config) and start the inside "
	       "there\n"
	       "  --via PREFIX          run `PREFIX CMD...` on this machine to "
	       "reach the container\n"
	       "                        (docker exec -i NAME, kubectl exec -i "
	       "POD --); PREFIX is\n"
	       "                        split as sh would; probe, --install, "
	       "reconnection and\n"
	       "                        resume as for --ssh\n"
	       "  --via-shell, --no-via-shell\n"
	       "                        --via: the prefix joins the words after "
	       "it into one line\n"
	       "                        for a remote shell (as ssh does), so "
	       "tungate sh-quotes each\n"
	       "                        word it adds, or not (default: quote "
	       "when the prefix is\n"
	       "                        ssh or gh codespace ssh)\n"
	       "  --remote-command CMD  what --ssh or --via runs (default: "
	       "tungate inside --stdio,\n"
	       "                        after sudo -n unless a probe (--via, "
	       "--install) found root)\n"
	       "  -F FILE               --ssh: this ssh config file instead "
	       "of ~/.ssh/config\n"
	       "  --once                --ssh, --via: exit when the connection drops "
	       "instead of\n"
	       "                        reconnecting (1 s doubling to 30 s, "
	       "with jitter)\n"
	       "  --retry               --ssh, --via: keep trying when the first "
	       "connection fails\n"
	       "                        (unreachable, refused, no such name "
	       "yet) instead of exiting 1\n"
	       "  --accept-new          --ssh: add an unknown host key to "
	       "known_hosts without asking\n"
	       "  --install             --ssh, --via: upload this tungate to "
	       "~/.cache/tungate on the remote\n"
	       "                        unless it has the same version, and "
	       "run that\n"
	       "  --install-binary [ARCH=]PATH\n"
	       "                        the Linux tungate that --install "
	       "uploads to a remote whose\n"
	       "                        uname -m is ARCH (repeatable; "
	       "default: this one, or\n"
	       "                        tungate-ARCH beside it)\n"
	       "  --tun NAME  --table N  --pref N\n"
	       "                        --ssh, --via: options of the inside (see "
	       "tungate inside --help),\n"
	       "                        added to the remote command; so are "
	       "--timeout, --grace\n"
	       "                        and -v when given\n"
	       "  --route CIDR|auto|default\n"
	       "                        prefixes offered to the inside "
	       "(repeatable; default auto:\n"
	       "                        this machine's non-default routes)\n"
	       "  --no-dns              leave the container's resolver alone\n"
	       "  --allow CIDR          permit a destination refused by default "
	       "(loopback,\n"
	       "                        link-local, this machine's addresses); "
	       "repeatable\n"
	       "  --peer ADDR           the stream's far end as the container "
	       "sees it: never routed\n"
	       "                        into the tunnel (--exec, --via; --ssh "
	       "finds it itself);\n"
	       "                        repeatable\n"
	       "  --mtu N               TUN MTU offered (default %d)\n"
	       "  --tun-addr ADDR       inside's TUN address (default %s, %s)\n"
	       "  --dns-addr ADDR       tunnel DNS address (default %s, %s)\n"
	       "  --timeout SEC         peer silent this long is gone "
	       "(default %d)\n"
	       "  --grace SEC           a dropped stream's connections wait "
	       "this long for the\n"
	       "                        reconnection to resume them (default "
	       "%d; 0: never)\n"
	       "  --stripes N           --ssh: carry the stream over N SSH "
	       "connections at once,\n"
	       "                        past one channel's window per round "
	       "trip (default 1, max 8)\n"
	       "  --max-udp-flows N     --max-icmp-flows N  --max-tcp-flows N\n"
	       "                        flows open at once (default 4096, "
	       "1024, 4096)\n"
	       "  --udp-idle SEC        idle assured UDP flows expire (default "
	       "180; others after 30)\n"
	       "  --max-buffer MB       TCP buffers of all connections "
	       "together (default 256)\n"
	       "  --dns-cache-entries N cached DNS answers (default 4096)\n"
	       "  --dns-max-pending N   DNS queries in flight (default 1024)\n"
	       "  --dns-tcp-buffer MB   DNS-over-TCP buffers of all "
	       "connections together\n"
	       "                        (default 16)\n"
	       "  --name NAME           this outside's name for `tungate "
	       "status NAME` (default:\n"
	       "                        the --ssh destination, or "
	       "\"default\")\n"
	       "  --pcap FILE           write every packet of the tunnel to "
	       "FILE (pcap, raw IP)\n"
	       "  --pcap-max-bytes N    stop capturing at N bytes (K, M, G "
	       "suffixes; default 100M)\n"
	       "  -v, --verbose         more logging (twice: per packet)\n"
	       "  -q, --quiet           errors only\n",
	       TG_DEFAULT_MTU, TG_DEFAULT_TUN4, TG_DEFAULT_TUN6,
	       TG_DEFAULT_DNS4, TG_DEFAULT_DNS6, TG_DEFAULT_TIMEOUT_S,
	       TG_DEFAULT_GRACE_S);
}

void tg_usage_inside(void)
{
	printf("usage: tungate inside --stdio [options]\n\n"
	       "Runs in the container as root: a TUN device and policy routes "
	       "for what the\ncontainer cannot route itself; the stream is "
	       "stdin/stdout. Settings come\nfrom the outside's handshake; "
	       "flags given here win.\n\n"
	       "  --stdio               the stream is stdin/stdout (required)\n"
	       "  --tun NAME            TUN device name (default %s)\n"
	       "  --mtu N               TUN MTU (default: the outside's, %d)\n"
	       "  --route CIDR|default  route these instead of what the outside "
	       "offers\n"
	       "  --dns, --no-dns       point resolv.conf at the tunnel, or "
	       "not\n"
	       "  --keep CIDR           never route this through the tunnel "
	       "(the stream's peer)\n"
	       "  --tun-addr ADDR       TUN address (default %s, %s)\n"
	       "  --dns-addr ADDR       tunnel DNS address (default %s, %s)\n"
	       "  --table N             routing table (default 7467)\n"
	       "  --pref N              rule priority; N+1 is also used "
	       "(default 7466)\n"
	       "  --main-table          no policy rules: routes in the main "
	       "table (by itself\n"
	       "                        where the kernel takes no rules, "
	       "as under qemu-user)\n"
	       "  --timeout SEC         peer silent this long is gone "
	       "(default %d)\n"
	       "  --grace SEC           after the stream drops, keep the "
	       "device and routes this\n"
	       "                        long for the outside to resume "
	       "(default %d; 0: never)\n"
	       "  -v, --verbose         more logging\n"
	       "  -q, --quiet           errors only\n",
	       TG_DEFAULT_TUN_NAME, TG_DEFAULT_MTU, TG_DEFAULT_TUN4,
	       TG_DEFAULT_TUN6, TG_DEFAULT_DNS4, TG_DEFAULT_DNS6,
	       TG_DEFAULT_TIMEOUT_S, TG_DEFAULT_GRACE_S);
}

static int usage_error(bool inside, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(bool inside, const char *fmt, ...)
{
	const char *mode = inside ? "inside" : "outside";
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tungate %s: %s (see tungate %s --help)\n", mode, msg,
		mode);
	return TG_PARSE_USAGE;
}

static bool parse_ulong(const char *s, unsigned long min, unsigned long max,
			unsigned long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && !*end && *v >= min && *v <= max;
}

static void set_default_addrs(struct tg_opts *o)
{
	inet_pton(AF_INET, TG_DEFAULT_TUN4, o->tun4);
	inet_pton(AF_INET6, TG_DEFAULT_TUN6, o->tun6);
	inet_pton(AF_INET, TG_DEFAULT_DNS4, o->dns4);
	inet_pton(AF_INET6, TG_DEFAULT_DNS6, o->dns6);
}

/* --tun-addr / --dns-addr: one address, its family picks the slot */
static bool set_addr(const char *s, uint8_t a4[4], uint8_t a6[16], bool *g4,
		     bool *g6)
{
	if (inet_pton(AF_INET, s, a4) == 1)
		return (*g4 = true);
	if (inet_pton(AF_INET6, s, a6) == 1)
		return (*g6 = true);
	return false;
}

static int add_prefix(bool inside, const char *flag, const char *s,
		      struct tg_prefix *arr, size_t *n)
{
	if (*n >= TG_MAX_PREFIXES)
		return usage_error(inside, "%s: too many (at most 256)", flag);
	if (!tg_prefix_parse(s, &arr[*n]))
		return usage_error(inside,
				   "%s: '%s' is not an address or CIDR prefix",
				   flag, s);
	(*n)++;
	return TG_PARSE_OK;
}

static int parse_route(struct tg_opts *o, const char *s)
{
	o->routes_given = true;
	if (!strcmp(s, "auto")) {
		if (o->inside)
			return usage_error(true,
					   "%s: 'auto' is for the outside; "
					   "give prefixes or 'default'",
					   "--route");
		o->route_auto = true;
		return TG_PARSE_OK;
	}
	if (!strcmp(s, "default")) {
		o->route_default = true;
		return TG_PARSE_OK;
	}
	return add_prefix(o->inside, "--route", s, o->routes, &o->n_routes);
}

/* numeric flags: range-checked, in the unit the flag names */
static int parse_number(struct tg_opts *o, int c, const char *flag,
			const char *s)
{
	unsigned long v;
	unsigned long lo = 1, hi = UINT32_MAX;

	if (c == O_MTU)
		lo = 1280, hi = 65535;
	else if (c == O_TIMEOUT || c == O_UDP_IDLE)
		hi = 86400;
	else if (c == O_GRACE)
		lo = 0, hi = 86400;
	else if (c == O_STRIPES)
		hi = TP_STRIPES_MAX;
	else if (c == O_MAX_UDP || c == O_MAX_ICMP || c == O_MAX_TCP ||
		 c == O_DNS_CACHE || c == O_DNS_PENDING)
		hi = 1000000;
	else if (c == O_MAX_BUF || c == O_DNS_TCP_BUF)
		hi = 1024 * 1024; /* 1 TiB */
	else if (c == O_TABLE)
		lo = 1, hi = 0xfffffff0; /* not 0, local (255), main (254) */
	else if (c == O_PREF)
		lo = 1, hi = 32000;
	if (!parse_ulong(s, lo, hi, &v) ||
	    (c == O_TABLE && (v == 253 || v == 254 || v == 255)))
		return usage_error(o->inside, "%s: '%s' is not a valid value",
				   flag, s);
	switch (c) {
	case O_MTU: o->mtu = (uint32_t)v; break;
	case O_TIMEOUT:
		o->timeout_ms = (unsigned)v * 1000;
		o->timeout_given = true;
		break;
	case O_GRACE:
		o->grace_ms = (unsigned)v * 1000;
		o->grace_given = true;
		break;
	case O_STRIPES: o->stripes = (unsigned)v; break;
	case O_UDP_IDLE: o->udp_idle_ms = (unsigned)v * 1000; break;
	case O_MAX_UDP: o->max_udp = v; break;
	case O_MAX_ICMP: o->max_icmp = v; break;
	case O_MAX_TCP: o->max_tcp = v; break;
	case O_MAX_BUF: o->max_buf_bytes = (size_t)v << 20; break;
	case O_DNS_CACHE: o->dns_cache = v; break;
	case O_DNS_PENDING: o->dns_pending = v; break;
	case O_DNS_TCP_BUF: o->dns_tcp_buf_bytes = (size_t)v << 20; break;
	case O_TABLE: o->table = (uint32_t)v; break;
	case O_PREF: o->pref = (uint32_t)v; break;
	}
	return TG_PARSE_OK;
}

/* --name: a file name of the control socket's directory */
static int parse_name(struct tg_opts *o, const char *flag, const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._@:+-") != n)
		return usage_error(o->inside,
				   "%s: '%s' must be 1 to 64 letters, digits "
				   "or ._@:+- (not starting with '.')",
				   flag, s);
	o->name = s;
	return TG_PARSE_OK;
}

/* --pcap-max-bytes: bytes, or with a K, M or G suffix (powers of 1024) */
static int parse_size(struct tg_opts *o, const char *flag, const char *s)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end != s && *end && !end[1]) {
		const char *p = strchr("kKmMgG", *end);

		shift = p ? (unsigned)(p - "kKmMgG") / 2 * 10 + 10 : 0;
		if (shift)
			end++;
	}
	if (!*s || *s == '-' || *s == '+' || errno || *end ||
	    (shift && v > (UINT64_MAX >> shift)))
		return usage_error(o->inside,
				   "%s: '%s' is not a size (bytes, or with "
				   "K, M or G)",
				   flag, s);
	o->pcap_max_bytes = (uint64_t)v << shift;
	return TG_PARSE_OK;
}

/* --via PREFIX: its words now, so that bad quoting is a usage error */
static int parse_via(struct tg_opts *o, const char *flag, const char *s)
{
	const char *why;
	int n = tp_words_split(s, &o->via_words, &why);

	if (n == -ENOMEM)
		return usage_error(o->inside, "%s: out of memory", flag);
	if (n < 0)
		return usage_error(o->inside,
				   "%s: '%s' is split as sh would, without a "
				   "shell: %s",
				   flag, s, why);
	o->via = s;
	return TG_PARSE_OK;
}

static int parse_one(struct tg_opts *o, int c, const char *flag,
		     const char *arg)
{
	bool in = o->inside;

	switch (c) {
	case O_STDIO:
	case O_EXEC:
	case O_SSH:
	case O_VIA:
		if (o->transport != TG_TP_NONE)
			return usage_error(in,
					   "%s: only one of --stdio, --exec, "
					   "--ssh, --via",
					   flag);
		o->transport = c == O_STDIO  ? TG_TP_STDIO
			       : c == O_EXEC ? TG_TP_EXEC
			       : c == O_SSH  ? TG_TP_SSH
					     : TG_TP_VIA;
		o->exec_cmd = c == O_EXEC ? arg : NULL;
		o->ssh_dest = c == O_SSH ? arg : NULL;
		return c == O_VIA ? parse_via(o, flag, arg) : TG_PARSE_OK;
	case O_REMOTE_CMD: o->remote_cmd = arg; return TG_PARSE_OK;
	case 'F': o->ssh_config = arg; return TG_PARSE_OK;
	case O_ACCEPT_NEW: o->accept_new = true; return TG_PARSE_OK;
	case O_ONCE: o->once = true; return TG_PARSE_OK;
	case O_RETRY: o->retry = true; return TG_PARSE_OK;
	case O_VIA_SHELL: o->via_shell = 1; return TG_PARSE_OK;
	case O_NO_VIA_SHELL: o->via_shell = -1; return TG_PARSE_OK;
	case O_INSTALL: o->install = true; return TG_PARSE_OK;
	case O_INSTALL_BIN:
		if (o->n_install_binary == TG_INSTALL_BINARIES_MAX)
			return usage_error(o->inside, "--install-binary: at "
						      "most %d",
					   TG_INSTALL_BINARIES_MAX);
		o->install_binary[o->n_install_binary++] = arg;
		o->install = true;
		return TG_PARSE_OK;
	case O_ROUTE: return parse_route(o, arg);
	case O_DNS: o->dns = 1; return TG_PARSE_OK;
	case O_NO_DNS: o->dns = 0; return TG_PARSE_OK;
	case O_MAIN_TABLE: o->main_table = true; return TG_PARSE_OK;
	case O_ALLOW:
		return add_prefix(in, flag, arg, o->allow, &o->n_allow);
	case O_KEEP:
	case O_PEER: return add_prefix(in, flag, arg, o->keep, &o->n_keep);
	case O_TUN:
		o->tun_name = arg;
		o->tun_given = true;
		break;
	case O_TUN_ADDR:
		if (!set_addr(arg, o->tun4, o->tun6, &o->tun4_given,
			      &o->tun6_given))
			return usage_error(in, "%s: '%s' is not an address",
					   flag, arg);
		return TG_PARSE_OK;
	case O_DNS_ADDR:
		if (!set_addr(arg, o->dns4, o->dns6, &o->dns4_given,
			      &o->dns6_given))
			return usage_error(in, "%s: '%s' is not an address",
					   flag, arg);
		return TG_PARSE_OK;
	case O_NAME: return parse_name(o, flag, arg);
	case O_PCAP: o->pcap = arg; return TG_PARSE_OK;
	case O_PCAP_MAX: return parse_size(o, flag, arg);
	case 'v': o->log_level++; return TG_PARSE_OK;
	case 'q': o->log_level = TG_LOG_ERR; return TG_PARSE_OK;
	default: return parse_number(o, c, flag, arg);
	}
	if (strlen(o->tun_name) == 0 || strlen(o->tun_name) >= 16 ||
	    strchr(o->tun_name, '/') || strchr(o->tun_name, ' '))
		return usage_error(in, "%s: '%s' is not a valid device name",
				   flag, arg);
	return TG_PARSE_OK;
}

static int check_complete(const struct tg_opts *o)
{
	const char *inside_only = o->tun_given ? "--tun"
				  : o->table   ? "--table"
				  : o->pref    ? "--pref"
					       : NULL;

	if (o->transport == TG_TP_NONE && o->inside)
		return usage_error(true, "--stdio is required");
	if (o->transport == TG_TP_NONE)
		return usage_error(false, "one of --ssh, --via, --exec or "
					  "--stdio is required");
	if ((o->remote_cmd || o->install) && !TG_TP_REMOTE(o->transport))
		return usage_error(o->inside, "%s only goes with --ssh or --via",
				   o->remote_cmd ? "--remote-command"
						 : "--install");
	if ((o->ssh_config || o->accept_new) && o->transport != TG_TP_SSH)
		return usage_error(o->inside, "%s only goes with --ssh",
				   o->ssh_config ? "-F" : "--accept-new");
	if (o->stripes > 1 && o->transport != TG_TP_SSH)
		return usage_error(o->inside, "--stripes only goes with --ssh");
	/* the extra streams find the session's inside by its session id */
	if (o->stripes > 1 && (o->once || !o->grace_ms))
		return usage_error(o->inside,
				   "--stripes needs a session that can be "
				   "resumed: not with --once or --grace 0");
	if (o->retry && !TG_TP_REMOTE(o->transport))
		return usage_error(o->inside,
				   "--retry only goes with --ssh or --via");
	if (o->via_shell && o->transport != TG_TP_VIA)
		return usage_error(o->inside, "%s only goes with --via",
				   o->via_shell > 0 ? "--via-shell"
						    : "--no-via-shell");
	if (!o->inside && !TG_TP_REMOTE(o->transport) && inside_only)
		return usage_error(false,
				   "%s is an option of the inside: it goes "
				   "with --ssh or --via; with --exec or "
				   "--stdio, give it to `tungate inside` in "
				   "its own command",
				   inside_only);
	return TG_PARSE_OK;
}

/* one flag and its number for the remote command; @i is the next word */
static size_t add_num(struct tg_opts *o, size_t i, const char *flag,
		      unsigned long v)
{
	char *num = o->inside_nums[i / 2];

	snprintf(num, sizeof(o->inside_nums[0]), "%lu", v);
	o->inside_args[i] = flag;
	o->inside_args[i + 1] = num;
	return i + 2;
}

/*
 * outside --ssh, --via: what the user gave of the inside's options goes on,
 * so that `tungate outside --ssh box --tun t1` is what it looks like;
 * values the inside would take anyway stay off its command line
 */
static void set_inside_args(struct tg_opts *o)
{
	size_t i = 0;

	if (o->tun_given) {
		o->inside_args[i++] = "--tun";
		o->inside_args[i++] = o->tun_name;
	}
	if (o->table)
		i = add_num(o, i, "--table", o->table);
	if (o->pref)
		i = add_num(o, i, "--pref", o->pref);
	if (o->timeout_given)
		i = add_num(o, i, "--timeout", o->timeout_ms / 1000);
	if (o->grace_given)
		i = add_num(o, i, "--grace", o->grace_ms / 1000);
	for (int l = TG_LOG_INFO; l < o->log_level; l++)
		o->inside_args[i++] = "-v";
	o->inside_args[i] = NULL;
}

int tg_opts_parse(struct tg_opts *o, bool inside, int argc, char **argv)
{
	const struct option *lo = inside ? inside_longopts : outside_longopts;
	int c, r, idx;

	memset(o, 0, sizeof(*o));
	o->inside = inside;
	o->dns = -1;
	o->tun_name = TG_DEFAULT_TUN_NAME;
	o->timeout_ms = TG_DEFAULT_TIMEOUT_S * 1000;
	o->grace_ms = TG_DEFAULT_GRACE_S * 1000;
	o->stripes = 1;
	o->log_level = TG_LOG_INFO;
	o->pcap_max_bytes = TG_DEFAULT_PCAP_MAX;
	set_default_addrs(o);

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, inside ? ":vq" : ":vqF:", lo,
				&idx)) != -1) {
		char flag[48];

		if (c == '?') {
			if (optopt)
				return usage_error(inside, "unknown option -%s",
						   (char[]){ (char)optopt, 0 });
			return usage_error(inside, "unknown option %s",
					   argv[optind - 1]);
		}
		if (c == ':')
			return usage_error(inside, "%s needs a value",
					   argv[optind - 1]);
		if (c == O_HELP) {
			inside ? tg_usage_inside() : tg_usage_outside();
			return TG_PARSE_EXIT;
		}
		if (c >= O_STDIO)
			snprintf(flag, sizeof(flag), "--%s", lo[idx].name);
		else
			snprintf(flag, sizeof(flag), "-%c", c);
		r = parse_one(o, c, flag, optarg);
		if (r != TG_PARSE_OK)
			return r;
	}
	if (optind < argc)
		return usage_error(inside, "unexpected argument '%s'",
				   argv[optind]);
	if (o->log_level > TG_LOG_TRACE)
		o->log_level = TG_LOG_TRACE;
	r = check_complete(o);
	if (r == TG_PARSE_OK && !inside && TG_TP_REMOTE(o->transport))
		set_inside_args(o);
	return r;
}
