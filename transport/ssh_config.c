/* SPDX-License-Identifier: MIT */
/*
 * ssh_config.c - DEST and the ssh_config keywords that libssh skips.
 *
 * Theory of operation: libssh 0.10 reads ~/.ssh/config itself (Host
 * patterns, HostName, User, Port, IdentityFile, ProxyCommand, ProxyJump,
 * ConnectTimeout ...) but ignores ServerAliveInterval, ServerAliveCountMax
 * and IdentitiesOnly, and does not expose ConnectTimeout or
 * StrictHostKeyChecking to us. This file reads those few keywords with
 * OpenSSH's rules: blocks apply when a Host pattern matches the name the
 * user typed (not the HostName), `!pattern` vetoes a block, the first
 * value found wins, Include pulls in files (globs, ~, relative to ~/.ssh
 * or /etc/ssh). A Match block applies only for "Match all"; other Match
 * criteria are not evaluated here (libssh evaluates them for its own
 * keywords).
 *
 * It also finds this user's passwd entry, for the home directory and the
 * login name. Nothing here keeps state, so both threads call it: the loop
 * at open (tp_ssh_dest_parse(), tp_ssh_local_passwd() for $HOME), the SSH
 * thread during the session (tp_ssh_cfg_*(), tp_ssh_local_passwd() for the
 * user name).
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "transport/ssh_internal.h"

#define CFG_DEPTH 16
#define CFG_LINE 1024

/**
 * tp_ssh_dest_parse() - split DEST: [ssh://][user@]host[:port],
 * [user@][v6addr]:port, or a bare IPv6 address
 * @dest:	as typed
 * @d:		filled in; port 0 when not given
 *
 * Return: 0, or -EINVAL
 */
int tp_ssh_dest_parse(const char *dest, struct tp_ssh_dest *d)
{
	const char *at, *h, *end, *colon;
	size_t hlen;
	char *e;

	memset(d, 0, sizeof(*d));
	if (!dest || !*dest || strpbrk(dest, " \t\r\n'\"\\`$;&|<>"))
		return -EINVAL;
	if (!strncmp(dest, "ssh://", 6))
		dest += 6;
	at = strrchr(dest, '@');
	h = at ? at + 1 : dest;
	if (at && ((size_t)(at - dest) >= sizeof(d->user) || at == dest))
		return -EINVAL;
	if (at)
		memcpy(d->user, dest, (size_t)(at - dest));
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		colon = end[1] ? end + 1 : NULL;
		h++;
	} else {
		colon = strchr(h, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		end = colon ? colon : h + strlen(h);
	}
	hlen = (size_t)(end - h);
	if (!hlen || hlen >= sizeof(d->host) || memchr(h, '/', hlen))
		return -EINVAL;
	memcpy(d->host, h, hlen);
	if (colon) {
		long p = strtol(colon + 1, &e, 10);

		if (!colon[1] || *e || p < 1 || p > 65535)
			return -EINVAL;
		d->port = (int)p;
	}
	return 0;
}

void tp_ssh_cfg_init(struct tp_ssh_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->alive_interval = c->alive_count = c->connect_timeout = -1;
	c->identities_only = c->accept_new = -1;
}

/* ssh's patterns: '*' and '?', case-insensitive */
static bool cfg_match(const char *s, const char *p)
{
	for (; *p; p++, s++) {
		if (*p == '*') {
			while (p[1] == '*')
				p++;
			for (;; s++) {
				if (cfg_match(s, p + 1))
					return true;
				if (!*s)
					return false;
			}
		}
		if (!*s || (*p != '?' && tolower((unsigned char)*p) !=
						 tolower((unsigned char)*s)))
			return false;
	}
	return !*s;
}

/* next word of @*s (quotes removed), NULL at the end of the line */
static char *cfg_word(char **s)
{
	char *p = *s, *w;

	while (*p == ' ' || *p == '\t' || *p == '=')
		p++;
	if (!*p || *p == '#')
		return NULL;
	if (*p == '"') {
		w = ++p;
		p = strchr(p, '"');
		if (!p)
			return NULL;
	} else {
		w = p;
		p += strcspn(p, " \t=");
	}
	if (*p)
		*p++ = '\0';
	*s = p;
	return w;
}

/* Host line: any pattern matches and no negated one does */
static bool cfg_host_applies(char *args, const char *host)
{
	bool hit = false;
	char *w;

	while ((w = cfg_word(&args))) {
		bool neg = *w == '!';

		if (cfg_match(host, w + neg)) {
			if (neg)
				return false;
			hit = true;
		}
	}
	return hit;
}

static bool cfg_match_applies(char *args)
{
	char *w;
	bool all = false;

	while ((w = cfg_word(&args))) {
		if (!strcasecmp(w, "all"))
			all = true;
		else if (strcasecmp(w, "canonical") && strcasecmp(w, "final"))
			return false;
	}
	return all;
}

static int cfg_yesno(const char *v)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true"))
		return 1;
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false"))
		return 0;
	return -1;
}

static void cfg_set_int(int *slot, const char *v, int lo, int hi)
{
	char *e;
	long n;

	if (*slot != -1 || !v)
		return;
	n = strtol(v, &e, 10);
	if (*v && !*e && n >= lo && n <= hi)
		*slot = (int)n;
}

/* one keyword of an applying block; first value wins */
static void cfg_keyword(struct tp_ssh_cfg *c, const char *k, char *args,
			const char *home)
{
	char *v = cfg_word(&args);

	if (!v)
		return;
	if (!strcasecmp(k, "ServerAliveInterval")) {
		cfg_set_int(&c->alive_interval, v, 0, 86400);
	} else if (!strcasecmp(k, "ServerAliveCountMax")) {
		cfg_set_int(&c->alive_count, v, 0, 1000);
	} else if (!strcasecmp(k, "ConnectTimeout")) {
		cfg_set_int(&c->connect_timeout, v, 0, 86400);
	} else if (!strcasecmp(k, "IdentitiesOnly")) {
		if (c->identities_only == -1)
			c->identities_only = cfg_yesno(v);
	} else if (!strcasecmp(k, "StrictHostKeyChecking")) {
		if (c->accept_new == -1)
			c->accept_new = !strcasecmp(v, "accept-new") ||
					!strcasecmp(v, "no") ||
					!strcasecmp(v, "off");
	} else if (!strcasecmp(k, "IdentityAgent")) {
		if (!c->identity_agent[0] && v[0] == '~' && v[1] == '/')
			snprintf(c->identity_agent, sizeof(c->identity_agent),
				 "%s%s", home, v + 1);
		else if (!c->identity_agent[0])
			snprintf(c->identity_agent, sizeof(c->identity_agent),
				 "%s", v);
	}
}

static int cfg_file(const char *path, const char *dir, const char *host,
		    const char *home, struct tp_ssh_cfg *c, int depth);

/* Include: globs, ~/..., relative to @dir */
static void cfg_include(char *args, const char *dir, const char *host,
			const char *home, struct tp_ssh_cfg *c, int depth)
{
	char path[CFG_LINE + 512];
	char *w;

	while ((w = cfg_word(&args))) {
		glob_t g;

		if (w[0] == '~' && w[1] == '/')
			snprintf(path, sizeof(path), "%s%s", home, w + 1);
		else if (w[0] == '/')
			snprintf(path, sizeof(path), "%s", w);
		else
			snprintf(path, sizeof(path), "%s/%s", dir, w);
		if (glob(path, 0, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc; i++)
			cfg_file(g.gl_pathv[i], dir, host, home, c, depth + 1);
		globfree(&g);
	}
}

static int cfg_file(const char *path, const char *dir, const char *host,
		    const char *home, struct tp_ssh_cfg *c, int depth)
{
	char line[CFG_LINE];
	bool applies = true;
	FILE *f;

	if (depth > CFG_DEPTH)
		return -ELOOP;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *k;

		s[strcspn(s, "\r\n")] = '\0';
		k = cfg_word(&s);
		if (!k)
			continue;
		if (!strcasecmp(k, "Host"))
			applies = cfg_host_applies(s, host);
		else if (!strcasecmp(k, "Match"))
			applies = cfg_match_applies(s);
		else if (!applies)
			continue;
		else if (!strcasecmp(k, "Include"))
			cfg_include(s, dir, host, home, c, depth);
		else
			cfg_keyword(c, k, s, home);
	}
	fclose(f);
	return 0;
}

/**
 * tp_ssh_cfg_scan() - read the keywords of struct tp_ssh_cfg from @path
 * @path:	an ssh_config file
 * @host:	the host name as the user typed it (alias)
 * @home:	for ~ in Include and IdentityAgent
 * @c:		slots still at -1 (or "") are filled
 *
 * Relative Include paths are taken from ~/.ssh, or /etc/ssh for a file
 * there.
 *
 * Return: 0, or -errno (-ENOENT: no such file)
 */
int tp_ssh_cfg_scan(const char *path, const char *host, const char *home,
		    struct tp_ssh_cfg *c)
{
	char dir[600];

	if (!strncmp(path, "/etc/ssh/", 9))
		snprintf(dir, sizeof(dir), "/etc/ssh");
	else
		snprintf(dir, sizeof(dir), "%s/.ssh", home);
	return cfg_file(path, dir, host, home, c, 0);
}

/**
 * tp_ssh_local_passwd() - this user's /etc/passwd entry
 * @pw:		filled in
 * @buf:	room for its strings
 * @cap:	size of @buf
 *
 * /etc/passwd is the only source in the static binary (cmd/nss.c).
 *
 * Return: @pw, or NULL for a user that only sssd or LDAP knows
 */
const struct passwd *tp_ssh_local_passwd(struct passwd *pw, char *buf,
					 size_t cap)
{
	struct passwd *pwp = NULL;

	if (getpwuid_r(getuid(), pw, buf, cap, &pwp) || !pwp)
		return NULL;
	return pwp;
}
