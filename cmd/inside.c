/* SPDX-License-Identifier: MIT */
/*
 * inside.c - `tungate inside`: the container's side (Linux, root).
 *
 * Theory of operation: the stream is stdin/stdout. Nothing is touched
 * until the outside's CONFIG frame arrives: then the state directory is
 * checked (root's alone, check_state_dir()), leftovers of an earlier
 * run that died are removed (state file), the TUN device is created and
 * the policy routing installed (tun/), and READY goes back. From then on
 * packets read from the TUN device are written straight into the link's
 * write buffer (tp_link_reserve, no copy), up to a batch per wake-up, and
 * PACKET frames are written to the TUN device from the link's read buffer.
 * When the stream is congested the TUN device is no longer polled, so the
 * kernel's queue, not ours, absorbs the burst.
 *
 * A later CONFIG frame is the outside's new offer (its routes changed):
 * tun_update() installs what is new and removes what was withdrawn.
 *
 * The stream must never enter the tunnel it carries: the keep list
 * (inside_keep.c, the SSH client found by inside_proc.c) is part of every
 * plan. Flags given to the inside win over the outside's offer
 * (inside_opts.c); resolv.conf is pointed at the tunnel once the routes
 * are up and given back on every exit (inside_resolv.c).
 *
 * Session resume: an outside that can reconnect (--ssh) names a session
 * in its HELLO. Once up, we listen for the next stream of that session
 * (inside_resume.c). A stream that breaks without a GOODBYE then ends
 * nothing: we stop reading the TUN device, keep device, routes and
 * resolv.conf, and wait --grace seconds. The inside that sshd starts for
 * the reconnected outside finds us in its HELLO callback and hands us its
 * stream (hand_off(), before it has touched anything), then stays alive
 * while we use it, since sshd stops feeding a stream whose command has
 * exited. We carry on over the new stream (take_stream()) and answer its
 * CONFIG with a READY that says "resumed". An offer of another session
 * means the outside was restarted: we clean up and the new inside starts
 * afresh.
 *
 * The session's flags, checked by assert() where they change: configured
 * is set by the first CONFIG and never cleared (nothing is installed
 * before it); waiting is set when the stream of a resumable session
 * breaks (there is no stream then, and the grace timer runs only while
 * it is set) and cleared when a new stream is taken; stopping is set
 * once, by stop_begin() or a hand-off, together with the closing of the
 * resume listener, so no offer arrives after it, and finish() runs only
 * once it is set.
 *
 * Every exit path (goodbye, EOF, a signal, an error, the grace period
 * running out) goes through stop_begin() and then inside_cleanup(): first
 * a RST into the device for each TCP connection of the container that
 * went through it (tun/track.c keeps their sequence numbers), so that
 * applications see a reset rather than a hang; then what tun_install()
 * added is removed, by its own identity, before the device is closed.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "cmd/inside_internal.h"
#include "cmd/inside_resume.h"
#include "cmd/tungate.h"
#include "lib/log.h"
#include "transport/config.h"
#include "transport/link.h"
#include "transport/stream.h"
#include "tun/track.h"
#include "tun/tun.h"

#define TUN_BATCH 64
#define RST_SETTLE_US 20000 /* for the kernel to take the RSTs in */

static int tun_write_fn(void *arg, const uint8_t *pkt, size_t len)
{
	struct inside *s = arg;

	return (int)write(s->tun_fd, pkt, len);
}

/* the tunnel is going away: its connections end with a RST, not a hang */
static void reset_connections(struct inside *s)
{
	size_t n;

	if (!s->track || s->tun_fd < 0 || !s->st)
		return;
	n = tun_track_reset_all(s->track, tun_write_fn, s);
	if (!n)
		return;
	tg_info("reset %zu TCP connection%s of this container that went "
		"through %s",
		n, n == 1 ? "" : "s", s->ifname);
	usleep(RST_SETTLE_US);
}

static void inside_cleanup(struct inside *s)
{
	int r;

	inside_resume_close(s->resume);
	s->resume = NULL;
	reset_connections(s);
	inside_resolv_stop(s);

	if (s->poll_init && !uv_is_closing((uv_handle_t *)&s->tun_poll))
		uv_close((uv_handle_t *)&s->tun_poll, NULL);
	if (s->st) {
		r = tun_uninstall(s->st);
		s->st = NULL;
		if (r < 0)
			tg_warn("removing the routes of %s: %s", s->ifname,
				strerror(-r));
		else
			tg_info("removed the routes and rules of %s",
				s->ifname);
	}
	if (s->tun_fd >= 0) {
		close(s->tun_fd);
		s->tun_fd = -1;
	}
}

/* the stream is no more: the process that passed it to us may end */
static void close_stream(struct inside *s)
{
	if (s->link) {
		tp_link_close(s->link);
		s->link = NULL;
	}
	if (s->stream_conn >= 0) {
		close(s->stream_conn);
		s->stream_conn = -1;
	}
	for (size_t i = 0; i < TP_STRIPES_MAX; i++) {
		if (s->stripe_conn[i] >= 0)
			close(s->stripe_conn[i]);
		s->stripe_conn[i] = -1;
	}
}

static void finish(struct inside *s)
{
	assert(s->stopping);
	inside_cleanup(s);
	close_stream(s);
	for (size_t i = 0; i < 3; i++)
		if (!uv_is_closing((uv_handle_t *)&s->sig[i]))
			uv_close((uv_handle_t *)&s->sig[i], NULL);
	if (s->grace_init && !uv_is_closing((uv_handle_t *)&s->grace_timer))
		uv_close((uv_handle_t *)&s->grace_timer, NULL);
}

static void stop_begin(struct inside *s, int code, const char *why)
{
	if (s->stopping)
		return;
	s->stopping = true;
	if (code && !s->exit_code) {
		s->exit_code = code;
		snprintf(s->why, sizeof(s->why), "%s", why);
	}
	/* routes first: from here on the container routes as before */
	inside_cleanup(s);
	if (s->link && !s->link_down)
		tp_link_goodbye(s->link, code != 0,
				code ? why : "the inside is stopping");
	else
		finish(s);
}

static void tun_poll_cb(uv_poll_t *h, int status, int events)
{
	struct inside *s = h->data;
	uint32_t mtu = s->cfg.mtu;

	if (status < 0) {
		stop_begin(s, TG_EXIT_FAIL, "the TUN device failed");
		return;
	}
	for (int i = 0; i < TUN_BATCH; i++) {
		uint8_t *p = s->link ? tp_link_reserve(s->link, mtu) : NULL;
		ssize_t n;

		if (!p) {
			/* stream full: let the kernel queue hold packets */
			uv_poll_stop(h);
			s->polling = false;
			return;
		}
		n = read(s->tun_fd, p, mtu);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (s->track)
			tun_track_out(s->track, p, (size_t)n);
		tp_link_commit(s->link, TP_F_PACKET, (size_t)n);
	}
}

static void drain_cb(struct tp_link *l)
{
	struct inside *s = tp_link_data(l);

	if (s->poll_init && !s->polling && !s->stopping) {
		uv_poll_start(&s->tun_poll, UV_READABLE, tun_poll_cb);
		s->polling = true;
	}
}

static void write_tun(struct inside *s, const uint8_t *pkt, size_t len)
{
	if (s->tun_fd < 0)
		return;
	if (s->track)
		tun_track_in(s->track, pkt, len);
	/* a full TUN queue drops, as a congested router would: TCP recovers */
	if (write(s->tun_fd, pkt, len) < 0) {
		s->tun_write_drops++;
		tg_trace("TUN write of %zu bytes: %s", len, strerror(errno));
	}
}

static void warn_cb(void *arg, const char *line)
{
	(void)arg;
	tg_warn("%s", line);
}

/** inside_errno_hint() - see inside_internal.h */
int inside_errno_hint(int r, char *why, size_t cap, const char *what)
{
	const char *hint = "";

	if (r == -EPERM || r == -EACCES)
		hint = ": run the inside as root (sudo -n tungate inside "
		       "--stdio)";
	else if (r == -EBUSY)
		hint = ": another tungate inside is running with this device; "
		       "give this one another --tun NAME";
	else if (r == -EEXIST)
		hint = ": another tungate may be running; pick --tun NAME, "
		       "--table N and --pref N";
	snprintf(why, cap, "%s: %s%s", what, strerror(-r), hint);
	return r;
}

/* where a waiting inside listens for the next stream of its session */
static int resume_path(const char *ifname, char *buf, size_t cap)
{
	return tun_state_file(ifname, ".sock", buf, cap);
}

/* the tunnel's own addresses must be free: one line naming the flag */
static int check_addrs(const struct tun_plan *plan, char *why, size_t cap)
{
	struct tun_conflict c;
	char a[INET6_ADDRSTRLEN], w[TG_PREFIX_STRLEN], on[IFNAMSIZ + 8] = "";
	bool dns;
	int r = tun_check_addrs(plan, &c);

	if (r <= 0)
		return r < 0 ? inside_errno_hint(r, why, cap,
						 "cannot read this container's "
						 "addresses")
			     : 0;
	dns = c.kind == TUN_CONFLICT_DNS;
	inet_ntop(c.addr.family, c.addr.addr, a, sizeof(a));
	if (c.dev[0])
		snprintf(on, sizeof(on), " (%s %s)",
			 c.within.family ? "via" : "on", c.dev);
	if (c.within.family)
		snprintf(why, cap,
			 "the tunnel's DNS address %s lies inside %s, which "
			 "this container routes itself%s: choose another with "
			 "--dns-addr, or use --no-dns",
			 a, tg_prefix_str(&c.within, w), on);
	else
		snprintf(why, cap,
			 "%s %s is already an address of this container%s: "
			 "choose another with %s",
			 dns ? "the tunnel's DNS address" : "the TUN address",
			 a, on, dns ? "--dns-addr" : "--tun-addr");
	return -EADDRINUSE;
}

/*
 * An earlier inside still holds the device: its outside reconnected (the
 * old stream is dead but its keepalive has not said so yet). The newest
 * outside wins: the old inside is asked to stop, and cleans up itself.
 * Blocking here is bounded and happens once, before any traffic.
 */
static int take_over(const char *ifname, int *removed)
{
	long pid = 0;
	int r = -EBUSY;

	if (tun_state_owner(ifname, &pid) < 0 || pid == getpid() ||
	    kill((pid_t)pid, SIGTERM) < 0)
		return -EBUSY;
	tg_warn("an earlier inside (pid %ld) still holds %s: stopping it, "
		"this one takes over",
		pid, ifname);
	for (int i = 0; i < 100 && r == -EBUSY; i++) {
		usleep(50 * 1000);
		r = tun_recover(ifname, removed);
	}
	return r;
}

/*
 * What the container itself must change gets a line of its own, naming the
 * fix where it is made (docker run, devcontainer.json, a pod's spec), before
 * anything is touched: the outside shows it and does not retry.
 */
static int check_container(char *why, size_t cap)
{
	int r = tun_net_admin();

	if (r != 0)
		return r < 0 ? inside_errno_hint(r, why, cap,
						 "cannot read this process's "
						 "capabilities")
			     : 0;
	if (geteuid() != 0)
		snprintf(why, cap,
			 "the inside must run as root, with CAP_NET_ADMIN: "
			 "run it with sudo -n tungate inside --stdio");
	else
		snprintf(why, cap,
			 "this container does not give root CAP_NET_ADMIN, "
			 "which the TUN device and its routes need: start it "
			 "with --cap-add NET_ADMIN (devcontainer.json: "
			 "\"capAdd\": [\"NET_ADMIN\"]; a pod: "
			 "securityContext.capabilities.add: [\"NET_ADMIN\"])");
	return -EPERM;
}

#define TUN_DEVICE_FIX                                             \
	"start it with --device /dev/net/tun (devcontainer.json: " \
	"\"runArgs\": [\"--device=/dev/net/tun\"])"

static int open_error(struct inside *s, int r, char *why, size_t cap)
{
	char what[96];

	if (r == -ENOENT)
		snprintf(why, cap,
			 "this container has no /dev/net/tun: " TUN_DEVICE_FIX);
	else if (r == -EACCES && geteuid() == 0)
		snprintf(why, cap,
			 "this container may not open "
			 "/dev/net/tun: " TUN_DEVICE_FIX);
	else if (r == -ENODEV || r == -ENXIO)
		snprintf(why, cap,
			 "/dev/net/tun has no driver behind it: this "
			 "kernel lacks TUN (modprobe tun on the host)");
	else {
		snprintf(what, sizeof(what), "cannot create TUN device %s",
			 s->o->tun_name);
		return inside_errno_hint(r, why, cap, what);
	}
	return r;
}

/*
 * Root writes, reads and deletes files in the state directory by name:
 * one that another user owns or may write into, or a symbolic link to
 * elsewhere, would let that user aim those writes at any file. Refused
 * before anything is touched, in one line that says what to do.
 */
static int check_state_dir(char *why, size_t cap)
{
	struct stat st;
	char what[64] = "";
	int r = tun_state_dir(&st);

	if (r == -ELOOP)
		snprintf(what, sizeof(what), "is a symbolic link");
	else if (r == -ENOTDIR)
		snprintf(what, sizeof(what), "is not a directory");
	else if (r == -EPERM)
		snprintf(what, sizeof(what), "is owned by uid %ju, not root",
			 (uintmax_t)st.st_uid);
	else if (r == -EACCES)
		snprintf(what, sizeof(what), "has mode %04o, not 0700",
			 (unsigned)(st.st_mode & 07777));
	else if (r < 0)
		return inside_errno_hint(r, why, cap,
					 "cannot make " TUN_STATE_DIR);
	if (r < 0)
		snprintf(why, cap,
			 "refusing the state directory " TUN_STATE_DIR
			 ": it %s (it must be root's, mode 0700: remove it "
			 "and tungate makes it so)",
			 what);
	return r;
}

static int bring_up(struct inside *s, char *why, size_t cap)
{
	struct tun_plan plan;
	int removed = 0, r;
	char what[96];

	r = check_container(why, cap);
	if (r == 0)
		r = check_state_dir(why, cap);
	if (r < 0)
		return r;
	r = tun_recover(s->o->tun_name, &removed);
	if (r == -EBUSY)
		r = take_over(s->o->tun_name, &removed);
	if (r < 0)
		return inside_errno_hint(r, why, cap,
					 "cannot clean up an earlier run");
	if (removed)
		tg_warn("removed %d leftover item%s of an earlier run that "
			"did not clean up",
			removed, removed == 1 ? "" : "s");
	if (s->no_ipv6)
		tg_info("IPv6 is disabled in this container (%s): setting "
			"up IPv4 only",
			s->no_ipv6);
	inside_keep_build(s);
	inside_plan_fill(s, &plan);
	r = check_addrs(&plan, why, cap);
	if (r < 0)
		return r;
	r = tun_open(s->o->tun_name, s->ifname, &s->tun_fd);
	if (r < 0)
		return open_error(s, r, why, cap);
	r = tun_install(&plan, warn_cb, s, &s->st);
	snprintf(what, sizeof(what), "cannot install the routes of %s",
		 s->ifname);
	if (r < 0)
		return inside_errno_hint(r, why, cap, what);
	return inside_resolv_start(s, why, cap);
}

/* a later CONFIG: the outside's offer changed */
static void on_update(struct inside *s, const uint8_t *data, size_t len)
{
	static struct tp_config c; /* large: the route array */
	struct tun_plan plan;
	size_t added, removed;
	int r;

	if (tp_config_decode(&c, data, len) < 0) {
		tg_warn("ignoring a malformed route update from the outside");
		return;
	}
	/* an outside older than the HELLO flag offers IPv6 all the same */
	if (s->no_ipv6)
		tp_config_v4_only(&c);
	if (!s->st)
		return;
	/* --route given here wins over the offer; the stream's own path
	 * (a resumed stream may come from a new address) still applies */
	if (inside_offer_routes(s->o, &s->cfg, &c))
		tg_debug("ignoring the outside's new routes: --route given "
			 "here");
	s->cfg.n_keep = c.n_keep;
	memcpy(s->cfg.keep, c.keep, c.n_keep * sizeof(c.keep[0]));
	inside_keep_build(s);
	inside_plan_fill(s, &plan);
	r = tun_update(s->st, &plan, warn_cb, s, &added, &removed);
	if (r < 0)
		tg_warn("cannot apply the outside's new routes: %s",
			strerror(-r));
	else if (added || removed)
		tg_info("routes updated: %zu added, %zu removed; %zu routed "
			"through %s",
			added, removed, tun_installed_routes(s->st), s->ifname);
}

static void send_ready(struct inside *s, bool resumed)
{
	struct tp_ready rd = {.flags = resumed ? TP_READY_RESUMED : 0};
	uint8_t buf[sizeof(rd) + 8];
	int n;

	memcpy(rd.session, s->session, TP_SESSION_LEN);
	snprintf(rd.text, sizeof(rd.text), "%s up, mtu %u, %zu route%s%s",
		 s->ifname, s->cfg.mtu, tun_installed_routes(s->st),
		 tun_installed_routes(s->st) == 1 ? "" : "s",
		 s->cfg.route_default ? " (default)" : "");
	n = tp_ready_encode(&rd, buf, sizeof(buf));
	if (n > 0 && tp_link_send(s->link, TP_F_READY, buf, (size_t)n) == 0)
		s->ready_sent = true;
	if (!resumed)
		tg_info("%s", rd.text);
}

static int offer_cb(void *arg, struct resume_offer *o);

/* a session the outside can resume: wait for its next stream here */
static void resume_listen(struct inside *s)
{
	char path[128], id[TP_SESSION_STRLEN];
	int r;

	if (!s->o->grace_ms || tp_session_none(s->peer_session))
		return;
	memcpy(s->session, s->peer_session, TP_SESSION_LEN);
	r = resume_path(s->o->tun_name, path, sizeof(path));
	if (r == 0)
		r = inside_resume_listen(s->loop, path, offer_cb, s,
					 &s->resume);
	if (r < 0) {
		tg_warn("cannot wait for resumed streams (%s): a dropped "
			"stream ends this session",
			strerror(-r));
		return;
	}
	tg_debug("session %s: a dropped stream waits %u s to resume",
		 tp_session_str(s->session, id), s->o->grace_ms / 1000);
}

static void on_config(struct inside *s, const uint8_t *data, size_t len)
{
	char why[400];
	int r;

	assert(!s->stopping); /* frame_cb drops frames once stopping */
	if (s->configured) {
		on_update(s, data, len);
		/* the first CONFIG on a resumed stream */
		if (!s->ready_sent)
			send_ready(s, true);
		return;
	}
	/* the first CONFIG: nothing is installed or listening yet */
	assert(!s->st && s->tun_fd < 0 && !s->resume);
	s->configured = true;
	if (tp_config_decode(&s->cfg, data, len) < 0) {
		stop_begin(s, TG_EXIT_FAIL,
			   "the outside's configuration is malformed: use the "
			   "same tungate version on both sides");
		return;
	}
	inside_apply_overrides(s->o, &s->cfg);
	if (s->no_ipv6)
		tp_config_v4_only(&s->cfg);
	r = bring_up(s, why, sizeof(why));
	if (r < 0) {
		stop_begin(s, TG_EXIT_FAIL, why);
		return;
	}
	uv_poll_init(s->loop, &s->tun_poll, s->tun_fd);
	s->tun_poll.data = s;
	s->poll_init = true;
	uv_poll_start(&s->tun_poll, UV_READABLE, tun_poll_cb);
	s->polling = true;
	/* without it the container's connections would hang when we stop */
	s->track = tun_track_new(0);
	resume_listen(s);
	send_ready(s, false);
}

static void frame_cb(struct tp_link *l, uint8_t type, const uint8_t *data,
		     size_t len)
{
	struct inside *s = tp_link_data(l);

	if (s->stopping)
		return;
	if (type == TP_F_PACKET)
		write_tun(s, data, len);
	else if (type == TP_F_CONFIG)
		on_config(s, data, len);
	else
		tg_debug("ignoring frame type %u from the outside", type);
}

/*
 * The outside reconnected and sshd started us: if an inside waits with
 * this session, it takes our stream and we are done. Nothing has been
 * touched yet, so there is nothing to clean up.
 */
static bool hand_off(struct inside *s, struct tp_link *l)
{
	struct resume_offer o = {.pid = getpid(), .fd_err = STDERR_FILENO};
	char path[128], id[TP_SESSION_STRLEN];
	const uint8_t *rest;
	long pid = 0;
	int r;

	/* a state directory not root's alone: bring_up() refuses it */
	if (!s->can_hand_off || !s->o->grace_ms ||
	    tp_session_none(s->peer_session) || tun_state_dir(NULL) < 0 ||
	    resume_path(s->o->tun_name, path, sizeof(path)) < 0)
		return false;
	r = tp_link_detach(l, &o.fd_in, &o.fd_out, &rest, &o.rest_len);
	if (r < 0) {
		tg_warn("cannot pass this stream on (%s): starting afresh",
			strerror(-r));
		return false;
	}
	memcpy(o.session, s->peer_session, TP_SESSION_LEN);
	o.ssh_client = s->ssh_client;
	o.stripe = s->peer_stripe;
	o.rest = (uint8_t *)rest;
	r = inside_resume_offer(path, &o, &pid, &s->handed_conn);
	tp_session_str(s->peer_session, id);
	if (r == 0 && s->peer_stripe) {
		tg_info("handed a stripe of session %s to the inside (pid %ld)",
			id, pid);
		return true;
	}
	if (s->peer_stripe)
		return false;
	if (r == -ESRCH)
		tg_info("the inside (pid %ld) that waited on %s had another "
			"session: it stops, this one starts session %s",
			pid, s->o->tun_name, id);
	else if (r < 0 && r != -ENOENT && r != -ECONNREFUSED)
		tg_warn("cannot hand the stream to the waiting inside: %s; "
			"starting afresh",
			strerror(-r));
	else if (r < 0)
		tg_debug("no inside waits on %s: a new session", path);
	if (r < 0)
		return false;
	tg_info("handed the stream to the inside (pid %ld) that resumes "
		"session %s; this process stays until it is done with it",
		pid, id);
	return true;
}

static void hello_cb(struct tp_link *l, const struct tp_hello *peer)
{
	struct inside *s = tp_link_data(l);

	tg_debug("connected to the outside (tungate %s)", peer->version);
	memcpy(s->peer_session, peer->session, TP_SESSION_LEN);
	s->peer_stripe = peer->flags & TP_HELLO_STRIPE;
	if (s->configured)
		return;
	if (!hand_off(s, l)) {
		/* a stripe is never a session of its own: the outside
		 * drops it */
		if (s->peer_stripe)
			stop_begin(s, TG_EXIT_FAIL,
				   "no inside runs this session here to take "
				   "a stripe");
		return;
	}
	s->stopping = true;
	s->link_down = true;
	finish(s);
}

static void grace_cb(uv_timer_t *t)
{
	struct inside *s = t->data;

	/* the timer runs only while waiting; stopping closes it */
	assert(s->waiting && !s->stopping);
	tg_warn("the outside did not come back within %u s: ending the "
		"session",
		s->o->grace_ms / 1000);
	stop_begin(s, TG_EXIT_OK, NULL);
}

/* the stream broke: keep everything for the grace period */
static void wait_for_resume(struct inside *s, const char *why)
{
	/* down_cb: a resumable session (so a configured one) that is not
	 * stopping; a waiting one has no stream to go down */
	assert(s->configured && s->resume && !s->stopping && !s->waiting);
	tg_warn("%s; keeping %s and its routes for %u s for the outside to "
		"resume",
		why, s->ifname, s->o->grace_ms / 1000);
	close_stream(s);
	if (s->polling) {
		/* the kernel's queue holds, then drops: TCP recovers */
		uv_poll_stop(&s->tun_poll);
		s->polling = false;
	}
	s->waiting = true;
	s->drops++;
	s->drop_ms = uv_now(s->loop);
	if (!s->grace_init) {
		uv_timer_init(s->loop, &s->grace_timer);
		s->grace_timer.data = s;
		s->grace_init = true;
	}
	uv_timer_start(&s->grace_timer, grace_cb, s->o->grace_ms, 0);
}

static void down_cb(struct tp_link *l, int err, const char *why)
{
	struct inside *s = tp_link_data(l);

	s->link_down = true;
	if (s->stopping) {
		finish(s);
		return;
	}
	if (s->resume && !tp_link_goodbye_received(l)) {
		wait_for_resume(s, why);
		return;
	}
	if (err)
		tg_warn("%s", why);
	else
		tg_info("%s", why);
	/* the outside going away is the inside's normal end */
	stop_begin(s, err && !s->configured ? TG_EXIT_FAIL : TG_EXIT_OK, why);
}

static const struct tp_link_ops link_ops = {
	.hello_cb = hello_cb,
	.frame_cb = frame_cb,
	.drain_cb = drain_cb,
	.down_cb = down_cb,
};

/*
 * Under sshd stderr is a pipe that sshd drains only while its client is
 * alive: a blocking log line would hang an inside whose stream died, after
 * its cleanup and before its exit. A lost log line is the lesser harm.
 */
static void stderr_nonblocking(void)
{
	struct stat st;
	int fl;

	if (fstat(STDERR_FILENO, &st) < 0 ||
	    !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	fl = fcntl(STDERR_FILENO, F_GETFL);
	if (fl >= 0)
		fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK);
}

static void link_opts_fill(struct inside *s, struct tp_link_opts *lo)
{
	memset(lo, 0, sizeof(*lo));
	lo->role = TP_ROLE_INSIDE;
	/* the outside then offers IPv4 alone */
	lo->hello_flags = s->no_ipv6 ? TP_HELLO_NO_IPV6 : 0;
	lo->timeout_ms = s->o->timeout_ms;
	lo->peer_name = "outside";
}

static void free_handle_cb(uv_handle_t *h)
{
	free(h);
}

/* carry on over the new stream; the old one is dead or about to be */
static int take_stream(struct inside *s, struct resume_offer *o)
{
	struct tp_link_opts lo;
	uv_stream_t *in, *out;
	int r;

	/* our log lines go to the new session's stderr from now on */
	dup2(o->fd_err, STDERR_FILENO);
	close(o->fd_err);
	stderr_nonblocking();
	close_stream(s);
	r = tp_fd_open(s->loop, o->fd_in, o->fd_out, &in, &out);
	if (r < 0)
		return r;
	link_opts_fill(s, &lo);
	lo.resumed = true;
	lo.rest = o->rest;
	lo.rest_len = o->rest_len;
	s->link = tp_link_new(s->loop, in, out, &link_ops, &lo, s);
	if (!s->link) {
		uv_close((uv_handle_t *)in, free_handle_cb);
		uv_close((uv_handle_t *)out, free_handle_cb);
		return -ENOMEM;
	}
	s->stream_conn = o->conn;
	s->link_down = false;
	s->ready_sent = false;
	if (o->ssh_client.family)
		s->ssh_client = o->ssh_client;
	if (s->poll_init && !s->polling) {
		uv_poll_start(&s->tun_poll, UV_READABLE, tun_poll_cb);
		s->polling = true;
	}
	/* may deliver frames, and even end the stream, before it returns */
	return tp_link_start(s->link);
}

/* one more stream for the session's link, beside the one it has */
static int take_stripe(struct inside *s, struct resume_offer *o)
{
	uv_stream_t *in, *out;
	size_t i;
	int r = -EBUSY;

	close(o->fd_err); /* our log lines stay on the first stream's */
	for (i = 0; i < TP_STRIPES_MAX && s->stripe_conn[i] >= 0; i++)
		;
	if (o->other_version || memcmp(o->session, s->session, TP_SESSION_LEN) ||
	    !s->link || s->link_down || s->waiting || i == TP_STRIPES_MAX) {
		close(o->fd_in);
		close(o->fd_out);
		tg_debug("refused a stripe: %s",
			 s->waiting ? "the session waits for its stream"
				    : "not this session's");
		return r;
	}
	r = tp_fd_open(s->loop, o->fd_in, o->fd_out, &in, &out);
	if (r < 0)
		return r;
	r = tp_link_add_stripe(s->link, in, out, true, o->rest, o->rest_len);
	if (r < 0) {
		uv_close((uv_handle_t *)in, free_handle_cb);
		uv_close((uv_handle_t *)out, free_handle_cb);
		return r;
	}
	s->stripe_conn[i] = o->conn;
	tg_info("took stripe %u of the session from pid %ld",
		tp_link_stripes(s->link), (long)o->pid);
	return 0;
}

static int offer_cb(void *arg, struct resume_offer *o)
{
	struct inside *s = arg;
	bool waiting = s->waiting;
	int r;

	/* offers come from s->resume's listener, closed when stopping */
	assert(s->resume && !s->stopping);
	if (o->stripe)
		return take_stripe(s, o);
	if (o->other_version ||
	    memcmp(o->session, s->session, TP_SESSION_LEN)) {
		close(o->fd_in);
		close(o->fd_out);
		close(o->fd_err);
		tg_info("%s: this one ends",
			o->other_version
				? "an inside of another tungate version "
				  "offered the next stream"
				: "a new outside started another session");
		stop_begin(s, TG_EXIT_OK, NULL);
		return -ESRCH;
	}
	s->waiting = false;
	if (s->grace_init)
		uv_timer_stop(&s->grace_timer);
	s->resumes++;
	r = take_stream(s, o);
	if (r < 0) {
		char why[160];

		/* refused: the new inside starts afresh, once we are gone */
		snprintf(why, sizeof(why), "cannot take the resumed stream: %s",
			 strerror(-r));
		s->stream_conn = -1; /* the listener closes it */
		s->link_down = true;
		stop_begin(s, TG_EXIT_FAIL, why);
		return r;
	}
	if (waiting)
		tg_info("session resumed after %.1f s (drop %u, resume %u), "
			"stream from pid %ld",
			(double)(uv_now(s->loop) - s->drop_ms) / 1000, s->drops,
			s->resumes, (long)o->pid);
	else
		tg_info("session resumed on a new stream from pid %ld (the "
			"old one had not timed out yet)",
			(long)o->pid);
	return 0;
}

static void signal_cb(uv_signal_t *h, int signum)
{
	struct inside *s = h->data;

	tg_info("stopping on %s", strsignal(signum));
	stop_begin(s, TG_EXIT_OK, NULL);
}

static bool handoff_fd(int fd)
{
	uv_handle_type t = uv_guess_handle(fd);

	return t == UV_NAMED_PIPE || t == UV_TCP;
}

int tg_inside_run(const struct tg_opts *o)
{
	static struct inside s; /* large: the config's route array */
	int signums[3] = {SIGINT, SIGTERM, SIGHUP};
	struct tp_link_opts lo;
	uv_stream_t *in, *out;
	uv_loop_t loop;
	int r;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.loop = &loop;
	s.tun_fd = -1;
	s.stream_conn = s.handed_conn = -1;
	for (size_t i = 0; i < TP_STRIPES_MAX; i++)
		s.stripe_conn[i] = -1;
	stderr_nonblocking();
	inside_find_ssh_client(&s.ssh_client);
	s.no_ipv6 = tun_ipv6_disabled();
	link_opts_fill(&s, &lo);
	/* only fds that another process can poll can be handed over */
	s.can_hand_off = handoff_fd(STDIN_FILENO) && handoff_fd(STDOUT_FILENO);
	if (uv_loop_init(&loop) < 0) {
		tg_err("cannot start the event loop");
		return TG_EXIT_FAIL;
	}
	for (size_t i = 0; i < 3; i++) {
		uv_signal_init(&loop, &s.sig[i]);
		s.sig[i].data = &s;
		uv_signal_start(&s.sig[i], signal_cb, signums[i]);
	}
	r = tp_stdio_open(&loop, &in, &out);
	if (r < 0) {
		snprintf(s.why, sizeof(s.why),
			 "--stdio: cannot use stdin/stdout as the stream: %s",
			 uv_strerror(r));
		s.exit_code = TG_EXIT_FAIL;
		s.stopping = true;
		finish(&s);
	} else {
		s.link = tp_link_new(&loop, in, out, &link_ops, &lo, &s);
		if (!s.link || tp_link_start(s.link) < 0) {
			s.link_down = true;
			stop_begin(&s, TG_EXIT_FAIL, "cannot start the stream");
		}
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	inside_cleanup(&s);
	if (uv_loop_close(&loop) != 0)
		tg_debug("event loop closed with handles still open");
	tun_track_free(s.track);
	/* sshd stops feeding the stream once the command it ran exits */
	if (s.handed_conn >= 0)
		inside_resume_wait(s.handed_conn);
	if (s.tun_write_drops)
		tg_info("%llu packets dropped: the TUN queue was full",
			(unsigned long long)s.tun_write_drops);
	if (s.exit_code && s.why[0])
		tg_err("%s", s.why);
	return s.exit_code;
}
