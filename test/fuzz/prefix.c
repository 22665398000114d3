// SPDX-License-Identifier: MIT
/*
 * prefix.c - fuzz tg_prefix_parse() of cmd/prefix.c (--route, --allow).
 *
 * Properties: a parsed prefix has its host bits clear and a length within
 * its family; tg_prefix_str() of it parses back to the same prefix, which
 * contains, overlaps and matches itself.
 */
#include <string.h>
#include <sys/socket.h>

#include "test/fuzz/fuzz.h"
#include "lib/prefix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[256], buf[TG_PREFIX_STRLEN];
	struct tg_prefix p, q;

	/* command line arguments are C strings */
	if (size >= sizeof(s) || memchr(data, 0, size))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (!tg_prefix_parse(s, &p))
		return 0;
	FZ_CHECK(p.family == AF_INET || p.family == AF_INET6);
	FZ_CHECK(p.plen <= (p.family == AF_INET ? 32 : 128));
	for (unsigned b = p.plen; b < 128; b++)
		FZ_CHECK(!(p.addr[b / 8] & (0x80 >> (b % 8))));
	tg_prefix_str(&p, buf);
	FZ_CHECK(strlen(buf) < sizeof(buf));
	FZ_CHECK(tg_prefix_parse(buf, &q));
	FZ_CHECK(!memcmp(&p, &q, sizeof(p)));
	FZ_CHECK(tg_prefix_contains(&p, &q) && tg_prefix_overlaps(&p, &q));
	FZ_CHECK(tg_prefix_match(&p, p.family, q.addr));
	return 0;
}
