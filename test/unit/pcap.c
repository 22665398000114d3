/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cmd/pcap.c: the file layout tcpdump expects, the size
 * bound, and a second session appending to the first one's file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/pcap.h"

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/tg-pcap-test.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static size_t slurp(uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void test_layout(void **state)
{
	uint8_t pkt[60] = {0x45}, buf[1024];
	struct tg_pcap_stats st;
	struct tg_pcap *p;
	struct stat sb;

	(void)state;
	assert_int_equal(tg_pcap_open(&p, path, 0, false), 0);
	tg_pcap_write(p, pkt, sizeof(pkt));
	pkt[0] = 0x60;
	tg_pcap_write(p, pkt, 40);
	tg_pcap_stats(p, &st);
	assert_int_equal(st.packets, 2);
	assert_int_equal(st.bytes, 24 + 16 + 60 + 16 + 40);
	tg_pcap_close(p);

	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(slurp(buf, sizeof(buf)), 24 + 16 + 60 + 16 + 40);
	assert_int_equal(u32(buf), 0xa1b2c3d4); /* host order, microseconds */
	assert_int_equal(u32(buf + 20), 101); /* LINKTYPE_RAW */
	assert_int_equal(u32(buf + 24 + 8), 60); /* caplen */
	assert_int_equal(u32(buf + 24 + 12), 60); /* len */
	assert_int_equal(buf[24 + 16], 0x45);
	assert_int_equal(u32(buf + 24 + 16 + 60 + 8), 40);
	assert_int_equal(buf[24 + 16 + 60 + 16], 0x60);
}

/* the bound holds whole records only; later packets are only counted */
static void test_max_bytes(void **state)
{
	uint8_t pkt[100] = {0x45};
	struct tg_pcap_stats st;
	struct tg_pcap *p;
	struct stat sb;

	(void)state;
	assert_int_equal(tg_pcap_open(&p, path, 500, false), 0);
	for (int i = 0; i < 10; i++)
		tg_pcap_write(p, pkt, sizeof(pkt));
	tg_pcap_stats(p, &st);
	assert_int_equal(st.packets, 4); /* 24 + 4 * 116 = 488 */
	assert_int_equal(st.skipped, 6);
	assert_true(st.full);
	tg_pcap_close(p);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 24 + 4 * 116);
}

/* a reconnection appends to its own earlier file, without a header */
static void test_append(void **state)
{
	uint8_t pkt[20] = {0x45}, buf[512];
	struct tg_pcap *p;

	(void)state;
	assert_int_equal(tg_pcap_open(&p, path, 0, false), 0);
	tg_pcap_write(p, pkt, sizeof(pkt));
	tg_pcap_close(p);
	assert_int_equal(tg_pcap_open(&p, path, 0, true), 0);
	tg_pcap_write(p, pkt, sizeof(pkt));
	tg_pcap_close(p);
	assert_int_equal(slurp(buf, sizeof(buf)), 24 + 2 * (16 + 20));
	/* a fresh start truncates */
	assert_int_equal(tg_pcap_open(&p, path, 0, false), 0);
	tg_pcap_close(p);
	assert_int_equal(slurp(buf, sizeof(buf)), 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_bytes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
