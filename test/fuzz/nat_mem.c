// SPDX-License-Identifier: MIT
/*
 * nat_mem.c - fuzz the whole NAT with its sockets in memory (nat_fake.c):
 * UDP, ping and TCP flows open, carry data both ways, fail, expire and
 * are evicted, driven by a script that the fuzzer writes.
 *
 * Input: a byte for the MTU, then operations, each an opcode and its
 * arguments: a packet from the inside; the inside's answer to a TCP
 * segment the NAT sent (so that handshakes and data transfers happen
 * without guessing sequence numbers); a datagram, ping reply or error
 * from a destination; bytes, a shutdown, a reset or a pause in reading
 * from a TCP far end; a failure of the next socket call; time passing;
 * the stream to the inside filling up and draining; a reply from the
 * in-process UDP service; this machine's own addresses changing (to a
 * destination the inside talks to, to any address, to none), which ends
 * the flows to them whatever their state.
 *
 * Properties: every packet emitted parses, has valid checksums and fits
 * the MTU; flow counts stay within their limits; at the end nat_close()
 * closes every handle and socket the NAT made (no handle left on the
 * loop, no descriptor left open).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "test/fuzz/fuzz.h"
#include "nat/nat.h"
#include "test/fuzz/nat_fake.h"
#include "test/fuzz/pkt_check.h"

#define MAX_FLOWS 4
#define RING 8

enum op {
	OP_PACKET,
	OP_TCP_ANSWER,
	OP_UDP_REPLY,
	OP_UDP_ERROR,
	OP_PING_REPLY,
	OP_PING_ERROR,
	OP_FAIL_NEXT,
	OP_TIME,
	OP_FAR_WRITE,
	OP_FAR_SHUTDOWN,
	OP_FAR_CLOSE,
	OP_OUT_FULL,
	OP_SERVICE_REPLY,
	OP_SERVICE_REFUSE,
	OP_FAR_PAUSE,
	OP_OWN,
	N_OPS,
};

/* a TCP segment the NAT sent inside, to answer */
struct seg {
	int family;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	size_t data_len;
};

static const int errs[] = {
	UV_ECONNREFUSED,  UV_EHOSTUNREACH, UV_ENETUNREACH, UV_EACCES,
	UV_EPERM,	  UV_EAGAIN,	   UV_EMSGSIZE,	   UV_ENOBUFS,
	UV_EHOSTDOWN,	  UV_ENETDOWN,	   UV_EINVAL,	   UV_ECONNRESET,
	UV_EADDRNOTAVAIL, UV_EMFILE,	   UV_ETIMEDOUT,   UV_ENOTCONN,
};
static const uint32_t mtus[] = {0, 1280, 1500, 65535};
static const uint8_t svc4[4] = {198, 18, 0, 53};
static const uint8_t svc6[16] = {0xfd, 0x7e, 0x74, 0x75, 0, 0x6e, [15] = 0x53};

static uv_loop_t loop;
static struct nat *nat;
static uint32_t mtu;
static bool out_full, svc_refuse, have_peer;
static struct nat_peer peer;
static struct seg ring[RING];
static size_t ring_n;
static uint8_t sink[65536], seg_buf[65536 + 128];

static int emit(void *arg, const uint8_t *p, size_t len)
{
	struct pkt_info pi;
	struct seg *s;

	check_emitted(p, len, mtu);
	if (out_full)
		return -ENOBUFS;
	FZ_CHECK(nat_pkt_parse(p, len, &pi) == 0);
	if (pi.proto != IPPROTO_TCP)
		return 0;
	s = &ring[ring_n++ % RING];
	s->family = pi.family;
	memcpy(s->src, pi.src, 16);
	memcpy(s->dst, pi.dst, 16);
	s->sport = pi.sport;
	s->dport = pi.dport;
	s->seq = pi.tcp_seq;
	s->ack = pi.tcp_ack;
	s->flags = pi.tcp_flags;
	s->data_len = pi.data_len;
	return 0;
}

static void svc_udp(void *arg, const struct nat_peer *from, const uint8_t *data,
		    size_t len)
{
	memcpy(sink, data, len);
	peer = *from;
	have_peer = true;
}

static int svc_tcp(void *arg, const struct nat_peer *from, int fd)
{
	if (svc_refuse) {
		svc_refuse = false;
		close(fd);
		return -ECONNREFUSED;
	}
	fake_far_adopt(fd);
	return 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
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
	/* one world up and down, so that lasting descriptors exist */
	fake_begin(&loop);
	fake_end();
	uv_run(&loop, UV_RUN_DEFAULT);
	return 0;
}

static void packet(struct fz *in)
{
	bool fix = fz_u8(in) & 1;
	size_t len;
	const uint8_t *p = fz_slice(in, &len);
	uint8_t *pkt = malloc(len ? len : 1);

	FZ_CHECK(pkt);
	memcpy(pkt, p, len);
	if (fix)
		fz_fix_csums(pkt, len);
	nat_from_tun(nat, pkt, len);
	free(pkt);
}

/*
 * The inside answers a segment it got (0: the latest, 1: the one before,
 * ...): its numbers plus the fuzzer's deltas, its flags, options and data.
 */
static void tcp_answer(struct fz *in)
{
	size_t k = fz_u8(in) % RING, olen = (size_t)(fz_u8(in) % 11) * 4;
	uint8_t flags = fz_u8(in), opt[40];
	uint16_t win = fz_u16(in);
	int16_t dseq = (int16_t)fz_u16(in), dack = (int16_t)fz_u16(in);
	const struct seg *s = &ring[(ring_n - 1 - k) % RING];
	struct pkt_tcp_seg t = {0};
	size_t got, n;

	memset(opt, 1, sizeof(opt)); /* NOPs, past what the fuzzer gives */
	memcpy(opt, fz_take(in, olen, &got), got);
	t.data = fz_slice(in, &t.data_len);
	if (k >= ring_n)
		return;
	t.family = s->family;
	t.src = s->dst;
	t.dst = s->src;
	t.sport = s->dport;
	t.dport = s->sport;
	t.flags = flags;
	t.win = win;
	t.seq = s->ack + (uint32_t)dseq;
	t.ack = s->seq + (uint32_t)s->data_len + !!(s->flags & PKT_TCP_SYN) +
		!!(s->flags & PKT_TCP_FIN) + (uint32_t)dack;
	t.opt = opt;
	t.opt_len = olen;
	n = nat_pkt_build_tcp(seg_buf, sizeof(seg_buf), &t);
	if (n)
		nat_from_tun(nat, seg_buf, n);
}

/* the own addresses become one destination the inside used, any, or none */
static void own(struct fz *in, uint8_t i)
{
	struct tg_prefix h;
	uint8_t a[16] = {0};
	size_t got;
	int r;

	if (!i) {
		FZ_CHECK(nat_set_own(nat, NULL, 0) >= 0);
		return;
	}
	if ((i & 1) && ring_n) {
		const struct seg *sg =
			&ring[(i >> 1) % (ring_n < RING ? ring_n : RING)];

		tg_prefix_host(&h, sg->family, sg->src);
	} else {
		memcpy(a, fz_take(in, i & 2 ? 16 : 4, &got), got);
		tg_prefix_host(&h, i & 2 ? AF_INET6 : AF_INET, a);
	}
	r = nat_set_own(nat, &h, 1);
	FZ_CHECK(r >= 0 && r <= 3 * MAX_FLOWS);
}

static void one_op(struct fz *in)
{
	uint8_t op = fz_u8(in) % N_OPS, i = fz_u8(in);
	const uint8_t *p;
	size_t len;

	switch (op) {
	case OP_PACKET:
		packet(in);
		break;
	case OP_TCP_ANSWER:
		tcp_answer(in);
		break;
	case OP_UDP_REPLY:
		p = fz_slice(in, &len);
		fake_udp_deliver(i, p, len);
		break;
	case OP_UDP_ERROR:
		fake_udp_error(i, errs[fz_u8(in) % 16]);
		break;
	case OP_PING_REPLY:
		p = fz_slice(in, &len);
		fake_ping_deliver(i, p, len);
		break;
	case OP_PING_ERROR:
		fake_ping_error(i, errs[fz_u8(in) % 16]);
		break;
	case OP_FAIL_NEXT:
		fake_fail_next(i % FAKE_N_CALLS, errs[fz_u8(in) % 16]);
		break;
	case OP_TIME:
		fake_advance((uint64_t)i * i * 10);
		break;
	case OP_FAR_WRITE:
		p = fz_slice(in, &len);
		fake_far_write(i, p, len);
		break;
	case OP_FAR_SHUTDOWN:
		fake_far_shutdown(i);
		break;
	case OP_FAR_CLOSE:
		fake_far_close(i, fz_u8(in) & 1);
		break;
	case OP_OUT_FULL:
		out_full = i & 1;
		if (!out_full)
			nat_out_ready(nat);
		break;
	case OP_SERVICE_REPLY:
		p = fz_slice(in, &len);
		if (have_peer) {
			int r = nat_udp_reply(nat, &peer, p, len);

			FZ_CHECK(r == 0 || r == -EMSGSIZE || r == -ENOBUFS);
		}
		break;
	case OP_SERVICE_REFUSE:
		svc_refuse = true;
		break;
	case OP_FAR_PAUSE:
		fake_far_pause(i, fz_u8(in) & 1);
		break;
	case OP_OWN:
		own(in, i);
		break;
	}
}

/* let the loop move what is ready, and the timers that are due fire */
static void settle(void)
{
	for (int i = 0; i < 3; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		fake_advance(0);
	}
}

static void check_limits(uint64_t pkts)
{
	struct nat_stats st;

	nat_get_stats(nat, &st);
	FZ_CHECK(st.udp_flows <= MAX_FLOWS && st.icmp_flows <= MAX_FLOWS &&
		 st.tcp_flows <= MAX_FLOWS);
	FZ_CHECK(st.pkts_in <= pkts);
}

static struct nat_opts make_opts(uint8_t b)
{
	struct nat_opts o = {
		.max_udp_flows = MAX_FLOWS,
		.max_icmp_flows = MAX_FLOWS,
		.max_tcp_flows = MAX_FLOWS,
		.udp_idle_ms = 5000,
		.icmp_idle_ms = 3000,
		.mtu = mtus[b % 4],
		.route_default = true,
		.n_services = 2,
	};

	for (int i = 0; i < 2; i++) {
		struct nat_service *s = &o.services[i];

		s->family = i ? AF_INET6 : AF_INET;
		memcpy(s->addr, i ? svc6 : svc4, i ? 16 : 4);
		s->port = 53;
		s->udp = svc_udp;
		s->tcp = svc_tcp;
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	struct nat_opts o = make_opts(fz_u8(&in));
	int fds = count_fds();
	unsigned handles = 0;
	uint64_t ops = 0;

	mtu = o.mtu ? o.mtu : 65520;
	out_full = svc_refuse = have_peer = false;
	ring_n = 0;
	fake_begin(&loop);
	nat = nat_new(&loop, &o, emit, NULL);
	FZ_CHECK(nat);
	while (in.left) {
		one_op(&in);
		settle();
		check_limits(++ops);
	}
	nat_close(nat);
	fake_end();
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_walk(&loop, count_handle, &handles);
	FZ_CHECK(handles == 0);
	FZ_CHECK(fake_all_closed());
	FZ_CHECK(count_fds() == fds);
	return 0;
}
