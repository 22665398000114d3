#!/bin/bash
# SPDX-License-Identifier: MIT
#
# resume: `tungate outside --ssh` across real outages of the link between
# cs and local (its end in local taken down and up again), against a real
# sshd in cs (sshd.sh). Covered:
#   1. --grace 0: the outside reconnects and a fresh inside comes up; UDP
#      flows again, one inside, one set of rules, no stale state.
#   2. a 200 MB download from lan across a 20 s outage: curl exits 0 with
#      the right sha256; one drop and one resume logged on both sides.
#   3. an idle TCP connection from cs to lan across a 60 s outage still
#      echoes; during the outage the inside keeps its device, rules,
#      routes and resolv.conf.
#   4. an outage (25 s) longer than --grace (15 s): a client blocked in
#      recv() gets a reset, cs is clean once the inside exits, and the
#      outside's next stream is a fresh session that works.
#   5. the outside killed (SIGKILL) during an outage and started again:
#      the waiting inside ends, the new session carries traffic.
# Each part has an outside of its own (--timeout 9, SSH keepalives every
# 2 s: a dead link is noticed in 6-9 s); after it, SIGTERM to the outside
# and cs is as it was. After a resume two inside processes remain: the
# one that resumed, and the one whose SSH session carries the new stream
# (it handed the stream over and stays while it is in use). About 3
# minutes, mostly outages and the outside's reconnection backoff.
#
# The insides run through a wrapper that sends their stderr to a file per
# part (inside-N.log): an inside waiting for its session logs while no SSH
# session carries its stderr. Everything the outside's command line gives
# the inside (-v, --timeout, --grace) is passed on by the outside itself.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
sshd_check
command -v curl >/dev/null || skip "no curl"
tg_setup
sshd_init
sshd_start "$S/config_a"
ssh_known_hosts

RPY=$TG_LIB_DIR/resume.py
HTTP=8080 LINE=7008
BIG_MB=200
# the end in local goes down: its IPv6 address must come back with it
tg_sysctl "$NS_LOCAL" "net.ipv6.conf.$IF_LC.keep_addr_on_down=1"

tg_serve_big "$BIG_MB" "$HTTP" "$LINE"

BASE=$(tg_snapshot "$NS_CS")
RESOLV=$(cat "/etc/netns/$NS_CS/resolv.conf")
# DNS on, so that resolv.conf is part of what is kept and restored; a
# dead link is noticed in 6 s by SSH keepalives, in 9 s by each side
TG_OUTSIDE_ARGS=(-v -F "$H/.ssh/config_reconnect" --timeout 9)
INSIDE_CMD="$T/inside-ssh.sh inside --stdio"
INSIDE_LOG=''
RESUMED_OUT="session resumed after .* s: the connections carry on"

# --- helpers -------------------------------------------------------------------

link_down() {
	must ip -n "$NS_LOCAL" link set "$IF_LC" down
	DOWN_AT=$SECONDS
}

link_up() {
	must ip -n "$NS_LOCAL" link set "$IF_LC" up
	say "the link was down for $((SECONDS - DOWN_AT)) s"
}

# sleep_until_down_for SECS - until the link has been down SECS seconds
sleep_until_down_for() {
	local left=$(($1 - (SECONDS - DOWN_AT)))
	[ "$left" -gt 0 ] && sleep "$left"
	return 0
}

# lines FILE TEXT - how many lines of FILE hold TEXT (a regex)
lines() {
	grep -c -E -- "$2" "$1"
}

# at_least N FILE TEXT - FILE has N lines or more holding TEXT
at_least() {
	[ "$(lines "$2" "$3")" -ge "$1" ]
}

# exactly N FILE TEXT
exactly() {
	[ "$(lines "$2" "$3")" = "$1" ]
}

# part N - a new part: its own inside log, a fresh outside
part() {
	say "--- part $1: $2"
	INSIDE_LOG=$T/inside-$1.log
	ssh_inside_wrapper "$INSIDE_LOG"
}

# insides - how many inside processes of this test run
insides() {
	pgrep -a -x tungate | grep -c -F "$T/tungate inside"
}

one_inside() {
	[ "$(insides)" = 1 ]
}

# inside_pids - this test's inside processes, sorted, on one line
inside_pids() {
	pgrep -f "$T/tungate inside" | sort -n | paste -sd' ' -
}

# resumed_pair - the inside processes are exactly the one that resumed
# the session and the one that holds the stream it was handed (its SSH
# session's process, kept while the stream is in use), as the last
# resume in the inside's log names them
resumed_pair() {
	local waiting holder
	waiting=$(grep -o "handed the stream to the inside (pid [0-9]*" \
		"$INSIDE_LOG" | tail -n 1 | grep -o "[0-9]*$")
	holder=$(grep -o "session resumed after .*stream from pid [0-9]*" \
		"$INSIDE_LOG" | tail -n 1 | grep -o "[0-9]*$")
	[ -n "$waiting" ] && [ -n "$holder" ] &&
		[ "$(inside_pids)" = "$(printf '%s\n' "$waiting" "$holder" |
			sort -n | paste -sd' ' -)" ]
}

# cs_files - the inside's files of cs (state, resume socket)
cs_files() {
	local ino
	ino=$(stat -L -c %i "/run/netns/$NS_CS") || return 1
	ls /run/tungate/"$ino"-* 2>/dev/null
}

# one_rule_set - each of the inside's rules exactly once, its routes
one_rule_set() {
	local fam pref
	for fam in -4 -6; do
		for pref in "$TG_PREF" "$TG_TABLE"; do
			[ "$(ip -n "$NS_CS" "$fam" rule show |
				grep -c "^$pref:")" = 1 ] || return 1
		done
	done
	tg_has_routes "$NS_CS"
}

# kept - what the inside set up is still there
kept() {
	tg_has_dev "$NS_CS" "$TUN_DEV" && one_rule_set &&
		[ "$(cat "/etc/netns/$NS_CS/resolv.conf")" != "$RESOLV" ]
}

# cs_clean - nothing of the inside is left in cs (the link may be down,
# so this does not compare the whole snapshot)
cs_clean() {
	! tg_has_dev "$NS_CS" "$TUN_DEV" &&
		! tg_has_rule "$NS_CS" -4 "$TG_PREF" &&
		! tg_has_rule "$NS_CS" -4 "$TG_TABLE" &&
		! tg_has_rule "$NS_CS" -6 "$TG_PREF" &&
		! tg_has_rule "$NS_CS" -6 "$TG_TABLE" &&
		[ -z "$(ip -n "$NS_CS" route show table "$TG_TABLE" 2>/dev/null)" ] &&
		[ -z "$(ip -n "$NS_CS" -6 route show table "$TG_TABLE" 2>/dev/null)" ] &&
		[ "$(cat "/etc/netns/$NS_CS/resolv.conf")" = "$RESOLV" ] &&
		[ -z "$(cs_files)" ]
}

same_as_base() {
	[ "$(tg_snapshot "$NS_CS")" = "$BASE" ]
}

# or_gone CMD... - CMD succeeds, or the outside has exited: waits on
# something the outside must bring end there when it is gone
or_gone() {
	"$@" || ! tg_alive "$OUT_PID"
}

# stop_and_check N - SIGTERM to the outside; everything goes. Whatever
# is left is stopped too, so that the next part starts afresh.
stop_and_check() {
	local p
	if ! check "$1: SIGTERM: the outside exits 0, no inside is left" \
		ssh_stop; then
		say "$1: the outside's exit status: ${TG_RC:-none}"
		for p in $(pgrep -f "$T/tungate inside"); do
			kill -TERM "$p"
		done
	fi
	check "$1: no inside process at all" wait_for 10 test "$(insides)" = 0
	check "$1: cs is clean (device, rules, routes, resolv.conf, files)" \
		wait_for 10 cs_clean
	if ! check "$1: cs is as it was before" wait_for 10 same_as_base; then
		diff <(echo "$BASE") <(tg_snapshot "$NS_CS") | sed 's/^/    /' >&2
	fi
}

udp_ok() {
	tg_udp_echo "$NS_CS" "$LAN4" 7 200 2
}

# status_json - `tungate status --json` as the outside's user
status_json() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env HOME="$H" XDG_RUNTIME_DIR="$T/xdg" "$T/tungate" status --json
}

# status_field KEY - a top-level field of the status (json), or "absent"
status_field() {
	status_json | python3 -c '
import json, sys
d = json.load(sys.stdin)
k = sys.argv[1]
print(json.dumps(d[k]) if k in d else "absent")' "$1"
}

# passed_on WORD... - the remote command the outside ran has every WORD
passed_on() {
	local line w
	line=$(grep -m 1 "running '$INSIDE_CMD" "$OUT_LOG") || return 1
	for w in "$@"; do
		[[ $line == *" $w"* ]] || return 1
	done
}

got_mb() {
	[ "$(stat -c %s "$T/got" 2>/dev/null || echo 0)" -ge $(($1 << 20)) ]
}

say "setup done after ${SECONDS} s"

# --- 1. reconnection without resume ------------------------------------------

part 1 "reconnection without resume (--grace 0)"
ssh_outside --remote-command "$INSIDE_CMD" --grace 0
assert "1: the tunnel comes up over --ssh" ssh_up
check "1: the outside passed -v, --timeout 9 and --grace 0 to the inside" \
	passed_on -v "--timeout '9'" "--grace '0'"
check "1: UDP echo before the outage" udp_ok
link_down
sleep 10
link_up
check "1: the outside logs a reconnect attempt" \
	grep -q -E "reconnecting in [0-9.]+ s \(attempt 1\)" "$OUT_LOG"
check "1: 'inside is up' a second time (fresh, not resumed)" \
	wait_for 60 or_gone at_least 2 "$OUT_LOG" "inside is up: "
check "1: UDP echo works again" wait_for 20 or_gone udp_ok
check "1: exactly one inside process remains" wait_for 20 or_gone one_inside
check "1: one set of rules and routes in cs" one_rule_set
check "1: one state file, no resume socket" \
	test "$(cs_files | grep -c '\.state$')" = 1 -a \
	"$(cs_files | grep -c '\.sock$')" = 0
check "1: nothing resumed with --grace 0" \
	not grep -q "resumed" "$OUT_LOG" "$INSIDE_LOG"
stop_and_check 1
say "part 1 done at ${SECONDS} s"

# --- 2. a download across a 20 s outage ----------------------------------------

part 2 "a $BIG_MB MB download across a 20 s outage"
ssh_outside --remote-command "$INSIDE_CMD"
assert "2: the tunnel comes up over --ssh" ssh_up
tg_bg curl "$NS_CS" sh -c "curl -sS --max-time 200 --limit-rate 10M \
	-o '$T/got' 'http://$LAN4:$HTTP/big'; echo \$? >'$T/curl.rc'"
CURL_PID=$TG_LAST_PID
check "2: the download is under way (30 MB in)" wait_for 30 got_mb 30
say "2: $(($(stat -c %s "$T/got") >> 20)) MB in when the link goes down"
link_down
check "2: the outside notices the drop and waits for a resume" \
	wait_for 15 grep -q "the stream dropped: the session waits" "$OUT_LOG"
check "2: the inside notices the drop and keeps $TUN_DEV" \
	wait_for 15 grep -q "keeping $TUN_DEV and its routes for" "$INSIDE_LOG"
sleep_until_down_for 20
check "2: curl is still running after 20 s without a link" \
	test ! -e "$T/curl.rc"
link_up
check "2: the outside logs the resume" \
	wait_for 60 or_gone grep -q "$RESUMED_OUT" "$OUT_LOG"
sleep 2
check "2: the outside is still running 2 s after the resume" \
	tg_alive "$OUT_PID"
check "2: curl completes" wait_for 90 or_gone test -s "$T/curl.rc"
if ! test -s "$T/curl.rc"; then
	say "2: curl is still waiting: stopped"
	kill -TERM -- "-$CURL_PID" 2>/dev/null
fi
check "2: curl exits 0 ($(cat "$T/curl.rc" 2>/dev/null))" \
	test "$(cat "$T/curl.rc" 2>/dev/null)" = 0
check "2: curl said nothing on stderr" not test -s "$T/curl.log"
check "2: the sha256 of the download is right" \
	test "$(sha256sum <"$T/got" | cut -d' ' -f1)" = "$BIG_SHA"
rm -f "$T/got"
check "2: the outside logged one drop" \
	exactly 1 "$OUT_LOG" "the stream dropped: the session waits"
check "2: the outside logged one resume" exactly 1 "$OUT_LOG" "$RESUMED_OUT"
check "2: then 'inside is up again'" grep -q "inside is up again: " "$OUT_LOG"
check "2: the new inside handed its stream over" \
	grep -q "handed the stream to the inside (pid [0-9]*) that resumes" \
	"$INSIDE_LOG"
check "2: the waiting inside logged the resume (drop 1)" \
	grep -q "session resumed after .* s (drop 1, resume 1)" "$INSIDE_LOG"
check "2: the resumed inside did not lose the stream again" \
	exactly 1 "$INSIDE_LOG" "keeping $TUN_DEV and its routes for"
check "2: inside processes: the resumed one and its stream's holder" \
	wait_for 10 or_gone resumed_pair
say "2: inside processes: $(inside_pids)"
check "2: one set of rules and routes in cs" one_rule_set
STATUS=0
if ! tg_alive "$OUT_PID"; then
	say "2: the outside is gone: tungate status not checked"
elif ! check "2: tungate status --json answers" status_field resumes; then
	:
elif [ "$(status_field resumes)" = absent ]; then
	say "2: tungate status has no session fields (yet): not checked"
else
	STATUS=1
	check "2: status: 1 resume" test "$(status_field resumes)" = 1
	check "2: status: 1 stream drop" test "$(status_field stream_drops)" = 1
	check "2: status: no outage now" test "$(status_field outage_ms)" = null
	check "2: status: a session id" \
		not one_of "$(status_field session)" null absent
fi
stop_and_check 2
say "part 2 done at ${SECONDS} s"

# --- 3. an idle connection across a 60 s outage --------------------------------

part 3 "an idle TCP connection across a 60 s outage"
ssh_outside --remote-command "$INSIDE_CMD"
assert "3: the tunnel comes up over --ssh" ssh_up
must mkdir -p "$T/hold"
tg_bg hold "$NS_CS" python3 "$RPY" hold "$LAN4" "$LINE" "$T/hold"
check "3: the connection is open, one round trip done" \
	wait_for 10 test -e "$T/hold/up"
link_down
check "3: the outside notices the drop" \
	wait_for 15 grep -q "the stream dropped: the session waits" "$OUT_LOG"
check "3: the inside notices the drop" \
	wait_for 15 grep -q "keeping $TUN_DEV and its routes for" "$INSIDE_LOG"
check "3: the inside keeps its device, rules, routes and resolv.conf" kept
if [ "$STATUS" = 1 ]; then
	check "3: status: the outage is counting" \
		test "$(status_field outage_ms)" -gt 0
	check "3: status: 1 stream drop" test "$(status_field stream_drops)" = 1
fi
sleep_until_down_for 60
check "3: after 60 s the device, rules, routes and resolv.conf are there" \
	kept
link_up
check "3: the outside logs the resume" \
	wait_for 60 or_gone grep -q "$RESUMED_OUT" "$OUT_LOG"
check "3: the waiting inside logged the resume" \
	wait_for 5 grep -q "session resumed after .* s (drop 1, resume 1)" "$INSIDE_LOG"
touch "$T/hold/go"
check "3: the idle connection answers after the outage" \
	wait_for 35 test -e "$T/hold/result"
say "3: $(cat "$T/hold/result" 2>/dev/null)"
check "3: ... and what came back is what was sent" \
	grep -q "^echoed" "$T/hold/result"
check "3: the outside is still running" tg_alive "$OUT_PID"
check "3: inside processes: the resumed one and its stream's holder" \
	wait_for 10 or_gone resumed_pair
say "3: inside processes: $(inside_pids)"
stop_and_check 3
say "part 3 done at ${SECONDS} s"

# --- 4. an outage longer than --grace --------------------------------------------

part 4 "a 25 s outage, longer than --grace 15"
ssh_outside --remote-command "$INSIDE_CMD" --grace 15
assert "4: the tunnel comes up over --ssh" ssh_up
must mkdir -p "$T/block"
tg_bg block "$NS_CS" python3 "$RPY" block "$LAN4" "$LINE" "$T/block" 120
check "4: a connection is open, blocked in recv()" \
	wait_for 10 test -e "$T/block/up"
FIRST_INSIDE=$(pgrep -f "$T/tungate inside" | head -n 1)
link_down
check "4: the application's recv() ends within the outage" \
	wait_for 30 test -e "$T/block/result"
say "4: $(cat "$T/block/result" 2>/dev/null)"
check "4: ... with a connection reset" grep -q "^reset" "$T/block/result"
check "4: the inside says the outside did not come back in 15 s" \
	grep -q "the outside did not come back within 15 s: ending the session" \
	"$INSIDE_LOG"
check "4: the inside says it reset the connection" \
	grep -q -E "reset [1-9][0-9]* TCP connection" "$INSIDE_LOG"
check "4: the inside exits" wait_for 15 not tg_alive "$FIRST_INSIDE"
check "4: cs is clean: no device, rules, routes, files; resolv.conf back" \
	wait_for 5 cs_clean
check "4: the outside gave up the session after 15 s" \
	grep -q "the session was not resumed within 15 s" "$OUT_LOG"
sleep_until_down_for 25
link_up
check "4: the next stream brings up a fresh session" \
	wait_for 60 or_gone at_least 2 "$OUT_LOG" "inside is up: "
check "4: nothing was resumed" not grep -q "resumed after" "$OUT_LOG"
check "4: UDP echo works in the fresh session" wait_for 20 udp_ok
check "4: exactly one inside process" wait_for 20 or_gone one_inside
stop_and_check 4
say "part 4 done at ${SECONDS} s"

# --- 5. the outside killed during an outage ----------------------------------------

part 5 "the outside killed during an outage, and started again"
ssh_outside --remote-command "$INSIDE_CMD"
assert "5: the tunnel comes up over --ssh" ssh_up
check "5: UDP echo" udp_ok
FIRST_INSIDE=$(pgrep -f "$T/tungate inside" | head -n 1)
FIRST_LOG=$OUT_LOG
link_down
check "5: the inside waits for the session to resume" \
	wait_for 20 grep -q "keeping $TUN_DEV and its routes for" "$INSIDE_LOG"
must kill -KILL "$OUT_PID"
check "5: the outside is gone" tg_wait_exit "$OUT_PID" 10
sleep_until_down_for 10
link_up
ssh_outside --remote-command "$INSIDE_CMD"
check "5: a new outside brings the tunnel up" ssh_up
check "5: the waiting inside ends: another session started" \
	wait_for 10 grep -q "a new outside started another session: this one ends" \
	"$INSIDE_LOG"
check "5: the waiting inside exits" wait_for 15 not tg_alive "$FIRST_INSIDE"
check "5: the new session did not resume the old one" \
	not grep -q "resumed after" "$OUT_LOG"
check "5: UDP echo works again" wait_for 20 or_gone udp_ok
check "5: exactly one inside process" wait_for 20 or_gone one_inside
check "5: one set of rules and routes in cs" one_rule_set
check "5: one state file" test "$(cs_files | grep -c '\.state$')" = 1
stop_and_check 5
say "part 5 done at ${SECONDS} s (the first outside's log: ${FIRST_LOG##*/})"

tg_done
