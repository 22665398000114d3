// SPDX-License-Identifier: MIT
/*
 * nss.c - name service lookups that never load a module of this machine.
 *
 * Theory of operation: tungate is linked statically with one glibc, and
 * runs on laptops with another. A getaddrinfo(), getpwuid() or
 * getservbyname() call in such a binary reads /etc/nsswitch.conf and
 * dlopen()s the modules it names (libnss_mdns4_minimal, libnss_resolve,
 * libnss_myhostname, libnss_systemd, libnss_sss): built against the
 * laptop's glibc, they crash ours (SIGFPE in the dynamic loader, seen on
 * Debian 13). The calls come from libuv, libssh, ldns and OpenSSL as well
 * as from tungate itself, so the fix is at the source: before any lookup,
 * every database is pinned with __nss_configure_lookup() to the sources
 * that the static libc carries itself, "files" and, for hosts and
 * networks, "dns". glibc then neither loads a module nor re-reads
 * nsswitch.conf.
 *
 * The machine's own choice still counts where it can: each database keeps
 * the built-in sources its nsswitch.conf line names, in their order and
 * with the actions that follow them ("hosts: files" stays files alone, a
 * desktop's "files mdns4_minimal [NOTFOUND=return] resolve ... dns"
 * becomes "files dns"). A database whose line is missing or names none of
 * them gets "files", and "dns" for hosts.
 *
 * What the laptop's modules would add is provided otherwise: systemd-
 * resolved is asked over its varlink socket (dns/resolved.c), and a user
 * that only sssd or LDAP knows finds no passwd entry, so the home is
 * $HOME and the login name $USER, as OpenSSH falls back to.
 *
 * OpenSSL, linked in too, would read the laptop's openssl.cnf, whose
 * provider and engine sections dlopen() the laptop's libraries; tungate
 * needs none of it, so the configuration is never loaded.
 */
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <nss.h>
#endif

#include "cmd/nss.h"
#include "lib/io.h"

#define NSSWITCH_CONF "/etc/nsswitch.conf"
/* a desktop's file is about 1 KiB; what lies past this is not read */
#define NSSWITCH_MAX  16384

#ifdef __GLIBC__
static const struct {
	const char *db, *fallback;
} pins[] = {
	{"hosts", "files dns"},	  {"passwd", "files"},	  {"group", "files"},
	{"shadow", "files"},	  {"gshadow", "files"},	  {"initgroups", "files"},
	{"services", "files"},	  {"protocols", "files"}, {"networks", "files dns"},
	{"ethers", "files"},	  {"rpc", "files"},	  {"netgroup", "files"},
	{"aliases", "files"},	  {"publickey", "files"},
};
#endif

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* the end of the token at @p: a word, or a whole [action ...] block */
static const char *token_end(const char *p, const char *end)
{
	if (*p == '[') {
		while (p < end && *p != ']')
			p++;
		return p < end ? p + 1 : end;
	}
	while (p < end && !is_space(*p) && *p != '[')
		p++;
	return p;
}

static bool builtin(const char *w, size_t n, bool with_dns)
{
	return (n == 5 && !memcmp(w, "files", 5)) ||
	       (with_dns && n == 3 && !memcmp(w, "dns", 3));
}

/* append @n bytes at @w to @out (length *@len, capacity @cap), spaced */
static bool append(char *out, size_t cap, size_t *len, const char *w, size_t n)
{
	if (*len + (*len > 0) + n >= cap)
		return false;
	if (*len)
		out[(*len)++] = ' ';
	memcpy(out + *len, w, n);
	*len += n;
	out[*len] = '\0';
	return true;
}

/* the sources of @line (after "db:") that the static libc has itself */
static size_t filter_line(const char *p, const char *end, bool with_dns,
			  char *out, size_t cap)
{
	bool kept = false;
	size_t len = 0;

	while (p < end) {
		const char *e;

		if (is_space(*p)) {
			p++;
			continue;
		}
		if (*p == '#')
			break;
		e = token_end(p, end);
		if (*p != '[')
			kept = builtin(p, (size_t)(e - p), with_dns);
		/* an action belongs to the source before it */
		if (kept && !append(out, cap, &len, p, (size_t)(e - p)))
			return 0;
		p = e;
	}
	/* actions alone say nothing */
	return len && out[0] != '[' ? len : 0;
}

/**
 * tg_nss_sources() - the built-in sources that nsswitch.conf names for @db
 * @conf:	the file's text
 * @n:		its length
 * @db:		a database ("hosts", "passwd")
 * @with_dns:	whether "dns" serves @db
 * @out:	the sources, NUL-terminated
 * @cap:	size of @out
 *
 * Return: length of @out, or 0 if the file names no built-in source for
 * @db (then @out is empty)
 */
size_t tg_nss_sources(const char *conf, size_t n, const char *db,
		      bool with_dns, char *out, size_t cap)
{
	const char *p = conf, *end = conf + n;
	size_t dlen = strlen(db);

	if (cap)
		out[0] = '\0';
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q = p;

		if (!eol)
			eol = end;
		while (q < eol && is_space(*q))
			q++;
		if ((size_t)(eol - q) > dlen && !memcmp(q, db, dlen)) {
			q += dlen;
			while (q < eol && is_space(*q))
				q++;
			/* the first line for a database is the one glibc takes */
			if (q < eol && *q == ':')
				return filter_line(q + 1, eol, with_dns, out,
						   cap);
		}
		p = eol + (eol < end);
	}
	return 0;
}

/**
 * tg_nss_pin() - pin every NSS database to the built-in sources that
 * nsswitch.conf names for it, and keep OpenSSL from loading a
 * configuration; before any lookup
 *
 * Return: 0, or the number of databases that could not be pinned
 */
int tg_nss_pin(void)
{
	int failed = 0;

	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
#ifdef __GLIBC__
	static char conf[NSSWITCH_MAX];
	ssize_t n = tg_read_file(NSSWITCH_CONF, conf, sizeof(conf));

	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		const char *src = pins[i].fallback;
		bool with_dns = strstr(src, "dns") != NULL;
		char line[256];

		if (n > 0 && tg_nss_sources(conf, (size_t)n, pins[i].db,
					    with_dns, line, sizeof(line)))
			src = line;
		if (__nss_configure_lookup(pins[i].db, src) < 0)
			failed++;
	}
#endif
	return failed;
}
