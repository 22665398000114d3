/* SPDX-License-Identifier: MIT */
/*
 * link.h - frames over a pair of libuv streams.
 *
 * A link owns one read stream and one write stream (the same handle for a
 * socket, two pipes for stdio or a child). It writes the magic and HELLO,
 * skips banner text before the peer's magic, checks the peer's protocol,
 * then delivers frames to the caller and batches the caller's frames into
 * large writes. Keepalives are sent when idle; a peer silent for longer
 * than the timeout is declared gone.
 *
 * Buffers are fixed at init: no allocation per frame. When the write
 * buffer is full, tp_link_send() returns -ENOBUFS and drain_cb runs once
 * there is room again.
 */
#ifndef TP_LINK_H
#define TP_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "transport/frame.h"

struct tp_link;

struct tp_link_ops {
	/* handshake complete: peer's HELLO was accepted */
	void (*hello_cb)(struct tp_link *l, const struct tp_hello *peer);
	/* a frame other than HELLO and KEEPALIVE; @data points into the
	 * link's read buffer and is valid only during the call */
	void (*frame_cb)(struct tp_link *l, uint8_t type, const uint8_t *data,
			 size_t len);
	/* write buffer is below its low-water mark again (may be NULL) */
	void (*drain_cb)(struct tp_link *l);
	/* the stream is gone: @err is 0 for EOF or GOODBYE, else -errno;
	 * @why is one human line. Called once; no frame_cb after it. */
	void (*down_cb)(struct tp_link *l, int err, const char *why);
};

struct tp_link_opts {
	uint8_t role;		   /* TP_ROLE_* of this side */
	unsigned timeout_ms;	   /* peer silence limit; keepalive at 1/3 */
	size_t wbuf_size;	   /* write buffer bytes (default 4 MiB) */
	size_t rbuf_size;	   /* read buffer bytes (default 1 MiB) */
	const char *peer_name;	   /* for messages: "inside", "outside" */
	const uint8_t *session;	   /* TP_SESSION_LEN bytes for our HELLO,
				    * or NULL for none */
	uint8_t hello_flags;	   /* TP_HELLO_* for our HELLO */
	bool resumed;		   /* the handshake was done by the process
				    * that passed us the stream: no magic or
				    * HELLO; @rest is what it had read */
	const uint8_t *rest;	   /* copied by tp_link_start() */
	size_t rest_len;
};

struct tp_link_stats {
	uint64_t frames_in, frames_out;
	uint64_t bytes_in, bytes_out;
	uint64_t bad_frames;	/* unknown type, dropped */
	uint64_t dropped_out;	/* sends refused with -ENOBUFS */
	uint64_t banner_bytes;	/* skipped before the magic */
	uint64_t reads, writes;	/* read callbacks with data, uv_write calls */
};

/**
 * tp_link_new() - create a link over @in (read) and @out (write)
 * @loop:	event loop
 * @in:		readable stream, owned by the link from now on: it must be
 *		malloc()ed, the link closes and free()s it (handle->data is
 *		the link's)
 * @out:	writable stream (may equal @in), owned by the link likewise
 * @ops:	callbacks
 * @opts:	settings; zero fields take defaults
 * @data:	caller's pointer, see tp_link_data()
 *
 * Return: the link, or NULL on allocation failure
 */
struct tp_link *tp_link_new(uv_loop_t *loop, uv_stream_t *in, uv_stream_t *out,
			    const struct tp_link_ops *ops,
			    const struct tp_link_opts *opts, void *data);

/**
 * tp_link_start() - write magic and HELLO, start reading; a resumed link
 * delivers the frames of opts->rest from within this call
 * Return: 0 or -errno
 */
int tp_link_start(struct tp_link *l);

void *tp_link_data(const struct tp_link *l);

/**
 * tp_link_send() - queue one frame
 * Return: 0, -ENOBUFS (buffer full: drop, or wait for drain_cb),
 *	   -EMSGSIZE, or -EPIPE once the link is down
 */
int tp_link_send(struct tp_link *l, uint8_t type, const void *data,
		 size_t len);

/**
 * tp_link_reserve() - room for one frame's payload of up to @max bytes,
 * directly in the write buffer; finish with tp_link_commit()
 * Return: pointer, or NULL if the buffer has no room (or link is down)
 */
uint8_t *tp_link_reserve(struct tp_link *l, size_t max);
void tp_link_commit(struct tp_link *l, uint8_t type, size_t len);

/** tp_link_congested() - true while the write buffer is above high water */
bool tp_link_congested(const struct tp_link *l);

/** tp_link_read_pause() - stop (true) or resume (false) reading */
void tp_link_read_pause(struct tp_link *l, bool pause);

/**
 * tp_link_hold() - stop (true) or restart (false) the handshake clock
 * while the transport waits for the user at the terminal
 */
void tp_link_hold(struct tp_link *l, bool hold);

/**
 * tp_link_detach() - from hello_cb: the fds and the bytes read past the
 * peer's HELLO, to pass the stream to another process; the link is
 * unchanged (close it once they are taken)
 * Return: 0, -EAGAIN (our HELLO not yet written), -EBADF
 */
int tp_link_detach(struct tp_link *l, int *fd_in, int *fd_out,
		   const uint8_t **rest, size_t *rest_len);

/**
 * tp_link_goodbye_received() - the peer ended the stream on purpose
 * (GOODBYE or ERROR), rather than the stream breaking
 */
bool tp_link_goodbye_received(const struct tp_link *l);

/**
 * tp_link_goodbye() - send GOODBYE (or ERROR if @error) with @text, flush,
 * then shut the write side down; down_cb follows when the peer closes
 * or after a short grace time
 */
void tp_link_goodbye(struct tp_link *l, bool error, const char *text);

void tp_link_stats(const struct tp_link *l, struct tp_link_stats *s);

/**
 * tp_link_stripe_stats() - the counters of one of @l's streams alone
 * @l:		the link (its first stream)
 * @n:		0 for the first stream, N for stripe N
 * @s:		filled in
 *
 * Return: 0, or -ENOENT when @l has no stream @n
 */
int tp_link_stripe_stats(const struct tp_link *l, unsigned n,
			 struct tp_link_stats *s);

#define TP_STRIPES_MAX 8 /* streams of one link, the first included */

/**
 * tp_link_add_stripe() - carry @l's frames over one more stream as well
 * @l:		the link (its first stream), up
 * @in:		readable stream, owned by the link from now on (as for
 *		tp_link_new())
 * @out:	writable stream (may equal @in), likewise
 * @resumed:	the handshake was done by the process that passed us the
 *		stream (the inside); @rest is what it had read. Else
 *		(the outside) the stripe writes magic and a HELLO with
 *		TP_HELLO_STRIPE and carries frames once the peer has
 *		sent one on it.
 *
 * Frames are spread over the stripes and delivered in the order they were
 * sent; callbacks name @l. A stripe that breaks after it carried frames
 * takes the link down; one that fails before is dropped with a log line.
 *
 * Return: 0, -ENOSPC (TP_STRIPES_MAX), -ENOMEM, -EPIPE (@l is down) or
 * -errno from libuv; on error the streams stay the caller's
 */
int tp_link_add_stripe(struct tp_link *l, uv_stream_t *in, uv_stream_t *out,
		       bool resumed, const uint8_t *rest, size_t rest_len);

/** tp_link_stripes() - streams that carry frames now (1 without stripes) */
unsigned tp_link_stripes(const struct tp_link *l);

/**
 * tp_link_close() - close both streams and the timers; @l is freed once
 * libuv has closed them. No callback runs after this call.
 */
void tp_link_close(struct tp_link *l);

#endif
