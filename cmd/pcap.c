/* SPDX-License-Identifier: MIT */
/*
 * pcap.c - the packet capture of `--pcap FILE`.
 *
 * Theory of operation: the classic pcap format (a 24-byte file header,
 * then a 16-byte record header before each packet), microsecond stamps,
 * host byte order (readers detect it from the magic), link type
 * LINKTYPE_RAW (101), so that IPv4 and IPv6 share one file. Records are
 * gathered in one buffer and written when it is full and once a second
 * (the caller's timer calls tg_pcap_flush()), so a busy tunnel costs one
 * write(2) per 256 KiB, not one per packet. The size limit counts the
 * whole file; a packet that would cross it is not written, and neither
 * is anything after it, so the file always ends with a whole record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"
#include "cmd/pcap.h"

#define PCAP_BUF (256 * 1024)
#define PCAP_SNAPLEN 262144
#define LINKTYPE_RAW 101

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, network;
};

struct pcap_rec_hdr {
	uint32_t sec, usec, caplen, len;
};

struct tg_pcap {
	int fd;
	char *path;
	uint64_t max, size; /* size: file bytes, buffered ones included */
	struct tg_pcap_stats st;
	size_t used;
	uint8_t buf[PCAP_BUF];
};

/* @p->fd holds a capture already: go on after it, or start it */
static int pcap_start(struct tg_pcap *p, bool append)
{
	struct pcap_file_hdr h = {
		.magic = 0xa1b2c3d4,
		.major = 2,
		.minor = 4,
		.snaplen = PCAP_SNAPLEN,
		.network = LINKTYPE_RAW,
	};
	struct stat st;
	bool reg;

	if (fstat(p->fd, &st) < 0)
		return -errno;
	/* a pipe (--pcap >(wireshark -k -i -)) is neither cut nor measured */
	reg = S_ISREG(st.st_mode);
	p->size = p->st.bytes = sizeof(h);
	if (append && (!reg || (uint64_t)st.st_size >= sizeof(h))) {
		if (reg)
			p->size = p->st.bytes = (uint64_t)st.st_size;
		return 0;
	}
	if (reg && ftruncate(p->fd, 0) < 0)
		return -errno;
	return tg_write_all(p->fd, (const uint8_t *)&h, sizeof(h));
}

int tg_pcap_open(struct tg_pcap **out, const char *path, uint64_t max_bytes,
		 bool append)
{
	struct tg_pcap *p = malloc(sizeof(*p));
	int r;

	if (!p || !(p->path = strdup(path))) {
		free(p);
		return -ENOMEM;
	}
	memset(&p->st, 0, sizeof(p->st));
	p->max = max_bytes;
	p->used = 0;
	p->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (p->fd < 0) {
		r = -errno;
		goto fail;
	}
	r = pcap_start(p, append);
	if (r < 0) {
		close(p->fd);
		goto fail;
	}
	*out = p;
	return 0;
fail:
	free(p->path);
	free(p);
	return r;
}

void tg_pcap_flush(struct tg_pcap *p)
{
	int r;

	if (!p || !p->used || p->st.failed)
		return;
	r = tg_write_all(p->fd, p->buf, p->used);
	p->used = 0;
	if (r < 0) {
		p->st.failed = true;
		tg_err("--pcap %s: write failed: %s; no more packets are "
		       "captured",
		       p->path, strerror(-r));
	}
}

void tg_pcap_write(struct tg_pcap *p, const uint8_t *pkt, size_t len)
{
	struct pcap_rec_hdr h;
	size_t cap = len < PCAP_SNAPLEN ? len : PCAP_SNAPLEN;
	struct timespec ts;

	if (!p)
		return;
	if (p->st.full || p->st.failed) {
		p->st.skipped++;
		return;
	}
	if (p->max && p->size + sizeof(h) + cap > p->max) {
		p->st.full = true;
		p->st.skipped++;
		tg_pcap_flush(p);
		tg_warn("--pcap %s: the file reached --pcap-max-bytes (%llu); "
			"later packets are not captured",
			p->path, (unsigned long long)p->max);
		return;
	}
	if (sizeof(h) + cap > sizeof(p->buf) - p->used)
		tg_pcap_flush(p);
	clock_gettime(CLOCK_REALTIME, &ts);
	h.sec = (uint32_t)ts.tv_sec;
	h.usec = (uint32_t)(ts.tv_nsec / 1000);
	h.caplen = (uint32_t)cap;
	h.len = (uint32_t)len;
	memcpy(p->buf + p->used, &h, sizeof(h));
	memcpy(p->buf + p->used + sizeof(h), pkt, cap);
	p->used += sizeof(h) + cap;
	p->size += sizeof(h) + cap;
	p->st.packets++;
	p->st.bytes += sizeof(h) + cap;
}

void tg_pcap_stats(const struct tg_pcap *p, struct tg_pcap_stats *s)
{
	*s = p->st;
}

const char *tg_pcap_path(const struct tg_pcap *p)
{
	return p->path;
}

void tg_pcap_close(struct tg_pcap *p)
{
	if (!p)
		return;
	tg_pcap_flush(p);
	close(p->fd);
	free(p->path);
	free(p);
}
