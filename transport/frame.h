/* SPDX-License-Identifier: MIT */
/*
 * frame.h - the tungate stream format.
 *
 * Each side first writes the 8-byte magic, then frames. A frame is a 4-byte
 * header (type, flags, payload length big-endian 16 bits) and the payload:
 * one IP packet per PACKET frame, so the length bound is the IP one.
 * The first frame each side sends is HELLO; the outside then sends CONFIG;
 * the inside answers READY once its routes are installed.
 *
 * The codec here is pure (no I/O, no allocation) so that it can be unit
 * tested and fuzzed on its own; link.c drives it over a libuv stream.
 */
#ifndef TP_FRAME_H
#define TP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TP_MAGIC "\0TUNGATE"
#define TP_MAGIC_LEN 8
#define TP_PROTO_VERSION 2
#define TP_SESSION_LEN 16 /* a tunnel's session id: 128 random bits */
#define TP_FRAME_HDR 4
#define TP_FRAME_MAX 65535 /* payload bytes */
#define TP_BANNER_MAX 65536 /* bytes skipped before the magic, at most */

enum tp_frame_type {
	TP_F_HELLO = 1,	    /* u16 protocol, u8 role, software version text,
			     * NUL, session id (the outside's; zeros inside),
			     * u8 flags (TP_HELLO_*; absent: 0) */
	TP_F_CONFIG = 2,    /* outside -> inside: tp_config, TLV encoded */
	TP_F_PACKET = 3,    /* one IP packet */
	TP_F_KEEPALIVE = 4, /* empty */
	TP_F_ERROR = 5,	    /* text: a fatal error on the sender's side */
	TP_F_GOODBYE = 6,   /* text (may be empty): orderly end */
	TP_F_READY = 7,	    /* inside -> outside: session id, u8 flags
			     * (TP_READY_RESUMED), text summary of routes */
	TP_F_SEQ = 8,	    /* u32: the stripe number of the next frame on
			     * this stream (see link.c, "Stripes") */
};

enum tp_role {
	TP_ROLE_OUTSIDE = 1,
	TP_ROLE_INSIDE = 2,
};

struct tp_frame {
	uint8_t type;
	const uint8_t *data;
	size_t len;
};

/* the inside's container has IPv6 disabled: the outside offers it no
 * IPv6 prefix or address (an older peer sends no flags: 0) */
#define TP_HELLO_NO_IPV6 0x01
/* outside -> inside: this stream is one more stripe of the session named
 * in the HELLO, for the inside that runs it (never a session of its own) */
#define TP_HELLO_STRIPE 0x02

struct tp_hello {
	uint16_t proto;
	uint8_t role;
	char version[64]; /* software version, NUL terminated */
	uint8_t session[TP_SESSION_LEN]; /* zeros: none */
	uint8_t flags; /* TP_HELLO_* */
};

#define TP_READY_RESUMED 0x01 /* the inside carried on an earlier session */

struct tp_ready {
	uint8_t session[TP_SESSION_LEN];
	uint8_t flags;
	char text[256]; /* summary of the routes, NUL terminated, printable */
};

/**
 * tp_frame_decode() - take one frame from the front of @buf
 * @buf:	bytes received after the magic
 * @len:	number of bytes at @buf
 * @f:		set to the frame, pointing into @buf
 *
 * Return: bytes consumed (> 0), 0 if @buf holds no whole frame yet,
 * -EBADMSG if the header is invalid (non-zero flags, zero type)
 */
ssize_t tp_frame_decode(const uint8_t *buf, size_t len, struct tp_frame *f);

/**
 * tp_frame_put_hdr() - write a frame header
 * Return: 0, or -EMSGSIZE if @len exceeds TP_FRAME_MAX
 */
int tp_frame_put_hdr(uint8_t hdr[static TP_FRAME_HDR], uint8_t type,
		     size_t len);

/**
 * tp_magic_find() - look for the magic in received bytes
 * @buf:	bytes
 * @len:	their number
 * @skip:	set to the number of bytes before the magic, or, when it is not
 *		found, to the number that can be discarded (a tail that may be
 *		the start of the magic is kept)
 *
 * Return: true if the magic starts at @buf + *@skip
 */
bool tp_magic_find(const uint8_t *buf, size_t len, size_t *skip);

/**
 * tp_hello_encode() - build a HELLO payload
 * Return: payload length, or -ENOSPC
 */
int tp_hello_encode(const struct tp_hello *h, uint8_t *buf, size_t cap);

/**
 * tp_hello_decode() - parse a HELLO payload
 * Return: 0 or -EBADMSG
 */
int tp_hello_decode(struct tp_hello *h, const uint8_t *buf, size_t len);

/**
 * tp_ready_encode() - build a READY payload
 * Return: payload length, or -ENOSPC
 */
int tp_ready_encode(const struct tp_ready *r, uint8_t *buf, size_t cap);

/**
 * tp_ready_decode() - parse a READY payload
 * Return: 0 or -EBADMSG
 */
int tp_ready_decode(struct tp_ready *r, const uint8_t *buf, size_t len);

#define TP_SESSION_STRLEN (2 * TP_SESSION_LEN + 1)

/** tp_session_str() - @id as hex into @buf (TP_SESSION_STRLEN bytes) */
char *tp_session_str(const uint8_t id[TP_SESSION_LEN], char *buf);

/** tp_session_none() - true for the all-zero id */
bool tp_session_none(const uint8_t id[TP_SESSION_LEN]);

#endif
