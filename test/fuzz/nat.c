// SPDX-License-Identifier: MIT
/*
 * nat.c - fuzz the NAT as a whole on its refusal path: nat_from_tun()
 * with no routes, no allow list and no default route, so that every
 * destination is refused and no socket is ever opened. What runs is the
 * parser, the policy, the refusal logging and the builders of ICMP errors
 * and RSTs.
 *
 * Input: one byte picks the MTU, then packets, each a flags byte (bit 0:
 * make its checksums right), a 16-bit length and its bytes. Every packet the
 * NAT emits must parse, carry valid checksums and fit the MTU; at the end the
 * NAT must open no flow and close every handle it made.
 */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "test/fuzz/fuzz.h"
#include "nat/nat.h"
#include "test/fuzz/pkt_check.h"

static const uint32_t mtus[] = {0, 1280, 1500, 65535};
static uv_loop_t loop;
static uint32_t cur_mtu;

static int emit(void *arg, const uint8_t *pkt, size_t len)
{
	(void)arg;
	check_emitted(pkt, len, cur_mtu);
	return 0;
}

static void count_handle(uv_handle_t *h, void *arg)
{
	(void)h;
	++*(unsigned *)arg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	uv_loop_init(&loop);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	struct nat_opts o = {0};
	struct nat_stats st;
	unsigned handles = 0;
	uint64_t pkts = 0;
	struct nat *n;

	/* small tables: nat_new() allocates them whole, each run */
	o.max_udp_flows = o.max_icmp_flows = o.max_tcp_flows = 4;
	o.mtu = mtus[fz_u8(&in) % 4];
	cur_mtu = o.mtu ? o.mtu : 65520;
	n = nat_new(&loop, &o, emit, NULL);
	FZ_CHECK(n);
	while (in.left) {
		bool fix = fz_u8(&in) & 1;
		size_t len;
		const uint8_t *p = fz_slice(&in, &len);
		uint8_t *pkt = malloc(len ? len : 1);

		FZ_CHECK(pkt);
		memcpy(pkt, p, len);
		if (fix)
			fz_fix_csums(pkt, len);
		nat_from_tun(n, pkt, len);
		free(pkt);
		pkts++;
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	nat_get_stats(n, &st);
	FZ_CHECK(st.pkts_in == pkts);
	FZ_CHECK(!st.udp_flows && !st.icmp_flows && !st.tcp_flows);
	FZ_CHECK(st.malformed + st.unsupported + st.refused <= pkts);
	nat_close(n);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_walk(&loop, count_handle, &handles);
	FZ_CHECK(handles == 0);
	return 0;
}
