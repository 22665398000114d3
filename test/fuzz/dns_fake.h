/* SPDX-License-Identifier: MIT */
/*
 * dns_fake.h - the lookups of dns/, replaced for the dns_proxy fuzz
 * target only, by link-time wrapping (FUZZ_WRAP_DNS in the Makefile):
 * uv_getaddrinfo() and uv_queue_work() only record the request, and the
 * harness completes it when it likes, with the status, addresses or
 * upstream reply the fuzzer wrote; uv_cancel() makes it complete as
 * cancelled. No name is ever resolved and no packet is ever sent. The
 * clock is fake_clock.h's.
 */
#ifndef TG_DNS_FAKE_H
#define TG_DNS_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "test/fuzz/fake_clock.h"

/* a fresh world: nothing pending, the clock reset */
void dns_fake_begin(void);
/* lookups started and not completed (cancelled ones included) */
size_t dns_fake_pending(void);
/* the next lookup fails to start with @err */
void dns_fake_fail_next(int err);
/* uv_cancel() from now on fails with UV_EBUSY (the lookup is running) */
void dns_fake_busy(bool busy);
/*
 * Complete the @i-th pending lookup. getaddrinfo: @status (0 or
 * UV_EAI_*), and @src holds a canonical name (a length byte, the text)
 * then addresses (a byte, odd for IPv6, then 4 or 16 bytes). Upstream:
 * @status 0 and @src is the reply, or @status not 0 for no reply. A
 * cancelled lookup completes as cancelled, whatever the arguments.
 */
void dns_fake_complete(size_t i, int status, const uint8_t *src, size_t len);
/* complete the cancelled ones, as the thread pool does by itself */
void dns_fake_settle(void);

#endif
