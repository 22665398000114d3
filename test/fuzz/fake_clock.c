// SPDX-License-Identifier: MIT
/*
 * fake_clock.c - the fake clock of the wrapped fuzz targets; see
 * fake_clock.h. A timer that the code under test starts again from its
 * own callback with a due time already past fires again in the same
 * advance, up to MAX_FIRES times, as libuv would on every loop turn.
 */
#include <string.h>

#include "test/fuzz/fake_clock.h"
#include "test/fuzz/fuzz.h"

#define MAX_TIMERS 16
#define MAX_FIRES 1000

struct fake_timer {
	uv_timer_t *h;
	uv_timer_cb cb;
	uint64_t due, repeat;
};

uint64_t fake_now_ms;
static uint64_t rng;
static struct fake_timer timers[MAX_TIMERS];
static size_t n_timers;

int __real_uv_is_active(const uv_handle_t *h);

void fake_clock_reset(void)
{
	fake_now_ms = 1000000;
	rng = 42;
	n_timers = 0;
}

uint64_t __wrap_uv_now(const uv_loop_t *l)
{
	(void)l;
	return fake_now_ms;
}

int __wrap_uv_random(uv_loop_t *l, uv_random_t *req, void *buf, size_t len,
		     unsigned flags, uv_random_cb cb)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (uint8_t)(rng >> 56);
	}
	return 0;
}

static struct fake_timer *timer_find(const uv_timer_t *h)
{
	for (size_t i = 0; i < n_timers; i++)
		if (timers[i].h == h)
			return &timers[i];
	return NULL;
}

static void timer_del(struct fake_timer *t)
{
	*t = timers[--n_timers];
}

int __wrap_uv_timer_start(uv_timer_t *h, uv_timer_cb cb, uint64_t timeout,
			  uint64_t repeat)
{
	struct fake_timer *t = timer_find(h);

	if (!t) {
		FZ_CHECK(n_timers < MAX_TIMERS);
		t = &timers[n_timers++];
	}
	t->h = h;
	t->cb = cb;
	t->due = fake_now_ms + timeout;
	t->repeat = repeat;
	return 0;
}

int __wrap_uv_timer_stop(uv_timer_t *h)
{
	struct fake_timer *t = timer_find(h);

	if (t)
		timer_del(t);
	return 0;
}

int __wrap_uv_is_active(const uv_handle_t *h)
{
	if (h->type == UV_TIMER)
		return timer_find((const uv_timer_t *)h) != NULL;
	return __real_uv_is_active(h);
}

void fake_clock_forget(uv_handle_t *h)
{
	struct fake_timer *t;

	if (h->type == UV_TIMER && (t = timer_find((uv_timer_t *)h)))
		timer_del(t);
}

bool fake_clock_idle(void)
{
	return n_timers == 0;
}

void fake_advance(uint64_t ms)
{
	fake_now_ms += ms;
	for (int fired = 0; fired < MAX_FIRES; fired++) {
		struct fake_timer *t = NULL;
		uv_timer_t *h;
		uv_timer_cb cb;

		for (size_t i = 0; i < n_timers; i++)
			if (timers[i].due <= fake_now_ms &&
			    (!t || timers[i].due < t->due))
				t = &timers[i];
		if (!t)
			return;
		h = t->h;
		cb = t->cb;
		if (t->repeat)
			t->due += t->repeat;
		else
			timer_del(t);
		cb(h);
	}
}
