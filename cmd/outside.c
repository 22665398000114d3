/* SPDX-License-Identifier: MIT */
/*
 * outside.c - `tungate outside`: the developer's machine's side.
 *
 * Theory of operation: one libuv loop for the whole run. The NAT, the DNS
 * service, the route watcher and the status socket live as long as the
 * process; a stream (the transport and the link over it) comes and goes.
 * When the inside's HELLO arrives we send CONFIG (routes, addresses, MTU);
 * when its READY arrives, PACKET frames flow both ways between the link
 * and the NAT. While there is no ready link the NAT's emit callback says
 * -ENOBUFS, as for a full stream: TCP keeps its data and waits, UDP
 * replies are dropped.
 *
 * A stream that breaks (network change, sleep, sshd restart, a dropped
 * `docker exec`) is not the end with --ssh or --via: the outside
 * reconnects with exponential backoff (a first connection that fails is
 * the end, unless --retry). Each run that can resume (no --once, --grace
 * not 0) has a session id (128 random bits, in our HELLO: an inside
 * offered none does not wait). If the stream was up, the session waits for
 * --grace seconds: the NAT keeps every flow, and the inside, which keeps
 * its TUN device, takes the new stream over from the inside that sshd or
 * the prefix starts (inside_resume.c). Its READY says
 * whether it resumed our session: then the NAT goes back to the oldest
 * unacknowledged byte of each connection (nat_resume) and both kernels'
 * TCP recover what the drop lost. An inside that started afresh, or a
 * grace period that ran out, resets the NAT's flows (nat_reset) and the
 * next stream is a new session.
 *
 * Shutdown is one path whatever the cause (signal, goodbye, a failure not
 * worth a retry): stop_begin() closes the NAT and the services, says
 * goodbye if the link is still up, then stream_finish() closes the link,
 * ends the child or waits for the SSH thread, and stream_done() closes the
 * last handles so the loop runs dry. The one line that explains a failure
 * is printed last, after the loop, so it is the last thing the user sees.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "transport/config.h"
#include "transport/link.h"
#include "lib/log.h"
#include "lib/resolvconf.h"
#include "nat/nat.h"
#include "cmd/outside_addrs.h"
#include "cmd/outside_dns.h"
#include "cmd/outside_status.h"
#include "cmd/notify.h"
#include "cmd/outside_routes.h"
#include "transport/ssh.h"
#include "transport/stream.h"
#include "cmd/host.h"
#include "cmd/tungate.h"

#define CHILD_KILL_MS 2000
#define BACKOFF_MAX_MS 30000

struct outside {
	uv_loop_t *loop;
	const struct tg_opts *o;
	/* for the whole run */
	struct nat *nat;
	struct outside_dns *dns;
	struct outside_routes *routes;
	struct outside_addrs *addrs;
	struct outside_status *status;
	uv_signal_t sig[3];
	uv_timer_t child_timer, retry_timer, grace_timer;
	struct tp_config cfg;
	uint8_t session[TP_SESSION_LEN]; /* zeros: --grace 0, no resume */
	bool stopping;	/* the run ends */
	bool signalled;	/* stopped by the user: never reconnect */
	bool outage;	/* the session waits for a stream to resume it */
	bool was_up;	/* a stream got as far as READY, once */
	uint64_t outage_ms;
	unsigned attempt, drops, resumes;
	int exit_code;
	char why[512];
	/* this stream */
	struct tp_link *link;
	struct tp_exec *exec;
	struct tp_ssh *ssh;
	struct tp_ssh *stripe_ssh[TP_STRIPES_MAX - 1]; /* --stripes */
	bool link_down, hello, ready, child_running, ending, striped;
	bool inside_failed; /* its ERROR frame: the container must change */
	bool peer_no_ipv6; /* its HELLO says the container has no IPv6 */
	int cause;	/* -errno that ended the stream, for reconnecting */
	uint64_t bad_frames; /* of the streams closed so far */
};

static void stream_finish(struct outside *s);
static void log_summary(const struct nat_stats *ns, uint64_t bad_frames);

static void set_failure(struct outside *s, int code, const char *why)
{
	if (s->exit_code || !why)
		return;
	s->exit_code = code;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static void status_session(struct outside *s)
{
	outside_status_session(s->status, s->session, s->drops, s->resumes,
			       s->outage ? s->outage_ms : 0);
}

/* a fresh session id; zeros when sessions do not resume: only an outside
 * that reconnects can resume one, and a waiting inside would wait in vain */
static void new_session(struct outside *s)
{
	memset(s->session, 0, sizeof(s->session));
	if (s->o->grace_ms && TG_TP_REMOTE(s->o->transport) && !s->o->once &&
	    uv_random(NULL, NULL, s->session, sizeof(s->session), 0, NULL) < 0)
		memset(s->session, 0, sizeof(s->session));
}

/* the stream ends; the run goes on if stream_done() says so */
static void stream_end(struct outside *s, int code, const char *why)
{
	if (s->ending)
		return;
	s->ending = true;
	set_failure(s, code, why);
	if (s->link && !s->link_down)
		tp_link_goodbye(s->link, code != 0,
				code ? why : "the outside is stopping");
	else
		stream_finish(s);
}

/* the run ends: the NAT and services close, then the stream */
static void stop_begin(struct outside *s, int code, const char *why)
{
	if (s->stopping)
		return;
	s->stopping = true;
	set_failure(s, code, why);
	outside_status_close(s->status, why);
	s->status = NULL;
	if (s->nat) {
		struct nat_stats ns;
		struct tp_link_stats ls = { 0 };

		nat_get_stats(s->nat, &ns);
		if (s->link)
			tp_link_stats(s->link, &ls);
		ls.bad_frames += s->bad_frames;
		if (ns.pkts_in || ns.pkts_out || ls.bad_frames)
			log_summary(&ns, ls.bad_frames);
		outside_addrs_close(s->addrs);
		s->addrs = NULL;
		nat_close(s->nat);
		s->nat = NULL;
	}
	if (s->dns) {
		outside_dns_close(s->dns);
		s->dns = NULL;
	}
	outside_routes_close(s->routes);
	s->routes = NULL;
	uv_timer_stop(&s->retry_timer);
	uv_timer_stop(&s->grace_timer);
	s->ending = false; /* a goodbye now, even if the stream was ending */
	stream_end(s, code, why);
}

static void child_timer_cb(uv_timer_t *t)
{
	struct outside *s = t->data;

	if (s->child_running) {
		tg_warn("the command did not exit after SIGTERM; killing it");
		tp_exec_kill(s->exec, SIGKILL);
	}
}

static void close_handles(struct outside *s)
{
	if (uv_is_closing((uv_handle_t *)&s->retry_timer))
		return;
	uv_close((uv_handle_t *)&s->child_timer, NULL);
	uv_close((uv_handle_t *)&s->retry_timer, NULL);
	uv_close((uv_handle_t *)&s->grace_timer, NULL);
	for (size_t i = 0; i < 3; i++)
		if (!uv_is_closing((uv_handle_t *)&s->sig[i]))
			uv_close((uv_handle_t *)&s->sig[i], NULL);
}

/*
 * Worth another try: the network or the far end went away, as it does
 * when a laptop sleeps or changes networks. A refused login, a changed
 * host key, a version mismatch or an inside that failed are not.
 *
 * Before any session was up, nothing went away: the name, the port or
 * the network is not what the user thinks, and like ssh we say so and
 * exit. --retry is for a service that starts before the network does.
 * Neither retries an inside that said ERROR (no CAP_NET_ADMIN, no
 * /dev/net/tun): whatever the transport reports after it, only a change
 * to the container helps.
 */
static bool should_reconnect(const struct outside *s)
{
	if (!TG_TP_REMOTE(s->o->transport) || s->signalled || s->stopping ||
	    !s->exit_code)
		return false;
	if (s->inside_failed || (s->was_up ? s->o->once : !s->o->retry))
		return false;
	switch (s->cause) {
	case -ECONNREFUSED: case -ETIMEDOUT: case -ECONNRESET: case -ENXIO:
	case -EHOSTUNREACH: case -ENETUNREACH: case -EPIPE: case -EAGAIN:
	case -ENETDOWN: case -EHOSTDOWN:
		return true;
	default:
		return false;
	}
}

static void connect_stream(struct outside *s);

static void retry_cb(uv_timer_t *t)
{
	connect_stream(t->data);
}

static void grace_cb(uv_timer_t *t)
{
	struct outside *s = t->data;
	size_t n = nat_reset(s->nat);

	/* the id stays: an inside that still waits (it noticed the drop
	 * later) may resume it, and its old connections then meet a NAT
	 * without their flows, which resets them; one that gave up starts
	 * afresh with it */
	tg_warn("the session was not resumed within %u s: %zu TCP "
		"connection%s reset",
		s->o->grace_ms / 1000, n, n == 1 ? "" : "s");
	s->outage = false;
	status_session(s);
}

/* the stream dropped: keep the session for --grace, try again later */
static void schedule_retry(struct outside *s)
{
	uint64_t delay;
	size_t n;

	if (s->ready) {
		s->attempt = 0; /* a stream that came up starts afresh */
		s->drops++;
		if (!tp_session_none(s->session)) {
			s->outage = true;
			s->outage_ms = uv_now(s->loop);
			uv_timer_start(&s->grace_timer, grace_cb,
				       s->o->grace_ms, 0);
			tg_warn("the stream dropped: the session waits %u s "
				"for a new one to resume it",
				s->o->grace_ms / 1000);
		} else if ((n = nat_reset(s->nat)) > 0) {
			tg_warn("the stream dropped: %zu TCP connection%s "
				"reset (no session to resume)",
				n, n == 1 ? "" : "s");
		}
		status_session(s);
	}
	/* 1 s doubling to 30 s, with up to 25% jitter so that many laptops
	 * waking at once do not reconnect in step */
	delay = 1000ull << (s->attempt < 5 ? s->attempt : 5);
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	delay += (uint64_t)(rand() % (int)(delay / 4 + 1));
	s->attempt++;
	tg_warn("%s; reconnecting in %.1f s (attempt %u)", s->why,
		(double)delay / 1000, s->attempt);
	tg_notify_status("%s; reconnecting in %.1f s", s->why,
			 (double)delay / 1000);
	s->exit_code = 0;
	s->why[0] = '\0';
	uv_timer_start(&s->retry_timer, retry_cb, delay, 0);
}

/* the stream is closed and its transport gone */
static void stream_done(struct outside *s)
{
	if (s->stopping) {
		close_handles(s);
		return;
	}
	if (should_reconnect(s)) {
		schedule_retry(s);
		return;
	}
	stop_begin(s, s->exit_code, NULL);
}

/* close the link, then wait for the transport to end */
static void stream_finish(struct outside *s)
{
	if (s->link) {
		struct tp_link_stats ls;

		tp_link_stats(s->link, &ls);
		s->bad_frames += ls.bad_frames;
		outside_status_link(s->status, NULL);
		tp_link_close(s->link);
		s->link = NULL;
	}
	for (size_t i = 0; i < TP_STRIPES_MAX - 1; i++) {
		tp_ssh_close(s->stripe_ssh[i]);
		s->stripe_ssh[i] = NULL;
	}
	/* the thread bounds its own wait for the remote's exit */
	if (tp_ssh_running(s->ssh))
		return; /* ssh_exit_cb comes back here */
	if (s->ssh) {
		tp_ssh_close(s->ssh);
		s->ssh = NULL;
	}
	if (s->exec && s->child_running) {
		tp_exec_kill(s->exec, SIGTERM);
		uv_timer_start(&s->child_timer, child_timer_cb, CHILD_KILL_MS,
			       0);
		return; /* exit_cb comes back here */
	}
	if (s->exec) {
		tp_exec_close(s->exec);
		s->exec = NULL;
	}
	uv_timer_stop(&s->child_timer);
	stream_done(s);
}

static void exec_exit_cb(struct tp_exec *x, int64_t status, int term_signal,
			 void *data)
{
	struct outside *s = data;
	char why[256];

	s->child_running = false;
	if (status || (term_signal && !s->stopping)) {
		if (term_signal)
			snprintf(why, sizeof(why),
				 "the command '%s' was killed by signal %d",
				 s->o->exec_cmd, term_signal);
		else
			snprintf(why, sizeof(why),
				 "the command '%s' exited with status %lld%s",
				 s->o->exec_cmd, (long long)status,
				 status == 127 ? " (command not found)" : "");
		if (!s->hello)
			set_failure(s, TG_EXIT_FAIL, why);
		else
			tg_info("%s", why);
	}
	if (s->ending && !s->link)
		stream_finish(s);
}

/* the SSH session is over; the stream sees EOF right after this */
static void ssh_exit_cb(struct tp_ssh *x, int status, const char *why,
			void *data)
{
	struct outside *s = data;

	/* the remote command ran and ended (not found, sudo refused, the
	 * inside failed): that is no network trouble to retry. A --via
	 * prefix that ends once the stream was up is another matter: a
	 * dropped `docker exec` ends as the inside would, and down_cb tells
	 * them apart by the inside's goodbye */
	if (status >= 0 && s->hello && s->o->transport == TG_TP_VIA)
		s->cause = 0;
	else
		s->cause = status < 0 ? status : 1;
	/* before the handshake every end is a failure; after it, a lost
	 * connection is, unless we were stopping anyway */
	if (why && (!s->hello || (status < 0 && !s->stopping)))
		set_failure(s, TG_EXIT_FAIL, why);
	else if (why)
		tg_info("%s", why);
	if (s->ending && !s->link)
		stream_finish(s);
}

static void ssh_prompt_cb(void *data, bool waiting)
{
	struct outside *s = data;

	if (s->link)
		tp_link_hold(s->link, waiting);
}

static int emit_cb(void *arg, const uint8_t *pkt, size_t len)
{
	struct outside *s = arg;
	int r;

	/* no stream, or not ready yet: hold on as if it were full */
	if (!s->link || s->link_down || !s->ready)
		return -ENOBUFS;
	r = tp_link_send(s->link, TP_F_PACKET, pkt, len);
	if (r == 0)
		outside_status_packet(s->status, pkt, len);
	return r;
}

/* TCP segments are built straight in the link's write buffer: one copy
 * less on the download path (nat.h, emit_reserve) */
static uint8_t *emit_reserve_cb(void *arg, size_t max)
{
	struct outside *s = arg;

	if (!s->link || s->link_down || !s->ready)
		return NULL;
	return tp_link_reserve(s->link, max);
}

static void emit_commit_cb(void *arg, const uint8_t *pkt, size_t len)
{
	struct outside *s = arg;

	tp_link_commit(s->link, TP_F_PACKET, len);
	outside_status_packet(s->status, pkt, len);
}

static void send_config(struct outside *s)
{
	static uint8_t buf[TP_FRAME_MAX];
	static struct tp_config v4; /* large: the route array */
	const struct tp_config *c = &s->cfg;
	int len;

	if (s->peer_no_ipv6) {
		v4 = s->cfg;
		tp_config_v4_only(&v4);
		c = &v4;
	}
	len = tp_config_encode(c, buf, sizeof(buf));
	if (len < 0 || tp_link_send(s->link, TP_F_CONFIG, buf, (size_t)len) < 0)
		stop_begin(s, TG_EXIT_FAIL,
			   "too many routes to offer in one handshake: "
			   "narrow them with --route CIDR");
}

static void hello_cb(struct tp_link *l, const struct tp_hello *peer)
{
	struct outside *s = tp_link_data(l);

	tg_info("connected to the inside (tungate %s)", peer->version);
	outside_status_hello(s->status, peer->version);
	outside_routes_stream(s->routes);
	s->hello = true;
	s->peer_no_ipv6 = peer->flags & TP_HELLO_NO_IPV6;
	if (s->peer_no_ipv6)
		tg_info("the inside has no IPv6: offering IPv4 only");
	send_config(s);
}

static void ssh_opts_fill(struct outside *s, struct tp_ssh_opts *so);

/* a stripe's SSH session ended: its stream sees EOF, the link decides */
static void stripe_exit_cb(struct tp_ssh *x, int status, const char *why,
			   void *data)
{
	if (why)
		tg_debug("stripe: %s", why);
}

/*
 * --stripes N: N - 1 more SSH connections, each starting an inside that
 * hands its stream to the one that runs the session. Opened once the
 * session is up, so that there is an inside to take them; each carries
 * frames once the inside has sent one on it.
 */
static void open_stripes(struct outside *s)
{
	struct tp_ssh_opts so;
	uv_stream_t *in, *out;

	if (s->striped || s->o->stripes < 2 || s->o->transport != TG_TP_SSH ||
	    tp_session_none(s->session))
		return;
	s->striped = true;
	ssh_opts_fill(s, &so);
	so.install = false;
	so.prompt_cb = NULL;
	for (unsigned i = 0; i + 1 < s->o->stripes; i++) {
		int r = tp_ssh_open(s->loop, &so, stripe_exit_cb, s, &in, &out,
				    &s->stripe_ssh[i]);

		if (r == 0)
			r = tp_link_add_stripe(s->link, in, out, false, NULL,
					       0);
		if (r < 0) {
			tg_warn("cannot open stripe %u: %s", i + 1,
				strerror(-r));
			break;
		}
	}
	tg_info("opening %u more SSH connections for --stripes %u",
		s->o->stripes - 1, s->o->stripes);
}

/* READY: the inside is up, resumed our session or started afresh */
static void on_ready(struct outside *s, const uint8_t *data, size_t len)
{
	struct tp_ready rd;
	bool resumed;
	size_t n;

	/* the inside may send READY at will: its lines are rate limited */
	if (tp_ready_decode(&rd, data, len) < 0) {
		tg_warn_rl("malformed READY",
			   "ignoring a malformed READY from the inside");
		return;
	}
	resumed = (rd.flags & TP_READY_RESUMED) &&
		  !tp_session_none(s->session) &&
		  !memcmp(rd.session, s->session, TP_SESSION_LEN);
	s->ready = s->was_up = true;
	if (s->outage) {
		s->outage = false;
		uv_timer_stop(&s->grace_timer);
		if (resumed) {
			s->resumes++;
			tg_info("session resumed after %.1f s: the "
				"connections carry on",
				(double)(uv_now(s->loop) - s->outage_ms) /
					1000);
			nat_resume(s->nat);
		} else if ((n = nat_reset(s->nat)) > 0) {
			tg_warn("the inside started a new session: %zu TCP "
				"connection%s reset",
				n, n == 1 ? "" : "s");
		}
		status_session(s);
	}
	tg_info_rl("READY", "inside is up%s: %s", resumed ? " again" : "",
		   rd.text);
	open_stripes(s);
	/* after the log line: tests and people read READY=1 as "it said so" */
	outside_status_ready(s->status, (const uint8_t *)rd.text,
			     strlen(rd.text));
	nat_out_ready(s->nat);
}

/* the offer changed: a second CONFIG updates the inside's routes */
static void routes_cb(void *arg)
{
	struct outside *s = arg;

	if (s->nat && nat_set_routes(s->nat, s->cfg.route_default,
				     s->cfg.routes, s->cfg.n_routes) < 0)
		tg_warn("out of memory: the NAT keeps the old routes");
	if (s->hello && s->link && !s->link_down && !s->stopping)
		send_config(s);
}

static void frame_cb(struct tp_link *l, uint8_t type, const uint8_t *data,
		     size_t len)
{
	struct outside *s = tp_link_data(l);

	switch (type) {
	case TP_F_PACKET:
		outside_status_packet(s->status, data, len);
		if (s->nat)
			nat_from_tun(s->nat, data, len);
		break;
	case TP_F_READY:
		if (s->nat)
			on_ready(s, data, len);
		break;
	default:
		tg_debug("ignoring frame type %u from the inside", type);
	}
}

static void drain_cb(struct tp_link *l)
{
	struct outside *s = tp_link_data(l);

	if (s->nat && s->ready)
		nat_out_ready(s->nat);
}

static void down_cb(struct tp_link *l, int err, const char *why)
{
	struct outside *s = tp_link_data(l);

	s->link_down = true;
	/* --via: the stream ended without the inside's goodbye, so the
	 * prefix was cut (or the inside killed): reconnect, maybe resume */
	if (!err && s->o->transport == TG_TP_VIA && s->hello && !s->stopping &&
	    !tp_link_goodbye_received(l)) {
		err = -ECONNRESET;
		why = "the stream ended without the inside's goodbye";
	}
	if (err && !s->cause)
		s->cause = err;
	if (err == -ECONNABORTED && tp_link_goodbye_received(l))
		s->inside_failed = true;
	if (s->stopping || s->ending) {
		if (err)
			tg_debug("while stopping: %s", why);
		stream_finish(s);
		return;
	}
	if (!err)
		tg_info("%s", why);
	stream_end(s, err ? TG_EXIT_FAIL : TG_EXIT_OK, err ? why : NULL);
}

static const struct tp_link_ops link_ops = {
	.hello_cb = hello_cb,
	.frame_cb = frame_cb,
	.drain_cb = drain_cb,
	.down_cb = down_cb,
};

static void signal_cb(uv_signal_t *h, int signum)
{
	struct outside *s = h->data;

	tg_info("stopping on %s", strsignal(signum));
	s->signalled = true;
	stop_begin(s, TG_EXIT_OK, NULL);
}

/* the routes of the CONFIG frame: --route prefixes, auto, or default */
static int build_config(struct outside *s)
{
	const struct tg_opts *o = s->o;
	struct tp_config *c = &s->cfg;
	struct tg_host_resolver hr;

	tg_host_resolver(&hr);
	c->mtu = o->mtu ? o->mtu : TG_DEFAULT_MTU;
	c->dns = o->dns != 0;
	if (c->dns && tg_rc_search_domains(hr.resolv_conf, c->search,
					   sizeof(c->search)) < 0)
		c->search[0] = '\0';
	memcpy(c->tun4, o->tun4, 4);
	memcpy(c->tun6, o->tun6, 16);
	memcpy(c->dns4, o->dns4, 4);
	memcpy(c->dns6, o->dns6, 16);
	s->routes = outside_routes_new(s->loop, o, c, routes_cb, s);
	return s->routes ? 0 : -1;
}

static struct nat *start_nat(struct outside *s)
{
	const struct tg_opts *o = s->o;
	struct nat_opts no = {
		.max_udp_flows = o->max_udp,
		.max_icmp_flows = o->max_icmp,
		.max_tcp_flows = o->max_tcp,
		.udp_idle_ms = o->udp_idle_ms,
		.max_buf_bytes = o->max_buf_bytes,
		.mtu = s->cfg.mtu,
		.route_default = s->cfg.route_default,
		.routes = s->cfg.routes,
		.n_routes = s->cfg.n_routes,
		.allow = o->allow,
		.n_allow = o->n_allow,
		.emit_reserve = emit_reserve_cb,
		.emit_commit = emit_commit_cb,
	};
	struct nat *n;

	if (s->cfg.dns) {
		struct dns_opts dopts = {
			.cache_entries = o->dns_cache,
			.max_pending = o->dns_pending,
			.tcp_buffer_bytes = o->dns_tcp_buf_bytes,
		};

		s->dns = outside_dns_new(s->loop, &no, &dopts, s->cfg.dns4,
					 s->cfg.dns6);
		if (!s->dns)
			return NULL;
	}
	n = nat_new(s->loop, &no, emit_cb, s);
	if (n && s->dns)
		outside_dns_attach(s->dns, n);
	/* before the loop runs: no packet sees the NAT without them */
	if (n && !(s->addrs = outside_addrs_new(s->loop, n))) {
		nat_close(n);
		return NULL;
	}
	return n;
}

static void ssh_opts_fill(struct outside *s, struct tp_ssh_opts *so)
{
	const struct tg_opts *o = s->o;

	*so = (struct tp_ssh_opts){
		.dest = o->via ? o->via : o->ssh_dest,
		.via = (const char *const *)o->via_words,
		.via_shell = o->via_shell > 0	? TP_VIA_SHELL_YES
			     : o->via_shell < 0 ? TP_VIA_SHELL_NO
						: TP_VIA_SHELL_AUTO,
		.config_file = o->ssh_config,
		.remote_cmd = o->remote_cmd,
		.accept_new = o->accept_new,
		.install = o->install,
		.install_binaries = o->install_binary,
		.timeout_ms = o->timeout_ms,
		.inside_args = o->inside_args,
		.prompt_cb = ssh_prompt_cb,
		.prompt_data = s,
	};
}

static int open_transport(struct outside *s, uv_stream_t **in,
			  uv_stream_t **out)
{
	const struct tg_opts *o = s->o;
	int r;

	switch (o->transport) {
	case TG_TP_STDIO:
		r = tp_stdio_open(s->loop, in, out);
		if (r < 0)
			tg_err("--stdio: cannot use stdin/stdout as the "
			       "stream: %s (they must be pipes, sockets or a "
			       "terminal)",
			       uv_strerror(r));
		return r;
	case TG_TP_EXEC:
		r = tp_exec_open(s->loop, o->exec_cmd, "remote", exec_exit_cb,
				 s, in, out, &s->exec);
		if (r < 0)
			tg_err("--exec: cannot start '%s': %s", o->exec_cmd,
			       uv_strerror(r));
		else
			s->child_running = true;
		return r;
	case TG_TP_SSH:
	case TG_TP_VIA: {
		struct tp_ssh_opts so;

		ssh_opts_fill(s, &so);
		r = tp_ssh_open(s->loop, &so, ssh_exit_cb, s, in, out,
				&s->ssh);
		if (r == -EINVAL && !o->via)
			tg_err("--ssh: '%s' is not [user@]host[:port] or a "
			       "Host alias",
			       o->ssh_dest);
		else if (r < 0)
			tg_err("%s: cannot start: %s", o->via ? "--via" : "--ssh",
			       uv_strerror(r));
		return r;
	}
	default:
		return -ENOSYS;
	}
}

static void log_summary(const struct nat_stats *ns, uint64_t bad_frames)
{
	tg_info("packets from the inside %llu, to the inside %llu; dropped: "
		"malformed %llu, unsupported %llu, refused %llu, stream full "
		"%llu, bad frames %llu; TCP refused: %llu full, %llu over "
		"--max-buffer",
		(unsigned long long)ns->pkts_in,
		(unsigned long long)ns->pkts_out,
		(unsigned long long)ns->malformed,
		(unsigned long long)ns->unsupported,
		(unsigned long long)ns->refused,
		(unsigned long long)ns->dropped_out,
		(unsigned long long)bad_frames,
		(unsigned long long)ns->tcp_refused_full,
		(unsigned long long)ns->tcp_refused_mem);
}

/* a new stream: the transport, then the link over it */
static void connect_stream(struct outside *s)
{
	uv_stream_t *in, *out;
	struct tp_link_opts lo = {
		.role = TP_ROLE_OUTSIDE,
		.timeout_ms = s->o->timeout_ms,
		.peer_name = "inside",
		.session = s->session,
	};

	s->link_down = s->hello = s->ready = s->ending = s->striped = false;
	s->inside_failed = false;
	s->child_running = false;
	s->cause = 0;
	if (open_transport(s, &in, &out) < 0) {
		/* bad arguments, or no resources: no retry helps */
		s->exit_code = s->o->transport == TG_TP_SSH ? TG_EXIT_USAGE
							    : TG_EXIT_FAIL;
		stop_begin(s, s->exit_code, NULL);
		return;
	}
	s->link = tp_link_new(s->loop, in, out, &link_ops, &lo, s);
	outside_status_link(s->status, s->link);
	if (!s->link || tp_link_start(s->link) < 0) {
		s->link_down = true;
		stream_end(s, TG_EXIT_FAIL, "cannot start the stream");
	}
}

static int run_loop(struct outside *s)
{
	int signums[3] = { SIGINT, SIGTERM, SIGHUP };

	if (build_config(s) < 0)
		return TG_EXIT_FAIL;
	s->nat = start_nat(s);
	if (!s->nat) {
		if (s->dns)
			outside_dns_close(s->dns);
		outside_routes_close(s->routes);
		tg_err("out of memory for the NAT tables: lower --max-*-flows");
		return TG_EXIT_FAIL;
	}
	for (size_t i = 0; i < 3; i++) {
		uv_signal_init(s->loop, &s->sig[i]);
		s->sig[i].data = s;
		uv_signal_start(&s->sig[i], signal_cb, signums[i]);
	}
	uv_timer_init(s->loop, &s->child_timer);
	uv_timer_init(s->loop, &s->retry_timer);
	uv_timer_init(s->loop, &s->grace_timer);
	s->child_timer.data = s->retry_timer.data = s->grace_timer.data = s;
	new_session(s);
	s->status = outside_status_new(s->loop, s->o, &s->cfg, s->nat, s->dns);
	if (!s->status)
		stop_begin(s, TG_EXIT_FAIL, NULL);
	else {
		status_session(s);
		connect_stream(s);
	}
	uv_run(s->loop, UV_RUN_DEFAULT);
	return s->exit_code;
}

int tg_outside_run(const struct tg_opts *o)
{
	static struct outside s; /* large: the config's route array */
	uv_loop_t loop;
	int code;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.loop = &loop;
	if (uv_loop_init(&loop) < 0) {
		tg_err("cannot start the event loop");
		return TG_EXIT_FAIL;
	}
	code = run_loop(&s);
	if (uv_loop_close(&loop) != 0)
		tg_debug("event loop closed with handles still open");
	tg_ratelimit_flush_due(true);
	if (code && s.why[0])
		tg_err("%s", s.why);
	return code;
}
