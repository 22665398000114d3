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
 * that the static libc carries itself, "files" and, for hosts, "dns".
 * glibc then neither loads a module nor re-reads nsswitch.conf.
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
#include <stdio.h>

#include "cmd/nss.h"

#ifdef __GLIBC__
int __nss_configure_lookup(const char *db, const char *service_line);

static const struct {
	const char *db, *sources;
} pins[] = {
	{"hosts", "files dns"},	  {"passwd", "files"},	  {"group", "files"},
	{"shadow", "files"},	  {"gshadow", "files"},	  {"initgroups", "files"},
	{"services", "files"},	  {"protocols", "files"}, {"networks", "files"},
	{"ethers", "files"},	  {"rpc", "files"},	  {"netgroup", "files"},
	{"aliases", "files"},	  {"publickey", "files"},
};
#endif

/**
 * tg_nss_pin() - pin every NSS database to glibc's built-in sources, and
 * keep OpenSSL from loading a configuration; before any lookup
 *
 * Return: 0, or the number of databases that could not be pinned
 */
int tg_nss_pin(void)
{
	int failed = 0;

	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
#ifdef __GLIBC__
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		if (__nss_configure_lookup(pins[i].db, pins[i].sources) < 0)
			failed++;
#endif
	return failed;
}
