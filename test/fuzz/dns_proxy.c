// SPDX-License-Identifier: MIT
/*
 * dns_proxy.c - fuzz the DNS proxy of dns/ whole (proxy.c, stream.c,
 * addr.c, the cache), with its lookups completed by the harness
 * (dns_fake.c): queries over UDP and over TCP streams in, answers out.
 *
 * Input: operations, each an opcode and its arguments: a query from one
 * of four askers (two UDP, two TCP-like); bytes, an end of stream or a
 * close on one of the DNS-over-TCP connections; the completion of a
 * pending lookup (getaddrinfo's status and addresses, or an upstream
 * reply); an asker that goes away (dns_cancel); time passing; a lookup
 * that cannot start; cancellation that comes too late.
 *
 * Properties: an answer never comes from inside dns_query(), comes once
 * per accepted query and never after dns_cancel(), parses, is a response
 * within the asker's size; every frame written to a stream is a whole
 * answer; the buffers of DNS over TCP stay within their budget and are
 * all given back at the close; once every lookup is done and the
 * deadlines have passed,
 * every accepted query has had its answer; dns_proxy_close() frees
 * everything (LeakSanitizer) and closes every handle.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "dns/dns.h"
#include "test/fuzz/dns_fake.h"
#include "dns/dns_internal.h"
#include "test/fuzz/fuzz.h"

#define ASKERS 4
#define STREAMS 4

enum op {
	OP_QUERY,
	OP_STREAM_OPEN,
	OP_STREAM_WRITE,
	OP_STREAM_EOF,
	OP_STREAM_CLOSE,
	OP_COMPLETE,
	OP_CANCEL,
	OP_TIME,
	OP_FAIL_NEXT,
	OP_BUSY,
	N_OPS,
};

struct asker {
	bool udp;
	unsigned outstanding;
	size_t limit; /* the largest answer it may get */
};

struct stream {
	int fd;
	size_t have;
	uint8_t buf[2 + DNS_MSG_MAX];
};

static const int gai_status[] = {
	0,	     UV_EAI_NONAME,	UV_EAI_NODATA, UV_EAI_AGAIN,
	UV_EAI_FAIL, UV_EAI_ADDRFAMILY, UV_EAI_MEMORY, UV_EAI_SERVICE,
};

static uv_loop_t loop;
static struct dns_proxy *proxy;
static struct asker askers[ASKERS];
static struct stream *streams[STREAMS];
static bool in_query;

static void check_answer(const uint8_t *m, size_t len)
{
	ldns_pkt *pkt = NULL;

	FZ_CHECK(len >= DNS_HDR && len <= DNS_MSG_MAX);
	FZ_CHECK(tg_be16(m + 2) & DNS_QR);
	FZ_CHECK(ldns_wire2pkt(&pkt, m, len) == LDNS_STATUS_OK);
	ldns_pkt_free(pkt);
}

static void answer_cb(void *arg, const uint8_t *m, size_t len)
{
	struct asker *a = arg;

	FZ_CHECK(!in_query);
	FZ_CHECK(a->outstanding > 0);
	a->outstanding--;
	FZ_CHECK(len <= a->limit);
	check_answer(m, len);
}

static void query(uint8_t i, struct fz *in)
{
	struct asker *a = &askers[i % ASKERS];
	struct dns_qinfo qi;
	size_t len;
	const uint8_t *q = fz_slice(in, &len);
	int r;

	in_query = true;
	r = dns_query(proxy, q, len, a->udp, answer_cb, a);
	in_query = false;
	FZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOBUFS);
	FZ_CHECK(r != -EBADMSG || len < DNS_HDR);
	if (r)
		return;
	a->outstanding++;
	dns_msg_parse_query(q, len, &qi);
	if (a->udp && qi.udp_size > a->limit)
		a->limit = qi.udp_size;
}

/* read what the proxy wrote to a stream: whole answers, framed */
static void stream_drain(struct stream *s)
{
	ssize_t n;
	size_t f;

	while ((n = read(s->fd, s->buf + s->have, sizeof(s->buf) - s->have)) >
	       0) {
		s->have += (size_t)n;
		while (s->have >= 2 && s->have >= 2 + (f = tg_be16(s->buf))) {
			check_answer(s->buf + 2, f);
			memmove(s->buf, s->buf + 2 + f, s->have - 2 - f);
			s->have -= 2 + f;
		}
	}
}

static void stream_open(uint8_t i)
{
	struct stream *s;
	uv_pipe_t *p;
	int sv[2];

	if (streams[i % STREAMS])
		return;
	FZ_CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	FZ_CHECK(!fcntl(sv[1], F_SETFL, O_NONBLOCK));
	p = malloc(sizeof(*p));
	s = calloc(1, sizeof(*s));
	FZ_CHECK(p && s && !uv_pipe_init(&loop, p, 0) &&
		 !uv_pipe_open(p, sv[0]));
	if (dns_serve_stream(proxy, (uv_stream_t *)p)) {
		uv_close((uv_handle_t *)p, (uv_close_cb)free);
		close(sv[1]);
		free(s);
		return;
	}
	s->fd = sv[1];
	streams[i % STREAMS] = s;
}

static void stream_close(uint8_t i)
{
	struct stream *s = streams[i % STREAMS];

	if (!s)
		return;
	stream_drain(s);
	close(s->fd);
	free(s);
	streams[i % STREAMS] = NULL;
}

static void stream_op(uint8_t op, uint8_t i, struct fz *in)
{
	struct stream *s = streams[i % STREAMS];
	const uint8_t *p;
	size_t len;

	if (op == OP_STREAM_OPEN) {
		stream_open(i);
		return;
	}
	if (op == OP_STREAM_CLOSE) {
		stream_close(i);
		return;
	}
	p = fz_slice(in, &len);
	if (!s)
		return;
	if (op == OP_STREAM_EOF)
		shutdown(s->fd, SHUT_WR);
	else if (write(s->fd, p, len) < 0)
		FZ_CHECK(errno == EAGAIN || errno == EPIPE);
}

static void one_op(struct fz *in)
{
	uint8_t op = fz_u8(in) % N_OPS, i = fz_u8(in);
	const uint8_t *p;
	size_t len;
	int st;

	switch (op) {
	case OP_QUERY:
		query(i, in);
		break;
	case OP_STREAM_OPEN:
	case OP_STREAM_WRITE:
	case OP_STREAM_EOF:
	case OP_STREAM_CLOSE:
		stream_op(op, i, in);
		break;
	case OP_COMPLETE:
		st = fz_u8(in);
		p = fz_slice(in, &len);
		if (dns_fake_pending())
			dns_fake_complete(i % dns_fake_pending(),
					  gai_status[st % 8], p, len);
		break;
	case OP_CANCEL:
		dns_cancel(proxy, &askers[i % ASKERS]);
		askers[i % ASKERS].outstanding = 0;
		break;
	case OP_TIME:
		fake_advance((uint64_t)i * i * 10);
		break;
	case OP_FAIL_NEXT:
		dns_fake_fail_next(i & 1 ? UV_EAI_MEMORY : UV_ENOMEM);
		break;
	case OP_BUSY:
		dns_fake_busy(i & 1);
		break;
	}
}

static void settle(void)
{
	for (int k = 0; k < 3; k++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		dns_fake_settle();
		fake_advance(0);
		for (int i = 0; i < STREAMS; i++)
			if (streams[i])
				stream_drain(streams[i]);
	}
}

static void count_handle(uv_handle_t *h, void *arg)
{
	++*(unsigned *)arg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* as cmd/ does: a peer that has gone is an error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&loop);
	return 0;
}

/* every lookup done, every deadline past: nothing may be owed */
static void finish(void)
{
	dns_fake_busy(false);
	for (int k = 0; k < 8 && dns_fake_pending(); k++) {
		while (dns_fake_pending())
			dns_fake_complete(0, UV_EAI_AGAIN, NULL, 0);
		settle();
	}
	fake_advance(60000);
	settle();
	for (int i = 0; i < ASKERS; i++)
		FZ_CHECK(askers[i].outstanding == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_opts o = {
		.timeout_ms = 4000,
		.cache_entries = 4,
		.cache_bytes = 16384,
		.max_pending = 4,
		/* two reservations and a few buffers: streams stall, and
		 * close the oldest idle one (stream.c) */
		.tcp_buffer_bytes = 140 << 10,
		.resolv_conf = "/nonexistent/resolv.conf",
	};
	struct fz in = {data, size};
	unsigned handles = 0;

	dns_fake_begin();
	for (int i = 0; i < ASKERS; i++)
		askers[i] = (struct asker){.udp = i < 2, .limit = DNS_MSG_MAX};
	for (int i = 0; i < 2; i++)
		askers[i].limit = DNS_UDP_MIN;
	proxy = dns_proxy_new(&loop, &o);
	FZ_CHECK(proxy);
	while (in.left) {
		one_op(&in);
		settle();
	}
	finish();
	FZ_CHECK(proxy->tcp_bytes <= (140 << 10));
	dns_proxy_close(proxy);
	/* every byte charged to the budget of DNS over TCP is given back */
	FZ_CHECK(proxy->tcp_bytes == 0 && proxy->tcp_conns == 0 &&
		 proxy->tcp_inflight == 0);
	for (int i = 0; i < STREAMS; i++)
		stream_close((uint8_t)i);
	dns_fake_busy(false);
	dns_fake_settle();
	while (dns_fake_pending())
		dns_fake_complete(0, UV_EAI_AGAIN, NULL, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_walk(&loop, count_handle, &handles);
	FZ_CHECK(handles == 0);
	FZ_CHECK(fake_clock_idle());
	return 0;
}
