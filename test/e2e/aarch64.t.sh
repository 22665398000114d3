#!/bin/bash
# SPDX-License-Identifier: MIT
#
# aarch64: the arm64 build (make tungate-aarch64) as the inside, run by
# qemu-aarch64-static, against the x86_64 outside: the basic path (HTTP,
# UDP and ping over IPv4 and IPv6, DNS by name) works and the container
# is left as it was. qemu-user takes no policy rules (RTM_NEWRULE is
# EOPNOTSUPP in 7.2), so the inside says once that its routes go in the
# main table (maintable.t.sh tests that mode natively).
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
QEMU=$(command -v qemu-aarch64-static) ||
	skip "qemu-aarch64-static is not installed (make deps)"
# beside the binary under test: ./tungate-aarch64 for ./tungate-asan too
ARM=${TUNGATE_AARCH64:-$(dirname "$TUNGATE")/tungate-aarch64}
[ -x "$ARM" ] || ARM=$TG_REPO/tungate-aarch64
[ -x "$ARM" ] || skip "no $ARM (make tungate-aarch64)"
tg_setup

cp "$ARM" "$T/tungate-aarch64" && chmod 755 "$T/tungate-aarch64" ||
	die "cannot copy $ARM"
check "the inside under test is an aarch64 binary" \
	bash -c "file -b '$T/tungate-aarch64' | grep -q 'ARM aarch64'"
TG_INSIDE_RUN=("$QEMU" "$T/tungate-aarch64")
TG_INSIDE_COMM=${QEMU##*/}
TG_INSIDE_COMM=${TG_INSIDE_COMM:0:15} # the kernel keeps 15 bytes of comm
TG_OUTSIDE_ARGS=(-v) # DNS on, the default
tg_snapshot "$NS_CS" >"$T/before"
assert "a web server in lan" tg_http_start

# qemu is slow to start: tg_start_tunnel waits 20 s
assert "the tunnel starts with the aarch64 inside" tg_start_tunnel
check "the outside met the aarch64 inside" \
	grep -q 'connected to the inside' "$TG_OUTSIDE_LOG"
n=$(grep -c 'main table' "$TG_INSIDE_LOG")
check "the inside says once that it uses the main table ($n)" test "$n" = 1
check "no IPv4 rule of ours" not tg_has_rule "$NS_CS" -4 "$TG_PREF"
check "lan is routed into $TUN_DEV" test -n \
	"$(ip -n "$NS_CS" route show table main | grep "^$LAN_NET4 dev $TUN_DEV .*proto 116")"
tg_basic_path

check "the tunnel stops" tg_stop_tunnel
check "the inside exited 0" test "$(cat "$TG_INSIDE_RC")" = 0
tg_snapshot "$NS_CS" >"$T/after"
check "the container is as it was" diff -u "$T/before" "$T/after"
check "no state file is left" test -z "$(tg_state_files "$NS_CS")"
tg_done
