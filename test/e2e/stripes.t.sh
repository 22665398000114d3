#!/bin/bash
# SPDX-License-Identifier: MIT
#
# stripes: `tungate outside --ssh --stripes 4` against a real sshd in cs
# (sshd.sh): four SSH connections, the three extra insides hand their
# streams to the first (resume socket), frames are spread over the four
# and put back in order. Covered:
#   1. a 100 MB download from lan: curl exits 0 with the right sha256,
#      three stripes taken by the inside, and all four carried data
#      (the outside's stripes are used: "stripe N is not used" never).
#   2. a download across a 12 s outage (the link between cs and local
#      down): the session resumes, all the stripes come back (three more
#      taken), and the download completes with the right sha256.
# After each part, SIGTERM to the outside and cs is as it was.
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

PY=$TG_LIB_DIR/tcp.py
HTTP=8080
BIG_MB=100
tg_sysctl "$NS_LOCAL" "net.ipv6.conf.$IF_LC.keep_addr_on_down=1"

must mkdir -p "$T/www"
must head -c "${BIG_MB}M" /dev/urandom >"$T/www/big"
BIG_SHA=$(sha256sum <"$T/www/big" | cut -d' ' -f1)
tg_bg http "$NS_LAN" python3 "$PY" http "$HTTP" "$T/www"
wait_for 10 tg_tcp_listening "$NS_LAN" "$HTTP" || die "no http server"

BASE=$(tg_snapshot "$NS_CS")
TG_OUTSIDE_ARGS=(-v -F "$H/.ssh/config_reconnect" --timeout 9 --stripes 4)
INSIDE_CMD="$T/inside-ssh.sh inside --stdio"
INSIDE_LOG=''

lines() {
	grep -c -E -- "$2" "$1"
}

at_least() {
	[ "$(lines "$2" "$3")" -ge "$1" ]
}

insides() {
	pgrep -a -x tungate | grep -c -F "$T/tungate inside"
}

or_gone() {
	"$@" || ! tg_alive "$OUT_PID"
}

same_as_base() {
	[ "$(tg_snapshot "$NS_CS")" = "$BASE" ]
}

got_mb() {
	[ "$(stat -c %s "$T/got" 2>/dev/null || echo 0)" -ge $(($1 << 20)) ]
}

part() {
	say "--- part $1: $2"
	INSIDE_LOG=$T/inside-$1.log
	ssh_inside_wrapper "$INSIDE_LOG"
}

# download RATE - curl of the big file into $T/got, in the background
download() {
	rm -f "$T/got" "$T/curl.rc"
	tg_bg curl "$NS_CS" sh -c "curl -sS --max-time 120 $1 \
		-o '$T/got' 'http://$LAN4:$HTTP/big'; echo \$? >'$T/curl.rc'"
	CURL_PID=$TG_LAST_PID
}

download_ok() {
	local n=$1
	check "$n: curl completes" wait_for 120 or_gone test -s "$T/curl.rc"
	if ! test -s "$T/curl.rc"; then
		kill -TERM -- "-$CURL_PID" 2>/dev/null
	fi
	check "$n: curl exits 0 ($(cat "$T/curl.rc" 2>/dev/null))" \
		test "$(cat "$T/curl.rc" 2>/dev/null)" = 0
	check "$n: the sha256 of the download is right" \
		test "$(sha256sum <"$T/got" | cut -d' ' -f1)" = "$BIG_SHA"
	rm -f "$T/got"
}

stop_and_check() {
	local p
	if ! check "$1: SIGTERM: the outside exits 0, no inside is left" \
		ssh_stop; then
		for p in $(pgrep -f "$T/tungate inside"); do
			kill -TERM "$p"
		done
	fi
	check "$1: no inside process at all" wait_for 10 test "$(insides)" = 0
	if ! check "$1: cs is as it was before" wait_for 10 same_as_base; then
		diff <(echo "$BASE") <(tg_snapshot "$NS_CS") | sed 's/^/    /' >&2
	fi
}

# --- 1. a download over four stripes -------------------------------------------

part 1 "a $BIG_MB MB download over --stripes 4"
ssh_outside --remote-command "$INSIDE_CMD"
assert "1: the tunnel comes up over --ssh" ssh_up
check "1: the inside takes three stripes" \
	wait_for 30 or_gone at_least 3 "$INSIDE_LOG" "took stripe [0-9] of the session"
check "1: the outside's three extra stripes carry frames" \
	wait_for 30 or_gone at_least 3 "$OUT_LOG" "stripe [0-9] to the inside is up"
download ""
download_ok 1
check "1: every stripe was used" not grep -q "stripe [0-9] is not used" "$OUT_LOG"
check "1: the outside is still running" tg_alive "$OUT_PID"
stop_and_check 1

# --- 2. a download across an outage --------------------------------------------

part 2 "a download over four stripes across a 12 s outage"
ssh_outside --remote-command "$INSIDE_CMD"
assert "2: the tunnel comes up over --ssh" ssh_up
check "2: the inside takes three stripes" \
	wait_for 30 or_gone at_least 3 "$INSIDE_LOG" "took stripe [0-9] of the session"
download "--limit-rate 5M"
check "2: the download is under way (20 MB in)" wait_for 30 got_mb 20
must ip -n "$NS_LOCAL" link set "$IF_LC" down
check "2: the outside notices the drop" \
	wait_for 15 grep -q "the stream dropped: the session waits" "$OUT_LOG"
sleep 12
must ip -n "$NS_LOCAL" link set "$IF_LC" up
check "2: the outside logs the resume" wait_for 60 or_gone \
	grep -q "session resumed after .* s: the connections carry on" "$OUT_LOG"
check "2: all the stripes come back (three more taken)" \
	wait_for 30 or_gone at_least 6 "$INSIDE_LOG" "took stripe [0-9] of the session"
check "2: and carry frames again" \
	wait_for 30 or_gone at_least 6 "$OUT_LOG" "stripe [0-9] to the inside is up"
download_ok 2
stop_and_check 2
tg_done
