#!/bin/bash
# SPDX-License-Identifier: MIT
#
# faults: what goes wrong around the tunnel must not hang or grow it.
# The destination dies mid-download (the inside's client fails promptly);
# the inside stops reading for 10 s while the destination keeps sending
# (the outside's memory stays bounded, the download resumes and completes
# intact); a forged inside sends valid frames of garbage and unknown frame
# types (the outside stays up and counts every one); 10 000 short UDP flows
# leave the outside's descriptors where they were.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

PY=$TG_LIB_DIR/tcp.py
HOSTILE=$TG_LIB_DIR/hostile.py
HTTP=8080 DYING=8081
case $TUNGATE in
*asan*) rss_limit=$((256 << 10)) ;; # the sanitizers' own shadow memory
*) rss_limit=$((64 << 10)) ;;
esac

mkdir -p "$T/www"
head -c $((100 << 20)) /dev/urandom >"$T/www/big"
want=$(sha256sum <"$T/www/big" | cut -d' ' -f1)
tg_bg http "$NS_LAN" python3 "$PY" http "$HTTP" "$T/www"
tg_bg dying "$NS_LAN" python3 "$PY" http "$DYING" "$T/www"
dying_pid=$TG_LAST_PID
for p in $HTTP $DYING; do
	wait_for 10 tg_tcp_listening "$NS_LAN" "$p" || die "no server on $p in lan"
done

TG_OUTSIDE_ARGS+=(--udp-idle 2)
assert "the tunnel starts" tg_start_tunnel


# --- the destination dies mid-transfer ---------------------------------------
in_ns "$NS_CS" curl -s -S -m 60 --limit-rate 5M -o /dev/null \
	"http://$LAN4:$DYING/big" 2>"$T/dying.err" &
curl_pid=$!
sleep 2
kill -KILL -- "-$dying_pid"
killed=$SECONDS
tg_wait_exit "$curl_pid" 20
rc=$TG_RC
check "curl fails when the server dies (rc ${rc:-none}: $(cat "$T/dying.err"))" \
	test -n "$rc" -a "${rc:-0}" != 0
check "... within 15 s of the kill ($((SECONDS - killed)) s)" \
	test $((SECONDS - killed)) -le 15
tg_alive "$curl_pid" && kill "$curl_pid"

# --- the inside stops reading for 10 s -----------------------------------------
in_ns "$NS_CS" curl -s -m 100 --limit-rate 20M "http://$LAN4:$HTTP/big" |
	sha256sum | cut -d' ' -f1 >"$T/stop.sum" &
dl=$!
sleep 1
kill -STOP "$TG_INSIDE_PID"
rss_max=0
for _ in $(seq 20); do
	rss=$(tg_rss "$TG_OUTSIDE_PID")
	[ "${rss:-0}" -gt "$rss_max" ] && rss_max=$rss
	sleep 0.5
done
kill -CONT "$TG_INSIDE_PID"
check "the outside's memory stays under $((rss_limit >> 10)) MB while the inside is stopped (max $((rss_max >> 10)) MB)" \
	test "$rss_max" -lt "$rss_limit"
wait_for 90 not tg_alive "$dl"
tg_alive "$dl" && kill "$dl"
wait "$dl" 2>/dev/null
check "after SIGCONT the download completes intact" \
	test "$(cat "$T/stop.sum")" = "$want"
check "the outside survived the stop" tg_alive "$TG_OUTSIDE_PID"

# --- descriptors after 10 000 UDP flows ------------------------------------
sleep 3 # earlier flows expire (--udp-idle 2)
base=$(tg_fds "$TG_OUTSIDE_PID")
peak=$base
for _ in 1 2 3 4 5; do
	in_ns "$NS_CS" bash -c "ulimit -n 8192; python3 '$HOSTILE' udpmany $LAN4 7 2000 1" \
		>>"$T/udp.out"
	now=$(tg_fds "$TG_OUTSIDE_PID")
	[ "$now" -gt "$peak" ] && peak=$now
done
say "$(tr '\n' ' ' <"$T/udp.out")"
back() { [ "$(tg_fds "$TG_OUTSIDE_PID")" -le "$base" ]; }
wait_for 20 back
check "10 000 UDP flows: the outside's fds return to $base (peak $peak, now $(tg_fds "$TG_OUTSIDE_PID"))" back

check "the tunnel stops cleanly" tg_stop_tunnel

# --- a forged inside: valid frames, garbage inside ---------------------------
# every packet's IP version is neither 4 nor 6, so each one is malformed
N=5000
forged() {
	in_ns "$NS_LOCAL" bash -c "python3 '$HOSTILE' stream $1 $2 7 2>'$T/forged.sent' |
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env XDG_RUNTIME_DIR='$T/xdg' timeout 100 '$T/tungate' outside \
		--stdio --no-dns --route $LAN_NET4 --name forged >/dev/null \
		2>'$T/forged.log'"
}
forged junk $N
rc=$?
check "the outside exits 0 after $N junk packets (rc $rc)" test "$rc" = 0
line=$(grep "packets from the inside" "$T/forged.log")
check "all $N packets counted ($line)" grep -q "from the inside $N," <<<"$line"
check "all $N counted as malformed" grep -q "malformed $N," <<<"$line"
check "7 unknown frames counted as bad" grep -q "bad frames 7;" <<<"$line"

tg_done
