/* SPDX-License-Identifier: MIT */
/*
 * host.c - unit tests for the own addresses of cmd/host.h: every address
 * of every interface whatever its state, and a watcher that says when to
 * read them again, once for the back end the build uses (host_linux.c:
 * rtnetlink notifications) and once for host_poll.c (test/unit/host_poll.c
 * includes this file).
 *
 * The tests make a network namespace of their own (unshare(), so root
 * only; skipped otherwise) and change the addresses of its loopback
 * device, which stays down: the kernel delivers to them all the same.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "cmd/host.h"
#include "lib/netlink.h"

struct ctx {
	uv_loop_t loop;
	unsigned calls;
};

static bool has(int family, const uint8_t *addr)
{
	struct tg_prefix *own, want;
	size_t n;
	bool found;

	assert_int_equal(tg_host_addrs(&own, &n), 0);
	tg_prefix_host(&want, family, addr);
	found = tg_prefix_in(own, n, &want);
	free(own);
	return found;
}

/* add or remove @addr on lo; Return: 0 or -errno */
static int lo_addr(uint16_t type, int family, const uint8_t *addr)
{
	struct tg_nl_req r;
	struct ifaddrmsg *ifa;
	struct tg_nl nl;
	size_t alen = family == AF_INET ? 4 : 16;
	int err;

	err = tg_nl_open(&nl);
	if (err)
		return err;
	ifa = tg_nl_req_init(&r, type, type == RTM_NEWADDR ? NLM_F_CREATE : 0,
			     sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)(alen * 8);
	ifa->ifa_index = if_nametoindex("lo");
	err = tg_nl_attr_put(&r.n, sizeof(r), IFA_LOCAL, addr, alen);
	if (!err)
		err = tg_nl_attr_put(&r.n, sizeof(r), IFA_ADDRESS, addr, alen);
	if (!err)
		err = tg_nl_talk(&nl, &r.n);
	tg_nl_close(&nl);
	return err;
}

/* a namespace of our own, its lo down; skips the test if it cannot */
static int setup(void **state)
{
	static struct ctx c;
	static const uint8_t a4[4] = {198, 18, 99, 1};

	if (unshare(CLONE_NEWNET) < 0 || lo_addr(RTM_NEWADDR, AF_INET, a4))
		return 0; /* *state stays NULL: skip */
	memset(&c, 0, sizeof(c));
	assert_int_equal(uv_loop_init(&c.loop), 0);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	if (!c)
		return 0;
	assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&c->loop), 0);
	return 0;
}

/* an address on an interface that is down is still this machine's */
static void test_any_state(void **state)
{
	static const uint8_t a4[4] = {198, 18, 99, 1};
	uv_interface_address_t *ifs;
	int n;

	if (!*state)
		skip();
	assert_true(has(AF_INET, a4));
	/* what libuv would have said: nothing, lo is down */
	assert_int_equal(uv_interface_addresses(&ifs, &n), 0);
	assert_int_equal(n, 0);
	uv_free_interface_addresses(ifs, n);
}

static void watch_cb(void *arg)
{
	((struct ctx *)arg)->calls++;
}

static void timeout_cb(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

/* run the loop for @ms, or until the watcher calls back if @until_called;
 * Return: whether it called back */
static bool run_for(struct ctx *c, uint64_t ms, bool until_called)
{
	unsigned before = c->calls;
	bool expired = false;
	uv_timer_t t;

	uv_timer_init(&c->loop, &t);
	t.data = &expired;
	uv_timer_start(&t, timeout_cb, ms, 0);
	while (!expired && !(until_called && c->calls != before))
		uv_run(&c->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&c->loop, UV_RUN_NOWAIT);
	return c->calls != before;
}

/* run until the watcher has called back, for at most 3 s */
static bool called(struct ctx *c)
{
	return run_for(c, 3000, true);
}

static void test_watch(void **state)
{
	static const uint8_t a4[4] = {198, 18, 99, 2};
	static const uint8_t a6[16] = {0xfd, 0x7e, 0x99, [15] = 2};
	struct ctx *c = *state;
	struct tg_host_watch *w;

	if (!c)
		skip();
	assert_int_equal(tg_host_watch_addrs(&c->loop, watch_cb, c, &w), 0);
	assert_false(has(AF_INET, a4));
	assert_int_equal(lo_addr(RTM_NEWADDR, AF_INET, a4), 0);
	assert_true(called(c));
	assert_true(has(AF_INET, a4));
	assert_int_equal(lo_addr(RTM_NEWADDR, AF_INET6, a6), 0);
	assert_true(called(c));
	assert_true(has(AF_INET6, a6));
	assert_int_equal(lo_addr(RTM_DELADDR, AF_INET, a4), 0);
	assert_true(called(c));
	assert_false(has(AF_INET, a4));
	assert_true(has(AF_INET6, a6));
	tg_host_watch_close(w);
	tg_host_watch_close(NULL);
}

/*
 * More changes than the kernel queues for the watcher, made while the
 * loop does not run: it lost some (ENOBUFS), says "read them again", and
 * goes on watching. libuv stops a poll handle on the POLLERR that the
 * loss raises, which once left the outside blind to every later change.
 */
static void test_watch_overrun(void **state)
{
	static const uint8_t last[4] = {198, 19, 99, 1};
	struct ctx *c = *state;
	struct tg_host_watch *w;
	uint8_t a4[4] = {198, 18, 0, 0};

	if (!c)
		skip();
	assert_int_equal(tg_host_watch_addrs(&c->loop, watch_cb, c, &w), 0);
	for (unsigned i = 0; i < 2000; i++) {
		a4[2] = (uint8_t)(1 + i / 250);
		a4[3] = (uint8_t)(1 + i % 250);
		assert_int_equal(lo_addr(RTM_NEWADDR, AF_INET, a4), 0);
	}
	assert_true(called(c));
	run_for(c, 300, false); /* what was still queued is read */
	assert_int_equal(lo_addr(RTM_NEWADDR, AF_INET, last), 0);
	assert_true(called(c));
	assert_true(has(AF_INET, last));
	tg_host_watch_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_any_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_overrun, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
