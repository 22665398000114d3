/* SPDX-License-Identifier: MIT */
/*
 * nss.h - name service lookups that never load a module of this machine
 * (see nss.c).
 */
#ifndef TG_NSS_H
#define TG_NSS_H

int tg_nss_pin(void);

#endif
