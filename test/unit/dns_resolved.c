/* SPDX-License-Identifier: MIT */
/*
 * dns_resolved.c - unit tests for dns/resolved.c: the varlink reply
 * parser and its DNS meaning, the call's encoding, and the proxy against
 * a varlink server on the same loop (a unix socket in a temp directory)
 * that answers as systemd-resolved does, including the fallback to
 * getaddrinfo (localhost, from /etc/hosts) when it cannot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns/dns_internal.h"
#include "test/unit/dns_test.h"

static int parse_str(const char *s, struct dns_resolved_reply *r)
{
	return dns_resolved_parse(s, strlen(s), r);
}

static void test_parse_reply(void **state)
{
	struct dns_resolved_reply r;

	assert_int_equal(
		parse_str("{\"parameters\":{\"addresses\":["
			  "{\"ifindex\":3,\"family\":2,\"address\":[10,20,1,5]},"
			  "{\"ifindex\":3,\"family\":10,\"address\":"
			  "[253,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]},"
			  "{\"family\":2,\"address\":[1,2,3]},"
			  "{\"family\":7,\"address\":[1,2,3,4]}],"
			  "\"name\":\"Wiki.corp.example\",\"flags\":1048577,"
			  "\"extra\":{\"a\":[true,false,null,\"x\\\"y\"]}}}",
			  &r),
		0);
	assert_string_equal(r.error, "");
	assert_true(r.has_addresses);
	assert_int_equal(r.n, 2); /* short and unknown-family ones ignored */
	assert_int_equal(r.addrs[0].family, AF_INET);
	assert_memory_equal(r.addrs[0].addr, "\x0a\x14\x01\x05", 4);
	assert_int_equal(r.addrs[1].family, AF_INET6);
	assert_int_equal(r.addrs[1].addr[0], 253);
	assert_int_equal(r.addrs[1].addr[15], 1);
	assert_string_equal(r.name, "Wiki.corp.example");
	assert_int_equal(dns_resolved_rcode(&r, AF_INET), DNS_R_NOERROR);

	assert_int_equal(parse_str(" {\"error\":\"io.systemd.Resolve.DNSError\","
				   "\"parameters\":{\"rcode\":3}} ",
				   &r),
			 0);
	assert_int_equal(r.rcode, 3);
	assert_int_equal(dns_resolved_rcode(&r, AF_INET), DNS_R_NXDOMAIN);
	parse_str("{\"error\":\"io.systemd.Resolve.DNSError\","
		  "\"parameters\":{\"rcode\":2}}",
		  &r);
	assert_int_equal(dns_resolved_rcode(&r, AF_INET), DNS_R_SERVFAIL);
	parse_str("{\"error\":\"io.systemd.Resolve.NoSuchResourceRecord\"}", &r);
	assert_int_equal(dns_resolved_rcode(&r, AF_INET6), DNS_ADDR_CONFIRM);
	assert_int_equal(dns_resolved_rcode(&r, 0), DNS_R_NXDOMAIN);
	parse_str("{\"error\":\"io.systemd.Resolve.QueryTimedOut\"}", &r);
	assert_int_equal(dns_resolved_rcode(&r, AF_INET), DNS_R_SERVFAIL);
	/* not resolved's verdict: the caller falls back */
	parse_str("{\"error\":\"org.varlink.service.MethodNotFound\","
		  "\"parameters\":{}}",
		  &r);
	assert_int_equal(dns_resolved_rcode(&r, AF_INET), DNS_RESOLVED_FAIL);
	parse_str("{\"parameters\":{}}", &r);
	assert_int_equal(dns_resolved_rcode(&r, AF_INET), DNS_RESOLVED_FAIL);
}

static void test_parse_broken(void **state)
{
	static const char *bad[] = {
		"",
		"[]",
		"{",
		"{\"parameters\":",
		"{\"parameters\":{\"addresses\":[{\"address\":[256]}]}}",
		"{\"parameters\":{\"addresses\":[{\"address\":[-1]}]}}",
		"{\"parameters\":{\"addresses\":[{\"family\":2.5}]}}",
		"{\"parameters\":{\"addresses\":[{\"family\":1e3}]}}",
		"{\"error\":\"a\\qb\"}",
		"{\"error\":\"a\nb\"}",
		"{\"error\":\"\\u12\"}",
		"{\"a\":tru}",
		"{\"a\":1} {}",
		"{\"a\":1,}",
		"{\"a\" 1}",
		"{\"a\":12345678901234567890}",
	};
	struct dns_resolved_reply r;
	char deep[200];
	size_t n = 0;

	static const char nul_escape[] = "{\"error\":\"a\\\0b\"}";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_str(bad[i], &r), -EBADMSG);
	/* a backslash before a NUL byte is no escape */
	assert_int_equal(dns_resolved_parse(nul_escape, sizeof(nul_escape) - 1,
					    &r),
			 -EBADMSG);
	/* nesting is bounded */
	n += (size_t)sprintf(deep + n, "{\"a\":");
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	assert_int_equal(parse_str(deep, &r), -EBADMSG);
	/* a long string is cut, not overrun */
	memset(deep, 'x', sizeof(deep));
	memcpy(deep, "{\"error\":\"", 10);
	memcpy(deep + sizeof(deep) - 3, "\"}", 3);
	assert_int_equal(parse_str(deep, &r), 0);
	assert_int_equal(strlen(r.error), sizeof(r.error) - 1);
}

static void test_call(void **state)
{
	char b[512];
	int n;

	n = dns_resolved_call(b, sizeof(b), "wiki.corp", AF_INET6);
	assert_int_equal(n, (int)strlen(b) + 1);
	assert_string_equal(b,
			    "{\"method\":\"io.systemd.Resolve.ResolveHostname\","
			    "\"parameters\":{\"name\":\"wiki.corp\","
			    "\"family\":10}}");
	n = dns_resolved_call(b, sizeof(b), "a\"b\\c", 0);
	assert_true(n > 0);
	assert_non_null(strstr(b, "\"name\":\"a\\u0022b\\u005cc\"}}"));
	assert_int_equal(dns_resolved_call(b, 60, "wiki.corp", AF_INET),
			 -ENOSPC);
	assert_int_equal(dns_resolved_call(b, 85, "wiki.corp", AF_INET),
			 -ENOSPC);
}

/* --- a varlink server on the loop --------------------------------------- */

struct vl_conn {
	uv_pipe_t pipe;
	char buf[4096];
	size_t len;
	char out[1024];
	uv_write_t wr;
};

static struct vl_server {
	uv_pipe_t listener;
	char dir[64], path[96];
	int calls, unfamilied;
	struct vl_conn *conns[16];
	int n_conns;
} srv;

static void conn_free_cb(uv_handle_t *h)
{
	free(h->data);
}

static const char *reply_for(const char *call)
{
	bool v4 = strstr(call, "\"family\":2}") != NULL;
	bool v6 = strstr(call, "\"family\":10}") != NULL;

	if (!v4 && !v6)
		srv.unfamilied++;
	if (strstr(call, "\"name\":\"only.resolved.test\"")) {
		if (v6)
			return "{\"error\":\"io.systemd.Resolve."
			       "NoSuchResourceRecord\"}";
		return "{\"parameters\":{\"addresses\":[{\"ifindex\":2,"
		       "\"family\":2,\"address\":[198,18,5,5]},{\"ifindex\":3,"
		       "\"family\":2,\"address\":[198,18,5,5]}],"
		       "\"name\":\"canon.resolved.test\",\"flags\":1}}";
	}
	if (strstr(call, "\"name\":\"nowhere.resolved.test\""))
		return "{\"error\":\"io.systemd.Resolve.NoSuchResourceRecord\"}";
	if (strstr(call, "\"name\":\"gone.resolved.test\""))
		return "{\"error\":\"io.systemd.Resolve.DNSError\","
		       "\"parameters\":{\"rcode\":3}}";
	if (strstr(call, "\"name\":\"slow.resolved.test\""))
		return NULL;
	/* localhost: a server that does not speak this interface */
	return "{\"error\":\"org.varlink.service.MethodNotFound\","
	       "\"parameters\":{\"method\":\"x\"}}";
}

static void conn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct vl_conn *c = h->data;

	*b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void conn_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct vl_conn *c = s->data;
	char *nul;

	if (n < 0) {
		uv_read_stop(s); /* closed and freed by server_stop() */
		return;
	}
	c->len += (size_t)n;
	while ((nul = memchr(c->buf, '\0', c->len))) {
		size_t used = (size_t)(nul - c->buf) + 1;
		const char *rep = reply_for(c->buf);

		srv.calls++;
		if (rep) {
			uv_buf_t o;

			memcpy(c->out, rep, strlen(rep) + 1);
			o = uv_buf_init(c->out, (unsigned)strlen(rep) + 1);
			/* one call in flight at a time, as the client does */
			assert_int_equal(uv_try_write(s, &o, 1),
					 (int)o.len);
		}
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
}

static void server_conn_cb(uv_stream_t *l, int status)
{
	struct vl_conn *c = calloc(1, sizeof(*c));

	assert_int_equal(status, 0);
	uv_pipe_init(l->loop, &c->pipe, 0);
	c->pipe.data = c;
	assert_int_equal(uv_accept(l, (uv_stream_t *)&c->pipe), 0);
	assert_true(srv.n_conns < 16);
	srv.conns[srv.n_conns++] = c;
	uv_read_start((uv_stream_t *)&c->pipe, conn_alloc_cb, conn_read_cb);
}

static void server_start(uv_loop_t *loop)
{
	memset(&srv, 0, sizeof(srv));
	strcpy(srv.dir, "/tmp/tg-resolved.XXXXXX");
	assert_non_null(mkdtemp(srv.dir));
	snprintf(srv.path, sizeof(srv.path), "%s/io.systemd.Resolve", srv.dir);
	uv_pipe_init(loop, &srv.listener, 0);
	assert_int_equal(uv_pipe_bind(&srv.listener, srv.path), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&srv.listener, 16,
				   server_conn_cb),
			 0);
}

static void server_stop(uv_loop_t *loop)
{
	uv_close((uv_handle_t *)&srv.listener, NULL);
	for (int i = 0; i < srv.n_conns; i++)
		if (!uv_is_closing((uv_handle_t *)&srv.conns[i]->pipe))
			uv_close((uv_handle_t *)&srv.conns[i]->pipe,
				 conn_free_cb);
	srv.n_conns = 0;
	unlink(srv.path);
	rmdir(srv.dir);
}

static struct got g[4];
static uint8_t q[512];

static ldns_pkt *ask(uv_loop_t *loop, struct dns_proxy *p, const char *name,
		     uint16_t type, struct got *gg)
{
	size_t n = make_query(q, 0x4242, 0x0100, name, type, 0, false);

	memset(gg, 0, sizeof(*gg));
	assert_int_equal(query(p, q, n, true, gg), 0);
	assert_true(run_until(loop, &gg->calls, 1, 5000));
	return parse(gg);
}

/* a loop, the server on it, and a proxy that asks it */
static struct dns_proxy *setup(uv_loop_t *loop)
{
	struct dns_opts o = {.addr_ttl_s = 30};
	struct dns_proxy *p;

	assert_int_equal(uv_loop_init(loop), 0);
	server_start(loop);
	o.resolved_path = srv.path;
	p = dns_proxy_new(loop, &o);
	assert_non_null(p);
	return p;
}

/* addresses, CNAME to the canonical name, one record per address */
static void test_proxy_answers(void **state)
{
	uv_loop_t loop;
	struct dns_proxy *p = setup(&loop);
	ldns_pkt *a;
	ldns_rr *rr;

	a = ask(&loop, p, "Only.Resolved.Test", 1, &g[0]);
	assert_int_equal(ldns_pkt_get_rcode(a), 0);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(a)), 2);
	rr = ldns_rr_list_rr(ldns_pkt_answer(a), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_CNAME);
	rr = ldns_rr_list_rr(ldns_pkt_answer(a), 1);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
	assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr, 0)), "\xc6\x12\5\5",
			    4);
	ldns_pkt_free(a);
	assert_int_equal(srv.calls, 1);

	/* AAAA: no such record, asked again without a family: NODATA */
	a = ask(&loop, p, "only.resolved.test", 28, &g[1]);
	assert_int_equal(ldns_pkt_get_rcode(a), 0);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(a)), 0);
	ldns_pkt_free(a);
	assert_int_equal(srv.calls, 3);
	assert_int_equal(srv.unfamilied, 1);

	/* nothing of either family: NXDOMAIN; and resolved's NXDOMAIN */
	a = ask(&loop, p, "nowhere.resolved.test", 1, &g[2]);
	assert_int_equal(ldns_pkt_get_rcode(a), 3);
	ldns_pkt_free(a);
	a = ask(&loop, p, "gone.resolved.test", 28, &g[3]);
	assert_int_equal(ldns_pkt_get_rcode(a), 3);
	ldns_pkt_free(a);
	assert_int_equal(srv.calls, 6);

	server_stop(&loop);
	finish(&loop, p);
}

/* a server that is not resolved, or none: getaddrinfo answers */
static void test_proxy_fallback(void **state)
{
	uv_loop_t loop;
	struct dns_proxy *p = setup(&loop);
	ldns_pkt *a;

	a = ask(&loop, p, "localhost", 1, &g[0]);
	assert_int_equal(ldns_pkt_get_rcode(a), 0);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(a)), 1);
	ldns_pkt_free(a);
	assert_int_equal(srv.calls, 1);
	assert_int_equal(p->resolved_state, DNS_RESOLVED_FAILED);

	/* resolved answers again */
	a = ask(&loop, p, "only.resolved.test", 1, &g[1]);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(a)), 2);
	ldns_pkt_free(a);
	assert_int_equal(p->resolved_state, DNS_RESOLVED_OK);

	server_stop(&loop);
	finish(&loop, p);

	/* the socket goes away after resolved answered: files and dns */
	p = setup(&loop);
	a = ask(&loop, p, "only.resolved.test", 1, &g[2]);
	ldns_pkt_free(a);
	assert_int_equal(p->resolved_state, DNS_RESOLVED_OK);
	server_stop(&loop);
	a = ask(&loop, p, "localhost", 1, &g[3]);
	assert_int_equal(ldns_pkt_get_rcode(a), 0);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(a)), 1);
	ldns_pkt_free(a);
	assert_int_equal(srv.calls, 1);
	assert_int_equal(p->resolved_state, DNS_RESOLVED_FAILED);
	finish(&loop, p);
}

/* no socket at all: files and dns, quietly */
static void test_proxy_absent(void **state)
{
	struct dns_opts o = {.resolved_path = "/nonexistent/io.systemd.Resolve"};
	uv_loop_t loop;
	struct dns_proxy *p;
	ldns_pkt *a;

	assert_int_equal(uv_loop_init(&loop), 0);
	p = dns_proxy_new(&loop, &o);
	a = ask(&loop, p, "localhost", 1, &g[0]);
	assert_int_equal(ldns_pkt_get_rcode(a), 0);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(a)), 1);
	ldns_pkt_free(a);
	assert_int_equal(p->resolved_state, DNS_RESOLVED_UNKNOWN);
	finish(&loop, p);
}

/* a call that never answers times out, and its pipe is closed */
static void test_proxy_timeout(void **state)
{
	struct dns_opts o = {.timeout_ms = 200};
	uv_loop_t loop;
	struct dns_proxy *p;
	ldns_pkt *a;

	assert_int_equal(uv_loop_init(&loop), 0);
	server_start(&loop);
	o.resolved_path = srv.path;
	p = dns_proxy_new(&loop, &o);
	a = ask(&loop, p, "slow.resolved.test", 1, &g[0]);
	assert_int_equal(ldns_pkt_get_rcode(a), 2);
	ldns_pkt_free(a);
	assert_int_equal(srv.calls, 1);
	server_stop(&loop);
	finish(&loop, p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_reply),
		cmocka_unit_test(test_parse_broken),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_proxy_answers),
		cmocka_unit_test(test_proxy_fallback),
		cmocka_unit_test(test_proxy_absent),
		cmocka_unit_test(test_proxy_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
