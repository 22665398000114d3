/* SPDX-License-Identifier: MIT */
/*
 * outside.c - `tungate outside`: the developer's machine's side.
 *
 * Theory of operation: one libuv loop. The transport (stdio or a child's
 * stdio) gives two streams; the link speaks the frame protocol over them.
 * When the inside's HELLO arrives we send CONFIG (routes, addresses, MTU);
 * from then on every PACKET frame goes into the NAT, and every packet the
 * NAT builds goes back as a PACKET frame. When the link's write buffer is
 * full the NAT is told (-ENOBUFS) and resumes on drain_cb.
 *
 * Shutdown is one path whatever the cause (signal, peer gone, error):
 * stop_begin() closes the NAT, says goodbye if the link is still up, then
 * closes the link, then ends the child (SIGTERM, SIGKILL after 2 s), and
 * the loop runs dry. The one line that explains a failure is printed last,
 * after the loop, so it is the last thing the user sees.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "link.h"
#include "log.h"
#include "nat.h"
#include "outside_dns.h"
#include "outside_status.h"
#include "notify.h"
#include "outside_routes.h"
#include "ssh.h"
#include "stream.h"
#include "tun.h"
#include "tungate.h"

#define CHILD_KILL_MS 2000

struct outside {
	uv_loop_t *loop;
	const struct tg_opts *o;
	struct tp_link *link;
	struct nat *nat;
	struct outside_dns *dns;
	struct outside_routes *routes;
	struct outside_status *status;
	struct tp_exec *exec;
	struct tp_ssh *ssh;
	uv_signal_t sig[3];
	uv_timer_t child_timer;
	struct tp_config cfg;
	bool stopping, link_down, hello, child_running;
	bool signalled;	/* stopped by the user: never reconnect */
	int cause;	/* -errno that ended the session, for reconnecting */
	int exit_code;
	char why[512];
	int64_t child_status;
	int child_signal;
};

static void finish(struct outside *s);
static void log_summary(const struct nat_stats *ns, uint64_t bad_frames);

static void set_failure(struct outside *s, int code, const char *why)
{
	if (s->exit_code || !why)
		return;
	s->exit_code = code;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

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
		if (ns.pkts_in || ns.pkts_out || ls.bad_frames)
			log_summary(&ns, ls.bad_frames);
		nat_close(s->nat);
		s->nat = NULL;
	}
	if (s->dns) {
		outside_dns_close(s->dns);
		s->dns = NULL;
	}
	outside_routes_close(s->routes);
	s->routes = NULL;
	if (s->link && !s->link_down)
		tp_link_goodbye(s->link, code != 0,
				code ? why : "the outside is stopping");
	else
		finish(s);
}

static void child_timer_cb(uv_timer_t *t)
{
	struct outside *s = t->data;

	if (s->child_running) {
		tg_warn("the command did not exit after SIGTERM; killing it");
		tp_exec_kill(s->exec, SIGKILL);
	}
}

/* the link is down or closed: end the child, then the rest */
static void finish(struct outside *s)
{
	outside_status_close(s->status, NULL);
	s->status = NULL;
	outside_routes_close(s->routes);
	s->routes = NULL;
	if (s->link) {
		tp_link_close(s->link);
		s->link = NULL;
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
	uv_close((uv_handle_t *)&s->child_timer, NULL);
	for (size_t i = 0; i < 3; i++)
		if (!uv_is_closing((uv_handle_t *)&s->sig[i]))
			uv_close((uv_handle_t *)&s->sig[i], NULL);
}

static void exec_exit_cb(struct tp_exec *x, int64_t status, int term_signal,
			 void *data)
{
	struct outside *s = data;
	char why[256];

	s->child_running = false;
	s->child_status = status;
	s->child_signal = term_signal;
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
	if (s->stopping && !s->link)
		finish(s);
}

/* the SSH session is over; the stream sees EOF right after this */
static void ssh_exit_cb(struct tp_ssh *x, int status, const char *why,
			void *data)
{
	struct outside *s = data;

	/* the remote command ran and ended (not found, sudo refused, the
	 * inside failed): that is no network trouble to retry */
	s->cause = status < 0 ? status : 1;
	/* before the handshake every end is a failure; after it, a lost
	 * connection is, unless we were stopping anyway */
	if (why && (!s->hello || (status < 0 && !s->stopping)))
		set_failure(s, TG_EXIT_FAIL, why);
	else if (why)
		tg_info("%s", why);
	if (s->stopping && !s->link)
		finish(s);
}

static int emit_cb(void *arg, const uint8_t *pkt, size_t len)
{
	struct outside *s = arg;

	int r;

	if (!s->link || s->link_down)
		return -EPIPE;
	r = tp_link_send(s->link, TP_F_PACKET, pkt, len);
	if (r == 0)
		outside_status_packet(s->status, pkt, len);
	return r;
}

static void send_config(struct outside *s)
{
	static uint8_t buf[TP_FRAME_MAX];
	int len;

	len = tp_config_encode(&s->cfg, buf, sizeof(buf));
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
	send_config(s);
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
		tg_info("inside is up: %.*s", (int)len, (const char *)data);
		outside_status_ready(s->status, data, len);
		break;
	default:
		tg_debug("ignoring frame type %u from the inside", type);
	}
}

static void drain_cb(struct tp_link *l)
{
	struct outside *s = tp_link_data(l);

	if (s->nat)
		nat_out_ready(s->nat);
}

static void down_cb(struct tp_link *l, int err, const char *why)
{
	struct outside *s = tp_link_data(l);

	s->link_down = true;
	if (err && !s->cause)
		s->cause = err;
	if (s->stopping) {
		if (err)
			tg_debug("while stopping: %s", why);
		finish(s);
		return;
	}
	if (!err)
		tg_info("%s", why);
	stop_begin(s, err ? TG_EXIT_FAIL : TG_EXIT_OK, err ? why : NULL);
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

	c->mtu = o->mtu ? o->mtu : TG_DEFAULT_MTU;
	c->dns = o->dns != 0;
	if (c->dns && dns_search_domains("/etc/resolv.conf", c->search,
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
	};
	struct nat *n;

	if (s->cfg.dns) {
		struct dns_opts dopts = {
			.cache_entries = o->dns_cache,
			.max_pending = o->dns_pending,
		};

		s->dns = outside_dns_new(s->loop, &no, &dopts, s->cfg.dns4,
					 s->cfg.dns6);
		if (!s->dns)
			return NULL;
	}
	n = nat_new(s->loop, &no, emit_cb, s);
	if (n && s->dns)
		outside_dns_attach(s->dns, n);
	return n;
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
	case TG_TP_SSH: {
		struct tp_ssh_opts so = {
			.dest = o->ssh_dest,
			.config_file = o->ssh_config,
			.remote_cmd = o->remote_cmd,
			.accept_new = o->accept_new,
			.install = o->install,
			.install_binary = o->install_binary,
			.timeout_ms = o->timeout_ms,
		};

		r = tp_ssh_open(s->loop, &so, ssh_exit_cb, s, in, out,
				&s->ssh);
		if (r == -EINVAL)
			tg_err("--ssh: '%s' is not [user@]host[:port] or a "
			       "Host alias",
			       o->ssh_dest);
		else if (r < 0)
			tg_err("--ssh: cannot start: %s", uv_strerror(r));
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

static int run_loop(struct outside *s)
{
	uv_stream_t *in, *out;
	int signums[3] = { SIGINT, SIGTERM, SIGHUP };
	struct tp_link_opts lo = {
		.role = TP_ROLE_OUTSIDE,
		.timeout_ms = s->o->timeout_ms,
		.peer_name = "inside",
	};

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
	s->child_timer.data = s;
	s->status = outside_status_new(s->loop, s->o, &s->cfg, s->nat, s->dns);
	if (!s->status) {
		stop_begin(s, TG_EXIT_FAIL, NULL);
		uv_run(s->loop, UV_RUN_DEFAULT);
		return TG_EXIT_FAIL;
	}
	if (open_transport(s, &in, &out) < 0) {
		s->stopping = true;
		nat_close(s->nat);
		s->nat = NULL;
		finish(s);
		uv_run(s->loop, UV_RUN_DEFAULT);
		return s->o->transport == TG_TP_SSH ? TG_EXIT_USAGE
						    : TG_EXIT_FAIL;
	}
	s->link = tp_link_new(s->loop, in, out, &link_ops, &lo, s);
	outside_status_link(s->status, s->link);
	if (!s->link || tp_link_start(s->link) < 0) {
		s->link_down = true;
		stop_begin(s, TG_EXIT_FAIL, "cannot start the stream");
	}
	uv_run(s->loop, UV_RUN_DEFAULT);
	return s->exit_code;
}

/* one session: a transport, a link, a NAT, until the stream ends */
static int run_session(struct outside *s, const struct tg_opts *o)
{
	uv_loop_t loop;
	int code;

	memset(s, 0, sizeof(*s));
	s->o = o;
	s->loop = &loop;
	if (uv_loop_init(&loop) < 0) {
		tg_err("cannot start the event loop");
		return TG_EXIT_FAIL;
	}
	code = run_loop(s);
	if (uv_loop_close(&loop) != 0)
		tg_debug("event loop closed with handles still open");
	return code;
}

/*
 * Worth another try: the network or the far end went away, as it does
 * when a laptop sleeps or changes networks. A refused login, a changed
 * host key, a version mismatch or an inside that failed are not.
 */
static bool should_reconnect(const struct outside *s)
{
	if (s->o->transport != TG_TP_SSH || s->o->once || s->signalled ||
	    !s->exit_code)
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

static void wait_signal_cb(uv_signal_t *h, int signum)
{
	*(int *)h->data = signum;
	uv_stop(h->loop);
}

static void wait_timer_cb(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* sleep @ms; false if a signal asked us to stop meanwhile */
static bool backoff_wait(uint64_t ms)
{
	int signums[3] = { SIGINT, SIGTERM, SIGHUP }, got = 0;
	struct tg_watchdog *wd;
	uv_signal_t sig[3];
	uv_timer_t timer;
	uv_loop_t loop;

	if (uv_loop_init(&loop) < 0)
		return false;
	wd = tg_watchdog_start(&loop); /* systemd's, while we wait */
	for (size_t i = 0; i < 3; i++) {
		uv_signal_init(&loop, &sig[i]);
		sig[i].data = &got;
		uv_signal_start(&sig[i], wait_signal_cb, signums[i]);
	}
	uv_timer_init(&loop, &timer);
	uv_timer_start(&timer, wait_timer_cb, ms, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < 3; i++)
		uv_close((uv_handle_t *)&sig[i], NULL);
	uv_close((uv_handle_t *)&timer, NULL);
	tg_watchdog_stop(wd);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (got)
		tg_info("stopping on %s", strsignal(got));
	return !got;
}

int tg_outside_run(const struct tg_opts *o)
{
	static struct outside s; /* large: the config's route array */
	unsigned attempt = 0;
	uint64_t delay;
	int code;

	for (;;) {
		code = run_session(&s, o);
		if (!should_reconnect(&s))
			break;
		/* a session that came up starts the backoff afresh */
		if (s.hello)
			attempt = 0;
		/* 1 s doubling to 30 s, with up to 25% jitter so that many
		 * laptops waking at once do not reconnect in step */
		delay = 1000ull << (attempt < 5 ? attempt : 5);
		if (delay > 30000)
			delay = 30000;
		delay += (uint64_t)(rand() % (int)(delay / 4 + 1));
		attempt++;
		tg_warn("%s; reconnecting in %.1f s (attempt %u)", s.why,
			(double)delay / 1000, attempt);
		tg_notify_send("STATUS=%s; reconnecting in %.1f s", s.why,
			       (double)delay / 1000);
		if (!backoff_wait(delay))
			return TG_EXIT_OK;
	}
	if (code && s.why[0])
		tg_err("%s", s.why);
	return code;
}
