#!/bin/bash
# SPDX-License-Identifier: MIT
#
# recover: an inside killed with SIGKILL cannot clean up; its device dies
# with it, its rules stay. The next inside in the same namespace finds the
# state file, removes the leftovers, says so, and works; after a normal stop
# cs is as it was.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

BASE=$(tg_snapshot "$NS_CS")

assert "the tunnel starts" tg_start_tunnel
check "UDP echo works" tg_udp_echo "$NS_CS" "$LAN4" 7 64
check "the first inside does not report leftovers" \
	not grep -q leftover "$TG_INSIDE_LOG"

cmd kill -KILL "$TG_INSIDE_PID"
irc=$(tg_wait_inside_exit 10)
check "the inside died of SIGKILL (status $irc)" test "$irc" = 137
check "the outside notices and exits" tg_wait_exit "$TG_OUTSIDE_PID" 15
check "the outside exits 0 or 1, not by a signal (got $TG_RC)" \
	one_of "$TG_RC" 0 1
tg_wait_exit "$TG_CS_SOCAT_PID" 10

check "$TUN_DEV is gone with its process" \
	not tg_has_dev "$NS_CS" "$TUN_DEV"
check "the IPv4 rules are left over" tg_has_rules "$NS_CS" -4
check "the IPv6 rules are left over" tg_has_rules "$NS_CS" -6
check "the state file is left over" test -n "$(tg_state_files "$NS_CS")"

assert "the tunnel starts again" tg_start_tunnel
check "the new inside reports the leftovers it removed" \
	grep -q leftover "$TG_INSIDE_LOG"
check "UDP echo works over IPv4" tg_udp_echo "$NS_CS" "$LAN4" 7 64
check "UDP echo works over IPv6" tg_udp_echo "$NS_CS" "$LAN6" 7 64
for fam in -4 -6; do
	for pref in "$TG_PREF" "$TG_TABLE"; do
		check "exactly one rule $pref ($fam)" test \
			"$(ip -n "$NS_CS" "$fam" rule show | grep -c "^$pref:")" = 1
	done
done

check "the tunnel stops cleanly" tg_stop_tunnel
check "no state file" test -z "$(tg_state_files "$NS_CS")"
now=$(tg_snapshot "$NS_CS")
if ! check "cs is as it was before" test "$BASE" = "$now"; then
	diff <(echo "$BASE") <(echo "$now") | sed 's/^/    /' >&2
fi
tg_done
