/* SPDX-License-Identifier: MIT */
/*
 * outside_status.c - the outside's status: control socket, capture,
 * systemd notifications.
 *
 * Theory of operation: outside.c tells this file what happens (the link
 * exists or is gone, a packet crossed, the inside said HELLO, then READY,
 * the session dropped or resumed, the outside stops); everything else is
 * read when asked. A status may live across streams: each new stream
 * brings a new link (the old one is freed, so it is forgotten at once),
 * a new HELLO and READY; the state is that of the current stream, and
 * "reconnecting" once a stream that was up is gone. A client of the
 * control socket gets the document of README.md's "Status" section,
 * rendered on the spot from the link's, the NAT's and the DNS proxy's own
 * counters and tables, so nothing is counted twice and nothing costs
 * anything while nobody asks. Tables are sorted by recent activity; rows that
 * do not fit the document's bound are left out and counted (the *_total
 * fields), so the document is always whole.
 *
 * A one-second timer flushes the capture file (so tcpdump can read it
 * while the tunnel runs) and, under systemd, sends the STATUS= line that
 * notify.c held back (at most one a second) and refreshes it every ten
 * seconds when it changed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmd/control.h"
#include "transport/frame.h"
#include "lib/log.h"
#include "cmd/notify.h"
#include "cmd/outside_status.h"
#include "cmd/pcap.h"

#define STATUS_TICK_MS 1000
#define STATUS_NOTIFY_TICKS 10
#define STATUS_MAX_ROWS (1u << 20)
/* what must fit after the tables: the closing of the document */
#define STATUS_TAIL_RESERVE 4096

/*
 * What outlives a session: the outside reconnects with a new loop, a new
 * NAT and a new status each time, but systemd and the user see one
 * process.
 */
static struct {
	time_t started;
	unsigned sessions;
	bool ready_sent;
} proc;

struct outside_status {
	uv_loop_t *loop;
	const struct tg_opts *o;
	const struct tp_config *cfg;
	struct nat *nat;
	struct outside_dns *dns;
	struct tp_link *link;
	struct tg_control *ctl;
	struct tg_pcap *pcap;
	struct tg_watchdog *watchdog;
	uv_timer_t tick;
	unsigned ticks;
	time_t connected, up;
	/* this stream: HELLO and READY seen since its link */
	bool hello_seen, ready_seen;
	unsigned hellos;
	uint8_t session[TP_SESSION_LEN];
	unsigned drops, resumes;
	uint64_t outage_since_ms;
	char name[TG_CONTROL_NAME_MAX + 8];
	char inside_version[64];
	char ready[256];
	char sd_status[512];
};

static const char *transport_name(const struct tg_opts *o)
{
	switch (o->transport) {
	case TG_TP_SSH:
		return "ssh";
	case TG_TP_VIA:
		return "via";
	case TG_TP_EXEC:
		return "exec";
	case TG_TP_STDIO:
		return "stdio";
	default:
		return "none";
	}
}

static const char *peer_name(const struct tg_opts *o)
{
	switch (o->transport) {
	case TG_TP_SSH:
		return o->ssh_dest;
	case TG_TP_VIA:
		return o->via;
	case TG_TP_EXEC:
		return o->exec_cmd;
	default:
		return "stdin/stdout";
	}
}

static const char *state_name(const struct outside_status *st)
{
	if (st->ready_seen && !st->outage_since_ms)
		return "up";
	if (st->up)
		return "reconnecting";
	return st->hello_seen ? "configuring" : "connecting";
}

/* ------------------------------------------------------------ document */

static void render_routes(struct outside_status *st, struct tg_json *j)
{
	const struct tp_config *c = st->cfg;
	char p[TG_PREFIX_STRLEN];
	unsigned installed;

	tg_json_obj(j, "routes");
	tg_json_bool(j, "default", c->route_default);
	tg_json_arr(j, "offered");
	for (size_t i = 0; i < c->n_routes; i++)
		tg_json_str(j, NULL, tg_prefix_str(&c->routes[i], p));
	tg_json_arr_end(j);
	/* the inside's READY text: "tungate0 up, mtu 65520, 2 routes" */
	if (st->up &&
	    sscanf(st->ready, "%*s up, mtu %*u, %u route", &installed) == 1)
		tg_json_u64(j, "installed", installed);
	else
		tg_json_null(j, "installed");
	tg_json_str(j, "inside", st->up ? st->ready : NULL);
	tg_json_obj_end(j);
}

static void render_traffic(struct outside_status *st, struct tg_json *j,
			   const struct nat_stats *ns)
{
	struct tp_link_stats ls = {0};

	if (st->link)
		tp_link_stats(st->link, &ls);
	tg_json_obj(j, "traffic");
	tg_json_obj(j, "from_inside");
	tg_json_u64(j, "packets", ns->pkts_in);
	tg_json_u64(j, "bytes", ns->bytes_in);
	tg_json_obj_end(j);
	tg_json_obj(j, "to_inside");
	tg_json_u64(j, "packets", ns->pkts_out);
	tg_json_u64(j, "bytes", ns->bytes_out);
	tg_json_obj_end(j);
	tg_json_obj(j, "stream");
	tg_json_u64(j, "bytes_in", ls.bytes_in);
	tg_json_u64(j, "bytes_out", ls.bytes_out);
	tg_json_u64(j, "frames_in", ls.frames_in);
	tg_json_u64(j, "frames_out", ls.frames_out);
	tg_json_obj_end(j);
	tg_json_obj_end(j);

	tg_json_obj(j, "drops");
	tg_json_u64(j, "malformed", ns->malformed);
	tg_json_u64(j, "unsupported", ns->unsupported);
	tg_json_u64(j, "refused", ns->refused);
	tg_json_u64(j, "stream_full", ns->dropped_out + ls.dropped_out);
	tg_json_u64(j, "bad_frames", ls.bad_frames);
	tg_json_u64(j, "udp_evicted", ns->udp_evicted);
	tg_json_u64(j, "icmp_evicted", ns->icmp_evicted);
	tg_json_u64(j, "tcp_table_full", ns->tcp_refused_full);
	tg_json_u64(j, "tcp_buffer_full", ns->tcp_refused_mem);
	tg_json_u64(j, "tcp_buffer_cut", ns->tcp_buf_short);
	tg_json_obj_end(j);
	tg_json_u64(j, "tcp_buffer_bytes", ns->tcp_buf_bytes);
	tg_json_u64(j, "icmp_errors_sent", ns->icmp_errors_sent);

	tg_json_obj(j, "flows");
	tg_json_u64(j, "udp", ns->udp_flows);
	tg_json_u64(j, "icmp", ns->icmp_flows);
	tg_json_u64(j, "tcp", ns->tcp_flows);
	tg_json_obj_end(j);
}

static void render_dns(struct outside_status *st, struct tg_json *j)
{
	char a[INET6_ADDRSTRLEN];
	struct dns_stats ds;

	if (!st->dns) {
		tg_json_null(j, "dns");
		return;
	}
	outside_dns_stats(st->dns, &ds);
	tg_json_obj(j, "dns");
	tg_json_arr(j, "addresses");
	tg_json_str(j, NULL, inet_ntop(AF_INET, st->cfg->dns4, a, sizeof(a)));
	tg_json_str(j, NULL, inet_ntop(AF_INET6, st->cfg->dns6, a, sizeof(a)));
	tg_json_arr_end(j);
	tg_json_u64(j, "queries", ds.queries);
	tg_json_u64(j, "answered", ds.answered);
	tg_json_u64(j, "cache_hits", ds.cache_hits);
	tg_json_u64(j, "coalesced", ds.coalesced);
	tg_json_u64(j, "nxdomain", ds.nxdomain);
	tg_json_u64(j, "nodata", ds.nodata);
	tg_json_u64(j, "servfail", ds.servfail);
	tg_json_u64(j, "formerr", ds.formerr);
	tg_json_u64(j, "dropped", ds.dropped + ds.overload);
	tg_json_u64(j, "truncated", ds.truncated);
	tg_json_u64(j, "pending", ds.pending);
	tg_json_u64(j, "cache_entries", ds.cache_entries);
	tg_json_u64(j, "tcp_connections", ds.tcp_conns);
	tg_json_u64(j, "tcp_buffer_bytes", ds.tcp_bytes);
	tg_json_u64(j, "tcp_buffer_max", ds.tcp_buffer_max);
	tg_json_u64(j, "tcp_evicted", ds.tcp_evicted);
	tg_json_obj_end(j);
}

struct flow_rows {
	struct nat_flow_info *v;
	size_t n, cap, total;
};

static void flow_cb(void *arg, const struct nat_flow_info *fi)
{
	struct flow_rows *r = arg;

	r->total++;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct nat_flow_info *v;

		if (cap > STATUS_MAX_ROWS)
			return;
		v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *fi;
}

/* most recently active first */
static int flow_cmp(const void *a, const void *b)
{
	const struct nat_flow_info *x = a, *y = b;

	return x->last_ms > y->last_ms ? -1 : x->last_ms < y->last_ms;
}

static void render_flow(struct tg_json *j, const struct nat_flow_info *f,
			uint64_t now)
{
	char a[INET6_ADDRSTRLEN];

	tg_json_obj(j, NULL);
	tg_json_str(j, "proto", nat_proto_name(f->proto));
	tg_json_u64(j, "family", f->family == AF_INET6 ? 6 : 4);
	tg_json_str(j, "inside_addr",
		    inet_ntop(f->family, f->src, a, sizeof(a)));
	tg_json_u64(j, "inside_port", f->sport);
	tg_json_str(j, "dest_addr", inet_ntop(f->family, f->dst, a, sizeof(a)));
	tg_json_u64(j, "dest_port", f->dport);
	tg_json_str(j, "state", f->state);
	tg_json_u64(j, "bytes_from_inside", f->bytes_in);
	tg_json_u64(j, "bytes_to_inside", f->bytes_out);
	tg_json_u64(j, "packets_from_inside", f->pkts_in);
	tg_json_u64(j, "packets_to_inside", f->pkts_out);
	tg_json_u64(j, "age_ms", now > f->created_ms ? now - f->created_ms : 0);
	tg_json_u64(j, "idle_ms", now > f->last_ms ? now - f->last_ms : 0);
	tg_json_obj_end(j);
}

static void render_flows(struct outside_status *st, struct tg_json *j)
{
	struct flow_rows r = {0};
	uint64_t now = uv_now(st->loop);
	size_t shown = 0;

	if (st->nat)
		nat_foreach_flow(st->nat, flow_cb, &r);
	if (r.n)
		qsort(r.v, r.n, sizeof(r.v[0]), flow_cmp);
	/* half the document for connections, the rest for DNS */
	tg_json_reserve(j, j->cap / 2);
	tg_json_arr(j, "connections");
	for (; shown < r.n; shown++) {
		struct tg_json_mark m = tg_json_mark(j);

		render_flow(j, &r.v[shown], now);
		if (j->err) {
			tg_json_rewind(j, m);
			break;
		}
	}
	tg_json_reserve(j, STATUS_TAIL_RESERVE);
	tg_json_arr_end(j);
	tg_json_u64(j, "connections_total", r.total);
	free(r.v);
}

struct dns_rows {
	struct tg_json *j;
	size_t total;
	bool full;
};

static void dns_row_cb(void *arg, const struct dns_cache_info *ci)
{
	struct dns_rows *r = arg;
	struct tg_json *j = r->j;
	struct tg_json_mark m = tg_json_mark(j);

	r->total++;
	if (r->full)
		return;
	tg_json_obj(j, NULL);
	tg_json_str(j, "name", ci->name);
	tg_json_str(j, "type", ci->type);
	tg_json_str(j, "status", ci->status);
	tg_json_str(j, "answer", ci->answer);
	tg_json_u64(j, "answers", ci->answers);
	tg_json_u64(j, "ttl", ci->ttl_s);
	tg_json_u64(j, "hits", ci->hits);
	tg_json_obj_end(j);
	if (j->err) {
		tg_json_rewind(j, m);
		r->full = true;
	}
}

static void render_dns_cache(struct outside_status *st, struct tg_json *j)
{
	struct dns_rows r = {.j = j};

	tg_json_arr(j, "dns_cache");
	if (st->dns)
		outside_dns_foreach_cache(st->dns, dns_row_cb, &r);
	tg_json_reserve(j, 0);
	tg_json_arr_end(j);
	tg_json_u64(j, "dns_cache_total", r.total);
}

static void render_pcap(struct outside_status *st, struct tg_json *j)
{
	struct tg_pcap_stats ps;

	if (!st->pcap) {
		tg_json_null(j, "pcap");
		return;
	}
	tg_pcap_stats(st->pcap, &ps);
	tg_json_obj(j, "pcap");
	tg_json_str(j, "file", tg_pcap_path(st->pcap));
	tg_json_u64(j, "packets", ps.packets);
	tg_json_u64(j, "bytes", ps.bytes);
	tg_json_u64(j, "skipped", ps.skipped);
	tg_json_bool(j, "full", ps.full);
	tg_json_bool(j, "failed", ps.failed);
	tg_json_obj_end(j);
}

static void time_or_null(struct tg_json *j, const char *key, time_t t)
{
	if (t)
		tg_json_i64(j, key, (int64_t)t);
	else
		tg_json_null(j, key);
}

static void render_session(struct outside_status *st, struct tg_json *j)
{
	char id[TP_SESSION_STRLEN];
	uint64_t now = uv_now(st->loop), since = st->outage_since_ms;

	if (tp_session_none(st->session))
		tg_json_null(j, "session");
	else
		tg_json_str(j, "session", tp_session_str(st->session, id));
	/* "drops" is taken: the packets dropped */
	tg_json_u64(j, "stream_drops", st->drops);
	tg_json_u64(j, "resumes", st->resumes);
	if (since)
		tg_json_u64(j, "outage_ms", now > since ? now - since : 0);
	else
		tg_json_null(j, "outage_ms");
}

/* streams that reached the inside again, whether the status lived on
 * (resume) or was made anew (before it) */
static unsigned reconnects(const struct outside_status *st)
{
	return proc.sessions - 1 + (st->hellos > 1 ? st->hellos - 1 : 0);
}

static void render(void *arg, struct tg_json *j)
{
	struct outside_status *st = arg;
	struct nat_stats ns = {0};

	if (st->nat)
		nat_get_stats(st->nat, &ns);
	tg_json_obj(j, NULL);
	tg_json_u64(j, "version", 1);
	tg_json_str(j, "tungate", TG_VERSION);
	tg_json_str(j, "name", st->name);
	tg_json_i64(j, "pid", (int64_t)getpid());
	tg_json_i64(j, "time", (int64_t)time(NULL));
	tg_json_str(j, "state", state_name(st));
	tg_json_str(j, "transport", transport_name(st->o));
	tg_json_str(j, "peer", peer_name(st->o));
	tg_json_str(j, "inside_version",
		    st->connected ? st->inside_version : NULL);
	tg_json_i64(j, "started", (int64_t)proc.started);
	time_or_null(j, "connected", st->connected);
	time_or_null(j, "up_since", st->up);
	tg_json_u64(j, "reconnects", reconnects(st));
	render_session(st, j);
	tg_json_u64(j, "mtu", st->cfg->mtu);
	render_routes(st, j);
	render_traffic(st, j, &ns);
	render_dns(st, j);
	render_pcap(st, j);
	render_flows(st, j);
	render_dns_cache(st, j);
	tg_json_obj_end(j);
}

/* ------------------------------------------------------------ lifecycle */

/* STATUS= for `systemctl status`, sent only when it changed */
static void notify_status(struct outside_status *st)
{
	struct nat_stats ns = {0};
	char line[sizeof(st->sd_status)];

	if (strcmp(state_name(st), "up"))
		return;
	if (st->nat)
		nat_get_stats(st->nat, &ns);
	snprintf(line, sizeof(line),
		 "up: %s; %" PRIu64 " connections; %" PRIu64
		 " packets from the inside, %" PRIu64 " to it",
		 st->ready, ns.udp_flows + ns.icmp_flows + ns.tcp_flows,
		 ns.pkts_in, ns.pkts_out);
	if (!strcmp(line, st->sd_status))
		return;
	memcpy(st->sd_status, line, sizeof(line));
	tg_notify_status("%s", line);
}

static void tick_cb(uv_timer_t *t)
{
	struct outside_status *st = t->data;

	tg_pcap_flush(st->pcap);
	tg_notify_flush();
	tg_ratelimit_flush_due(false);
	if (++st->ticks % STATUS_NOTIFY_TICKS == 0)
		notify_status(st);
}

static int open_pcap(struct outside_status *st)
{
	const struct tg_opts *o = st->o;
	int r;

	if (!o->pcap)
		return 0;
	/* a reconnection goes on in the same file */
	r = tg_pcap_open(&st->pcap, o->pcap, o->pcap_max_bytes,
			 proc.sessions > 1);
	if (r < 0) {
		tg_err("--pcap %s: cannot create the file: %s", o->pcap,
		       strerror(-r));
		return r;
	}
	if (proc.sessions == 1)
		tg_info("capturing every packet of the tunnel into %s (at most "
			"%llu bytes)",
			o->pcap, (unsigned long long)o->pcap_max_bytes);
	return 0;
}

/*
 * --name NAME must be free; the default name (the SSH destination, or
 * "default") gets a -2 .. -9 suffix when another outside has it
 */
static int open_control(struct outside_status *st)
{
	const struct tg_opts *o = st->o;
	char base[TG_CONTROL_NAME_MAX + 1];
	int r = -EADDRINUSE;

	tg_control_safe_name(o->name	   ? o->name
			     : o->ssh_dest ? o->ssh_dest
					   : "default",
			     base, sizeof(base));
	for (int i = 1; i < 10 && r == -EADDRINUSE; i++) {
		if (i == 1)
			snprintf(st->name, sizeof(st->name), "%s", base);
		else
			snprintf(st->name, sizeof(st->name), "%.61s-%c", base,
				 '0' + i);
		r = tg_control_open(st->loop, st->name, render, st, &st->ctl);
		if (r == -EADDRINUSE && o->name) {
			tg_err("--name %s: another tungate outside with this "
			       "name is running; give this one another --name",
			       st->name);
			return r;
		}
	}
	if (r < 0) {
		tg_warn("no control socket (%s): `tungate status` will not "
			"see this outside; set XDG_RUNTIME_DIR to a directory "
			"of yours",
			strerror(-r));
		st->name[0] = '\0';
		return 0;
	}
	tg_debug("control socket %s: see `tungate status %s`",
		 tg_control_path(st->ctl), st->name);
	return 0;
}

struct outside_status *outside_status_new(uv_loop_t *loop,
					  const struct tg_opts *o,
					  const struct tp_config *cfg,
					  struct nat *nat,
					  struct outside_dns *dns)
{
	struct outside_status *st = calloc(1, sizeof(*st));

	if (!st) {
		tg_err("out of memory");
		return NULL;
	}
	st->loop = loop;
	st->o = o;
	st->cfg = cfg;
	st->nat = nat;
	st->dns = dns;
	tg_notify_init();
	if (!proc.started)
		proc.started = time(NULL);
	proc.sessions++;
	if (open_pcap(st) < 0 || open_control(st) < 0) {
		tg_pcap_close(st->pcap);
		free(st);
		return NULL;
	}
	if (proc.sessions > 1)
		tg_notify_status("reconnecting to %s (attempt %u)",
				 peer_name(o), proc.sessions - 1);
	else
		tg_notify_status("connecting to %s", peer_name(o));
	st->watchdog = tg_watchdog_start(loop);
	uv_timer_init(loop, &st->tick);
	st->tick.data = st;
	uv_timer_start(&st->tick, tick_cb, STATUS_TICK_MS, STATUS_TICK_MS);
	return st;
}

void outside_status_link(struct outside_status *st, struct tp_link *l)
{
	if (!st)
		return;
	/* a new stream (or none): its HELLO and READY are still to come */
	if (l != st->link) {
		st->hello_seen = false;
		st->ready_seen = false;
	}
	st->link = l;
}

void outside_status_packet(struct outside_status *st, const uint8_t *pkt,
			   size_t len)
{
	if (st && st->pcap)
		tg_pcap_write(st->pcap, pkt, len);
}

void outside_status_hello(struct outside_status *st, const char *version)
{
	if (!st)
		return;
	st->connected = time(NULL);
	st->hello_seen = true;
	st->hellos++;
	snprintf(st->inside_version, sizeof(st->inside_version), "%s", version);
	tg_notify_status("connected to the inside (tungate %s); waiting for "
			 "its routes",
			 version);
}

void outside_status_ready(struct outside_status *st, const uint8_t *text,
			  size_t len)
{
	size_t n;

	if (!st)
		return;
	n = len < sizeof(st->ready) - 1 ? len : sizeof(st->ready) - 1;
	/* the peer's text: keep it printable */
	for (size_t i = 0; i < n; i++)
		st->ready[i] =
			text[i] >= 0x20 && text[i] < 0x7f ? (char)text[i] : '?';
	st->ready[n] = '\0';
	/* READY=1 once per process: a reconnection is not a new start; a
	 * READY from the inside as often as it likes is one STATUS= a second */
	if (proc.ready_sent)
		tg_notify_status("up: %s", st->ready);
	else
		tg_notify_send("READY=1\nSTATUS=up: %s", st->ready);
	proc.ready_sent = true;
	/* let the next tick send the counters again */
	st->sd_status[0] = '\0';
	st->ready_seen = true;
	if (!st->up)
		st->up = time(NULL);
}

void outside_status_session(struct outside_status *st, const uint8_t *id,
			    unsigned drops, unsigned resumes,
			    uint64_t outage_since_ms)
{
	if (!st)
		return;
	if (id)
		memcpy(st->session, id, TP_SESSION_LEN);
	else
		memset(st->session, 0, TP_SESSION_LEN);
	st->drops = drops;
	st->resumes = resumes;
	st->outage_since_ms = outage_since_ms;
}

static void free_cb(uv_handle_t *h)
{
	free(h->data);
}

void outside_status_close(struct outside_status *st, const char *why)
{
	if (!st)
		return;
	/* a failure may be followed by a reconnection (or an exit, which
	 * systemd sees by itself): only a clean stop is STOPPING=1 */
	if (why)
		tg_notify_send("STATUS=the stream ended: %s", why);
	else
		tg_notify_send("STOPPING=1\nSTATUS=stopping");
	tg_watchdog_stop(st->watchdog);
	tg_control_close(st->ctl);
	tg_pcap_close(st->pcap);
	uv_close((uv_handle_t *)&st->tick, free_cb);
}
