/* SPDX-License-Identifier: MIT */
/*
 * frame.c - the tungate stream codec.
 *
 * Theory of operation: everything here works on caller-owned bytes and
 * neither allocates nor does I/O. A frame header is type, flags (always
 * zero today: a non-zero value means the reader lost its place in the
 * stream), and a big-endian 16-bit payload length. tp_magic_find() lets the
 * link discard banner text that a shell or sshd printed before tungate
 * started, while keeping a tail that may be the first bytes of a magic
 * split across two reads.
 */
#include <errno.h>
#include <string.h>

#include "transport/frame.h"
#include "lib/wire.h"

/**
 * tp_frame_decode() - take one frame from the front of @buf
 * @buf:	bytes received after the magic
 * @len:	number of bytes at @buf
 * @f:		set to the frame, pointing into @buf
 *
 * Return: bytes consumed (> 0), 0 if @buf holds no whole frame yet,
 * -EBADMSG if the header is invalid (non-zero flags, zero type)
 */
ssize_t tp_frame_decode(const uint8_t *buf, size_t len, struct tp_frame *f)
{
	size_t plen;

	if (len < TP_FRAME_HDR)
		return 0;
	if (buf[1] != 0 || buf[0] == 0)
		return -EBADMSG;
	plen = tg_be16(buf + 2);
	if (len - TP_FRAME_HDR < plen)
		return 0;
	f->type = buf[0];
	f->data = buf + TP_FRAME_HDR;
	f->len = plen;
	return (ssize_t)(TP_FRAME_HDR + plen);
}

/**
 * tp_frame_put_hdr() - write a frame header
 * @hdr:	where the 4 header bytes go
 * @type:	TP_F_*
 * @len:	payload length
 *
 * Return: 0, or -EMSGSIZE if @len exceeds TP_FRAME_MAX
 */
int tp_frame_put_hdr(uint8_t hdr[static TP_FRAME_HDR], uint8_t type, size_t len)
{
	if (len > TP_FRAME_MAX)
		return -EMSGSIZE;
	hdr[0] = type;
	hdr[1] = 0;
	tg_put_be16(hdr + 2, (uint16_t)len);
	return 0;
}

/**
 * tp_magic_find() - look for the magic in received bytes
 * @buf:	bytes
 * @len:	their number
 * @skip:	bytes before the magic; when it is not found, the number that
 *		can be discarded (a tail that may start the magic is kept)
 *
 * The magic begins with a NUL, which text banners do not contain, so only
 * NUL bytes are candidates.
 *
 * Return: true if the magic starts at @buf + *@skip
 */
bool tp_magic_find(const uint8_t *buf, size_t len, size_t *skip)
{
	const uint8_t *p = buf, *end = buf + len;

	while ((p = memchr(p, TP_MAGIC[0], (size_t)(end - p)))) {
		size_t left = (size_t)(end - p);
		size_t n = left < TP_MAGIC_LEN ? left : TP_MAGIC_LEN;

		if (!memcmp(p, TP_MAGIC, n)) {
			*skip = (size_t)(p - buf);
			return n == TP_MAGIC_LEN;
		}
		p++;
	}
	*skip = len;
	return false;
}

/* peer text for log lines: printable ASCII, cut to @cap - 1 bytes */
static void text_copy(char *dst, size_t cap, const uint8_t *src, size_t len)
{
	size_t i;

	if (len > cap - 1)
		len = cap - 1;
	for (i = 0; i < len; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[len] = '\0';
}

/**
 * tp_hello_encode() - build a HELLO payload
 * @h:		protocol, role, version text (truncated to 63 bytes),
 *		session id and flags
 * @buf:	output
 * @cap:	bytes available at @buf
 *
 * Return: payload length, or -ENOSPC
 */
int tp_hello_encode(const struct tp_hello *h, uint8_t *buf, size_t cap)
{
	size_t vlen = strnlen(h->version, sizeof(h->version) - 1);
	size_t len = 3 + vlen + 1 + TP_SESSION_LEN + 1;

	if (cap < len)
		return -ENOSPC;
	tg_put_be16(buf, h->proto);
	buf[2] = h->role;
	memcpy(buf + 3, h->version, vlen);
	buf[3 + vlen] = '\0';
	memcpy(buf + 4 + vlen, h->session, TP_SESSION_LEN);
	buf[4 + vlen + TP_SESSION_LEN] = h->flags;
	return (int)len;
}

/**
 * tp_hello_decode() - parse a HELLO payload
 * @h:		result; the version text is cut to 63 bytes, and anything
 *		that is not printable ASCII becomes '?' since it only ever
 *		ends up in log lines. A peer of protocol 1 sends no session
 *		id: it reads as zeros, and its version text is still shown
 *		so that the protocol mismatch can name it. A peer of
 *		0.2.0 sends no flags: they read as 0. Bytes past the
 *		flags are a newer peer's and are skipped.
 * @buf:	payload
 * @len:	its length
 *
 * Return: 0 or -EBADMSG
 */
int tp_hello_decode(struct tp_hello *h, const uint8_t *buf, size_t len)
{
	const uint8_t *nul;
	size_t vlen;

	if (len < 3)
		return -EBADMSG;
	h->proto = tg_be16(buf);
	h->role = buf[2];
	memset(h->session, 0, sizeof(h->session));
	h->flags = 0;
	nul = memchr(buf + 3, '\0', len - 3);
	vlen = nul ? (size_t)(nul - (buf + 3)) : len - 3;
	text_copy(h->version, sizeof(h->version), buf + 3, vlen);
	if (nul && len - 3 - vlen - 1 >= TP_SESSION_LEN)
		memcpy(h->session, nul + 1, TP_SESSION_LEN);
	if (nul && len - 3 - vlen - 1 > TP_SESSION_LEN)
		h->flags = nul[1 + TP_SESSION_LEN];
	return 0;
}

/**
 * tp_ready_encode() - build a READY payload
 * @r:		session id, flags and text (up to its NUL)
 * @buf:	output
 * @cap:	bytes available at @buf
 *
 * Return: payload length, or -ENOSPC
 */
int tp_ready_encode(const struct tp_ready *r, uint8_t *buf, size_t cap)
{
	size_t tlen = strnlen(r->text, sizeof(r->text) - 1);

	if (cap < TP_SESSION_LEN + 1 + tlen)
		return -ENOSPC;
	memcpy(buf, r->session, TP_SESSION_LEN);
	buf[TP_SESSION_LEN] = r->flags;
	memcpy(buf + TP_SESSION_LEN + 1, r->text, tlen);
	return (int)(TP_SESSION_LEN + 1 + tlen);
}

/**
 * tp_ready_decode() - parse a READY payload
 * @r:		result; the text is made printable and cut like HELLO's
 * @buf:	payload
 * @len:	its length
 *
 * Return: 0 or -EBADMSG (shorter than session id and flags)
 */
int tp_ready_decode(struct tp_ready *r, const uint8_t *buf, size_t len)
{
	if (len < TP_SESSION_LEN + 1)
		return -EBADMSG;
	memcpy(r->session, buf, TP_SESSION_LEN);
	r->flags = buf[TP_SESSION_LEN];
	text_copy(r->text, sizeof(r->text), buf + TP_SESSION_LEN + 1,
		  len - TP_SESSION_LEN - 1);
	return 0;
}

/**
 * tp_session_str() - a session id as 32 hex digits, for logs and status
 * @id:		the id
 * @buf:	at least 33 bytes
 *
 * Return: @buf
 */
char *tp_session_str(const uint8_t id[TP_SESSION_LEN], char *buf)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < TP_SESSION_LEN; i++) {
		buf[2 * i] = hex[id[i] >> 4];
		buf[2 * i + 1] = hex[id[i] & 15];
	}
	buf[2 * TP_SESSION_LEN] = '\0';
	return buf;
}

/** tp_session_none() - true for the all-zero id: no session */
bool tp_session_none(const uint8_t id[TP_SESSION_LEN])
{
	uint8_t any = 0;

	for (int i = 0; i < TP_SESSION_LEN; i++)
		any |= id[i];
	return !any;
}
