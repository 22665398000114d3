// SPDX-License-Identifier: MIT
/*
 * link.c - fuzz the read path of a real tp_link (transport/link.c): the
 * banner skip, the magic, the HELLO check and the frame loop, over a
 * socketpair in a libuv loop.
 *
 * Input: one byte (bit 0: this side's role; the rest: how the bytes are
 * cut into writes), then the stream the peer sends. The harness writes it
 * into the socketpair piece by piece, letting the loop read after each
 * piece, then closes its side and runs the loop until the link is down.
 * PACKET frames are echoed back (the write path runs too), CONFIG frames
 * decoded, READY answered with a goodbye.
 *
 * Properties: no callback after down_cb; down_cb comes, once, after EOF;
 * the link never counts more bytes than were written; closing it closes
 * every handle it made.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "transport/config.h"
#include "transport/frame.h"
#include "test/fuzz/fuzz.h"
#include "transport/link.h"

/* spins of the loop without progress before the link counts as stuck */
#define STUCK_SPINS 10000

struct run {
	struct tp_link *l;
	bool up, down;
	unsigned downs;
	int down_err;
	uint64_t frames;
};

static uv_loop_t loop;
static uint8_t sink[1 << 16];

static void hello_cb(struct tp_link *l, const struct tp_hello *peer)
{
	struct run *r = tp_link_data(l);

	FZ_CHECK(!r->down && !r->up);
	FZ_CHECK(strlen(peer->version) < sizeof(peer->version));
	r->up = true;
}

static void frame_cb(struct tp_link *l, uint8_t type, const uint8_t *data,
		     size_t len)
{
	static struct tp_config c;
	struct run *r = tp_link_data(l);
	uint8_t *p;

	FZ_CHECK(!r->down && r->up);
	FZ_CHECK(type == TP_F_CONFIG || type == TP_F_PACKET ||
		 type == TP_F_READY);
	FZ_CHECK(len <= TP_FRAME_MAX);
	memcpy(sink, data, len); /* ASan: the whole payload is there */
	r->frames++;
	switch (type) {
	case TP_F_CONFIG:
		tp_config_decode(&c, data, len);
		break;
	case TP_F_PACKET:
		/* echo, alternately copied and built in place */
		if (r->frames & 1) {
			tp_link_send(l, TP_F_PACKET, data, len);
		} else if ((p = tp_link_reserve(l, len))) {
			memcpy(p, data, len);
			tp_link_commit(l, TP_F_PACKET, len);
		}
		break;
	case TP_F_READY:
		tp_link_goodbye(l, false, "fuzz: bye");
		break;
	}
}

static void down_cb(struct tp_link *l, int err, const char *why)
{
	struct run *r = tp_link_data(l);

	FZ_CHECK(strlen(why) < 512);
	r->down = true;
	r->downs++;
	r->down_err = err;
}

static const struct tp_link_ops ops = {
	.hello_cb = hello_cb,
	.frame_cb = frame_cb,
	.down_cb = down_cb,
};

/* read what the link wrote, so that its writes never block */
static void drain(int fd)
{
	while (read(fd, sink, sizeof(sink)) > 0)
		;
}

static void count_handle(uv_handle_t *h, void *arg)
{
	(void)h;
	++*(unsigned *)arg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&loop);
	return 0;
}

/* feed @len bytes in pieces of @chunk; Return: bytes written */
static size_t feed(struct run *r, int fd, const uint8_t *data, size_t len,
		   size_t chunk)
{
	size_t off = 0;
	unsigned idle = 0;

	while (off < len && !r->down) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t w = write(fd, data + off, n);

		if (w > 0) {
			off += (size_t)w;
			idle = 0;
		} else {
			FZ_CHECK(w < 0 && errno == EAGAIN);
			FZ_CHECK(++idle < STUCK_SPINS);
		}
		drain(fd);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_link_opts o = {.rbuf_size = 1, .wbuf_size = 1};
	struct run r = {0};
	struct tp_link_stats st;
	unsigned handles = 0, spins = 0;
	size_t chunk, sent;
	uv_pipe_t *p;
	int fds[2];

	if (!size)
		return 0;
	/* the smallest buffers: the edges are closer */
	o.role = data[0] & 1 ? TP_ROLE_OUTSIDE : TP_ROLE_INSIDE;
	chunk = (size_t)(data[0] >> 1) * (data[0] >> 1);
	if (!chunk)
		chunk = size;
	FZ_CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
	FZ_CHECK(!fcntl(fds[1], F_SETFL, O_NONBLOCK));
	p = malloc(sizeof(*p));
	FZ_CHECK(p && !uv_pipe_init(&loop, p, 0) && !uv_pipe_open(p, fds[0]));
	r.l = tp_link_new(&loop, (uv_stream_t *)p, (uv_stream_t *)p, &ops, &o,
			  &r);
	FZ_CHECK(r.l && !tp_link_start(r.l));

	sent = feed(&r, fds[1], data + 1, size - 1, chunk);
	shutdown(fds[1], SHUT_WR);
	while (!r.down) {
		FZ_CHECK(++spins < STUCK_SPINS);
		drain(fds[1]);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	FZ_CHECK(r.downs == 1);
	tp_link_stats(r.l, &st);
	FZ_CHECK(st.bytes_in <= sent);
	FZ_CHECK(st.banner_bytes <= st.bytes_in);
	FZ_CHECK(!r.up || st.frames_in >= 1);
	FZ_CHECK(r.frames <= st.frames_in);
	tp_link_close(r.l);
	uv_run(&loop, UV_RUN_DEFAULT);
	close(fds[1]);
	uv_walk(&loop, count_handle, &handles);
	FZ_CHECK(handles == 0);
	return 0;
}
