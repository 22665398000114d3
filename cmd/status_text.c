/* SPDX-License-Identifier: MIT */
/*
 * status_text.c - `tungate status` for people.
 *
 * Theory of operation: the document of the control socket (README.md,
 * "Status") is walked with the reader of json.h and printed as a short
 * summary and two tables. Tables size their columns to their content;
 * when a width is given the widest flexible columns (addresses, names,
 * answers) give way first and cut cells end in '~'. When a height is
 * given (--watch) the rows the summary leaves are shared: DNS gets up to
 * a third, or more if there are few connections. Rows come in the
 * document's order, most recently active first. Everything printed is
 * ASCII: bytes from the outside that are not printable become '?', so a
 * name cannot move the cursor of the terminal.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/status_text.h"

#define CELL 80
#define MAXCOLS 8

void tg_sbuf_printf(struct tg_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0 || b->oom)
			return;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *p;

		while (cap - b->len <= (size_t)n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

void tg_sbuf_free(struct tg_sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------ values */

static const char *jstr(const struct tg_jdoc *d, int obj, const char *key,
			char *buf, size_t cap)
{
	tg_json_text(d, tg_json_get(d, obj, key), buf, cap);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return buf;
}

static uint64_t jnum(const struct tg_jdoc *d, int obj, const char *key)
{
	return tg_json_uint(d, tg_json_get(d, obj, key), 0);
}

static const char *fmt_bytes(uint64_t v, char buf[32])
{
	static const char unit[] = "KMGTP";
	double x = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, 32, "%" PRIu64, v);
		return buf;
	}
	while (x >= 1024 && u < 4) {
		x /= 1024;
		u++;
	}
	snprintf(buf, 32, x < 10 ? "%.1f%c" : "%.0f%c", x, unit[u]);
	return buf;
}

/* a number member, or false if it is absent or null */
static bool jhas(const struct tg_jdoc *d, int obj, const char *key)
{
	int t = tg_json_get(d, obj, key);

	return t >= 0 && d->tok[t].type == TG_JNUM;
}

static const char *fmt_dur(uint64_t s, char buf[32])
{
	if (s < 60)
		snprintf(buf, 32, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, 32, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, 32, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			 s / 60 % 60);
	else
		snprintf(buf, 32, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
			 s / 3600 % 24);
	return buf;
}

/* ------------------------------------------------------------ summary */

static void summary_head(const struct tg_jdoc *d, struct tg_sbuf *o)
{
	char name[80], ver[40], state[24], b1[32], when[32];
	uint64_t now = jnum(d, 0, "time");
	uint64_t up = jnum(d, 0, "up_since");
	uint64_t started = jnum(d, 0, "started");
	time_t t = (time_t)up;
	struct tm tm;

	jstr(d, 0, "name", name, sizeof(name));
	jstr(d, 0, "tungate", ver, sizeof(ver));
	jstr(d, 0, "state", state, sizeof(state));
	tg_sbuf_printf(o,
		       "tungate outside \"%s\" (pid %" PRIu64 ", tungate %s): ",
		       name, jnum(d, 0, "pid"), ver);
	if (!strcmp(state, "up") && up) {
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		tg_sbuf_printf(o, "up for %s, since %s\n",
			       fmt_dur(now > up ? now - up : 0, b1), when);
	} else if (!strcmp(state, "reconnecting")) {
		/* the outage, when the session waits to be resumed */
		if (jhas(d, 0, "outage_ms"))
			tg_sbuf_printf(
				o, "reconnecting for %s\n",
				fmt_dur(jnum(d, 0, "outage_ms") / 1000, b1));
		else
			tg_sbuf_printf(o, "reconnecting\n");
	} else if (!strcmp(state, "configuring")) {
		tg_sbuf_printf(o, "connected, waiting for the inside's "
				  "routes\n");
	} else {
		tg_sbuf_printf(o, "%s for %s\n", state,
			       fmt_dur(now > started ? now - started : 0, b1));
	}
}

static void summary_stream(const struct tg_jdoc *d, struct tg_sbuf *o)
{
	char tp[16], peer[200], iv[40];
	int v = tg_json_get(d, 0, "inside_version");

	jstr(d, 0, "transport", tp, sizeof(tp));
	jstr(d, 0, "peer", peer, sizeof(peer));
	tg_sbuf_printf(o, "  stream    %s %s", tp, peer);
	if (v >= 0 && d->tok[v].type == TG_JSTR)
		tg_sbuf_printf(o, "; inside tungate %s",
			       jstr(d, 0, "inside_version", iv, sizeof(iv)));
	tg_sbuf_printf(o, "; reconnects %" PRIu64 "\n",
		       jnum(d, 0, "reconnects"));
}

/*
 * The session: its id (none when resume is off), the streams that dropped
 * and how many the session survived, and the outage under way. Absent
 * from documents of outsides that predate resume.
 */
static void summary_session(const struct tg_jdoc *d, struct tg_sbuf *o)
{
	int id = tg_json_get(d, 0, "session");
	char hex[40], state[24];

	if (id < 0)
		return;
	if (d->tok[id].type == TG_JSTR)
		tg_sbuf_printf(o, "  session   %s",
			       jstr(d, 0, "session", hex, sizeof(hex)));
	else
		tg_sbuf_printf(o, "  session   none (no resume)");
	tg_sbuf_printf(o, "; drops %" PRIu64 ", resumes %" PRIu64,
		       jnum(d, 0, "stream_drops"), jnum(d, 0, "resumes"));
	if (jhas(d, 0, "outage_ms"))
		tg_sbuf_printf(o, "; outage %.1f s",
			       (double)jnum(d, 0, "outage_ms") / 1000);
	else if (!strcmp(jstr(d, 0, "state", state, sizeof(state)), "up"))
		tg_sbuf_printf(o, "; up");
	tg_sbuf_printf(o, "\n");
}

static void summary_routes(const struct tg_jdoc *d, struct tg_sbuf *o)
{
	int r = tg_json_get(d, 0, "routes");
	int a = tg_json_get(d, r, "offered");
	int inside = tg_json_get(d, r, "inside");
	char p[64], text[200];
	unsigned n = 0;

	for (int i = tg_json_first(d, a); i >= 0; i = tg_json_next(d, a, i))
		n++;
	if (tg_json_true(d, tg_json_get(d, r, "default")))
		tg_sbuf_printf(o, "  routes    every destination (default)");
	else
		tg_sbuf_printf(o, "  routes    %u offered:", n);
	for (int i = tg_json_first(d, a); i >= 0; i = tg_json_next(d, a, i))
		tg_sbuf_printf(o, " %s", tg_json_text(d, i, p, sizeof(p)));
	if (inside >= 0 && d->tok[inside].type == TG_JSTR)
		tg_sbuf_printf(o, "; inside: %s",
			       jstr(d, r, "inside", text, sizeof(text)));
	tg_sbuf_printf(o, "\n");
}

static void summary_traffic(const struct tg_jdoc *d, struct tg_sbuf *o)
{
	int t = tg_json_get(d, 0, "traffic");
	int in = tg_json_get(d, t, "from_inside");
	int out = tg_json_get(d, t, "to_inside");
	int dr = tg_json_get(d, 0, "drops");
	char b1[32], b2[32];

	tg_sbuf_printf(
		o,
		"  traffic   from the inside %" PRIu64
		" packets, %s; to the inside %" PRIu64 " packets, %s\n",
		jnum(d, in, "packets"), fmt_bytes(jnum(d, in, "bytes"), b1),
		jnum(d, out, "packets"), fmt_bytes(jnum(d, out, "bytes"), b2));
	tg_sbuf_printf(o,
		       "  dropped   malformed %" PRIu64 ", unsupported %" PRIu64
		       ", refused %" PRIu64 ", stream full %" PRIu64 "\n",
		       jnum(d, dr, "malformed"), jnum(d, dr, "unsupported"),
		       jnum(d, dr, "refused"), jnum(d, dr, "stream_full"));
}

static void summary_dns(const struct tg_jdoc *d, struct tg_sbuf *o)
{
	int s = tg_json_get(d, 0, "dns");
	int a = tg_json_get(d, s, "addresses");
	char addr[64], b1[32], b2[32];
	uint64_t n;

	if (s < 0 || d->tok[s].type != TG_JOBJ) {
		tg_sbuf_printf(o, "  DNS       not through the tunnel "
				  "(--no-dns)\n");
		return;
	}
	tg_sbuf_printf(o,
		       "  DNS       %" PRIu64 " queries, %" PRIu64
		       " from the cache, %" PRIu64 " NXDOMAIN, %" PRIu64
		       " NODATA, %" PRIu64 " SERVFAIL; at",
		       jnum(d, s, "queries"), jnum(d, s, "cache_hits"),
		       jnum(d, s, "nxdomain"), jnum(d, s, "nodata"),
		       jnum(d, s, "servfail"));
	for (int i = tg_json_first(d, a); i >= 0; i = tg_json_next(d, a, i))
		tg_sbuf_printf(o, " %s",
			       tg_json_text(d, i, addr, sizeof(addr)));
	tg_sbuf_printf(o, "\n");
	if (tg_json_get(d, s, "tcp_buffer_max") < 0)
		return; /* an older outside */
	n = jnum(d, s, "tcp_connections");
	tg_sbuf_printf(o,
		       "  DNS TCP   %" PRIu64 " connection%s, buffers %s of %s"
		       "; %" PRIu64 " closed at the budget\n",
		       n, n == 1 ? "" : "s",
		       fmt_bytes(jnum(d, s, "tcp_buffer_bytes"), b1),
		       fmt_bytes(jnum(d, s, "tcp_buffer_max"), b2),
		       jnum(d, s, "tcp_evicted"));
}

static void summary_pcap(const struct tg_jdoc *d, struct tg_sbuf *o)
{
	int p = tg_json_get(d, 0, "pcap");
	char file[200], b1[32];

	if (p < 0 || d->tok[p].type != TG_JOBJ)
		return;
	tg_sbuf_printf(o, "  capture   %s: %" PRIu64 " packets, %s%s\n",
		       jstr(d, p, "file", file, sizeof(file)),
		       jnum(d, p, "packets"),
		       fmt_bytes(jnum(d, p, "bytes"), b1),
		       tg_json_true(d, tg_json_get(d, p, "full"))
			       ? " (full: --pcap-max-bytes reached)"
			       : "");
}

/* ------------------------------------------------------------ tables */

struct col {
	const char *head;
	bool right, flex;
	int drop; /* when too wide: dropped in this order (1 first); 0 never */
};

struct table {
	const struct col *cols;
	int ncols, nrows;
	char (*cell)[MAXCOLS][CELL];
	int w[MAXCOLS]; /* 0: column dropped */
	int sep; /* blanks between columns */
};

static int total_width(const struct table *t)
{
	int total = 0, shown = 0;

	for (int c = 0; c < t->ncols; c++)
		if (t->w[c]) {
			total += t->w[c];
			shown++;
		}
	return total + (shown ? shown - 1 : 0) * t->sep;
}

/*
 * Column widths: as wide as the content; too wide for @width, first one
 * blank between columns instead of two, then the droppable columns go,
 * then the widest flexible column gives way, a column at a time.
 */
static void fit(struct table *t, int width)
{
	t->sep = 2;
	for (int c = 0; c < t->ncols; c++) {
		t->w[c] = (int)strlen(t->cols[c].head);
		for (int r = 0; r < t->nrows; r++) {
			int n = (int)strlen(t->cell[r][c]);

			if (n > t->w[c])
				t->w[c] = n;
		}
	}
	if (width <= 0 || total_width(t) <= width)
		return;
	t->sep = 1;
	for (int rank = 1; rank <= 2 && total_width(t) > width; rank++)
		for (int c = 0; c < t->ncols; c++)
			if (t->cols[c].drop == rank)
				t->w[c] = 0;
	while (total_width(t) > width) {
		int wide = -1;

		for (int c = 0; c < t->ncols; c++)
			if (t->cols[c].flex && t->w[c] > 8 &&
			    (wide < 0 || t->w[c] > t->w[wide]))
				wide = c;
		if (wide < 0)
			break;
		t->w[wide]--;
	}
}

static void put_cell(struct tg_sbuf *o, const char *s, int w, bool right,
		     bool last)
{
	int n = (int)strlen(s);

	if (n > w)
		tg_sbuf_printf(o, "%.*s~", w - 1, s);
	else if (right)
		tg_sbuf_printf(o, "%*s", w, s);
	else if (last)
		tg_sbuf_printf(o, "%s", s);
	else
		tg_sbuf_printf(o, "%-*s", w, s);
}

static void print_table(struct tg_sbuf *o, struct table *t, int width)
{
	int last = 0;

	fit(t, width);
	for (int c = 0; c < t->ncols; c++)
		if (t->w[c])
			last = c;
	for (int r = -1; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *s = r < 0 ? t->cols[c].head : t->cell[r][c];

			if (!t->w[c])
				continue;
			if (c)
				tg_sbuf_printf(o, "%*s", t->sep, "");
			put_cell(o, s, t->w[c], t->cols[c].right, c == last);
		}
		tg_sbuf_printf(o, "\n");
	}
	if (!t->nrows)
		tg_sbuf_printf(o, "  (none)\n");
}

static void endpoint(char *out, const char *addr, uint64_t port, bool v6,
		     bool icmp)
{
	if (icmp)
		snprintf(out, CELL, "%s id %" PRIu64, addr, port);
	else if (v6)
		snprintf(out, CELL, "[%s]:%" PRIu64, addr, port);
	else
		snprintf(out, CELL, "%s:%" PRIu64, addr, port);
}

static const struct col conn_cols[] = {
	{"PROTO", false, false, 0},	 {"INSIDE", false, true, 0},
	{"DESTINATION", false, true, 0}, {"STATE", false, false, 0},
	{"SENT", true, false, 0},	 {"RCVD", true, false, 0},
	{"AGE", true, false, 1},	 {"IDLE", true, false, 2},
};

static void conn_row(const struct tg_jdoc *d, int f, char (*row)[CELL])
{
	char proto[8], a[64], b1[32];
	bool v6 = jnum(d, f, "family") == 6;
	bool icmp;

	jstr(d, f, "proto", proto, sizeof(proto));
	icmp = !strcmp(proto, "icmp");
	snprintf(row[0], CELL, "%s%s", proto, v6 ? "6" : "");
	endpoint(row[1], jstr(d, f, "inside_addr", a, sizeof(a)),
		 jnum(d, f, "inside_port"), v6, icmp);
	jstr(d, f, "dest_addr", a, sizeof(a));
	if (icmp)
		snprintf(row[2], CELL, "%s", a);
	else
		endpoint(row[2], a, jnum(d, f, "dest_port"), v6, false);
	jstr(d, f, "state", row[3], CELL);
	snprintf(row[4], CELL, "%s",
		 fmt_bytes(jnum(d, f, "bytes_from_inside"), b1));
	snprintf(row[5], CELL, "%s",
		 fmt_bytes(jnum(d, f, "bytes_to_inside"), b1));
	snprintf(row[6], CELL, "%s", fmt_dur(jnum(d, f, "age_ms") / 1000, b1));
	snprintf(row[7], CELL, "%s", fmt_dur(jnum(d, f, "idle_ms") / 1000, b1));
}

static const struct col dns_cols[] = {
	{"NAME", false, true, 0},   {"TYPE", false, false, 0},
	{"ANSWER", false, true, 0}, {"TTL", true, false, 2},
	{"HITS", true, false, 1},
};

static void dns_row(const struct tg_jdoc *d, int e, char (*row)[CELL])
{
	char status[16], ans[CELL];
	uint64_t n = jnum(d, e, "answers");

	jstr(d, e, "name", row[0], CELL);
	jstr(d, e, "type", row[1], CELL);
	jstr(d, e, "status", status, sizeof(status));
	jstr(d, e, "answer", ans, sizeof(ans));
	if (strcmp(status, "NOERROR") || !n)
		snprintf(row[2], CELL, "%s", status);
	else if (n > 1)
		snprintf(row[2], CELL, "%.50s (+%u)", ans, (unsigned)(n - 1));
	else
		snprintf(row[2], CELL, "%s", ans);
	snprintf(row[3], CELL, "%" PRIu64, jnum(d, e, "ttl"));
	snprintf(row[4], CELL, "%" PRIu64, jnum(d, e, "hits"));
}

static int count(const struct tg_jdoc *d, int a)
{
	int n = 0;

	for (int i = tg_json_first(d, a); i >= 0; i = tg_json_next(d, a, i))
		n++;
	return n;
}

/* a table of at most @max rows of array @a */
static int table_of(const struct tg_jdoc *d, int a, int max,
		    const struct col *cols, int ncols,
		    void (*row)(const struct tg_jdoc *, int, char (*)[CELL]),
		    struct table *t)
{
	int r = 0;

	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols;
	t->cell = calloc(max > 0 ? (size_t)max : 1, sizeof(*t->cell));
	if (!t->cell)
		return -ENOMEM;
	for (int i = tg_json_first(d, a); i >= 0 && r < max;
	     i = tg_json_next(d, a, i))
		row(d, i, t->cell[r++]);
	t->nrows = r;
	return 0;
}

static void tables(const struct tg_jdoc *d, struct tg_sbuf *o, int width,
		   int avail)
{
	int ca = tg_json_get(d, 0, "connections");
	int da = tg_json_get(d, 0, "dns_cache");
	int nc = count(d, ca), nd = count(d, da), sc = nc, sd = nd;
	int fl = tg_json_get(d, 0, "flows");
	struct table t;

	if (avail >= 0) {
		/* an empty table still takes a line, "(none)" */
		avail -= (nc == 0) + (nd == 0);
		avail = avail < 0 ? 0 : avail;
		/* DNS: a third, or what connections leave */
		sd = avail / 3 > avail - nc ? avail / 3 : avail - nc;
		sd = sd < nd ? sd : nd;
		sc = avail - sd < nc ? avail - sd : nc;
	}
	tg_sbuf_printf(o,
		       "\nCONNECTIONS  %" PRIu64 " open (udp %" PRIu64
		       ", icmp %" PRIu64 ", tcp %" PRIu64 ")",
		       jnum(d, 0, "connections_total"), jnum(d, fl, "udp"),
		       jnum(d, fl, "icmp"), jnum(d, fl, "tcp"));
	if (sc < (int)jnum(d, 0, "connections_total"))
		tg_sbuf_printf(o, "; %d shown", sc);
	tg_sbuf_printf(o, "\n");
	if (table_of(d, ca, sc, conn_cols, 8, conn_row, &t) == 0) {
		print_table(o, &t, width);
		free(t.cell);
	}
	tg_sbuf_printf(o, "\nDNS CACHE  %" PRIu64 " entries",
		       jnum(d, 0, "dns_cache_total"));
	if (sd < (int)jnum(d, 0, "dns_cache_total"))
		tg_sbuf_printf(o, "; %d shown", sd);
	tg_sbuf_printf(o, "\n");
	if (table_of(d, da, sd, dns_cols, 5, dns_row, &t) == 0) {
		print_table(o, &t, width);
		free(t.cell);
	}
}

static int lines_of(const struct tg_sbuf *b)
{
	int n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->p[i] == '\n';
	return n;
}

/* @in's first @height lines, each cut to @width columns, appended to @out */
static void cut_lines(const struct tg_sbuf *in, struct tg_sbuf *out, int width,
		      int height)
{
	size_t i = 0;

	for (int line = 0; i < in->len && (height <= 0 || line < height);
	     line++) {
		const char *nl = memchr(in->p + i, '\n', in->len - i);
		size_t n = nl ? (size_t)(nl - (in->p + i)) : in->len - i;

		if (width > 0 && n > (size_t)width)
			n = (size_t)width;
		tg_sbuf_printf(out, "%.*s\n", (int)n, in->p + i);
		i += (nl ? (size_t)(nl - (in->p + i)) + 1 : in->len - i);
	}
}

/* the summary; @brief: only what matters most, for short windows */
static void summary(const struct tg_jdoc *d, struct tg_sbuf *o, bool brief)
{
	summary_head(d, o);
	if (!brief) {
		summary_stream(d, o);
		summary_session(d, o);
	}
	summary_routes(d, o);
	summary_traffic(d, o);
	if (!brief) {
		summary_dns(d, o);
		summary_pcap(d, o);
	}
}

int tg_status_text(const struct tg_jdoc *d, struct tg_sbuf *out, int width,
		   int height)
{
	struct tg_sbuf b = {0};
	int avail = -1, want;

	if (!d->n || d->tok[0].type != TG_JOBJ ||
	    tg_json_get(d, 0, "version") < 0)
		return -EINVAL;
	summary(d, &b, false);
	if (height > 0) {
		/* a short window: a brief summary, if rows are missing */
		want = count(d, tg_json_get(d, 0, "connections")) +
		       count(d, tg_json_get(d, 0, "dns_cache"));
		want = want < 4 ? want : 4;
		if (height - lines_of(&b) - 6 < want) {
			b.len = 0;
			summary(d, &b, true);
		}
		/* two blank lines, two titles, two table headers */
		avail = height - lines_of(&b) - 6;
		if (avail < 0)
			avail = 0;
	}
	tables(d, &b, width, avail);
	cut_lines(&b, out, width, height);
	tg_sbuf_free(&b);
	return out->oom ? -ENOMEM : 0;
}
