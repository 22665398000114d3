#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cleanup: however the tunnel ends, cs is left as it was: no tungate0, the
# same rules, routes, links, addresses and resolv.conf, no state file, no
# process. The tunnel is started and stopped once per way of ending it:
# SIGTERM to the outside; SIGTERM, SIGINT, SIGHUP to the inside; EOF on the
# stream (the outside's socat dies); SIGKILL of the outside.
#
# shellcheck source-path=SCRIPTDIR disable=SC2317
. "$(dirname "$0")/lib.sh"
tg_setup

BASE=$(tg_snapshot "$NS_CS")

# nothing_runs NS - no process left in NS
nothing_runs() {
	[ -z "$(ip netns pids "$1")" ]
}

# stream_socat - the socat the outside runs as its stream
stream_socat() {
	pgrep -g "$TG_OUTSIDE_PID" -x socat | head -n 1
}

# one HOW [OUTSIDE ARGS...] - start, check the tunnel is installed, end it by HOW, check
# that everything is gone again
one() {
	local how=$1 irc orc sock now
	shift
	say "--- ending the tunnel by: $how"
	tg_start_tunnel "$@" || return 1
	check "$how: $TUN_DEV exists" tg_has_dev "$NS_CS" "$TUN_DEV"
	check "$how: IPv4 rules $TG_PREF and $TG_TABLE exist" \
		tg_has_rules "$NS_CS" -4
	check "$how: IPv6 rules $TG_PREF and $TG_TABLE exist" \
		tg_has_rules "$NS_CS" -6
	check "$how: table $TG_TABLE routes $LAN_NET4 and $LAN_NET6" \
		tg_has_routes "$NS_CS"
	check "$how: a state file exists" test -n "$(tg_state_files "$NS_CS")"
	check "$how: UDP echo works" tg_udp_echo "$NS_CS" "$LAN4" 7 64

	case $how in
	outside-TERM) cmd kill -TERM "$TG_OUTSIDE_PID" ;;
	inside-TERM) cmd kill -TERM "$TG_INSIDE_PID" ;;
	inside-INT) cmd kill -INT "$TG_INSIDE_PID" ;;
	inside-HUP) cmd kill -HUP "$TG_INSIDE_PID" ;;
	stream-EOF)
		sock=$(stream_socat)
		check "$how: the outside's socat exists" test -n "$sock"
		[ -n "$sock" ] && cmd kill -TERM "$sock"
		;;
	outside-KILL) cmd kill -KILL "$TG_OUTSIDE_PID" ;;
	esac

	irc=$(tg_wait_inside_exit 15) ||
		fail "$how: the inside did not exit within 15 s"
	tg_wait_exit "$TG_OUTSIDE_PID" 15 ||
		fail "$how: the outside did not exit within 15 s"
	orc=$TG_RC
	if one_of "$how" outside-TERM inside-TERM inside-INT inside-HUP; then
		check "$how: the inside exits 0 (got $irc)" test "$irc" = 0
		check "$how: the outside exits 0 (got $orc)" test "$orc" = 0
	elif [ "$how" = outside-KILL ]; then
		check "$how: the inside exits 0 or 1 (got $irc)" \
			one_of "$irc" 0 1
	else
		check "$how: the inside exits 0 or 1 (got $irc)" \
			one_of "$irc" 0 1
		check "$how: the outside exits 0 or 1 (got $orc)" \
			one_of "$orc" 0 1
	fi
	check "$how: no process left in cs" wait_for 10 nothing_runs "$NS_CS"
	check "$how: no process left in local" \
		wait_for 10 nothing_runs "$NS_LOCAL"
	check "$how: no $TUN_DEV" not tg_has_dev "$NS_CS" "$TUN_DEV"
	check "$how: no state file" test -z "$(tg_state_files "$NS_CS")"
	now=$(tg_snapshot "$NS_CS")
	if ! check "$how: cs is as it was before" test "$BASE" = "$now"; then
		diff <(echo "$BASE") <(echo "$now") | sed 's/^/    /' >&2
	fi
	return 0
}

for how in outside-TERM inside-TERM inside-INT inside-HUP stream-EOF \
	outside-KILL; do
	one "$how" || fail "$how: the tunnel did not start"
done
tg_done
