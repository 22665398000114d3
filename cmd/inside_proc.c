/* SPDX-License-Identifier: MIT */
/*
 * inside_proc.c - the SSH client that carries our stream, found in the
 * environment or in /proc (Linux).
 *
 * Theory of operation: the stream must never enter the tunnel it
 * carries, so the inside keeps the SSH client's address out of it
 * (inside_keep.c). sshd gives it in SSH_CONNECTION ("client port server
 * port"); the first word is the address, an IPv4-mapped IPv6 one taken
 * as IPv4. Under sudo our own environment no longer has it, so the
 * environments of our parent and grandparent (sudo, then the shell sshd
 * started) are read from /proc/PID/environ, each parent found in
 * /proc/PID/stat. Nothing found is not an error: the outside's keep list
 * and --keep still apply.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/inside_internal.h"
#include "lib/log.h"

#define ENVIRON_MAX 65536 /* of a parent's environment, read at most */
#define SSH_ANCESTORS 2 /* sudo, then what ran sudo */

/* the first word of SSH_CONNECTION ("client port server port") */
static bool ssh_conn_parse(const char *v, struct tg_prefix *p)
{
	char a[INET6_ADDRSTRLEN + 16];
	size_t n = strcspn(v, " \t%");
	uint8_t b[16];

	if (!n || n >= sizeof(a))
		return false;
	memcpy(a, v, n);
	a[n] = '\0';
	if (inet_pton(AF_INET, a, b) == 1) {
		tg_prefix_host(p, AF_INET, b);
		return true;
	}
	if (inet_pton(AF_INET6, a, b) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)b))
		tg_prefix_host(p, AF_INET, b + 12);
	else
		tg_prefix_host(p, AF_INET6, b);
	return true;
}

/* SSH_CONNECTION in /proc/PID/environ; sets *ppid to PID's parent */
static bool ssh_conn_of(pid_t pid, struct tg_prefix *p, pid_t *ppid)
{
	static char env[ENVIRON_MAX + 1];
	char path[64], stat[512], *c;
	const char *key = "SSH_CONNECTION=";
	ssize_t n = 0, got;
	int fd;

	*ppid = 0;
	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	while (n < ENVIRON_MAX &&
	       (got = read(fd, env + n, (size_t)(ENVIRON_MAX - n))) > 0)
		n += got;
	close(fd);
	env[n] = '\0';
	for (c = env; c < env + n; c += strlen(c) + 1)
		if (!strncmp(c, key, strlen(key)))
			return ssh_conn_parse(c + strlen(key), p);
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	got = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	stat[got > 0 ? got : 0] = '\0';
	c = strrchr(stat, ')'); /* the name may hold anything */
	if (c && sscanf(c, ") %*c %d", ppid) != 1)
		*ppid = 0;
	return false;
}

/** inside_find_ssh_client() - see inside_internal.h */
void inside_find_ssh_client(struct tg_prefix *out)
{
	const char *v = getenv("SSH_CONNECTION");
	pid_t pid = getppid();
	char p[TG_PREFIX_STRLEN];

	if (v && ssh_conn_parse(v, out)) {
		tg_info("keeping the SSH client %s out of the tunnel "
			"(SSH_CONNECTION)",
			tg_prefix_str(out, p));
		return;
	}
	for (int i = 0; i < SSH_ANCESTORS && pid > 1; i++)
		if (ssh_conn_of(pid, out, &pid)) {
			tg_info("keeping the SSH client %s out of the tunnel "
				"(SSH_CONNECTION of a parent process)",
				tg_prefix_str(out, p));
			return;
		}
}
