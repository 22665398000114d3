/* SPDX-License-Identifier: MIT */
/*
 * nss.h - name service lookups that never load a module of this machine
 * (see nss.c).
 */
#ifndef TG_NSS_H
#define TG_NSS_H

#include <stdbool.h>
#include <stddef.h>

size_t tg_nss_sources(const char *conf, size_t n, const char *db,
		      bool with_dns, char *out, size_t cap);
int tg_nss_pin(void);

#endif
