#!/bin/bash
# SPDX-License-Identifier: MIT
#
# maintable: the inside without policy rules (--main-table here; by itself
# where the kernel takes none, as under qemu-user: aarch64.t.sh). The
# routes go in the main table with protocol 116, more specific than the
# container's default route and never over its own subnets; --route
# default is two /1 routes a family, and the stream's peer keeps its way
# out through the container's gateway; a changed offer is followed. The
# basic path works, a SIGKILLed inside's leftover (the peer's route) is
# removed by the next start, and the container ends exactly as it was.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

TG_OUTSIDE_ARGS=(-v) # DNS on, the default
TG_INSIDE_ARGS+=(--main-table)
PEER4=198.18.9.9 # the stream's far end, as if it came via the gateway
tg_snapshot "$NS_CS" >"$T/before"
assert "a web server in lan" tg_http_start

# ours -4|-6 - our routes in the main table of cs (protocol 116)
ours() { ip -n "$NS_CS" "$1" route show table main | grep "proto 116"; }

# --- offered prefixes -------------------------------------------------------
assert "the tunnel starts" tg_start_tunnel
n=$(grep -c 'main table' "$TG_INSIDE_LOG")
check "the inside says once that it uses the main table ($n)" test "$n" = 1
check "no IPv4 rule of ours" not tg_has_rule "$NS_CS" -4 "$TG_PREF"
check "no IPv6 rule of ours" not tg_has_rule "$NS_CS" -6 "$TG_PREF"
check "the tunnel's table is empty" test -z \
	"$(ip -n "$NS_CS" route show table "$TG_TABLE" 2>/dev/null)$(ip -n "$NS_CS" -6 route show table "$TG_TABLE" 2>/dev/null)"
check "main routes lan over IPv4 into $TUN_DEV" \
	test -n "$(ours -4 | grep "^$LAN_NET4 dev $TUN_DEV ")"
check "and over IPv6" test -n "$(ours -6 | grep "^$LAN_NET6 dev $TUN_DEV ")"
check "the container's default route is untouched" \
	bash -c "ip -n $NS_CS -4 route show table main | grep -q '^default via $GW4'"
tg_basic_path
check "the tunnel stops" tg_stop_tunnel
tg_snapshot "$NS_CS" >"$T/after1"
check "the container is as it was" diff -u "$T/before" "$T/after1"

# --- an offer that changes while running (tun_update) ----------------------
LATE4=198.19.50.0/24
# in_main PREFIX - cs's main table routes PREFIX into the device, ours
in_main() {
	ip -n "$NS_CS" route show table main |
		grep -q "^$1 dev $TUN_DEV proto 116"
}
TG_OUTSIDE_ARGS=(--no-dns -v --route auto)
assert "the tunnel starts with --route auto" tg_start_tunnel
must ip -n "$NS_LOCAL" route add "$LATE4" via "$LAN4"
check "a route added to local reaches cs's main table" \
	wait_for 15 in_main "$LATE4"
must ip -n "$NS_LOCAL" route del "$LATE4" via "$LAN4"
check "and leaves it when local drops it" wait_for 15 not in_main "$LATE4"
check "lan stays routed" in_main "$LAN_NET4"
check "the tunnel stops" tg_stop_tunnel
tg_snapshot "$NS_CS" >"$T/after-update"
check "the container is as it was" diff -u "$T/before" "$T/after-update"

# --- --route default, the peer kept out, a crash ---------------------------
TG_OUTSIDE_ARGS=(--no-dns -v --route default --peer "$PEER4")
assert "the tunnel starts with --route default" tg_start_tunnel
check "0.0.0.0/1 and 128.0.0.0/1 into $TUN_DEV" test \
	"$(ours -4 | grep -cE "^(0\.0\.0\.0|128\.0\.0\.0)/1 dev $TUN_DEV")" = 2
check "::/1 and 8000::/1 into $TUN_DEV" test \
	"$(ours -6 | grep -cE "^(::|8000::)/1 dev $TUN_DEV")" = 2
check "the peer goes via the container's gateway" \
	bash -c "ip -n $NS_CS route get $PEER4 | grep -q 'via $GW4 dev $IF_CS'"
check "the container's own subnet stays direct" \
	bash -c "ip -n $NS_CS route get $GW4 | grep -q 'dev $IF_CS'"
check "another address goes into the tunnel" \
	bash -c "ip -n $NS_CS route get 198.19.77.1 | grep -q 'dev $TUN_DEV'"
check "UDP echo to $LAN4" tg_udp_echo "$NS_CS" "$LAN4" 7 200
check "UDP echo to $LAN6" tg_udp_echo "$NS_CS" "$LAN6" 7 200

cmd kill -KILL "$TG_INSIDE_PID"
tg_wait_inside_exit 10 >/dev/null
tg_wait_exit "$TG_OUTSIDE_PID" 15
tg_wait_exit "$TG_CS_SOCAT_PID" 10
check "the peer's route is left over" test -n \
	"$(ours -4 | grep "^$PEER4 via $GW4 ")"
check "the state file names it" \
	grep -q "^via 4 main $PEER4/32" "$(tg_state_files "$NS_CS")"

TG_OUTSIDE_ARGS=(--no-dns -v)
assert "the tunnel starts again" tg_start_tunnel
check "the new inside removed the leftover" grep -q leftover "$TG_INSIDE_LOG"
check "the peer's route is gone" test -z "$(ours -4 | grep "^$PEER4")"
check "UDP echo to $LAN4" tg_udp_echo "$NS_CS" "$LAN4" 7 200
check "the tunnel stops" tg_stop_tunnel
tg_snapshot "$NS_CS" >"$T/after2"
check "the container is as it was" diff -u "$T/before" "$T/after2"
check "no state file is left" test -z "$(tg_state_files "$NS_CS")"
tg_done
