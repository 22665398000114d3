/* SPDX-License-Identifier: MIT */
/*
 * pcap.h - `--pcap FILE`: every packet crossing the tunnel, as a pcap file
 * that tcpdump and Wireshark open (link type LINKTYPE_RAW: each record is
 * an IPv4 or IPv6 packet, no link header).
 */
#ifndef TG_PCAP_H
#define TG_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_PCAP_DEFAULT_MAX (100ull << 20)

struct tg_pcap;

struct tg_pcap_stats {
	uint64_t packets, bytes; /* written so far, bytes with the headers */
	uint64_t skipped; /* packets not written: the file is full */
	bool full; /* --pcap-max-bytes reached */
	bool failed; /* a write failed: nothing more is written */
};

/**
 * tg_pcap_open() - create (or truncate) @path, mode 0600, and write the
 * file header
 * @out:	the writer
 * @path:	file name
 * @max_bytes:	the file never grows beyond this (0: no limit)
 * @append:	keep what @path holds (a capture of this process's earlier
 *		session), write after it
 *
 * Return: 0 or -errno
 */
int tg_pcap_open(struct tg_pcap **out, const char *path, uint64_t max_bytes,
		 bool append);

/**
 * tg_pcap_write() - one packet, stamped with the current time; buffered
 * (written to the file when the buffer fills, and on tg_pcap_flush()).
 * Once the limit is reached, one line is logged and later packets are
 * only counted.
 */
void tg_pcap_write(struct tg_pcap *p, const uint8_t *pkt, size_t len);

/** tg_pcap_flush() - write what is buffered, so readers see it */
void tg_pcap_flush(struct tg_pcap *p);

void tg_pcap_stats(const struct tg_pcap *p, struct tg_pcap_stats *s);

const char *tg_pcap_path(const struct tg_pcap *p);

/** tg_pcap_close() - flush, close the file, free @p (NULL is fine) */
void tg_pcap_close(struct tg_pcap *p);

#endif
