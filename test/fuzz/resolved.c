// SPDX-License-Identifier: MIT
/*
 * resolved.c - fuzz dns_resolved_parse() of dns/resolved.c (systemd-
 * resolved's varlink replies).
 *
 * Properties: a parsed reply has NUL-terminated strings within their
 * arrays, at most DNS_ADDR_MAX addresses each of a known family, and a
 * DNS meaning that is one of the documented results.
 */
#include <string.h>
#include <sys/socket.h>

#include "dns/dns_internal.h"
#include "test/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_resolved_reply r;
	int rc;

	if (dns_resolved_parse((const char *)data, size, &r) < 0)
		return 0;
	FZ_CHECK(memchr(r.error, 0, sizeof(r.error)));
	FZ_CHECK(memchr(r.name, 0, sizeof(r.name)));
	FZ_CHECK(r.n <= DNS_ADDR_MAX);
	for (size_t i = 0; i < r.n; i++)
		FZ_CHECK(r.addrs[i].family == AF_INET ||
			 r.addrs[i].family == AF_INET6);
	for (int family = 0; family <= AF_INET6; family += AF_INET6) {
		rc = dns_resolved_rcode(&r, family);
		FZ_CHECK(rc == DNS_R_NOERROR || rc == DNS_R_NXDOMAIN ||
			 rc == DNS_R_SERVFAIL || rc == DNS_RESOLVED_FAIL ||
			 (rc == DNS_ADDR_CONFIRM && family));
	}
	return 0;
}
