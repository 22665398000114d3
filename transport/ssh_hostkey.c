/* SPDX-License-Identifier: MIT */
/*
 * ssh_hostkey.c - is this the host we think it is? (known_hosts)
 *
 * Theory of operation: libssh compares the server's key with the user's
 * known_hosts and the global one (hashed entries included) and says OK,
 * CHANGED, OTHER (a key of another type is known), UNKNOWN or NOT_FOUND
 * (no file yet). We add what ssh adds around that:
 *
 * - unknown host: on a terminal, show the fingerprint and ask yes/no;
 *   without one, refuse unless --accept-new (or StrictHostKeyChecking
 *   accept-new in the config); an accepted key is appended to the user's
 *   known_hosts.
 * - changed key: always refuse, and name the file and line that hold the
 *   old key, found by matching each line as libssh does, so the user can
 *   remove it (ssh-keygen -R) if the host was really reinstalled.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "transport/ssh_internal.h"

/* "[host]:port" or "host", lower case: how known_hosts names it */
static void host_port(struct tp_ssh_run *r, char *buf, size_t len)
{
	char *host = NULL;
	unsigned port = 22;

	ssh_options_get(r->sess, SSH_OPTIONS_HOST, &host);
	ssh_options_get_port(r->sess, &port);
	if (port == 22)
		snprintf(buf, len, "%s", host ? host : r->d.host);
	else
		snprintf(buf, len, "[%s]:%u", host ? host : r->d.host, port);
	for (char *p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	ssh_string_free_char(host);
}

/* the first line of @file that names @hp with a key other than @key */
static size_t find_stale(const char *file, const char *hp, ssh_key key)
{
	char line[8192];
	size_t no = 0, found = 0;
	FILE *f = fopen(file, "re");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		struct ssh_knownhosts_entry *e = NULL;
		char *s = line + strspn(line, " \t");

		no++;
		s[strcspn(s, "\r\n")] = '\0';
		if (!*s || *s == '#' || *s == '@')
			continue;
		if (ssh_known_hosts_parse_line(hp, s, &e) == SSH_OK && e &&
		    ssh_key_cmp(e->publickey, key, SSH_KEY_CMP_PUBLIC) != 0)
			found = no;
		ssh_knownhosts_entry_free(e);
	}
	fclose(f);
	return found;
}

static int hostkey_changed(struct tp_ssh_run *r, ssh_key key, const char *fp)
{
	char hp[300], where[700] = "";
	char *files[2] = {NULL, NULL};
	size_t line = 0;

	host_port(r, hp, sizeof(hp));
	ssh_options_get(r->sess, SSH_OPTIONS_KNOWNHOSTS, &files[0]);
	ssh_options_get(r->sess, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, &files[1]);
	for (int i = 0; i < 2 && !line; i++) {
		if (files[i] && (line = find_stale(files[i], hp, key)))
			snprintf(where, sizeof(where),
				 "the old key is line %zu of %s; if the host "
				 "was really reinstalled, remove it with "
				 "ssh-keygen -f '%s' -R '%s'",
				 line, files[i], files[i], hp);
	}
	if (!line)
		snprintf(where, sizeof(where),
			 "if the host was really reinstalled, remove its old "
			 "key from %s (ssh-keygen -R '%s')",
			 files[0] ? files[0] : "known_hosts", hp);
	tp_ssh_fail(r, -EACCES,
		    "host key verification failed: the host key of %s has "
		    "CHANGED (it now sends %s %s; this may be an attack): %s",
		    hp, ssh_key_type_to_char(ssh_key_type(key)), fp, where);
	ssh_string_free_char(files[0]);
	ssh_string_free_char(files[1]);
	return -EACCES;
}

static int hostkey_add(struct tp_ssh_run *r, ssh_key key, const char *fp)
{
	char *file = NULL;
	char hp[300];

	host_port(r, hp, sizeof(hp));
	ssh_options_get(r->sess, SSH_OPTIONS_KNOWNHOSTS, &file);
	if (ssh_session_update_known_hosts(r->sess) != SSH_OK) {
		tp_ssh_fail(r, -EIO, "cannot add the host key to %s: %s",
			    file ? file : "known_hosts",
			    ssh_get_error(r->sess));
		ssh_string_free_char(file);
		return -EIO;
	}
	tg_warn("ssh %s: permanently added %s (%s %s) to %s", r->dest, hp,
		ssh_key_type_to_char(ssh_key_type(key)), fp,
		file ? file : "known_hosts");
	ssh_string_free_char(file);
	return 0;
}

/* yes: 1, no: 0, or -errno (-ENXIO: no terminal) */
static int hostkey_ask(struct tp_ssh_run *r, ssh_key key, const char *fp)
{
	char q[1024], a[32];
	char *host = NULL;
	int err;

	ssh_options_get(r->sess, SSH_OPTIONS_HOST, &host);
	snprintf(q, sizeof(q),
		 "The authenticity of host '%s (%s)' can't be established.\n"
		 "%s key fingerprint is %s.\n"
		 "Are you sure you want to continue connecting (yes/no)? ",
		 r->d.host, host ? host : r->d.host,
		 ssh_key_type_to_char(ssh_key_type(key)), fp);
	ssh_string_free_char(host);
	for (;;) {
		err = tp_ssh_tty_ask(r, q, a, sizeof(a), true);
		if (err < 0)
			return err;
		if (!strcasecmp(a, "yes"))
			return 1;
		if (!strcasecmp(a, "no"))
			return 0;
		snprintf(q, sizeof(q), "Please type 'yes' or 'no': ");
	}
}

static int hostkey_unknown(struct tp_ssh_run *r, ssh_key key, const char *fp)
{
	char *file = NULL;
	int yes = 0;

	if (r->accept_new)
		return hostkey_add(r, key, fp);
	yes = hostkey_ask(r, key, fp);
	if (yes == 1)
		return hostkey_add(r, key, fp);
	if (yes == -ECANCELED)
		return yes;
	if (yes == 0)
		return tp_ssh_fail(
			r, -EACCES,
			"host key verification failed: not confirmed");
	ssh_options_get(r->sess, SSH_OPTIONS_KNOWNHOSTS, &file);
	tp_ssh_fail(r, -EACCES,
		    "host key verification failed: the host is not in %s "
		    "and there is no terminal to ask (its %s key is %s); "
		    "connect once from a terminal, pass --accept-new, or add "
		    "it with ssh-keyscan",
		    file ? file : "known_hosts",
		    ssh_key_type_to_char(ssh_key_type(key)), fp);
	ssh_string_free_char(file);
	return -EACCES;
}

/**
 * tp_ssh_hostkey_check() - verify the server's host key (see the top)
 * @r:		a connected session
 *
 * Return: 0, or -errno (-EACCES: refused; recorded)
 */
int tp_ssh_hostkey_check(struct tp_ssh_run *r)
{
	ssh_key key = NULL;
	unsigned char *hash = NULL;
	char *fp = NULL;
	size_t hlen = 0;
	int err;

	if (ssh_get_server_publickey(r->sess, &key) != SSH_OK)
		return tp_ssh_fail(r, -EPROTO, "the server sent no host key");
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
				   &hlen) == SSH_OK)
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
					      hlen);
	switch (ssh_session_is_known_server(r->sess)) {
	case SSH_KNOWN_HOSTS_OK:
		err = 0;
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER:
		err = hostkey_changed(r, key, fp ? fp : "?");
		break;
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND:
		err = hostkey_unknown(r, key, fp ? fp : "?");
		break;
	default:
		err = tp_ssh_fail(r, -EIO,
				  "host key verification failed: cannot read "
				  "known_hosts: %s",
				  ssh_get_error(r->sess));
	}
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(key);
	return err;
}
