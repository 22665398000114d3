/* SPDX-License-Identifier: MIT */
/*
 * fake_clock.h - a fake clock for the fuzz targets that link-wrap libuv
 * (nat_mem, dns_proxy): uv_now() reads it, uv_timer_start() and
 * uv_timer_stop() keep timers in a table that fires when the harness
 * advances the clock, and uv_random() is deterministic, so that a crash
 * replays exactly. Needs -Wl,--wrap= for uv_now, uv_timer_start,
 * uv_timer_stop, uv_is_active and uv_random (FUZZ_WRAP_CLOCK).
 */
#ifndef TG_FAKE_CLOCK_H
#define TG_FAKE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

extern uint64_t fake_now_ms;

/* clock back to its start, no timers, random numbers from the start */
void fake_clock_reset(void);
/* move the clock on and fire the timers that are due */
void fake_advance(uint64_t ms);
/* @h is being closed: forget it if it is a timer */
void fake_clock_forget(uv_handle_t *h);
/* no timer left */
bool fake_clock_idle(void);

#endif
