/* SPDX-License-Identifier: MIT */
/*
 * resolv.h - the inside's /etc/resolv.conf: point it at the tunnel's DNS
 * address and restore it exactly.
 *
 * In a container resolv.conf is often a bind mount or a symlink, so it is
 * rewritten in place (truncate and write through the same inode), never
 * renamed over. The original bytes are kept in memory and in a backup
 * file beside the inside's state (tun_state_file(), ".resolv"), for
 * restore after a crash. Files larger than TG_RC_MAX (lib/resolvconf.h)
 * are refused.
 */
#ifndef TUN_RESOLV_H
#define TUN_RESOLV_H

#include <stddef.h>
#include <stdint.h>

/**
 * tun_resolv_rewrite() - the new contents: our nameservers first, the
 * original's other nameservers dropped (glibc uses at most 3, and a
 * container's own resolver cannot answer intranet names), its search and
 * options lines kept, @search domains added to the search line
 * @orig:	original bytes
 * @len:	their length
 * @ns4:	"198.18.0.53" (or NULL)
 * @ns6:	"fd7e:7475:6e::53" (or NULL)
 * @search:	space separated domains to add (or NULL)
 * @out:	result buffer
 * @cap:	its size
 *
 * Pure function, for unit tests and the fuzzer.
 * Return: length of the result, or -ENOSPC
 */
int tun_resolv_rewrite(const char *orig, size_t len, const char *ns4,
		       const char *ns6, const char *search, char *out,
		       size_t cap);

/**
 * tun_resolv_apply() - rewrite @path in place, keeping a backup at @backup
 * Return: 0 or -errno
 */
int tun_resolv_apply(const char *path, const char *backup, const char *ns4,
		     const char *ns6, const char *search);

/**
 * tun_resolv_restore() - write the backup's bytes back into @path in place
 * and delete the backup; 0 if there is no backup
 * Return: 0 or -errno
 */
int tun_resolv_restore(const char *path, const char *backup);

#endif
