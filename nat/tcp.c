/* SPDX-License-Identifier: MIT */
/*
 * tcp.c - TCP from the inside, terminated: each connection becomes a
 * socket of this machine. The flow table and a flow's life cycle.
 *
 * Theory of operation. The NAT plays the destination towards the inside,
 * with its own sequence numbers, and an ordinary client towards the
 * destination. A connection goes through:
 *
 * 1. CONNECTING: the inside's SYN (its destination permitted, a slot free)
 *    makes a flow, parses the SYN's options and starts a non-blocking
 *    connect(). Nothing is sent to the inside yet; retransmitted SYNs are
 *    ignored. A refused connect() answers RST; no route, host down or a
 *    firewall answer an ICMP destination unreachable (which ends the
 *    inside's connect() at once too); a timeout or anything else, RST.
 *    The kernel's own SYN retries bound this state.
 * 2. SYN_RCVD: connect() succeeded. The SYN-ACK carries a random ISN, our
 *    MSS (what fits the TUN MTU) and, if the inside offered scaling, our
 *    window scale; no SACK (the inside falls back to cumulative ACKs).
 *    It is retransmitted until the inside's ACK arrives, then the flow is
 *    reset (a bounded half-open state).
 * 3. ESTABLISHED, with the half-closes as flags: data flows both ways
 *    (tcp_in.c, tcp_out.c, tcp_sock.c). The inside's FIN becomes
 *    shutdown(SHUT_WR) once its data is written; the destination's EOF
 *    becomes our FIN once its data is sent. When both FINs are through
 *    and acknowledged (the inside acknowledged ours, the kernel took
 *    shutdown()), the socket is closed.
 * 4. CLOSED: unhashed, so a new SYN with the same ports makes a new flow;
 *    the slot returns to the table only from the uv_close() callback.
 *
 * Ending a connection: a RST from the inside, a failure to retransmit, a
 * socket error or the NAT closing reset the socket too (SO_LINGER {1, 0}:
 * the destination gets a RST, and no TIME-WAIT is left here). After a
 * clean exchange of FINs the socket is closed normally, since a RST could
 * still destroy our last bytes in the kernel's send queue: if the
 * destination closed first the socket ends from LAST-ACK without
 * TIME-WAIT; if the inside closed first the kernel entered TIME-WAIT when
 * the destination's FIN arrived, before we could choose.
 *
 * Idle connections are never expired here: TCP keepalive on the socket
 * (60 s) finds dead destinations, and the inside's own TCP finds a dead
 * NAT. Nor does an outage of the stream end them (tcp_out.c): the
 * connections to the destinations stay open, nat_resume() carries on
 * where the outage left them, and nat_reset() ends them all (a RST to
 * each destination, nothing to the inside) when the session is over.
 * A SYN past --max-tcp-flows gets a RST and a counted, rate-limited log
 * line. Segments of unknown flows get a RST (RFC 9293 3.10.7.1).
 *
 * Services (the tunnel's DNS address) are answered in-process: the SYN
 * gets its SYN-ACK at once, and the flow's "socket" is one end of a
 * socketpair whose other end goes to the service. A service answers small
 * messages, and a client that does not read must not make us hold much:
 * its rings stay at TCP_RING_MIN (never grown), and the socketpair's send
 * buffers are small (TCP_SERVICE_SNDBUF), so that the service meets
 * back-pressure of its own soon (dns/stream.c).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "nat/tcp_conn.h"

/**
 * nat_tcp_log() - a debug line about @f
 * @f:		flow
 * @what:	what happened
 */
void nat_tcp_log(const struct tcp_flow *f, const char *what)
{
	char buf[128];

	if (tg_log_level < TG_LOG_DEBUG)
		return;
	nat_flow_str(tcp_key(f), buf, sizeof(buf));
	tg_debug("%s: %s", buf, what);
}

static void close_cb(uv_handle_t *h)
{
	struct tcp_flow *f = nat_container_of(h, struct tcp_flow, u.h);
	struct nat *n = f->n;

	/* CLOSED and unhashed by nat_tcp_close_flow(), the one closer */
	assert(f->state == TS_CLOSED);
	assert(n->tcp->tab.nodes[f->idx].state == FLOW_CLOSING);
	nat_tcp_ring_free(n, &f->out);
	nat_tcp_ring_free(n, &f->in);
	nat_flow_free(&n->tcp->tab, f->idx);
	nat_close_done(n);
}

/**
 * nat_tcp_close_flow() - unhash @f and close its socket; the slot returns to
 * the table from the close callback
 * @f:		flow
 * @reset:	close with SO_LINGER {1, 0}: the destination gets a RST
 */
void nat_tcp_close_flow(struct tcp_flow *f, bool reset)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	struct nat *n = f->n;
	uv_os_fd_t fd;

	if (f->state == TS_CLOSED)
		return;
	f->state = TS_CLOSED;
	nat_tcp_timer_del(f);
	nat_tcp_pend_del(f);
	nat_flow_unhash(&n->tcp->tab, f->idx);
	/* best effort: some systems refuse it after shutdown() */
	if (reset && !f->service && !uv_fileno(&f->u.h, &fd))
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	nat_close_start(n, &f->u.h, close_cb);
}

/**
 * nat_tcp_abort() - reset both ends of @f
 * @f:		flow
 * @why:	for the debug log
 */
void nat_tcp_abort(struct tcp_flow *f, const char *why)
{
	char buf[160];

	if (f->state == TS_CLOSED)
		return;
	snprintf(buf, sizeof(buf), "reset: %s", why);
	nat_tcp_log(f, buf);
	nat_tcp_send_rst(f);
	nat_tcp_close_flow(f, true);
}

/** nat_tcp_maybe_done() - both FINs through and acknowledged: close @f */
void nat_tcp_maybe_done(struct tcp_flow *f)
{
	if (f->state == TS_CLOSED || !f->fin_in || !f->shut_done ||
	    !f->fin_acked)
		return;
	nat_tcp_log(f, "closed");
	/* the ACK of the inside's FIN must not wait for a turn that the
	 * flow will not see */
	if (f->ack_now)
		nat_tcp_send_ack(f);
	nat_tcp_close_flow(f, false);
}

/* RFC 6528 asks for unpredictable ISNs: splitmix64 from a random seed */
static uint32_t next_isn(struct nat_tcp *t)
{
	uint64_t z = (t->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)(z ^ (z >> 31));
}

/* a new flow's state from the inside's SYN */
static void flow_init(struct tcp_flow *f, struct nat *n, uint32_t i,
		      const struct pkt_info *pi)
{
	uint32_t mss, max = tcp_rcv_mss(n, pi->family);
	struct tcp_syn_opts o;

	memset(f, 0, sizeof(*f));
	f->n = n;
	f->idx = i;
	f->state = TS_CONNECTING;
	f->hpos = f->pnext = f->pprev = FLOW_NONE;
	nat_tcp_parse_syn_opts(pi, &o);
	if (o.has_wscale) {
		/* RFC 7323 2.3: larger shifts are taken as 14 */
		f->snd_shift = o.wscale > 14 ? 14 : o.wscale;
		f->rcv_shift = TCP_RCV_SHIFT;
	}
	mss = o.has_mss ? o.mss
			: (pi->family == AF_INET ? TCP_MSS_DEFAULT4
						 : TCP_MSS_DEFAULT6);
	f->mss = (uint16_t)(mss > max ? max : mss < 64 ? 64 : mss);
	f->irs = pi->tcp_seq;
	f->rcv_nxt = f->rcv_adv = f->irs + 1;
	f->iss = next_isn(n->tcp);
	f->snd_una = f->snd_nxt = f->snd_max = f->iss;
	f->out_seq = f->iss + 1;
	f->snd_wnd = f->max_wnd = pi->tcp_win;
	f->snd_wl1 = f->irs;
	f->snd_wl2 = f->iss;
	f->rto = TCP_RTO_INIT_MS;
	/* starts small, grows while the inside is slower than the socket */
	f->out.cap = TCP_RING_MIN;
	f->out.max = TCP_OUT_CAP;
	/* without scaling the window cannot offer more than 64 KiB */
	f->in.cap = f->rcv_shift ? TCP_IN_CAP : 0xffff;
	f->syn_len = (uint16_t)(pi->ip_len < NAT_QUOTE_MAX ? pi->ip_len
							   : NAT_QUOTE_MAX);
	memcpy(f->syn, pi->ip, f->syn_len);
}

/* the socket is connected (or the service has its end): SYN-ACK */
static void connected(struct tcp_flow *f)
{
	assert(f->state == TS_CONNECTING);
	f->state = TS_SYN_RCVD;
	if (nat_tcp_sock_read(f)) {
		nat_tcp_abort(f, "cannot read from the socket");
		return;
	}
	nat_tcp_output(f);
}

/* connect() failed: tell the inside the way its own connect() expects */
static void connect_failed(struct tcp_flow *f, int err)
{
	const struct flow_key *k = tcp_key(f);
	enum pkt_unreach why;
	char buf[96];

	if (err != UV_ECONNREFUSED && err != UV_ETIMEDOUT &&
	    nat_errno_unreach(err, &why))
		nat_send_unreach(f->n, k->dst, why, f->syn, f->syn_len);
	else
		nat_tcp_send_rst(f);
	switch (err) {
	case UV_EMFILE:
	case UV_ENFILE:
	case UV_ENOBUFS:
	case UV_ENOMEM:
	case UV_EADDRNOTAVAIL:
		nat_warn_drop(f->n, k, err);
		break;
	default:
		snprintf(buf, sizeof(buf), "connect: %s", uv_strerror(err));
		nat_tcp_log(f, buf);
	}
	nat_tcp_close_flow(f, false);
}

static void connect_cb(uv_connect_t *req, int status)
{
	struct tcp_flow *f = nat_container_of(req, struct tcp_flow, req.conn);

	if (f->state != TS_CONNECTING)
		return; /* closed meanwhile: UV_ECANCELED */
	if (status) {
		connect_failed(f, status);
		return;
	}
	nat_tcp_log(f, "connected");
	connected(f);
}

static void open_socket(struct tcp_flow *f)
{
	const struct flow_key *k = tcp_key(f);
	struct nat *n = f->n;
	struct sockaddr_storage ss;
	int r;

	r = uv_tcp_init_ex(n->loop, &f->u.tcp, k->family);
	if (r) {
		nat_tcp_send_rst(f);
		nat_warn_drop(n, k, r);
		nat_flow_free(&n->tcp->tab, f->idx);
		return;
	}
	uv_tcp_nodelay(&f->u.tcp, 1);
	uv_tcp_keepalive(&f->u.tcp, 1, TCP_KEEPALIVE_S);
	nat_sockaddr(&ss, k->family, k->dst, k->dport);
	r = uv_tcp_connect(&f->req.conn, &f->u.tcp,
			   (const struct sockaddr *)&ss, connect_cb);
	if (r) {
		connect_failed(f, r);
		return;
	}
	nat_tcp_log(f, "connecting");
}

static int fd_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC))
		return -errno;
	return 0;
}

/* what each end of a service's socketpair may have queued (the kernel
 * doubles it): kernel memory a client that does not read holds */
#define TCP_SERVICE_SNDBUF (16 * 1024)

/* a connected socketpair, both ends non-blocking; or -errno */
static int open_pair(int sv[2])
{
	int sndbuf = TCP_SERVICE_SNDBUF, r;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -errno;
	/* best effort: a larger buffer only costs memory */
	for (int i = 0; i < 2; i++)
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sndbuf,
			   sizeof(sndbuf));
	r = fd_flags(sv[0]);
	if (!r)
		r = fd_flags(sv[1]);
	if (r) {
		close(sv[0]);
		close(sv[1]);
	}
	return r;
}

static void open_service(struct tcp_flow *f, const struct nat_service *svc)
{
	const struct flow_key *k = tcp_key(f);
	struct nat_peer peer;
	int sv[2], r;

	r = svc->tcp ? open_pair(sv) : -ECONNREFUSED;
	if (r) {
		nat_tcp_send_rst(f);
		if (r != -ECONNREFUSED)
			nat_warn_drop(f->n, k, r);
		nat_flow_free(&f->n->tcp->tab, f->idx);
		return;
	}
	f->service = true;
	f->out.max = f->out.cap;
	if (f->in.cap > TCP_RING_MIN)
		f->in.cap = TCP_RING_MIN;
	uv_pipe_init(f->n->loop, &f->u.pipe, 0);
	r = uv_pipe_open(&f->u.pipe, sv[0]);
	if (r) {
		close(sv[0]);
		close(sv[1]);
		nat_warn_drop(f->n, k, r);
		nat_tcp_abort(f, "no pipe");
		return;
	}
	nat_peer_of(k, &peer);
	/* the service owns its end from now on, even if it fails (nat.h) */
	r = svc->tcp(svc->arg, &peer, sv[1]);
	if (r) {
		nat_tcp_abort(f, "refused by the service");
		return;
	}
	nat_tcp_log(f, "service");
	connected(f);
}

/* a SYN refused for lack of room: count it in @counter, tell the user */
static void refuse_log(struct nat *n, const struct flow_key *k,
		       uint64_t *counter, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void refuse_log(struct nat *n, const struct flow_key *k,
		       uint64_t *counter, const char *fmt, ...)
{
	va_list ap;

	(*counter)++;
	va_start(ap, fmt);
	nat_vwarn_flow(n, &n->tcp->full_rl, k, fmt, ap);
	va_end(ap);
}

/* answer @pi with a RST, unless it is one */
static void reset_pkt(struct nat *n, const struct pkt_info *pi)
{
	size_t len = nat_pkt_build_tcp_rst(n->tcp->seg, n->tcp->seg_cap, pi);

	if (len)
		nat_emit(n, n->tcp->seg, len);
}

static void tcp_open(struct nat *n, const struct flow_key *k,
		     const struct pkt_info *pi, const struct nat_service *svc)
{
	struct nat_tcp *t = n->tcp;
	uint32_t i;

	if (flow_full(&t->tab)) {
		refuse_log(n, k, &n->st.tcp_refused_full,
			   "refused: %u TCP connections open (--max-tcp-flows)",
			   t->tab.live);
		reset_pkt(n, pi);
		return;
	}
	if (nat_tcp_buf_left(n) < 2 * TCP_RING_MIN) {
		refuse_log(n, k, &n->st.tcp_refused_mem,
			   "refused: %zu MiB of TCP buffers in use "
			   "(--max-buffer)",
			   (size_t)(n->st.tcp_buf_bytes >> 20));
		reset_pkt(n, pi);
		return;
	}
	i = nat_flow_alloc(&t->tab, k, uv_now(n->loop));
	flow_count(&t->tab, i, true, 0); /* the SYN */
	flow_init(&t->f[i], n, i, pi);
	if (svc)
		open_service(&t->f[i], svc);
	else
		open_socket(&t->f[i]);
}

/**
 * nat_tcp_from_tun() - one TCP segment from the inside
 * @n:		NAT
 * @pi:		the parsed segment
 */
void nat_tcp_from_tun(struct nat *n, const struct pkt_info *pi)
{
	const struct nat_service *svc;
	enum policy_verdict v;
	struct flow_key k;
	uint32_t i;

	if (!pi->sport || !pi->dport) {
		n->st.malformed++;
		return;
	}
	nat_flow_key_init(&k, IPPROTO_TCP, pi->family, pi->src, pi->sport,
			  pi->dst, pi->dport);
	i = nat_flow_lookup(&n->tcp->tab, &k);
	if (i != FLOW_NONE) {
		flow_count(&n->tcp->tab, i, true, 0); /* bytes: tcp_in.c */
		nat_tcp_input(&n->tcp->f[i], pi);
		return;
	}
	/* a RST for no flow is ignored (RFC 9293 3.10.7.1), but counted:
	 * every packet from the inside shows up in some counter */
	if (pi->tcp_flags & PKT_TCP_RST) {
		n->st.unsupported++;
		return;
	}
	svc = nat_service_find(n, pi->family, pi->dst, pi->dport);
	if (!svc) {
		v = nat_refuse(n, pi);
		if (v != POLICY_ALLOW) {
			if (!nat_policy_no_icmp(v))
				reset_pkt(n, pi);
			return;
		}
	}
	if ((pi->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) != PKT_TCP_SYN) {
		reset_pkt(n, pi);
		return;
	}
	tcp_open(n, &k, pi, svc);
}

/**
 * nat_tcp_init() - the TCP table of @n: all memory at once, then handles
 * Return: 0, -EINVAL or -ENOMEM (nat_tcp_free() cleans up)
 */
int nat_tcp_init(struct nat *n)
{
	size_t max = n->opts.max_tcp_flows;
	struct nat_tcp *t;
	uint32_t slots;
	int r;

	if (max > UINT32_MAX / 4 || n->opts.mtu < 576)
		return -EINVAL;
	slots = (uint32_t)(max + max / 4 + 8);
	t = n->tcp = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = nat_flow_table_init(&t->tab, (uint32_t)max, slots, 0);
	if (r)
		return r;
	t->f = calloc(slots, sizeof(*t->f));
	if (!t->f)
		return -ENOMEM;
	t->seg = n->txbig;
	t->seg_cap = NAT_TXBIG_MAX;
	r = nat_tcp_timer_init(n);
	if (r)
		return r;
	nat_tcp_out_init(n);
	if (uv_random(NULL, NULL, &t->rng, sizeof(t->rng), 0, NULL))
		t->rng = uv_hrtime() ^ (uintptr_t)t;
	return 0;
}

void nat_tcp_free(struct nat *n)
{
	struct nat_tcp *t = n->tcp;

	if (!t)
		return;
	nat_flow_table_free(&t->tab);
	free(t->f);
	free(t->heap);
	free(t);
	n->tcp = NULL;
}

/**
 * nat_tcp_close() - reset every connection (the destinations get a RST)
 * and close the table's handles
 * @n:		NAT, already marked closing: nothing more is sent inside
 */
void nat_tcp_close(struct nat *n)
{
	struct nat_tcp *t = n->tcp;

	for (uint32_t i = 0; i < t->tab.n_slots; i++)
		if (t->tab.nodes[i].state == FLOW_LIVE)
			nat_tcp_close_flow(&t->f[i], true);
	nat_tcp_timer_close(n);
	nat_tcp_out_close(n);
}

/**
 * nat_tcp_reset() - the session is over: reset every connection (the
 * destinations get a RST, the inside nothing), leaving the table empty
 * and ready for new flows
 * @n:		NAT
 *
 * Return: the number of connections reset
 */
size_t nat_tcp_reset(struct nat *n)
{
	struct nat_tcp *t = n->tcp;
	size_t k = 0;

	for (uint32_t i = 0; i < t->tab.n_slots; i++) {
		if (t->tab.nodes[i].state != FLOW_LIVE)
			continue;
		nat_tcp_log(&t->f[i], "reset: the session is over");
		nat_tcp_close_flow(&t->f[i], true);
		k++;
	}
	/* a new session's stream starts empty; emit will say if not */
	t->blocked = false;
	return k;
}

size_t nat_tcp_reset_refused(struct nat *n)
{
	struct nat_tcp *t = n->tcp;
	size_t k = 0;

	for (uint32_t i = 0; i < t->tab.n_slots; i++) {
		const struct flow_key *key = &t->tab.nodes[i].key;

		if (t->tab.nodes[i].state != FLOW_LIVE || t->f[i].service ||
		    nat_policy_check(&n->policy, key->family, key->dst) ==
			    POLICY_ALLOW)
			continue;
		nat_tcp_abort(&t->f[i], "the destination is refused now");
		k++;
	}
	return k;
}

uint32_t nat_tcp_live(const struct nat *n)
{
	return n->tcp->tab.live;
}

const struct flow_table *nat_tcp_table(const struct nat *n)
{
	return &n->tcp->tab;
}

/* names of the states, as `tungate status` shows them */
static const char *const tcp_state_names[] = {
	[TS_CONNECTING] = "connecting",
	[TS_SYN_RCVD] = "syn-received",
	[TS_ESTABLISHED] = "established",
	[TS_CLOSED] = "closed",
};
_Static_assert(sizeof(tcp_state_names) / sizeof(tcp_state_names[0]) ==
		       TS_COUNT,
	       "one name per enum tcp_state");

const char *nat_tcp_state(const struct nat *n, uint32_t i)
{
	const struct tcp_flow *f = &n->tcp->f[i];
	bool out_done = f->eof_out || f->fin_sent;

	assert(f->state < TS_COUNT);
	/* ESTABLISHED holds the half-closes: their names come from the flags */
	if (f->state == TS_ESTABLISHED && f->fin_in)
		return out_done ? "closing" : "close-wait";
	if (f->state == TS_ESTABLISHED && out_done)
		return "fin-wait";
	return tcp_state_names[f->state];
}
