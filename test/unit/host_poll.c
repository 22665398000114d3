/* SPDX-License-Identifier: MIT */
/*
 * host_poll.c - the tests of test/unit/host.c against cmd/host_poll.c,
 * the watcher of a platform without address notifications (the Makefile
 * links that back end instead of host_linux.c).
 */
#include "test/unit/host.c"
