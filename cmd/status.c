/* SPDX-License-Identifier: MIT */
/*
 * status.c - `tungate status [NAME] [--json] [--watch]`.
 *
 * Theory of operation: find the control socket of the outside (by NAME,
 * or the only one running as this user), connect, ask ("status\n"), read
 * one JSON document to EOF, and print it as is (--json) or as text
 * (status_text.c).
 *
 * --watch takes the terminal: raw mode (no echo, no line editing, keys
 * read one by one), the alternate screen, the cursor hidden. Every second,
 * and at once when the window changes size, the document is fetched again
 * and the screen redrawn in place (cursor home, each line cleared to its
 * end, the rest of the screen cleared), fitted to the window's size. q,
 * Ctrl-C or Ctrl-D quits; SIGTERM, SIGHUP and SIGINT end the loop too;
 * the terminal is restored on every way out. An outside that stops
 * answering is reported on the screen and asked again each second, so a
 * restarting service comes back by itself.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cmd/control.h"
#include "cmd/json.h"
#include "cmd/status.h"
#include "cmd/status_text.h"
#include "cmd/tungate.h"

#define DOC_MAX (4 * TG_CONTROL_DOC_MAX)
#define TOKENS_MAX (4u << 20)
#define FETCH_TIMEOUT_MS 5000
#define MAX_FOUND 32

struct sock_path {
	char name[TG_CONTROL_NAME_MAX + 8];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tungate status [NAME] [--json] [--watch]\n\n"
		"Shows what a running `tungate outside` does: the stream, "
		"the routes, counters,\nthe NAT's connections and the DNS "
		"cache. NAME is the outside's --name (default:\nits --ssh "
		"destination, or \"default\"); without it, the only outside "
		"running as\nthis user.\n\n"
		"  --json     print the status as one JSON document (fields: "
		"README.md, Status)\n"
		"  --watch    full screen, refreshed every second, most "
		"recent activity first;\n"
		"             q quits\n");
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static bool is_socket(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* sockets named *.sock in @dir, alive (they accept), not seen before */
static void scan_dir(const char *dir, struct sock_path *found, int *n,
		     int *stale)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) && *n < MAX_FOUND) {
		size_t len = strlen(e->d_name);
		struct sock_path *s = &found[*n];
		bool seen = false;
		int fd;

		if (len <= 5 || len - 5 > TG_CONTROL_NAME_MAX ||
		    strcmp(e->d_name + len - 5, ".sock"))
			continue;
		snprintf(s->name, sizeof(s->name), "%.*s", (int)(len - 5),
			 e->d_name);
		for (int i = 0; i < *n; i++)
			seen |= !strcmp(found[i].name, s->name);
		if (seen ||
		    tg_control_sockaddr(dir, s->name, s->path,
					sizeof(s->path)) < 0 ||
		    !is_socket(s->path))
			continue;
		fd = connect_to(s->path);
		if (fd < 0) {
			(*stale)++;
			continue;
		}
		close(fd);
		(*n)++;
	}
	if (d)
		closedir(d);
}

static void dirs_list(char *buf, size_t cap)
{
	char dir[PATH_MAX];
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; tg_control_dir(i, dir, sizeof(dir)) != -ERANGE;
	     i++) {
		if (tg_control_dir(i, dir, sizeof(dir)) < 0)
			continue;
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "",
				      dir);
		if (n >= cap)
			break;
	}
}

/* the socket of outside @name, or of the only one running */
static int find_socket(const char *name, struct sock_path *out)
{
	struct sock_path found[MAX_FOUND];
	char dir[PATH_MAX], dirs[1024], denied[PATH_MAX] = "";
	int n = 0, stale = 0;

	dirs_list(dirs, sizeof(dirs));
	for (unsigned i = 0; tg_control_dir(i, dir, sizeof(dir)) != -ERANGE;
	     i++) {
		if (tg_control_dir(i, dir, sizeof(dir)) < 0)
			continue;
		if (!name) {
			/* the first place with outsides is where this
			 * environment's outsides go */
			scan_dir(dir, found, &n, &stale);
			if (n)
				break;
			continue;
		}
		tg_control_safe_name(name, out->name, sizeof(out->name));
		errno = 0;
		if (tg_control_sockaddr(dir, out->name, out->path,
					sizeof(out->path)) == 0 &&
		    is_socket(out->path))
			return 0;
		if (errno == EACCES && !denied[0])
			snprintf(denied, sizeof(denied), "%s", dir);
	}
	if (name && denied[0]) {
		fprintf(stderr,
			"tungate status: %s belongs to another user: ask as "
			"the user who runs the outside\n",
			denied);
		return TG_EXIT_FAIL;
	}
	if (name) {
		fprintf(stderr,
			"tungate status: no outside named '%s' is running as "
			"this user (no %s.sock in %s)\n",
			name, out->name, dirs);
		return TG_EXIT_FAIL;
	}
	if (n == 1) {
		*out = found[0];
		return 0;
	}
	if (n == 0) {
		fprintf(stderr,
			"tungate status: no tungate outside is running as this "
			"user (%s in %s)\n",
			stale ? "only sockets of stopped outsides"
			      : "no control socket",
			dirs);
		return TG_EXIT_FAIL;
	}
	fprintf(stderr, "tungate status: %d outsides are running:", n);
	for (int i = 0; i < n; i++)
		fprintf(stderr, " %s", found[i].name);
	fprintf(stderr, "; name one: tungate status NAME\n");
	return TG_EXIT_USAGE;
}

static const char *fetch_error(int err, const char *path, char *why, size_t cap)
{
	struct stat st;

	if (err == -ENOENT || err == -ECONNREFUSED)
		snprintf(why, cap, "the outside of %s is not running", path);
	else if (err == -EACCES || err == -EPERM)
		snprintf(why, cap, "%s belongs to another user", path);
	else if (err == -ECONNRESET && lstat(path, &st) == 0 &&
		 st.st_uid != geteuid())
		snprintf(why, cap,
			 "the outside refused this user: ask as uid %lu, who "
			 "runs it",
			 (unsigned long)st.st_uid);
	else if (err == -ECONNRESET)
		snprintf(why, cap, "the outside closed the connection");
	else if (err == -ETIMEDOUT)
		snprintf(why, cap, "the outside did not answer within %d s",
			 FETCH_TIMEOUT_MS / 1000);
	else
		snprintf(why, cap, "%s: %s", path, strerror(-err));
	return why;
}

/* ask: the request is one line, small enough for any socket buffer */
static int ask(int fd)
{
	static const char req[] = TG_CONTROL_REQUEST "\n";
	ssize_t n;

	do
		n = send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(req) - 1 ? 0 : -EIO;
}

/* the whole document, read to EOF; an empty answer is a refusal */
static int fetch(const char *path, struct tg_sbuf *doc)
{
	int fd = connect_to(path), r = 0;
	char buf[65536];

	if (fd < 0)
		return fd;
	r = ask(fd);
	if (r < 0) {
		close(fd);
		return r == -EPIPE ? -ECONNRESET : r;
	}
	doc->len = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		r = poll(&p, 1, FETCH_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			r = r < 0 ? -errno : -ETIMEDOUT;
			break;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : doc->len ? 0 : -ECONNRESET;
			break;
		}
		if (doc->len + (size_t)n > DOC_MAX) {
			r = -EFBIG;
			break;
		}
		tg_sbuf_printf(doc, "%.*s", (int)n, buf);
		if (doc->oom) {
			r = -ENOMEM;
			break;
		}
	}
	close(fd);
	return r;
}

static int term_width(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO) ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_col)
		return 0;
	return ws.ws_col;
}

/* the document as text into @out, or -errno with the reason in @why */
static int render(const struct tg_sbuf *doc, struct tg_sbuf *out, int width,
		  int height, char *why, size_t cap)
{
	struct tg_jdoc d;
	int r = tg_json_parse(&d, doc->p, doc->len, TOKENS_MAX);

	if (r == 0) {
		r = tg_status_text(&d, out, width, height);
		tg_json_free(&d);
	}
	if (r < 0)
		snprintf(why, cap,
			 "the outside's answer is not a status "
			 "document (is it the same tungate "
			 "version?)");
	return r;
}

static int run_once(const struct sock_path *s, bool json)
{
	struct tg_sbuf doc = {0}, out = {0};
	char why[300];
	int r = fetch(s->path, &doc);

	if (r == 0 && json) {
		fwrite(doc.p, 1, doc.len, stdout);
	} else if (r == 0) {
		r = render(&doc, &out, term_width(), 0, why, sizeof(why));
		if (r == 0)
			fwrite(out.p, 1, out.len, stdout);
		else
			fprintf(stderr, "tungate status: %s\n", why);
	} else {
		fprintf(stderr, "tungate status: %s\n",
			fetch_error(r, s->path, why, sizeof(why)));
	}
	tg_sbuf_free(&doc);
	tg_sbuf_free(&out);
	if (fflush(stdout) != 0 && r == 0)
		r = -EIO;
	return r == 0 ? TG_EXIT_OK : TG_EXIT_FAIL;
}

/* ------------------------------------------------------------ --watch */

static volatile sig_atomic_t watch_quit, watch_resized;
static struct termios watch_saved;

static void watch_signal(int sig)
{
	if (sig == SIGWINCH)
		watch_resized = 1;
	else
		watch_quit = 1;
}

static void watch_restore(void)
{
	static const char leave[] = "\033[?25h\033[?1049l";

	if (write(STDOUT_FILENO, leave, sizeof(leave) - 1) < 0)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &watch_saved);
}

static int watch_enter(void)
{
	static const char enter[] = "\033[?1049h\033[?25l\033[H\033[2J";
	struct sigaction sa = {.sa_handler = watch_signal};
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
	struct termios raw;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "tungate status: --watch needs a terminal; "
				"without it, run tungate status\n");
		return -ENOTTY;
	}
	if (tcgetattr(STDIN_FILENO, &watch_saved) < 0)
		return -errno;
	/* no SA_RESTART: a signal must end the poll() at once */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	raw = watch_saved;
	/* keys one by one, unechoed; ^C is a key here (we restore first) */
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
		return -errno;
	if (write(STDOUT_FILENO, enter, sizeof(enter) - 1) < 0)
		return -errno;
	return 0;
}

/* one screen: @text's first @rows lines, cut to @cols, each cleared to
 * its end */
static void watch_draw(const struct tg_sbuf *text, int rows, int cols)
{
	struct tg_sbuf s = {0};
	size_t i = 0;

	tg_sbuf_printf(&s, "\033[H");
	for (int line = 0; line < rows && i < text->len; line++) {
		const char *nl = memchr(text->p + i, '\n', text->len - i);
		size_t n = nl ? (size_t)(nl - (text->p + i)) : text->len - i;

		/* no newline after the last row: the screen must not scroll */
		tg_sbuf_printf(&s, "%.*s\033[K%s",
			       (int)(n < (size_t)cols ? n : (size_t)cols),
			       text->p + i, line + 1 < rows ? "\r\n" : "");
		i += n + (nl ? 1 : 0);
	}
	tg_sbuf_printf(&s, "\033[J");
	if (!s.oom && write(STDOUT_FILENO, s.p, s.len) < 0)
		watch_quit = 1;
	tg_sbuf_free(&s);
}

static void watch_frame(const struct sock_path *s)
{
	struct tg_sbuf doc = {0}, body = {0}, text = {0};
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	char why[300], now[16];
	time_t t = time(NULL);
	struct tm tm;
	int r;

	ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	if (ws.ws_row < 2)
		ws.ws_row = 2;
	if (ws.ws_col < 20)
		ws.ws_col = 20;
	localtime_r(&t, &tm);
	strftime(now, sizeof(now), "%H:%M:%S", &tm);
	tg_sbuf_printf(&text,
		       "%s  tungate status --watch: every second, most recent "
		       "first; q quits\n",
		       now);
	r = fetch(s->path, &doc);
	if (r < 0)
		tg_sbuf_printf(&text, "\n%s; asking again every second\n",
			       fetch_error(r, s->path, why, sizeof(why)));
	else if (render(&doc, &body, ws.ws_col, ws.ws_row - 1, why,
			sizeof(why)) < 0)
		tg_sbuf_printf(&text, "\n%s\n", why);
	else
		tg_sbuf_printf(&text, "%.*s", (int)body.len, body.p);
	watch_draw(&text, ws.ws_row, ws.ws_col);
	tg_sbuf_free(&doc);
	tg_sbuf_free(&body);
	tg_sbuf_free(&text);
}

/* wait up to @ms for a key; true if it says quit */
static bool watch_key(int ms)
{
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
	char c;

	if (poll(&p, 1, ms) <= 0)
		return false;
	if (read(STDIN_FILENO, &c, 1) != 1)
		return (p.revents & (POLLHUP | POLLERR)) != 0;
	return c == 'q' || c == 'Q' || c == 3 || c == 4;
}

static int run_watch(const struct sock_path *s)
{
	struct timespec next, now;
	int r = watch_enter();

	if (r < 0)
		return r == -ENOTTY ? TG_EXIT_USAGE : TG_EXIT_FAIL;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!watch_quit) {
		long ms;

		watch_frame(s);
		next.tv_sec++;
		do {
			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (next.tv_sec - now.tv_sec) * 1000 +
			     (next.tv_nsec - now.tv_nsec) / 1000000;
			if (watch_key(ms > 0 ? (int)ms : 0))
				watch_quit = 1;
		} while (ms > 0 && !watch_quit && !watch_resized);
		if (watch_resized) {
			watch_resized = 0;
			clock_gettime(CLOCK_MONOTONIC, &next);
		}
	}
	watch_restore();
	return TG_EXIT_OK;
}

int tg_status_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"watch", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL;
	bool json = false, watch = false;
	struct sock_path s;
	int c, r;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":jwh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'w':
			watch = true;
			break;
		case 'h':
			usage(stdout);
			return TG_EXIT_OK;
		default:
			fprintf(stderr,
				"tungate status: unknown option %s (see "
				"tungate status --help)\n",
				argv[optind - 1]);
			return TG_EXIT_USAGE;
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc || (json && watch)) {
		fprintf(stderr,
			"tungate status: %s (see tungate status "
			"--help)\n",
			json && watch ? "--json and --watch do not go together"
				      : "at most one NAME");
		return TG_EXIT_USAGE;
	}
	r = find_socket(name, &s);
	if (r)
		return r;
	return watch ? run_watch(&s) : run_once(&s, json);
}
