/* SPDX-License-Identifier: MIT */
/*
 * inside_keep.c - the keep list: what must stay out of the tunnel.
 *
 * Theory of operation: the stream must never enter the tunnel it
 * carries. The SSH client's address (SSH_CONNECTION, ours or, since sudo
 * clears the environment, that of the process that ran us: inside_proc.c),
 * the outside's keep list (what it sees of its own SSH socket, --peer)
 * and --keep are gathered here, each once, and tun/ keeps them out by
 * throw routes wherever an offered prefix, or the default route, would
 * catch them. The list is built afresh for every plan: a resumed stream
 * may come from a new address, and a route update brings the outside's
 * keep list anew.
 */
#include "cmd/inside_internal.h"
#include "lib/prefix.h"

static void keep_add(struct inside *s, const struct tg_prefix *k)
{
	for (size_t i = 0; i < s->n_keep; i++)
		if (tg_prefix_eq(&s->keep[i], k))
			return;
	if (s->n_keep < MAX_KEEP)
		s->keep[s->n_keep++] = *k;
}

/** inside_keep_build() - see inside_internal.h */
void inside_keep_build(struct inside *s)
{
	s->n_keep = 0;
	for (size_t i = 0; i < s->o->n_keep; i++)
		keep_add(s, &s->o->keep[i]);
	if (s->ssh_client.family)
		keep_add(s, &s->ssh_client);
	for (size_t i = 0; i < s->cfg.n_keep; i++)
		keep_add(s, &s->cfg.keep[i]);
}
